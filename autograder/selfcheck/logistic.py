"""The self-checks of ``logistic_hessian.ipynb``: one check per graded function, and ``check``.

Each check makes its own small data set (a column of ones, two features, labels drawn from a
logistic model, and a few points repeated with the opposite label so that no line separates
the classes and the loss has a finite minimum). Derivatives are compared with directional
finite differences of the loss *as the notebook defines it*: the textbook cross-entropy with
``1 / (1 + e^-z)``, exact on these moderate inputs (see :mod:`.core` for what the checks may
contain). Newton's method is checked through the Newton equation ``H s = -grad L`` itself,
with both sides from finite differences.
"""

import tracemalloc
import warnings

import numpy as np

from .core import (
    _MULTIPLE_TOL,
    _SECOND_FD_TOL,
    _agree,
    _check_number,
    _check_shape,
    _CheckError,
    _close,
    _compare_gradient,
    _curvature,
    _directions,
    _floats,
    _run,
    _slope,
    _within,
)

#: Samples and features of the checks' data sets (the first feature is the constant 1).
_N, _M = 24, 3
#: "The gradient vanishes at the fitted weights": every slope there is below this fraction of
#: the slopes at w = 0. Newton's method converged to tol = 1e-10 leaves about 1e-12; the
#: finite differences themselves carry about 1e-10; stopping a few steps early leaves 1e-3.
_GRADIENT_VANISHES = 1e-6
#: The features of the memory check: a full m x m Hessian takes m * m * 8 bytes = 32 MB,
#: the diagonal and every array of shape (N, m) well under 1 MB.
_BIG_N, _BIG_M = 10, 2000
#: A quarter of the full Hessian's bytes: far above what computing the diagonal directly
#: allocates, far below what forming H costs.
_FULL_HESSIAN_BYTES = _BIG_M * _BIG_M * 8 // 4


def _data(seed, N=_N, m=_M):
    """``X (N, m)`` with a column of ones, and labels ``y (N,)`` in {0, 1} that overlap."""
    rng = np.random.default_rng(seed)
    X = np.column_stack([np.ones(N - 4), rng.normal(size=(N - 4, m - 1))])
    p = 1.0 / (1.0 + np.exp(-(X @ rng.normal(0.0, 0.8, m))))
    y = (rng.random(N - 4) < p).astype(float)
    # Four points again, with the other label: no line separates the classes.
    return np.vstack([X, X[:4]]), np.concatenate([y, 1.0 - y[:4]])


def _textbook_loss(X, y):
    """The loss as the notebook defines it, a function of w; exact for moderate ``X @ w``."""

    def loss(w):
        s = 1.0 / (1.0 + np.exp(-(X @ w)))
        return -np.sum(y * np.log(s) + (1.0 - y) * np.log(1.0 - s))

    return loss


def _strictly(call):
    """Run ``call()`` with every floating-point warning turned into an error."""
    with warnings.catch_warnings(), np.errstate(over="raise", divide="raise", invalid="raise"):
        warnings.simplefilter("error")
        return call()


def _warned(failure):
    return isinstance(failure.cause, (FloatingPointError, RuntimeWarning))


# --------------------------------------------------------------------------- part 1: the loss


