"""The visible self-checks of the student notebooks (numpy and the standard library only).

Each test cell of an exercise notebook runs ``check("<part>", <part>)`` before nbgrader's hidden
block. The code behind that call lives here, once, for both notebooks:

- :mod:`.core`: what every part's check shares (calling the student's function in a clean
  namespace, directional finite differences, comparisons, hints, blaming an upstream part);
- :mod:`.activations`: the activations the MLP notebook provides;
- :mod:`.tools`: the checks of the MLP notebook's own checking tools (``numerical_gradient``,
  ``relative_error``);
- :mod:`.mlp` and :mod:`.logistic`: one check per graded function of each notebook, and the
  ``check`` entry point of that notebook.

The instructor's source notebooks import from here. ``python -m autograder release`` copies
the modules a notebook imports into its locked setup cells instead (see
:mod:`autograder.inline`), so the student release needs only numpy. That is why nothing here
imports anything but numpy and the standard library, and why the assignment modules import
from :mod:`.core` only by name (``from .core import ...``): those lines are dropped when the
modules are inlined one after the other into the same namespace.
"""
