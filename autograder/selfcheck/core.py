"""What every part's self-check shares: a clean namespace, finite differences, words.

A test cell calls ``check(part, function)``. The check calls the student's function on inputs
of its own, in a namespace of its own, and compares the results with what it knows for sure:
values that follow from a definition, and directional central differences of the model and
loss *as the notebook defines them*. It never uses the student's other functions as a witness
(not their ``numerical_gradient``, not their loss), so a wrong part never makes another part's
check skip anything, and it keeps no state between cells: running a test cell again decides
that part again.

A part that calls another graded function (``backward`` calls ``forward``, ``fit_newton`` calls
``newton_step``) cannot be right while that one is wrong. When such a part fails, the parts it
calls are checked too, and the first one that fails is named as the thing to fix first.

What the checks contain, and what they must not. Every test cell's student can read this code,
so it holds no answer to a graded part: no gradient, Hessian or Newton step, no overflow-free
sigmoid or log-loss, no entrywise numerical gradient and no relative-error formula. The checks
do evaluate the notebook's own *definitions* (the layer maps ``Z = A @ W + b``, the mean
squared error, the textbook cross-entropy with ``1 / (1 + e^-z)``), on moderate inputs where
those forms are exact, because a derivative can only be checked against the function it is
the derivative of.

Names here start with an underscore, except ``check`` and ``SelfCheckError``: the student
release pastes this code into the notebook's own namespace, where a student's ``step = 0.1``
must not replace the checks' ``_STEP``.
"""

import builtins
import re
import types

import numpy as np

#: Step of the central differences of first derivatives: near the cube root of float64's
#: machine epsilon, where the O(h^2) truncation and the round-off ``eps |f| / h`` balance; on
#: the checks' inputs a correct derivative then agrees to about 1e-9.
_STEP = 1e-6
#: Step of the second differences (Hessians): round-off grows like ``eps |f| / h^2`` there, so
#: the balance moves to ``eps^(1/4) ~ 1e-4``, where a correct Hessian agrees to about 1e-7.
_SECOND_STEP = 1e-4
#: A first derivative that agrees to 1e-9 passes and every slip misses by order one; 1e-6
#: leaves three orders of magnitude on each side.
_FD_TOL = 1e-6
#: Second differences are less accurate (about 1e-7, see ``_SECOND_STEP``); 1e-5 still sits
#: four orders of magnitude below any slip.
_SECOND_FD_TOL = 1e-5
#: How many random directions each derivative is checked along. One wrong entry escapes a
#: random direction with probability zero; four also cover every direction of the checks'
#: small parameter vectors.
_DIRECTIONS = 4
#: A result counts as a multiple ``c`` of the right one when what is left after removing the
#: best multiple is this small (relative): finite-difference noise is about 1e-9.
_MULTIPLE_TOL = 1e-5
#: ``c`` matches a named factor (N, 1/2, -1, ...) when it is this close, relatively.
_FACTOR_TOL = 1e-4
#: Values that follow exactly from a definition agree to round-off, about 1e-15 relative.
_EXACT_TOL = 1e-10


class SelfCheckError(AssertionError):
    """A self-check failed, or its part cannot be checked yet; the message says what to fix."""


class _CheckError(Exception):
    """One failed check, in words for the student (internal to the checks).

    Parameters
    ----------
    message : str
    blocking : bool
        Whether the function gives wrong values on ordinary inputs, so that a part calling it
        cannot be checked. An overflow for ``|z| = 1e4`` is a real failure but not blocking.
    cause : BaseException, optional
        The student's own exception, shown above the message.
    """

    def __init__(self, message, blocking=True, cause=None):
        super().__init__(message)
        self.message, self.blocking, self.cause = message, blocking, cause


class _NotWrittenError(Exception):
    """A graded function still raises ``NotImplementedError`` (its stub is untouched).

    Parameters
    ----------
    error : NotImplementedError
    where : str or None
        The name of the function that raised it.
    """

    def __init__(self, error, where):
        super().__init__(where)
        self.error, self.where = error, where