def _check_sigmoid(nb, sigmoid):
    z = np.array([-3.0, -0.5, 0.0, 0.5, 3.0])
    s = nb.call(sigmoid, z.copy())
    _check_shape("sigmoid(z) for z of shape (5,)", s, z.shape)
    s = _floats("sigmoid(z)", s)
    if not _close(s, 1.0 / (1.0 + np.exp(-z)), 1e-12):
        if _close(s, 1.0 / (1.0 + np.exp(z)), 1e-12):
            raise _CheckError("sigmoid(z) is 1 / (1 + e^z): the exponent is -z.")
        raise _CheckError(
            f"sigmoid([-3, -0.5, 0, 0.5, 3]) should be 1 / (1 + e^-z), that is about "
            f"[0.0474, 0.3775, 0.5, 0.6225, 0.9526]; got {np.round(s, 4).tolist()}."
        )
    _check_shape("sigmoid of a (2, 3) array", nb.call(sigmoid, np.zeros((2, 3))), (2, 3))
    big = np.array([-1e4, -800.0, -40.0, 40.0, 800.0, 1e4])
    try:
        s = _strictly(lambda: nb.call(sigmoid, big.copy()))
    except _CheckError as failure:
        if not _warned(failure):
            raise
        raise _CheckError(
            f"sigmoid overflows for large |z| ({failure.cause}). np.exp(-z) is inf for "
            "z = -1e4, and np.where computes both of its branches for every entry, so a "
            "guard inside np.where does not help. Find a way to write sigma(z) in which np.exp "
            "never sees a large positive number.",
            blocking=False,
        ) from None
    s = _floats("sigmoid of large |z|", s)
    if not (np.all(np.isfinite(s)) and np.all((s >= 0) & (s <= 1))):
        raise _CheckError(f"sigmoid of [-1e4, ..., 1e4] should lie in [0, 1], got {s.tolist()}.")
    if not (s[-1] == 1.0 and s[0] < 1e-300):
        raise _CheckError("sigmoid(1e4) should be 1 and sigmoid(-1e4) about 0.", blocking=False)
    return [
        "equals 1 / (1 + e^-z) for moderate z, keeps the shape of z",
        "no overflow and no nan for |z| up to 1e4",
    ]


def _check_logistic_loss(nb, logistic_loss):
    X, y = _data(9)
    N, m = X.shape
    L0 = _floats("logistic_loss at w = 0", nb.call(logistic_loss, np.zeros(m), X.copy(), y.copy()))
    if L0.ndim != 0:
        raise _CheckError(
            f"logistic_loss should return one number, not an array of shape {L0.shape}."
        )
    if not np.isfinite(L0):
        raise _CheckError(
            f"logistic_loss at w = 0 is {float(L0)}: is a logarithm taken of something that can "
            "be 0 or negative? The loss takes log sigma(w^T x), the log of a probability, not "
            "log(w^T x)."
        )
    L0 = float(L0)
    if abs(L0 - np.log(2)) < 1e-9:
        raise _CheckError(
            "At w = 0 your loss is log 2, the mean over the samples: this course's loss is "
            f"the sum, N log 2 = {N * np.log(2):.4f} here."
        )
    if abs(L0 + N * np.log(2)) < 1e-9:
        raise _CheckError("Your loss is negative: the loss is minus the log-likelihood.")
    if abs(L0 - N * np.log(2)) > 1e-9:
        raise _CheckError(
            f"At w = 0 every prediction is 1/2, so the loss should be N log 2 = "
            f"{N * np.log(2):.4f}; got {L0}."
        )
    w = 0.5 * np.random.default_rng(8).normal(size=m)
    L = _check_number("logistic_loss", nb.call(logistic_loss, w.copy(), X.copy(), y.copy()))
    right = _textbook_loss(X, y)(w)
    if not _close(L, right):
        if _close(L, right / N):
            raise _CheckError(
                "logistic_loss is the mean over the samples: this course's loss is the sum."
            )
        raise _CheckError(
            f"logistic_loss(w, X, y) should be sum_n -y_n log sigma(x_n w) - (1 - y_n) "
            f"log(1 - sigma(x_n w)) = {right:.6f} here; got {L:.6f}."
        )
    try:
        L_big = _strictly(lambda: nb.call(logistic_loss, 1e3 * w, X.copy(), y.copy()))
    except _CheckError as failure:
        if not _warned(failure):
            raise
        raise _CheckError(
            f"logistic_loss warns for large |Xw| ({failure.cause}): some prediction rounds "
            "to 0 or 1 and its log is -inf. Write -log sigma(z) and -log(1 - sigma(z)) so that "
            "no logarithm of 0 is ever taken (np.logaddexp(0, t) is log(1 + e^t), computed "
            "safely).",
            blocking=False,
        ) from None
    L_big = _floats("logistic_loss for large |Xw|", L_big)
    if not (L_big.ndim == 0 and np.isfinite(L_big) and L_big > 0):
        raise _CheckError(
            f"logistic_loss should be finite and positive for large |Xw|, got {L_big}.",
            blocking=False,
        )
    return [
        "N log 2 at w = 0 and the definition's value at another w",
        "finite, without warnings, for large |Xw|",
    ]


