"""``python -m autograder COMMAND``: the instructor's entry points."""

from __future__ import annotations

import sys

USAGE = """usage: python -m autograder COMMAND [ARGS]

commands (from the course root, the folder with nbgrader_config.py):
  release                              regenerate exercises/ from solutions/ with nbgrader
  grade [PATH] [--assignment A] [--student S] [--out DIR]
                                       grade submitted/ (or PATH): autograded/, gradebook,
                                       feedback/, grades.csv (see `grade --help`)
  feedback [ASSIGNMENT] [--student S]  feedback pages from the gradebook as it is now
  contract [--write | --check]         the graded parts and points (CONTRACT.md)
"""


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] in {"-h", "--help"}:
        print(USAGE)
        return 0 if argv else 2
    command, rest = argv[0], argv[1:]
    if command in ("grade", "feedback"):
        from .nbgrader_light import lighten

        lighten()  # seconds of nbgrader's and nbformat's imports these commands never use
    # Imported lazily so `release` does not pay for the grader's imports and vice versa.
    if command == "grade":
        from .cli import main as grade_main

        return grade_main(rest)
    if command == "release":
        from .release import main as release_main

        return release_main(rest)
    if command == "feedback":
        from .cli import feedback_main

        return feedback_main(rest)
    if command == "contract":
        from .contract_doc import main as contract_main

        return contract_main(rest)
    print(f"unknown command {command!r}\n\n{USAGE}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