# ------------------------------------------------------------------------------ the notebook


def _describe(value):
    """A few words on a value, for a message: ``5``, ``an array of shape (5, 3)``, ..."""
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape}"
    if isinstance(value, (bool, int, float, complex, np.number)):
        return repr(value)
    if isinstance(value, dict):
        return f"a dict with keys {sorted(map(str, value))[:6]}"
    return f"a {type(value).__name__}"


def _leak_hint(name):
    """What to use instead of the notebook global ``name``."""
    if name in ("N", "n", "n_samples"):
        return "The batch size comes from the arguments: X.shape[0] or len(y)."
    if name in ("m", "d1", "d2", "D1", "D2"):
        return "Sizes come from the arguments' shapes (X.shape, params['W1'].shape, ...)."
    return "Use the function's arguments instead."


class _Notebook:
    """The student's notebook as the checks see it.

    Parameters
    ----------
    namespace : dict
        The notebook's globals (those of the function being checked).
    parts : dict
        Graded function name to its check ``check(notebook, function) -> list of str``, in
        notebook order.
    """

    def __init__(self, namespace, parts):
        self.namespace, self.parts = namespace, parts
        self._clean = None
        self._verdicts = {}

    # -- a namespace of its own ------------------------------------------------------------

    def _clean_globals(self):
        """The notebook's modules, classes and functions, without its data.

        A graded function may use numpy, other functions (its own helpers, the other graded
        functions) and classes; it may not read a value the notebook happens to hold (an
        ``N``, ``X`` or ``g`` left behind by experiments). Functions are rebuilt over this
        namespace too, so a helper cannot read such a value either.
        """
        if self._clean is None:
            clean = {"__builtins__": builtins, "__name__": self.namespace.get("__name__")}
            functions = {}
            for name, value in self.namespace.items():
                if name.startswith("__"):
                    continue
                if isinstance(value, types.FunctionType):
                    functions[name] = value
                elif isinstance(value, (types.ModuleType, type)) or callable(value):
                    clean[name] = value
            for name, fn in functions.items():
                clean[name] = self._rebuild(fn, clean)
            self._clean = clean
        return self._clean

    @staticmethod
    def _rebuild(fn, namespace):
        new = types.FunctionType(
            fn.__code__, namespace, fn.__name__, fn.__defaults__, fn.__closure__
        )
        new.__kwdefaults__ = fn.__kwdefaults__
        new.__qualname__, new.__doc__ = fn.__qualname__, fn.__doc__
        return new

    def isolated(self, fn):
        """``fn`` reading only the clean namespace (unchanged if it is not a plain function)."""
        if isinstance(fn, types.FunctionType):
            return self._rebuild(fn, self._clean_globals())
        return fn

    def calls(self, fn, part):
        """The graded functions ``fn`` uses, directly or through helpers, in notebook order."""
        found, seen = set(), set()
        stack = [fn.__code__] if isinstance(fn, types.FunctionType) else []
        while stack:
            code = stack.pop()
            if code in seen:
                continue
            seen.add(code)
            for name in code.co_names:
                if name in self.parts:
                    found.add(name)
                elif isinstance(self.namespace.get(name), types.FunctionType):
                    stack.append(self.namespace[name].__code__)
            stack.extend(c for c in code.co_consts if isinstance(c, types.CodeType))
        return [p for p in self.parts if p in found and p != part]

    # -- calling student code ---------------------------------------------------------------

    def _raised_in(self, error):
        """The name of the innermost notebook function in ``error``'s traceback."""
        codes = {
            v.__code__: n for n, v in self.namespace.items() if isinstance(v, types.FunctionType)
        }
        where, tb = None, error.__traceback__
        while tb is not None:
            where = codes.get(tb.tb_frame.f_code, where)
            tb = tb.tb_next
        return where

    def call(self, fn, *args, explain=None, **kwargs):
        """Call the student's (isolated) ``fn``; turn what it raises into words.

        Parameters
        ----------
        fn : callable
        *args, **kwargs
            Its arguments.
        explain : callable, optional
            ``explain(error) -> str``: the part's own reading of an exception numpy raised
            (a matrix product whose shapes do not fit, say), appended to the message.

        Raises
        ------
        _NotWrittenError
            If a stub's ``NotImplementedError`` came out.
        _CheckError
            For any other exception, and for a notebook global read inside.
        """
        name = getattr(fn, "__name__", "the function")
        try:
            return fn(*args, **kwargs)
        except _CheckError:
            raise  # a check's own function, called by the student's code, already said why
        except Exception as raw:
            # The student sees the traceback from their own code on, not from this frame.
            err = raw.with_traceback(raw.__traceback__.tb_next)
        if isinstance(err, NotImplementedError):
            raise _NotWrittenError(err, self._raised_in(err))
        if isinstance(err, NameError):
            missing = getattr(err, "name", None)
            if missing in self.namespace:
                who = self._raised_in(err) or name
                where = who if who == name else f"{who} (which {name} calls)"
                raise _CheckError(
                    f"{where} reads the notebook's global variable {missing!r} (here "
                    f"{_describe(self.namespace[missing])}), which the check does not provide. "
                    "A graded function must compute everything from its own arguments: the "
                    f"grader calls it on inputs of its own, for which the notebook's {missing!r} "
                    f"is wrong. {_leak_hint(missing)} (A constant you chose on purpose belongs "
                    "inside the function.)"
                ) from None
            raise _CheckError(f"{name} raised NameError: {err}.", cause=err)
        hint = explain(err) if explain is not None else ""
        if isinstance(err, TypeError) and "'Activation' object is not callable" in str(err):
            hint = "g is an object: g.f(Z) computes g(Z) and g.df(Z) computes g'(Z)."
        raise _CheckError(
            f"{name} raised {type(err).__name__}: {err}." + (" " + hint if hint else ""),
            cause=err,
        )

    # -- running a part's check ----------------------------------------------------------------

    def verdict(self, part, fn):
        """Run ``part``'s check on ``fn``: the lines it reports, or the failure it raises.

        A failing part that calls another graded function that fails is reported as caused
        by that one (the deepest such one, if that one also calls a failing part).

        Returns
        -------
        list of str

        Raises
        ------
        _NotWrittenError, _CheckError
        """
        try:
            return self.parts[part](self, self.isolated(fn))
        except _NotWrittenError as stub:
            if stub.where in (None, part):
                raise
            raise _CheckError(
                f"{part} calls {stub.where}, which is not written yet: write {stub.where} "
                "first (its cell is above), then run this cell again."
            ) from None
        except _CheckError:
            blame = self._upstream(part, fn, (part,))
            if blame is None:
                raise
            chain, root, failure = blame
            via = "".join(f" {c}, which calls" for c in chain[1:-1])
            first = failure.message.split(". ")[0].rstrip(".")
            raise _CheckError(
                f"{part} calls{via} your {root}, whose self-check fails ({first}). Fix "
                f"{root} first (its test cell says more), then run this cell again."
            ) from None

    def _upstream(self, part, fn, chain):
        """``(chain, root, failure)`` for the first graded function ``fn`` calls that fails."""
        for name in self.calls(fn, part):
            if name in chain:
                continue
            other = self.namespace.get(name)
            if not callable(other):
                return chain, name, _CheckError(f"{name} is not defined: run its cell")
            if name not in self._verdicts:
                try:
                    self.parts[name](self, self.isolated(other))
                    self._verdicts[name] = None
                except _NotWrittenError:
                    self._verdicts[name] = _CheckError(f"{name} is not written yet")
                except _CheckError as failure:
                    self._verdicts[name] = failure
            failure = self._verdicts[name]
            if failure is not None and failure.blocking:
                deeper = self._upstream(name, other, chain + (name,))
                return deeper or (chain + (name,), name, failure)
        return None


