"""The installed command's one function, on every OS: the cached answer (``helper.fast``),
else the full command line (``helper.commands.main``) with what the cached path read.

POSIX's launcher script (``scripts/git-credential-copilot``) calls it; on Windows it is the
console-script entry point pip turns into ``git-credential-copilot.exe`` (setup.py). It is on
the cached ``get``'s path: it imports ``sys``, ``helper.osdeps`` and ``helper.fast`` only,
and the full command line only when the cached path hands over.

The full command line is imported with the cycle collector paused, and what it imported is
then frozen out of later collections: those objects live to the end of the process, and the
collector would walk them again and again while the imports run, and at every full
collection after. What the run itself makes is collected as usual; at the end it is frozen
too, so the teardown's collection walks nothing (the answer is written and flushed by then,
and files are closed where they are written). About 8 % of a minting ``get``'s instructions
(``valgrind --tool=callgrind``; ``docs/design.md``).
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

            gc.freeze()
            gc.enable()
            code = full(handoff=handoff)
            gc.freeze()  # the teardown's collection then walks nothing
        else:
            osdeps.exit_now(code)  # the answer is written: skip the interpreter's teardown
    except KeyboardInterrupt:
        sys.stderr.write("git-credential-copilot: interrupted\n")
        code = 130
    return code
