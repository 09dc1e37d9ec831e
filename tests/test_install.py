"""Installation as a new user does it: the README's first command, then git finding the helper.

The README's install command is read from README.md between the markers below and run as
written (``--version`` in place of ``login``) under the machine's own ``/usr/bin/python3`` —
externally managed (PEP 668) on Debian 12, the CI's machine — in a fresh HOME, in a login
shell with nothing of this process's environment but proxy and certificate settings. So the
README cannot drift from what works. A second install runs install.sh under dash with spaces
and a quote in HOME and XDG_DATA_HOME, and uninstalls it with a broken ~/.gitconfig. These
tests fetch the dependencies from the package index (the CI machine reaches it); every step
has a bounded timeout.
"""

from __future__ import annotations

import getpass
import os
import re
import shlex
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

import helper

from conftest import EXE, ROOT, Dist, fresh_clone

BEGIN, END = "<!-- install-command -->", "<!-- /install-command -->"
SYSTEM_PYTHON = "/usr/bin/python3"
INSTALL_TIMEOUT = 300  # seconds: a venv, then requests, keyring, filelock from the index
APP = "git-credential-copilot"

network = pytest.mark.network  # installs from the package index

# What a login shell may inherit from this process: the way to the package index (proxy,
# index URL, certificates). Not other PIP_* settings such as find-links (a local cache a
# fresh machine lacks), and not PATH (the login shell builds it).
PASSED_THROUGH = (
    "http_proxy", "https_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY",
    "PIP_CERT", "SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE", "PIP_INDEX_URL",
)


def readme_install_command() -> str:
    """The shell command between the markers in README.md (inside a ```sh block)."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    if BEGIN not in text:
        pytest.skip(f"README.md has no {BEGIN} … {END} block yet (the install command's markers)")
    block = text.split(BEGIN, 1)[1].split(END, 1)[0]
    lines = [line for line in block.strip().splitlines() if not line.startswith("```")]
    assert len(lines) == 1, f"the install command is one line, found {lines!r}"
    return lines[0].strip()


def login_env(home: Path, **extra: str) -> dict[str, str]:
    user = getpass.getuser()
    env = {"HOME": str(home), "USER": user, "LOGNAME": user, "TERM": "dumb", "LANG": "C.UTF-8"}
    env.update({k: os.environ[k] for k in PASSED_THROUGH if k in os.environ})
    env.update(extra)
    return env


def login_shell(script: str, home: Path, cwd: Path, timeout: float, **extra: str):
    """Run ``script`` in a new login shell of a user whose HOME is ``home``."""
    return subprocess.run(
        ["bash", "-l", "-c", script], cwd=cwd, env=login_env(home, **extra),
        stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout, check=False,
    )


def path_advice(stderr: str) -> str:
    """The `export PATH=…` line the installer told the user to add to ~/.profile."""
    lines = [line.strip() for line in stderr.splitlines()
             if line.strip().startswith("export PATH=")]
    assert len(lines) == 1, f"the PATH advice is said once, clearly:\n{stderr}"
    return lines[0]


def top_level_imports(importtime_stderr: str) -> set[str]:
    """Modules imported by the script itself (and site), not by the modules it imports."""
    rows = [line.rsplit("|", 1)[1] for line in importtime_stderr.splitlines()
            if line.startswith("import time:") and line.count("|") == 2]
    depth = {name: len(name) - len(name.lstrip()) for name in rows[1:]}  # [0] is the header
    least = min(depth.values())
    return {name.strip() for name, d in depth.items() if d == least}


def launched(command: Path) -> list[str]:
    """What the installed command runs. install.sh's launcher is the venv's script with a
    #! line naming the venv's Python and its flags, or (a path a #! line cannot carry) a sh
    script naming them and the venv's script on its `exec` line; pipx's link is the script
    itself."""
    text = command.read_text()
    first = text.splitlines()[0]
    if text.startswith("#!/bin/sh\n"):
        (line,) = [line for line in text.splitlines() if line.startswith("exec ")]
        words = shlex.split(line)
        assert words[0] == "exec" and words[-1] == "$@", line
        return words[1:-1]
    if first.endswith(" -IS"):
        return [first[2:-4], "-IS", str(command)]
    script = command.resolve()
    return [str(script.parent / "python"), str(script)]


def venv_of(command: Path) -> Path:
    return Path(launched(command)[0]).parents[1]


def assert_launcher_skips_re(command: Path) -> None:
    """pip's console-script wrapper imports `re` (~5 ms) before our code runs; ours must not."""
    python, *rest = launched(command)
    timed = subprocess.run([python, "-X", "importtime", *rest, "--version"],
                           capture_output=True, text=True, timeout=30, check=True)
    top = top_level_imports(timed.stderr)
    assert "helper.commands.main" in top, top
    assert "re" not in top, top


