"""Which command the wheel installs, by the OS it is built for (everything else about the
package is in pyproject.toml).

- POSIX (Linux, macOS): the plain script ``scripts/git-credential-copilot``. pip's
  console-script wrapper would import ``re`` before our code runs, on every cached ``get``.
- Windows: the console-script entry point ``helper.launch:main``, which pip turns into
  ``git-credential-copilot.exe`` - git, like every program there, runs only a file with an
  executable extension, and a script without one does not run.

The wheel is for the OS that builds it (``sys.platform``), as ``pip install .`` and ``pipx
install .`` do on the machine they install on; ``GIT_CREDENTIAL_COPILOT_WHEEL_OS=win32`` (or
``linux``, ``darwin``) builds one for another OS. Its tag is ``py3-none-any`` all the same, so
a built wheel is not for publishing to other systems: publish the sdist.
"""

import os
import sys

from setuptools import setup

COMMAND = "git-credential-copilot"
TARGET = os.environ.get("GIT_CREDENTIAL_COPILOT_WHEEL_OS") or sys.platform

if TARGET == "win32":
    setup(entry_points={"console_scripts": [f"{COMMAND} = helper.launch:main"]})
else:
    setup(scripts=[f"scripts/{COMMAND}"])
