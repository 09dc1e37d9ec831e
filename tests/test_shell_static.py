"""The shell scripts, checked without running them: shellcheck for every one, and for the
POSIX ``sh`` ones (install.sh, contrib/shell) dash's parser and a list of what only bash,
GNU or BSD tools understand — they run on Debian's dash and on macOS (bash 3.2, BSD tools).
Then install.sh's quoting and its first checks, run for real under each POSIX shell at hand
(dash, posh — the strictest —, busybox sh, bash --posix): they need no package index.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
INSTALL = ROOT / "install.sh"
SHELL_SHEBANG = re.compile(rb"#!\s*(/usr/bin/env\s+)?(\S*/)?(ba|da|k|z)?sh(\s|$)")


def posix_shells() -> list[list[str]]:
    """The POSIX shells to run install.sh's pieces under: dash always (Debian's /bin/sh)."""
    shells = [["dash"], ["posh"], ["busybox", "sh"], ["bash", "--posix"]]
    return [shell for shell in shells if shutil.which(shell[0]) or shell[0] == "dash"]


SHELLS = pytest.mark.parametrize("shell", posix_shells(), ids=" ".join)


def shell_scripts() -> list[Path]:
    """install.sh and every file in contrib/ and scripts/ that starts with a shell's #!."""
    found = [INSTALL]
    for folder in ("contrib", "scripts"):
        for path in sorted((ROOT / folder).rglob("*")):
            if path.is_file() and SHELL_SHEBANG.match(path.read_bytes()[:80]):
                found.append(path)
    return found


def posix_scripts() -> list[Path]:
    return [p for p in shell_scripts() if p.read_text().startswith("#!/bin/sh\n")]


# What dash or macOS's sh and tools do not understand; each with a line it must catch.
NOT_POSIX = {
    r"\[\[": "if [[ -n $x ]]; then",
    r"^\s*(local|declare|typeset|function|source|mapfile|readarray)\s": "local x=1",
    r"\b\w+=\(": "names=(a b)",
    r"\$\{#?\w+\[": 'echo "${names[0]}"',
    r"(?:^|[\s=(])\$'": "nl=$'\\n'",  # where a word starts; elsewhere it ends a regex: '^x$'
    r"\$\{\w+(,,?|\^\^?)\}": 'lower=${name,,}',
    r"\$\{\w+:[0-9]": 'head=${name:0:3}',
    r"\{[0-9]+\.\.[0-9]+\}": "for i in {1..3}; do :; done",
    r"<<<|&>|\|&": "grep x <<< \"$y\"",
    r"\[ [^]]*==": 'if [ "$a" == b ]; then :; fi',
    r"\bpipefail\b": "set -o pipefail",
    r"\becho -[neE]\b": "echo -n x",
    r"\breadlink -f|\brealpath\b": 'dir=$(readlink -f "$0")',
    r"\bsed -i|\bsed -E? *-r\b": "sed -i s/a/b/ file",
    r"\bgrep -[a-zA-Z]*P|\bdate -d|\bstat -c|\bxargs -r": "grep -P '\\d' file",
    r"\bmktemp\b(?![^\n]*X{6})": "f=$(mktemp)",
    r"\$(RANDOM|BASH\w*|PIPESTATUS|EPOCHSECONDS)\b": "n=$RANDOM",
}


def code_lines(path: Path) -> list[tuple[int, str]]:
    """Numbered lines that are code: comment lines and quoted help text are not."""
    return [(n, line) for n, line in enumerate(path.read_text().splitlines(), 1)
            if not line.lstrip().startswith("#")]


@pytest.mark.parametrize("pattern,example", NOT_POSIX.items(), ids=list(NOT_POSIX.values()))
def test_each_check_catches_its_example(pattern: str, example: str):
    assert re.search(pattern, example)