@pytest.fixture
def home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    return home


@pytest.fixture
def clone(tmp_path: Path) -> Path:
    dest = tmp_path / "clone"
    dest.mkdir()
    return fresh_clone(dest)


def test_system_python_is_externally_managed():
    """The premise of the next test: on the CI's Debian 12, `pip install .` is refused."""
    stdlib = subprocess.run(
        [SYSTEM_PYTHON, "-c", "import sysconfig; print(sysconfig.get_path('stdlib'))"],
        capture_output=True, text=True, check=True, timeout=30,
    ).stdout.strip()
    managed = Path(stdlib, "EXTERNALLY-MANAGED")
    assert managed.is_file(), f"{SYSTEM_PYTHON} is not externally managed"


@network
def test_readme_install_command_then_git_finds_the_helper(home: Path, clone: Path):
    """The README's command, then git; then an upgrade and an uninstall of that install (one
    install fewer than testing them apart: installs are most of this file's time)."""
    command = readme_install_command()
    assert command.count(f"{APP} login") == 1, f"no `{APP} login` in {command!r}"
    command = command.replace(f"{APP} login", f"{APP} --version")

    found = login_shell("command -v python3", home, clone, 30).stdout.strip()
    assert found == SYSTEM_PYTHON, f"a login shell's python3 is {found!r}, not the system one"

    installed = login_shell(command, home, clone, INSTALL_TIMEOUT)
    assert installed.returncode == 0, f"{command!r} failed:\n{installed.stdout}\n{installed.stderr}"
    assert installed.stdout.strip() == f"{APP} {helper.__version__}"

    # A fresh HOME has no ~/.profile, so ~/.local/bin is not on a login shell's PATH: the
    # installer says what to add; the user adds it and opens a new login shell.
    (home / ".profile").write_text(path_advice(installed.stderr) + "\n")
    found = login_shell(f"command -v {APP}", home, clone, 30).stdout.strip()
    assert found == str(home / ".local/bin" / APP)
    # Started by the kernel straight into the venv's Python, isolated and without site.
    (venv,) = (home / ".local/share" / f"{APP}-venv").iterdir()
    first = Path(found).read_text().splitlines()[0]
    assert first == f"#!{venv}/bin/python -IS", first
    assert_launcher_skips_re(Path(found))

    fill = login_shell(
        "git config --global credential.helper copilot && "
        "printf 'protocol=https\\nhost=api.githubcopilot.com\\n\\n' | git credential fill",
        home, home, 60, GIT_TRACE="1", GIT_TERMINAL_PROMPT="0",
    )
    # git ran our command through its PATH, and our command answered (no login yet).
    assert f"run_command: {APP} get" in fill.stderr, fill.stderr
    assert re.search(rf"^{APP}: .*not logged in", fill.stderr, re.M), fill.stderr
    assert fill.returncode != 0 and "password=" not in fill.stdout
    # That line is the user's own (uninstall rightly keeps it); the rest sets git up anew.
    assert login_shell("git config --global --unset credential.helper", home, home, 30
                       ).returncode == 0
    upgrade_then_uninstall(home, clone)


def upgrade_then_uninstall(home: Path, clone: Path) -> None:
    """An install made: upgrade it in place, configure git, uninstall; the login stays."""
    link = home / ".local/bin" / APP
    venvs = home / ".local/share" / f"{APP}-venv"
    before = venv_of(link)
    upgrade = login_shell("./install.sh", home, clone, INSTALL_TIMEOUT)  # pip's cache: HOME's
    assert upgrade.returncode == 0, upgrade.stderr
    after = venv_of(link)
    assert after != before and after.is_dir() and not before.exists()
    assert [p.name for p in venvs.iterdir()] == [after.name]

    # Git is set up to use the helper: by `configure` where this version has it, else by hand.
    has_unconfigure = "unconfigure" in login_shell(f"{link} --help", home, home, 30).stdout
    by_hand = "git config --global credential.helper copilot"
    setup = f"{link} configure" if has_unconfigure else by_hand
    assert login_shell(setup, home, home, 30).returncode == 0
    # The login outlives the program.
    (home / ".local/share" / APP).mkdir(parents=True)
    (home / ".local/share" / APP / "copilot.json").write_text("{}")
    gone = login_shell("./install.sh --uninstall", home, clone, 60)
    assert gone.returncode == 0, gone.stderr
    assert not link.exists() and not link.is_symlink() and not venvs.exists()
    left = login_shell("git config --global --get-regexp '^credential'", home, home, 30).stdout
    if has_unconfigure:
        assert "copilot" not in left, f"uninstall left git config naming the helper:\n{left}"
    else:  # an older version: the user is told which lines to remove
        assert "still names the helper" in gone.stderr and "helper copilot" in gone.stderr
    assert (home / ".local/share" / APP / "copilot.json").exists()
    assert f"~/.local/share/{APP} ~/.local/state/{APP}" in gone.stderr
    assert "keyring" in gone.stderr


