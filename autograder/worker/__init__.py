"""Code that runs inside the sandbox, beside student code.

Nothing here may import the reference solutions, the checks or anything else a student must not
see: the sandbox ships exactly this package plus ``activations``, ``test_functions`` and
``protocol`` (see :mod:`autograder.sandbox`).

Modules
-------
wire
    Length-prefixed frames: a JSON header plus raw float64 bytes, decoded strictly.
convert
    A student's return value turned into a float64 tree, or a plain-words error.
watch
    What the submission imported or touched, and whether it tampered with numpy or builtins.
isolate
    Per-submission namespaces, capabilities and resource limits (Linux, via ``ctypes``).
loader
    Runs the notebook's cells, then the parts, one after another, in a forked child.
supervisor
    The warm process: receives submissions from the grader and reports what happened.
"""