@pytest.mark.parametrize("script", posix_scripts(), ids=lambda p: str(p.relative_to(ROOT)))
def test_posix_scripts_use_nothing_beyond_posix_sh(script: Path):
    found = [f"{script.name}:{n}: {line.strip()}  ({pattern})"
             for n, line in code_lines(script) for pattern in NOT_POSIX
             if re.search(pattern, line)]
    assert not found, "\n".join(found)


def test_the_posix_scripts_are_the_ones_meant_to_be():
    names = {str(p.relative_to(ROOT)) for p in posix_scripts()}
    assert {"install.sh", "contrib/shell/copilot-curl", "contrib/shell/list-models"} <= names


@pytest.mark.parametrize("script", posix_scripts(), ids=lambda p: str(p.relative_to(ROOT)))
def test_dash_parses_it(script: Path):
    dash = shutil.which("dash")
    if dash is None:
        pytest.skip("dash is not installed (Debian's /bin/sh)")
    run = subprocess.run([dash, "-n", str(script)], capture_output=True, text=True, timeout=30)
    assert run.returncode == 0, run.stderr


def test_shellcheck_is_clean():
    shellcheck = shutil.which("shellcheck")
    if shellcheck is None:
        pytest.skip("shellcheck is not installed (scripts/test installs it)")
    scripts = shell_scripts()
    assert {p.name for p in scripts} >= {"install.sh", "copilot-curl", "aider-copilot", "test"}
    for script in scripts:
        dialect = ["-s", "sh"] if script in posix_scripts() else []
        run = subprocess.run([shellcheck, *dialect, str(script)], capture_output=True,
                             text=True, timeout=60)
        assert run.returncode == 0, run.stdout


# -- install.sh's pieces, run for real ---------------------------------------------------------

def functions(*names: str) -> str:
    """The text of install.sh's shell functions ``names``, to run without the rest."""
    text = INSTALL.read_text()
    found = [re.search(rf"^{name}\(\) {{\n.*?^}}\n", text, re.M | re.S) for name in names]
    assert all(found), names
    return "".join(m.group() for m in found if m)


TRICKY = ["/a b/c", "/x/it's", "/d/$x`y`\\z;*?", "/plain/path", "/n/new\nline", "/~user/é"]


@SHELLS
def test_quoted_paths_read_back_as_they_were(shell: list[str], tmp_path: Path):
    """Each path install.sh prints for a person, pasted into a shell, is that path again."""
    if shutil.which(shell[0]) is None:
        pytest.skip(f"{shell[0]} is not installed")
    home = "/h/my home"
    script = functions("quote", "shown") + "for p; do shown \"$p\"; printf '\\0'; done\n"
    paths = [*TRICKY, f"{home}/.local/share/x", f"{home}/it's data/x"]
    printed = subprocess.run([*shell, "-c", script, "sh", *paths], capture_output=True,
                             env={"HOME": home, "PATH": "/usr/bin:/bin"}, timeout=30, check=True)
    words = printed.stdout.decode().split("\0")[:-1]
    assert words[-2:] == ["~/.local/share/x", "~/'it'\\''s data/x'"]
    loop = 'for w in ' + " ".join(words) + '; do printf "%s\\0" "$w"; done'
    back = subprocess.run(["sh", "-c", loop],
                          capture_output=True, env={"HOME": home}, timeout=30, check=True)
    assert back.stdout.decode().split("\0")[:-1] == paths




def fake_venv(parent: Path, length: int) -> Path:
    """A venv stand-in whose ``bin/python`` path is ``length`` bytes long: the system's
    Python, and a script that prints the flags it was started with."""
    venv, width = parent, len(str(parent))
    while width < length - len("/bin/python"):
        part = "v" * min(200, length - len("/bin/python") - width - 1)
        venv, width = venv / part, width + 1 + len(part)
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").symlink_to(sys.executable)
    (venv / "bin" / "git-credential-copilot").write_text(
        "#!python\nimport sys; print(sys.flags.isolated, sys.flags.no_site)\n")
    assert len(str(venv / "bin" / "python")) == length
    return venv