def _run(parts, part, fn):
    """The test cell's check: print what was checked and "passed", or return the error.

    Parameters
    ----------
    parts : dict
        The notebook's checks (see ``_Notebook``).
    part : str
    fn : callable
        The student's function.

    Returns
    -------
    Exception or None
        For the test cell to raise (so that the traceback ends in ``check``): the stub's own
        ``NotImplementedError`` when the function is not written yet, or a
        ``SelfCheckError`` when a check fails or the part cannot be checked yet; ``None``
        when every check passed.
    """
    if not callable(fn):
        return SelfCheckError(
            f"{part} is {_describe(fn)}, not a function: run the cell that defines it."
        )
    notebook = _Notebook(getattr(fn, "__globals__", {}), parts)
    try:
        lines = notebook.verdict(part, fn)
    except _NotWrittenError as stub:
        return stub.error
    except _CheckError as failure:
        message = failure.message
        if not message.startswith(part + " "):
            message = f"{part}: {message}"
        error = SelfCheckError(message)
        # The student's own exception, shown above the message with its traceback.
        error.__cause__, error.__suppress_context__ = failure.cause, True
        return error
    for line in lines:
        print("  " + line)
    print(f"{part}: all self-checks passed.")
    return None


# ----------------------------------------------------------------------- finite differences


