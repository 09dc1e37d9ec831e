"""The installed command's one function, on every OS: the cached answer (``helper.fast``),
else the full command line (``helper.commands.main``) with what the cached path read.

POSIX's launcher script (``scripts/git-credential-copilot``) calls it; on Windows it is the
console-script entry point pip turns into ``git-credential-copilot.exe`` (setup.py). It is on
the cached ``get``'s path: it imports ``sys``, ``helper.osdeps`` and ``helper.fast`` only,
and the full command line only when the cached path hands over.

The full command line runs without the cycle collector. It is a short-lived process too (its
longest life is a sign-in of up to 15 minutes), and what it allocates is mostly what it
imports (the command line, then requests), which lives to the end: the collector would walk
it again and again, and once more at exit, for about a tenth of a minting ``get``'s
instructions (``valgrind --tool=callgrind``). Nothing it keeps open depends on the collector:
HTTP sessions, responses and files are closed where they are used.
"""

import sys

from helper import fast, osdeps


def main() -> int:
    """Answer, and return the exit code (a cached answer ends the process at once:
    ``osdeps.exit_now``); an interrupt is one line and exit 130."""
    osdeps.newlines_as_written(sys.stdout)
    try:
        code, handoff = fast.main()
        if code is None:
            import gc

            gc.disable()  # see the docstring of this module
            from helper.commands.main import main as full

            code = full(handoff=handoff)
            gc.freeze()  # ...and the teardown's collection walks nothing
        else:
            osdeps.exit_now(code)  # the answer is written: skip the interpreter's teardown
    except KeyboardInterrupt:
        sys.stderr.write("git-credential-copilot: interrupted\n")
        code = 130
    return code
