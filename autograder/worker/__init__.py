"""Code that runs inside the sandbox, beside student code.

Nothing here may import the reference solutions, the checks or anything else a student must not
see: the sandbox ships exactly this package plus ``activations``, ``test_functions`` and
``protocol`` (see :func:`autograder.sandbox_worker.shipped_package`).

Modules
-------
wire
    Length-prefixed frames: a JSON header plus a blob of raw bytes, decoded strictly.
tree
    Values inside a frame: tuples, dicts and float64, int64 or bool arrays, decoded strictly.
convert
    The one converter of returned values: a tree of numbers, or a plain-words refusal.
watch
    What the submission imported or touched, and whether it tampered with numpy or builtins.
isolate
    Per-submission namespaces, capabilities and resource limits (Linux, via ``ctypes``).
part_state
    What one part could leave behind for the next part run in the same process.
loader
    Runs the notebook's cells, then the parts, one after another, in a forked child.
processes
    Wait statuses in words; killing and reaping a submission's processes.
job
    One submission as the supervisor received it: cells, limits, calls, printed output.
report
    The answer under construction, rebuilt from validated pieces.
spawn
    Starts one submission's process tree (keeper, init, loader) in fresh namespaces.
attempt
    One such tree as the supervisor watches it: cells and parts timed, frames read.
supervisor
    The warm process: receives submissions from the grader, loads and reloads, answers.

Each module imports only modules listed before it (``convert`` before ``loader``, ...), plus
``protocol``, ``activations`` and ``test_functions``: there is no import cycle.
"""