def _directions(rng, shape, k=_DIRECTIONS):
    """``k`` random unit directions of ``shape`` (a list of arrays)."""
    out = []
    for _ in range(k):
        v = rng.normal(size=shape)
        out.append(v / np.sqrt(np.sum(v * v)))
    return out


def _slope(f, x, v, step=_STEP):
    """Central difference of the scalar ``f`` at ``x`` along ``v``: about grad f(x) . v."""
    return (f(x + step * v) - f(x - step * v)) / (2.0 * step)


def _curvature(f, x, u, v, step=_SECOND_STEP):
    """Second central difference of ``f`` at ``x`` along ``u`` and ``v``: about u . H v."""
    h = step
    return (
        f(x + h * u + h * v) - f(x + h * u - h * v) - f(x - h * u + h * v) + f(x - h * u - h * v)
    ) / (4.0 * h * h)


# ------------------------------------------------------------------------------ comparisons


def _floats(what, value):
    """``value`` as a float array, or a failure that says what it is instead."""
    if value is None:
        raise _CheckError(f"{what} is None: is a return statement missing?")
    try:
        out = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise _CheckError(f"{what} should be numbers, but it is {_describe(value)}.") from None
    return out


def _check_shape(what, value, expected, per_sample=""):
    """Fail unless ``value`` has shape ``expected``, with a guess at why not.

    Parameters
    ----------
    what : str
    value : array_like
    expected : tuple of int
    per_sample : str
        What it means here when the result has one extra leading axis of samples.
    """
    expected = tuple(expected)
    shape = _floats(what, value).shape
    if shape == expected:
        return
    hint = ""
    if len(expected) == 2 and shape == expected[::-1]:
        hint = " It looks transposed: check the order of the factors in the matrix product."
    elif expected == () and shape in ((1,), (1, 1)):
        hint = " Return a single number, not an array holding one number."
    elif len(shape) == len(expected) + 1 and shape[1:] == expected and per_sample:
        hint = " It has one row per sample: " + per_sample
    elif len(shape) > len(expected) and [s for s in shape if s != 1] == list(expected):
        hint = f" It has extra axes of length 1: the contract asks for {len(expected)}-D."
    raise _CheckError(f"{what} should have shape {expected} but has shape {shape}.{hint}")


def _check_number(what, value):
    """Fail unless ``value`` is a single finite number; return it as a float."""
    arr = _floats(what, value)
    if arr.ndim != 0:
        raise _CheckError(f"{what} should be one number, not an array of shape {arr.shape}.")
    if not np.isfinite(arr):
        raise _CheckError(f"{what} is {float(arr)}, not a finite number.")
    return float(arr)