# ------------------------------------------------------ part 2: first and second derivatives


def _gradient_factors(N):
    return [
        (
            1 / N,
            f"It is exactly N = {N} times too small: this course's loss is a sum over the samples,"
            " not a mean, and so is its gradient.",
        ),
        (N, f"It is exactly N = {N} times too large."),
        (
            -1,
            "It has the wrong sign: L is minus the log-likelihood; compare (y_hat - y) with (y - "
            "y_hat).",
        ),
        (2, "It is twice too large: there is no factor 2 in the derivative of the cross-entropy."),
        (0.5, "It is half the right answer."),
    ]


def _check_logistic_grad(nb, logistic_grad):
    X, y = _data(10)
    N, m = X.shape
    rng = np.random.default_rng(10)
    w = 0.5 * rng.normal(size=m)
    grad = nb.call(logistic_grad, w.copy(), X.copy(), y.copy())
    _check_shape(
        "logistic_grad",
        grad,
        (m,),
        per_sample="each sample contributes one term, and the gradient of the summed loss is "
        "their sum over n (axis 0).",
    )
    _compare_gradient(
        "logistic_grad",
        grad,
        _textbook_loss(X, y),
        w,
        rng,
        _gradient_factors(N),
        "Through sigma the chain rule simplifies (sigma'(z) = sigma(z)(1 - sigma(z))): the "
        "derivative of sample n's loss with respect to z_n = w^T x_n is short, and that "
        "sample then contributes along its own x_n. Every sample counts, each with its own "
        "y_hat_n and y_n.",
    )
    return ["the gradient of the loss (finite differences along random directions)"]


def _check_logistic_hessian(nb, logistic_hessian):
    X, y = _data(11)
    N, m = X.shape
    rng = np.random.default_rng(11)
    w = 0.5 * rng.normal(size=m)
    H = nb.call(logistic_hessian, w.copy(), X.copy())
    _check_shape("logistic_hessian", H, (m, m))
    H = _floats("logistic_hessian", H)
    if not np.all(np.isfinite(H)):
        raise _CheckError("logistic_hessian contains nan or inf.")
    if not _close(H, H.T):
        raise _CheckError(
            "H should be symmetric (H_ij and H_ji are the same sum over n), and it is not. An "
            "index lost in H_ij = sum_n y_hat_n (1 - y_hat_n) X_ni X_nj (a fixed sample's x_i "
            "where X_ni belongs) gives this."
        )
    if np.linalg.matrix_rank(H) == 1:
        raise _CheckError(
            "H has rank one: it is built from a single sample's x (x^T R x). H = X^T R X sums "
            "the contributions of every row of X."
        )
    loss = _textbook_loss(X, y)
    us, vs = _directions(rng, (m,)), _directions(rng, (m,))
    mine = np.array([us[k] @ H @ vs[k] for k in range(len(us))])
    right = np.array([_curvature(loss, w, us[k], vs[k]) for k in range(len(us))])
    _agree(
        "logistic_hessian",
        mine,
        right,
        _SECOND_FD_TOL,
        [
            (
                N,
                f"It is exactly N = {N} times too large: H_ij sums, over n, the second derivatives"
                " of each sample's own loss l_n. Summing second derivatives of the total loss L, "
                "which already sums the samples, counts every sample N times.",
            ),
            (1 / N, f"It is exactly N = {N} times too small: the loss is a sum, not a mean."),
            (-1, "It has the wrong sign: the loss is convex, its Hessian positive semi-definite."),
        ],
        "Each sample contributes x_n x_n^T, weighted by its own y_hat_n (1 - y_hat_n): "
        "H = X^T R X with R = diag(y_hat_n (1 - y_hat_n)).",
    )
    return ["symmetric, and u^T H v against second differences of the loss"]


def _peak_bytes(call):
    """``call()`` and the most memory it held at once (numpy reports to tracemalloc)."""
    started = not tracemalloc.is_tracing()
    if started:
        tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        if hasattr(tracemalloc, "reset_peak"):
            tracemalloc.reset_peak()
        result = call()
        return result, tracemalloc.get_traced_memory()[1] - base
    finally:
        if started:
            tracemalloc.stop()


