# Set-up shared by every chapter: the figure style and `claim`, which ties a number in the prose
# to the computation that produced it. (Loaded into a hidden cell at the top of each chapter.)
import math

import matplotlib.pyplot as plt
import numpy as np
from myst_nb import glue

# Figures are drawn at about the width of the text column (7.5 in at 100 dpi is 750 px), so
# they are shown at close to their natural size and an 11-point label stays about 15 px tall.
plt.rcParams.update(
    {
        "figure.figsize": (7.5, 4.0),
        "figure.dpi": 100,
        "savefig.dpi": 100,
        "font.size": 11,
        "axes.titlesize": 11,
        "axes.labelsize": 11,
        "legend.fontsize": 10,
        "xtick.labelsize": 10,
        "ytick.labelsize": 10,
        "axes.grid": True,
        "grid.alpha": 0.3,
        "figure.constrained_layout.use": True,
    }
)
np.set_printoptions(precision=4, suppress=False, linewidth=78)

_SUPERSCRIPTS = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def sci(value, digits=1):
    """Format a number as prose writes it: ``3.2 × 10⁻¹¹``.

    Parameters
    ----------
    value : float
    digits : int
        Significant digits of the mantissa.

    Returns
    -------
    str
    """
    if value == 0 or not math.isfinite(value):
        return str(value)
    exponent = math.floor(math.log10(abs(value)))
    mantissa = round(value / 10.0**exponent, digits - 1)
    if abs(mantissa) >= 10:  # rounding carried into the next decade
        mantissa, exponent = mantissa / 10, exponent + 1
    power = "10" + str(exponent).translate(_SUPERSCRIPTS)
    if digits == 1 and mantissa == 1:
        return power
    return f"{mantissa:.{digits - 1}f} × {power}"


def central_differences(f, theta, h=1e-6):
    """Central differences of a scalar function of a vector, one coordinate at a time.

    Parameters
    ----------
    f : callable
        ``f(theta) -> float``.
    theta : (P,)
    h : float
        The step.

    Returns
    -------
    (P,)
        ``(f(theta + h e_i) - f(theta - h e_i)) / 2h`` for each unit vector ``e_i``.
    """
    steps = h * np.eye(theta.size)
    return np.array([(f(theta + s) - f(theta - s)) / (2 * h) for s in steps])


def rel_err(a, b):
    """The course's relative error, ``max|a - b| / max(1e-12, max|a| + max|b|)``.

    Parameters
    ----------
    a, b : array_like, same shape

    Returns
    -------
    float
    """
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return float(np.abs(a - b).max() / max(1e-12, np.abs(a).max() + np.abs(b).max()))


def claim(name, value, low=-math.inf, high=math.inf, fmt="{:.2f}"):
    """Glue a computed number into the prose, after checking the range the prose relies on.

    The text around ``{glue:text}`name``` says something about the number ("about 5", "below
    10⁻⁸", "thousands of times worse"); ``low`` and ``high`` encode that statement, so a
    number that drifts out of it fails the chapter, and with it the book's build.

    Parameters
    ----------
    name : str
        The glue key the prose cites.
    value : float or int or str
        The computed value. A string is glued as it is (``low`` and ``high`` are ignored).
    low, high : float
        The closed range the prose's statement needs.
    fmt : str or {"sci", "sci2"}
        How the prose shows the number: a ``str.format`` pattern, or scientific notation
        with one or two significant digits.

    Returns
    -------
    None
        (So that a hidden cell ending in a claim shows nothing.)
    """
    if isinstance(value, str):
        glue(name, value, display=False)
        return None
    number = float(value)
    if not low <= number <= high:
        raise AssertionError(
            f"claim {name!r}: the computed value {number!r} is outside [{low}, {high}], "
            "so the sentence that cites it is no longer true"
        )
    if fmt == "sci":
        text = sci(number, 1)
    elif fmt == "sci2":
        text = sci(number, 2)
    else:
        text = fmt.format(value)
    glue(name, text, display=False)
    return None