def _gap(mine, right):
    """``(largest difference, largest entry of right)``: what a comparison weighs.

    Two numbers, not their ratio: a function of two arrays returning one relative error
    would be an answer to ``relative_error``, a graded part.
    """
    return float(np.max(np.abs(mine - right))), float(np.max(np.abs(right)))


def _within(mine, right, tol):
    """Whether ``mine`` differs from ``right`` by at most ``tol`` times ``right``'s size."""
    difference, size = _gap(mine, right)
    return difference <= tol * size


def _close(mine, right, tol=_EXACT_TOL):
    """Whether ``mine`` equals ``right`` up to round-off (shapes must match)."""
    mine, right = np.asarray(mine, dtype=float), np.asarray(right, dtype=float)
    if mine.shape != right.shape or not np.all(np.isfinite(mine)):
        return False
    scale = 1.0 + float(np.max(np.abs(right), initial=0.0))
    return float(np.max(np.abs(mine - right), initial=0.0)) <= tol * scale


def _scale_hint(mine, right, factors, otherwise):
    """Words for the classic slip that turns ``right`` into ``mine``.

    Parameters
    ----------
    mine, right : ndarray
        Same shape; ``right`` not all zero.
    factors : list of (float, str)
        Known multiples and what each means in this part.
    otherwise : str
        What to say when ``mine`` is not a multiple of ``right`` at all.
    """
    a, b = np.ravel(mine), np.ravel(right)
    if not np.all(np.isfinite(a)):
        return "It contains nan or inf."
    c = float(a @ b) / float(b @ b)
    if not _within(a, c * b, _MULTIPLE_TOL):
        return otherwise
    for factor, text in factors:
        if abs(c - factor) <= _FACTOR_TOL * abs(factor):
            return text
    if abs(c) < _MULTIPLE_TOL:
        return "It is zero where the right answer is not."
    return f"It is {c:.4g} times the right answer."


def _agree(what, mine, right, tol, factors=(), otherwise=""):
    """Fail unless ``mine`` matches ``right`` (float arrays of one shape) within ``tol``.

    ``right`` comes from finite differences; the message gives the size of the mismatch and
    the slip that fits, if one does.

    Returns
    -------
    float
        The largest difference in units of ``right``'s size (for the tests' records).
    """
    if not np.all(np.isfinite(mine)):
        raise _CheckError(f"{what} contains nan or inf.")
    difference, size = _gap(mine, right)
    if difference <= tol * size:
        return difference / size
    raise _CheckError(
        f"{what} does not match finite differences of the definition: they differ by up to "
        f"{difference:.1e} where the right values reach {size:.1e} (a right answer is within "
        f"{tol:.0e} of that). " + _scale_hint(mine, right, factors, otherwise)
    )


def _compare_gradient(what, grad, f, x, rng, factors=(), otherwise=""):
    """Check ``grad`` (shaped like ``x``) against slopes of ``f`` along random directions.

    Returns
    -------
    float
        See ``_agree``.
    """
    grad = _floats(what, grad)
    x = np.asarray(x, dtype=float)
    directions = _directions(rng, x.shape)
    mine = np.array([np.sum(grad * v) for v in directions])
    right = np.array([_slope(f, x, v) for v in directions])
    return _agree(what, mine, right, _FD_TOL, factors, otherwise)


# ------------------------------------------------------------------------------ numpy errors

_MATMUL = re.compile(r"size (\d+) is different from (\d+)")
_DOT = re.compile(r"not aligned: (\d+) \(dim \d+\) != (\d+) \(dim \d+\)")
_BROADCAST = re.compile(r"broadcast together with shapes (.*)$")


def _matmul_sizes(error):
    """``(rows of the right factor, columns of the left one)`` of a failed product, or None."""
    text = str(error)
    m = _MATMUL.search(text)
    if m:
        return int(m.group(1)), int(m.group(2))
    m = _DOT.search(text)
    if m:
        return int(m.group(2)), int(m.group(1))
    return None


def _broadcast_shapes(error):
    """The shapes numpy could not broadcast together, as text, or None."""
    m = _BROADCAST.search(str(error))
    return m.group(1).strip() if m else None