def _check_hessian_diagonal(nb, hessian_diagonal):
    X, y = _data(12)
    N, m = X.shape
    rng = np.random.default_rng(12)
    w = 0.5 * rng.normal(size=m)
    h = nb.call(hessian_diagonal, w.copy(), X.copy())
    _check_shape("hessian_diagonal", h, (m,))
    h = _floats("hessian_diagonal", h)
    if not np.all(h >= 0):
        raise _CheckError(
            "Every H_ii is a sum of weights y_hat_n (1 - y_hat_n) >= 0 times squares: it cannot "
            f"be negative, got {h.tolist()}."
        )
    loss = _textbook_loss(X, y)
    right = np.array([_curvature(loss, w, e, e) for e in np.eye(m)])  # d^2 L / dw_i^2
    _agree(
        "hessian_diagonal",
        h,
        right,
        _SECOND_FD_TOL,
        [
            (
                N,
                f"It is exactly N = {N} times too large: each sample's own second derivative "
                "counts once.",
            ),
            (1 / N, f"It is exactly N = {N} times too small: the loss is a sum, not a mean."),
        ],
        "H_ii weights the squared entries X_ni**2 of column i by y_hat_n (1 - y_hat_n), summed "
        "over the samples.",
    )
    big_rng = np.random.default_rng(13)
    Xb = np.column_stack([np.ones(_BIG_N), 0.1 * big_rng.normal(size=(_BIG_N, _BIG_M - 1))])
    wb = 0.1 * big_rng.normal(size=_BIG_M)
    hb, peak = _peak_bytes(lambda: nb.call(hessian_diagonal, wb, Xb))
    _check_shape(f"hessian_diagonal for X of shape {Xb.shape}", hb, (_BIG_M,))
    if peak > _FULL_HESSIAN_BYTES:
        calls = (
            " (it calls logistic_hessian, which builds all of H)"
            if "logistic_hessian" in nb.calls(hessian_diagonal, "hessian_diagonal")
            else ""
        )
        raise _CheckError(
            f"For X of shape {Xb.shape}, hessian_diagonal held {peak / 1e6:.0f} MB at once"
            f"{calls}: it forms an m x m matrix ({_BIG_M}^2 x 8 bytes = "
            f"{_BIG_M**2 * 8 / 1e6:.0f} MB) and keeps only its diagonal. The diagonal "
            "approximation exists because H does not fit in memory when m is large (a million "
            "features: 8 TB for H, 8 MB for its diagonal), so compute each H_ii directly, "
            "in memory proportional to N m.",
            blocking=False,
        )
    return [
        "H_ii against second differences of the loss; all >= 0",
        f"never forms the m x m matrix (peak memory {peak / 1e6:.1f} MB for m = {_BIG_M})",
    ]


# -------------------------------------------------------------------- part 3: Newton's method


def _newton_equation(what, X, y, w, s, rng):
    """Fail unless ``s`` solves ``H(w) s = -grad L(w)``, both sides by finite differences."""
    loss = _textbook_loss(X, y)
    us = _directions(rng, w.shape)
    Hs = np.array([_curvature(loss, w, u, s) for u in us])  # u . H s
    grad = np.array([_slope(loss, w, u) for u in us])  # u . grad L
    if _within(Hs, -grad, _SECOND_FD_TOL):
        return
    c = float(Hs @ -grad) / float(grad @ grad)
    if _within(Hs, -c * grad, _MULTIPLE_TOL):
        if abs(c + 1) < 1e-3:
            hint = "It goes uphill: the Newton step is w - H^-1 grad, with a minus sign."
        elif abs(c) < 1e-3:
            hint = "There is no step at all: w comes back unchanged."
        else:
            hint = (
                f"It is {c:.4g} times the Newton step: are the Hessian and the gradient you "
                "solve with both those of the summed loss? (A factor in only one of them "
                "scales the step.)"
            )
    else:
        along = np.array([u @ s for u in us])
        d = -float(along @ grad) / float(grad @ grad)
        if d > 0 and _within(along, -d * grad, _MULTIPLE_TOL):
            hint = (
                "It points straight down the gradient: that is a gradient-descent step. "
                "Newton's step solves H s = grad L(w) (np.linalg.solve) and returns w - s."
            )
        else:
            hint = (
                "Solve with this course's H and gradient, both at the current w and summed "
                "over the samples."
            )
    raise _CheckError(
        f"{what} does not solve the Newton equation H (w_new - w) = -grad L(w). {hint}"
    )


