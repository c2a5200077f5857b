"""Loading nbgrader's gradebook without its Jupyter server and nbformat's schema machinery.

The ``grade`` and ``feedback`` commands need nbgrader's gradebook models (``nbgrader.api``),
its course directory and its late-submission plugin. Importing any module of nbgrader first
runs ``nbgrader/__init__.py``, which loads nbgrader's four Jupyter server extensions (tornado,
jupyter_server, nbconvert, the exchange), and ``nbgrader.utils`` imports ``nbformat``, whose
``__init__`` builds jsonschema's validators (with forty compiled grammars): together several
seconds before a single student is graded, more than the grading itself.

:func:`lighten` registers the two packages without running their ``__init__``, so that
importing ``nbgrader.api`` loads only the modules it uses. It is for a process that is one of
this grader's commands (``python -m autograder grade``): there, nothing else uses nbgrader's
server extensions or nbformat's top-level functions. It does nothing for a package already
imported, and the library never calls it.
"""

from __future__ import annotations

import importlib.util
import sys

__all__ = ["LIGHT_PACKAGES", "lighten"]

#: Packages whose ``__init__`` the grader's commands never need.
LIGHT_PACKAGES = ("nbgrader", "nbformat")


def lighten() -> list[str]:
    """Register :data:`LIGHT_PACKAGES` without running their ``__init__``.

    Returns
    -------
    list of str
        The packages registered so (those not imported yet).
    """
    done = []
    for name in LIGHT_PACKAGES:
        if name in sys.modules:
            continue
        spec = importlib.util.find_spec(name)
        if spec is None or spec.submodule_search_locations is None:
            continue
        # A package module whose submodules import from its folder as usual; only the
        # package's own __init__ is not executed.
        sys.modules[name] = importlib.util.module_from_spec(spec)
        done.append(name)
    return done