def dash_install(args: list[str], home: Path, data: Path, clone: Path, timeout: float):
    """install.sh under dash, as macOS and Debian users start it: `sh install.sh`."""
    dash = shutil.which("dash") or pytest.skip("dash is not installed (Debian's /bin/sh)")
    return subprocess.run(
        [dash, "./install.sh", *args], cwd=clone, stdin=subprocess.DEVNULL,
        env=login_env(home, PATH="/usr/bin:/bin", XDG_DATA_HOME=str(data)),
        capture_output=True, text=True, timeout=timeout, check=False)


def run_sh(command: str, home: Path, timeout: float = 30, **extra: str):
    """A line install.sh told the user to run, pasted into a POSIX sh."""
    return subprocess.run(["sh", "-c", command], cwd=home, stdin=subprocess.DEVNULL,
                          env=login_env(home, **{"PATH": "/usr/bin:/bin", **extra}),
                          capture_output=True, text=True, timeout=timeout, check=False)


def told(stderr: str, start: str) -> str:
    """The one line of ``stderr`` that starts with ``start`` (after its indentation)."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip().startswith(start)]
    assert len(lines) == 1, f"one line starting {start!r}:\n{stderr}"
    return lines[0]


def tree(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


@network
def test_spaces_and_quotes_in_paths_and_uninstall_with_a_broken_git_config(tmp_path: Path,
                                                                          clone: Path):
    """HOME with a space, XDG_DATA_HOME with a space and a quote (so the venv's scripts carry
    an unquoted #! line no kernel can start): the launcher still runs, git reaches it, every
    command printed for a person does exactly what it says, and uninstall goes on past a
    ~/.gitconfig git cannot read."""
    home, data = tmp_path / "my home", tmp_path / "Team's data"
    home.mkdir()
    link = home / ".local/bin" / APP
    installed = dash_install([], home, data, clone, INSTALL_TIMEOUT)
    assert installed.returncode == 0, installed.stderr
    assert link.read_text().startswith("#!/bin/sh\n") and not link.is_symlink()
    venv = venv_of(link)
    assert venv.parent == data / f"{APP}-venv"
    assert (venv / "bin" / APP).read_text().startswith(f"#!{venv}/bin/python")  # unquoted
    assert_launcher_skips_re(link)

    # The PATH line, pasted into sh, finds the launcher; git runs it with its arguments and
    # stdin (our answer names the profile the host in stdin routes to).
    found = run_sh(f"{told(installed.stderr, 'export PATH=')}; command -v {APP}", home)
    assert found.stdout.strip() == str(link), found.stderr
    path = f"{link.parent}:/usr/bin:/bin"
    version = run_sh(f"{APP} --version", home, PATH=path)
    assert version.stdout == f"{APP} {helper.__version__}\n", version.stderr
    assert run_sh(f"{APP} configure", home, PATH=path).returncode == 0
    fill = run_sh("printf 'protocol=https\\nhost=api.githubcopilot.com\\n\\n' | "
                  "git credential fill", home, 60, PATH=path, XDG_DATA_HOME=str(data),
                  GIT_TRACE="1", GIT_TERMINAL_PROMPT="0")
    assert f"run_command: {APP} get" in fill.stderr, fill.stderr
    said = re.search(rf"^{APP}: .*not logged in \(profile 'copilot'\)", fill.stderr, re.M)
    assert said, fill.stderr

    # A login to keep, then a ~/.gitconfig git cannot read.
    for kept in (data / APP, home / ".local/state" / APP, home / ".config" / APP):
        kept.mkdir(parents=True, exist_ok=True)
        (kept / "kept").write_text("{}")
    for mine in ("credential.helper store",
                 "credential.https://api.githubcopilot.com/.username me"):
        assert run_sh(f"git config --global {mine}", home).returncode == 0  # the user's own
    gitconfig = home / ".gitconfig"
    good = gitconfig.read_text()
    assert "copilotConfigured" in good and "helper = copilot" in good, good
    gitconfig.write_text(good + "[broken\n")
    gone = dash_install(["--uninstall"], home, data, clone, 60)
    assert gone.returncode == 1, gone.stderr
    assert not link.exists() and not link.is_symlink() and not venv.parent.exists()
    assert (data / APP / "kept").exists()
    last = gone.stderr.strip().splitlines()[-1]
    assert last.startswith("install.sh: could not remove the helper's entries from your git "
                           "config (fatal: bad config line "), last
    assert "; once that is fixed, run: " in last, last

    # The user fixes the file and pastes the command: exactly our lines go.
    gitconfig.write_text(good + "[user]\n\tname = Someone\n")
    fixed = run_sh(last.split("; once that is fixed, run: ", 1)[1], home)
    assert fixed.returncode == 0, fixed.stderr
    left = run_sh("git config --global --list", home).stdout
    ours = [line for line in left.splitlines() if "copilotconfigured" in line
            or line.endswith(".helper=copilot") or line.endswith(".helper=")]
    assert not ours, left
    for mine in ("credential.helper=store", "githubcopilot.com/.username=me", "user.name=Someone"):
        assert mine in left, left

    # The rm -rf advice, pasted, removes those three folders and nothing else.
    before = tree(tmp_path)
    removed = run_sh(told(gone.stderr, "rm -rf "), home)
    assert removed.returncode == 0, removed.stderr
    meant = {f"Team's data/{APP}", f"my home/.local/state/{APP}", f"my home/.config/{APP}"}
    lost = before - tree(tmp_path)
    assert meant <= lost, lost
    assert all(any(p == m or p.startswith(m + "/") for m in meant) for p in lost), lost


def test_uninstall_leaves_a_foreign_command_alone(home: Path, clone: Path):
    link = home / ".local/bin" / APP
    link.parent.mkdir(parents=True)
    link.write_text("#!/bin/sh\n")  # say, from `pip install --user`
    for args in ("", " --uninstall"):
        run = login_shell(f"./install.sh{args}", home, clone, 60)
        assert run.returncode == 1 and "was not made by install.sh" in run.stderr, run.stderr
        assert link.read_text() == "#!/bin/sh\n"


def test_editable_install_runs_our_launcher():
    """The test venv's command (editable install) is our script, not pip's wrapper."""
    text = EXE.read_text()
    assert "launch.main()" in text and "import re" not in text
    version = subprocess.run([EXE, "--version"], capture_output=True, text=True, timeout=30)
    module = subprocess.run([sys.executable, "-m", "helper", "--version"],
                            capture_output=True, text=True, timeout=30)
    assert version.stdout == module.stdout == f"{APP} {helper.__version__}\n"


@network
@pytest.mark.skipif(shutil.which("pipx") is None,
                    reason="pipx is not installed (scripts/test installs it)")
def test_pipx_exposes_the_command(tmp_path: Path, clone: Path):
    """pipx with a space in HOME and in its bin folder, and its venvs where the README says
    (PIPX_HOME without a space): the README's way round pip's unquoted #! line, which is also
    checked here, as the reason for it."""
    home, bin_dir, pipx_home = tmp_path / "my home", tmp_path / "my bin", tmp_path / "pipx"
    home.mkdir()
    run = subprocess.run(
        ["pipx", "install", str(clone)], capture_output=True, text=True, timeout=INSTALL_TIMEOUT,
        env=login_env(home, PATH=os.environ["PATH"], PIPX_HOME=str(pipx_home),
                      PIPX_BIN_DIR=str(bin_dir)),
    )
    assert run.returncode == 0, run.stderr
    version = subprocess.run([bin_dir / APP, "--version"],
                             capture_output=True, text=True, timeout=30)
    assert version.stdout == f"{APP} {helper.__version__}\n"
    assert_launcher_skips_re(bin_dir / APP)
    venv = pipx_home / "venvs" / APP
    first = (venv / "bin" / APP).read_text().splitlines()[0]
    assert first == f"#!{venv}/bin/python", first  # a space in PIPX_HOME would split it


@network
def test_sdist_and_wheel_carry_everything(dist: Dist):
    """`python -m build` builds (the shared build: conftest's ``dist``), and the sdist has what
    a packager needs to test and integrate."""
    with tarfile.open(dist.sdist) as tar:
        names = {n.split("/", 1)[1] for n in tar.getnames() if "/" in n}
    for wanted in ("README.md", "LICENSE", "install.sh", "setup.py", "contrib/git",
                   "tests/test_install.py", "benchmarks/bench.py", f"scripts/{APP}",
                   "docs/security.md"):
        assert any(n == wanted or n.startswith(wanted + "/") for n in names), wanted
    names = set(zipfile.ZipFile(dist.wheel).namelist())
    assert f"git_credential_copilot-{helper.__version__}.data/scripts/{APP}" in names