def _check_newton_step(nb, newton_step):
    X, y = _data(14)
    N, m = X.shape
    rng = np.random.default_rng(14)
    w = 0.3 * rng.normal(size=m)
    before = w.copy()
    w_new = nb.call(newton_step, w, X.copy(), y.copy())
    _check_shape("newton_step", w_new, (m,))
    w_new = _floats("newton_step", w_new)
    if not np.array_equal(w, before):
        raise _CheckError(
            "newton_step changed w in place: return a new array and leave w as it was."
        )
    if not np.all(np.isfinite(w_new)):
        raise _CheckError("newton_step returned nan or inf.")
    _newton_equation("w_new", X, y, before, w_new - before, rng)
    return ["w_new - w solves the Newton equation H s = -grad L (finite differences)"]


def _check_fit_newton(nb, fit_newton):
    X, y = _data(15)
    N, m = X.shape
    rng = np.random.default_rng(15)
    w1 = nb.call(fit_newton, X.copy(), y.copy(), max_iter=1)
    _check_shape("fit_newton(X, y, max_iter=1)", w1, (m,))
    w1 = _floats("fit_newton(X, y, max_iter=1)", w1)
    if not np.all(np.isfinite(w1)):
        raise _CheckError("fit_newton(X, y, max_iter=1) returned nan or inf.")
    try:
        _newton_equation("fit_newton(X, y, max_iter=1)", X, y, np.zeros(m), w1, rng)
    except _CheckError as failure:
        raise _CheckError(
            failure.message + " With max_iter=1 fit_newton takes exactly one Newton step, "
            "from w = 0."
        ) from None
    w_hat = nb.call(fit_newton, X.copy(), y.copy())
    _check_shape("fit_newton", w_hat, (m,))
    w_hat = _floats("fit_newton", w_hat)
    if not np.all(np.isfinite(w_hat)):
        raise _CheckError("fit_newton returned nan or inf.")
    loss = _textbook_loss(X, y)
    us = _directions(rng, (m,))
    at_fit = max(abs(_slope(loss, w_hat, u)) for u in us)
    at_zero = max(abs(_slope(loss, np.zeros(m), u)) for u in us)
    if at_fit > _GRADIENT_VANISHES * at_zero:
        raise _CheckError(
            f"At the weights fit_newton returns the loss still slopes (largest slope "
            f"{at_fit:.1e}, against {at_zero:.1e} at w = 0), so it stops before it converges, "
            "although its first step is right. It should stop only when the largest entry of "
            "a step is below tol, or after max_iter steps, and return the last w."
        )
    return [
        "max_iter=1 gives one Newton step from w = 0",
        "the gradient vanishes at the fitted weights",
    ]


#: The notebook's graded functions and their checks, in notebook order.
_PARTS = {
    "sigmoid": _check_sigmoid,
    "logistic_loss": _check_logistic_loss,
    "logistic_grad": _check_logistic_grad,
    "logistic_hessian": _check_logistic_hessian,
    "hessian_diagonal": _check_hessian_diagonal,
    "newton_step": _check_newton_step,
    "fit_newton": _check_fit_newton,
}


def check(part, function):
    """Run the self-check of one graded function and print what it checked.

    Parameters
    ----------
    part : str
        The function's name, e.g. ``"logistic_hessian"``.
    function : callable
        Your function.

    Raises
    ------
    SelfCheckError
        With what to fix, when a check fails (or the part cannot be checked yet).
    """
    failure = _run(_PARTS, part, function)  # None when there is nothing to fix
    if failure is not None:
        raise failure  # the message below says what to fix