# #! lines this kernel takes whole, around its limit (255 bytes since Linux 5.1; a longer
# one loses the flags, or leaves "python -", which reads stdin), and far past it.
@SHELLS
@pytest.mark.parametrize("length", [120, 200, 248, 249, 250, 251, 252, 300])
def test_the_launcher_starts_python_isolated_whatever_its_path(shell: list[str],
                                                                tmp_path: Path, length: int):
    """install.sh's launcher: the script with a `#!python -IS` line when the kernel keeps the
    whole line, else a sh script that execs the same; either way Python starts -I -S."""
    if shutil.which(shell[0]) is None:
        pytest.skip(f"{shell[0]} is not installed")
    venv = fake_venv(tmp_path, length)
    launcher = tmp_path / "launcher"
    script = (functions("quote", "write_launcher")
              + 'app=git-credential-copilot marker="# ours" py_flags=-IS\n'
              + 'write_launcher "$1" "$2"\n')
    subprocess.run([*shell, "-c", script, "sh", str(venv), str(launcher)], timeout=30,
                   check=True, env={"PATH": "/usr/bin:/bin"}, stdin=subprocess.DEVNULL)
    first = launcher.read_text().splitlines()[0]
    direct = len(f"#!{venv}/bin/python -IS") <= 255
    assert first == (f"#!{venv}/bin/python -IS" if direct else "#!/bin/sh"), first
    ran = subprocess.run([str(launcher)], capture_output=True, text=True, timeout=30,
                         stdin=subprocess.DEVNULL)
    assert ran.stdout == "1 1\n", (ran.stdout, ran.stderr)

def fake_tools(folder: Path, python_version: str, system: str) -> dict[str, str]:
    """A PATH with only a python3 of the given version, a uname, and what install.sh needs
    before it picks a Python: a machine without any Python >= 3.10."""
    folder.mkdir()
    (folder / "python3").write_text(f"#!/bin/sh\necho {python_version}\n")
    (folder / "uname").write_text(f"#!/bin/sh\necho {system}\n")
    for tool in ("python3", "uname"):
        (folder / tool).chmod(0o755)
    for tool in ("dirname", "sed", "printf"):  # posh has no printf of its own
        (folder / tool).symlink_to(shutil.which(tool) or f"/usr/bin/{tool}")
    return {"PATH": str(folder), "HOME": str(folder.parent / "home dir")}


@SHELLS
@pytest.mark.parametrize("system,advice", [("Darwin", "brew install python"),
                                           ("Linux", "your package manager")])
def test_only_an_old_python_says_what_to_install(tmp_path: Path, system: str, advice: str,
                                                 shell: list[str]):
    """macOS's /usr/bin/python3 is 3.9: one line saying what to install, and a failure."""
    if shutil.which(shell[0]) is None:
        pytest.skip(f"{shell[0]} is not installed")
    env = fake_tools(tmp_path / "bin", "3.9.6", system)
    run = subprocess.run([shutil.which(shell[0]), *shell[1:], str(INSTALL)], env=env,
                         capture_output=True, text=True, timeout=30, check=False)
    assert run.returncode == 1 and run.stderr.count("\n") == 1, run.stderr
    line = run.stderr.strip()
    assert line.startswith("install.sh: ") and "3.9.6" in line and "3.10" in line, line
    assert advice in line and "python.org" in line, line
    assert not (tmp_path / "home dir").exists()  # nothing was made


def test_help_and_an_unknown_option_under_dash(tmp_path: Path):
    dash = shutil.which("dash") or pytest.skip("dash is not installed")
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    shown = subprocess.run([dash, str(INSTALL), "--help"], env=env, capture_output=True,
                           text=True, timeout=30)
    assert shown.returncode == 0 and "--uninstall" in shown.stdout
    assert not any(line.startswith("#") or line.startswith("set ")
                   for line in shown.stdout.splitlines())
    wrong = subprocess.run([dash, str(INSTALL), "--frobnicate"], env=env, capture_output=True,
                           text=True, timeout=30)
    assert wrong.returncode == 1 and wrong.stderr.count("\n") == 1
