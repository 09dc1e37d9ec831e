"""What differs by OS (``helper.osdeps``): the Linux branch for real, the macOS and Windows
branches by asking the same functions with ``platform`` set (they have not run on those
systems: README, "Platforms"), and the wheel's command for POSIX and for Windows.
"""

from __future__ import annotations

import ast
import io
import os
import socket
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import helper
from helper import osdeps
from helper.commands import doctor
from helper.errors import StoreError
from helper.oauth2 import browser
from helper.storage import paths, private, secrets

from conftest import EXE, Dist

ROOT = Path(__file__).resolve().parent.parent
APP = "git-credential-copilot"
KINDS = ("config", "state", "data", "cache")


@pytest.fixture
def not_wsl(tmp_path: Path) -> str:
    path = tmp_path / "osrelease"
    path.write_text("6.1.0-18-amd64\n")
    return str(path)


@pytest.fixture
def wsl(tmp_path: Path) -> str:
    path = tmp_path / "osrelease-wsl"
    path.write_text("5.15.153.1-microsoft-standard-WSL2\n")
    return str(path)


def executable(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text)
    path.chmod(0o755)
    return path


# -- one module for what differs ---------------------------------------------------------------


def test_osdeps_imports_only_sys_and_the_builtin_os_module():
    """The cached get imports it: nothing beyond sys and posix (both loaded by the interpreter
    itself) at import time; not even os, which an interpreter started -I -S has not loaded."""
    tree = ast.parse((ROOT / "helper" / "osdeps.py").read_text())

    def imports(statements: list[ast.stmt]) -> set[str]:
        found: set[str] = set()
        for statement in statements:
            if isinstance(statement, ast.Import):
                found |= {alias.name for alias in statement.names}
            elif isinstance(statement, ast.ImportFrom):
                found.add(statement.module or "")
        return found

    branches = [node for node in tree.body if isinstance(node, ast.If)
                and ast.unparse(node.test) == "sys.platform == 'win32'"]
    assert imports(tree.body) == {"sys"}
    assert set().union(*(imports(node.orelse) for node in branches)) == {"posix"}
    # Windows' branch imports os: the command starts with site there, which has loaded it.
    assert set().union(*(imports(node.body) for node in branches)) == {"nt", "os"}
    run = subprocess.run([sys.executable, "-I", "-S", "-c",
                          f"import sys; sys.path.insert(0, {str(ROOT)!r}); "
                          "before = set(sys.modules); import helper.osdeps; "
                          "print(sorted(set(sys.modules) - before))"],
                         cwd=ROOT, capture_output=True, text=True, timeout=30, check=True)
    assert run.stdout.strip() == "['helper', 'helper.osdeps']"


OS_CALLS = {"geteuid", "getuid", "fchmod", "fchown", "kill", "O_NOFOLLOW", "O_BINARY",
            "O_NONBLOCK", "O_CLOEXEC"}
OS_MODULES = {"fcntl", "msvcrt", "winreg", "pwd", "grp", "platform"}
OS_WORDS = ("win32", "darwin", "APPDATA", "WSL")


def os_specific(path: Path) -> list[str]:
    """What in ``path``'s code (not its docstrings) asks which OS it runs on."""
    tree = ast.parse(path.read_text())
    docstrings = {id(n.body[0].value) for n in ast.walk(tree)
                  if isinstance(n, (ast.Module, ast.ClassDef, ast.FunctionDef))
                  and n.body and isinstance(n.body[0], ast.Expr)}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in OS_CALLS:
            found.append(f"os.{node.attr}")
        elif isinstance(node, ast.Attribute) and node.attr == "platform" and \
                isinstance(node.value, ast.Name) and node.value.id == "sys":
            found.append("sys.platform")
        elif isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name in OS_MODULES]
        elif isinstance(node, ast.ImportFrom) and node.module in OS_MODULES:
            found.append(str(node.module))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and \
                id(node) not in docstrings:
            found += [word for word in OS_WORDS if word in node.value]
    return found


def test_no_other_module_asks_which_os():
    """One module answers what differs by OS; the rest of helper/ is OS-neutral."""
    found = {}
    for path in sorted((ROOT / "helper").rglob("*.py")):
        if path.name != "osdeps.py":
            found[str(path.relative_to(ROOT))] = os_specific(path)
    assert {name: words for name, words in found.items() if words} == {}


@pytest.mark.slow
def test_the_windows_type_check_catches_a_posix_only_call(tmp_path: Path):
    """`mypy --platform win32` (scripts/test runs it on helper/) knows os.geteuid is not there:
    the probe's one error is that call (the probe is otherwise strict-clean)."""
    probe = tmp_path / "probe.py"
    probe.write_text("import os\n\n\ndef uid() -> int:\n    return int(os.geteuid())\n")
    run = subprocess.run([sys.executable, "-m", "mypy", "--strict", "--platform", "win32",
                          "--no-incremental", "--no-error-summary", str(probe)],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 1, run.stdout + run.stderr
    (line,) = run.stdout.splitlines()
    assert line.startswith(f'{probe}:5: error: Module has no attribute "geteuid"'), line


# -- private files -----------------------------------------------------------------------------


def test_owner_and_mode_on_linux_for_real(tmp_path: Path):
    path = tmp_path / "secret"
    path.write_bytes(b"x")
    info = path.stat()
    assert osdeps.owned(info.st_uid) and not osdeps.owned(info.st_uid + 1)
    assert osdeps.exposed(0o100644) and osdeps.exposed(0o100604) and osdeps.exposed(0o40750)
    assert not osdeps.exposed(0o100600) and not osdeps.exposed(0o40700)
    fd = os.open(path, os.O_RDONLY)
    try:
        os.chmod(path, 0o644)
        osdeps.chmod_fd(fd, 0o600)
    finally:
        os.close(fd)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_private_files_through_osdeps_on_linux(tmp_path: Path):
    """The primitives refuse what osdeps calls exposed, and round-trip bytes exactly (no
    newline translation: O_BINARY's job on Windows)."""
    target = str(tmp_path / "dir" / "file")
    data = b"a\r\nb\nc\x1a d\n"
    private.write_private(target, data)
    assert private.read_private(target) == data
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(os.path.dirname(target)).st_mode) == 0o700
    os.chmod(target, 0o640)
    with pytest.raises(private.UnreadableFile, match="readable by others"):
        private.read_private(target)
    assert osdeps.EVERY_OPEN & os.O_CLOEXEC and osdeps.NOFOLLOW == os.O_NOFOLLOW


def test_windows_has_no_uid_or_mode_bits_to_check():
    """Windows: st_uid is always 0 and st_mode bits are made up (0o666, 0o777 for a
    directory); the profile's ACL protects the files, so neither refuses anything."""
    assert osdeps.owned(0, "win32") and osdeps.owned(12345, "win32")
    assert not osdeps.exposed(0o100666, "win32") and not osdeps.exposed(0o40777, "win32")
    assert osdeps.owned(os.geteuid(), "darwin") and not osdeps.owned(os.geteuid() + 1, "darwin")
    assert osdeps.exposed(0o100644, "darwin")


def test_a_writers_temp_file_is_swept_only_when_it_is_gone(tmp_path: Path):
    child = subprocess.Popen([sys.executable, "-c", ""])
    child.wait()  # reaped: its pid names no process now
    assert osdeps.writer_gone(child.pid, 0.0)
    assert not osdeps.writer_gone(os.getpid(), 10_000.0)  # alive, however old its file
    # Windows: no signal 0 (os.kill would terminate it): age alone decides.
    assert not osdeps.writer_gone(os.getpid(), 1.0, "win32")
    assert osdeps.writer_gone(os.getpid(), osdeps.STALE_TEMP + 1, "win32")
    # A real sweep on Linux: a dead writer's temp file goes, a live one's stays.
    target = tmp_path / "f"
    dead, live = tmp_path / f".f.{child.pid}.tmp", tmp_path / f".f.{os.getppid()}.tmp"
    dead.write_bytes(b"")
    live.write_bytes(b"")
    private.write_private(str(target), b"x")
    assert not dead.exists() and live.exists()


def test_replace_retries_only_on_windows():
    """Windows refuses to replace a file a reader has open; the rename is retried there."""
    calls, pauses = [], []

    def busy_twice(source: str, target: str) -> None:
        calls.append((source, target))
        if len(calls) <= 2:
            raise PermissionError(13, "in use")

    osdeps.replace("a", "b", "win32", busy_twice, pauses.append)
    assert len(calls) == 3 and pauses == [osdeps.REPLACE_PAUSE] * 2
    calls.clear()
    with pytest.raises(PermissionError):
        osdeps.replace("a", "b", "linux", busy_twice, pauses.append)
    assert len(calls) == 1

    def always_busy(source: str, target: str) -> None:
        calls.append((source, target))
        raise PermissionError(13, "in use")

    calls.clear()
    with pytest.raises(PermissionError):
        osdeps.replace("a", "b", "win32", always_busy, lambda s: None)
    assert len(calls) == osdeps.REPLACE_TRIES


# -- directories -------------------------------------------------------------------------------


def test_linux_directories_for_real(tmp_path: Path):
    home = str(tmp_path)
    env = {"HOME": home}
    assert paths.config_path(env) == f"{home}/.config/{APP}/config.toml"
    assert paths.state_path(env) == f"{home}/.local/state/{APP}"
    assert paths.data_dir(env) == tmp_path / ".local/share" / APP
    assert paths.cache_dir(env) == tmp_path / ".cache" / APP
    xdg = {"HOME": home, "XDG_CONFIG_HOME": "/c", "XDG_STATE_HOME": "/s",
           "XDG_DATA_HOME": "/d", "XDG_CACHE_HOME": "relative/is/ignored"}
    assert [osdeps.app_dir(k, xdg) for k in KINDS] == [
        f"/c/{APP}", f"/s/{APP}", f"/d/{APP}", f"{home}/.cache/{APP}"]


def test_macos_uses_xdg_too():
    """A stated choice: ~/.config etc. on macOS, like git and gh, not ~/Library."""
    env = {"HOME": "/Users/me", "XDG_STATE_HOME": "/x"}
    assert [osdeps.app_dir(k, env, "darwin") for k in KINDS] == [
        osdeps.app_dir(k, env, "linux") for k in KINDS]
    assert osdeps.app_dir("data", env, "darwin") == f"/Users/me/.local/share/{APP}"


def test_windows_directories():
    """Settings in %APPDATA% (roaming), the rest in %LOCALAPPDATA%, one folder per kind (the
    state and data folders both hold <profile>.json); an explicit XDG variable still wins."""
    env = {"APPDATA": "/R", "LOCALAPPDATA": "/L", "USERPROFILE": "/U", "HOME": "/ignored"}
    got = {k: osdeps.app_dir(k, env, "win32") for k in KINDS}
    assert got == {"config": f"/R/{APP}", "state": f"/L/{APP}/state",
                   "data": f"/L/{APP}/data", "cache": f"/L/{APP}/cache"}
    bare = {"USERPROFILE": "/U"}
    assert osdeps.app_dir("config", bare, "win32") == f"/U/AppData/Roaming/{APP}"
    assert osdeps.app_dir("data", bare, "win32") == f"/U/AppData/Local/{APP}/data"
    assert osdeps.app_dir("state", {**env, "XDG_STATE_HOME": "/x"}, "win32") == f"/x/{APP}"


@pytest.mark.parametrize("platform", ["linux", "darwin", "win32"])
def test_every_kind_has_its_own_directory(platform: str):
    env = {"HOME": "/h", "APPDATA": "/R", "LOCALAPPDATA": "/L", "USERPROFILE": "/U"}
    assert len({osdeps.app_dir(k, env, platform) for k in KINDS}) == len(KINDS)


def test_the_cached_routes_key_on_every_directory_variable():
    """Any variable that moves a directory, on any OS, invalidates the cached routes."""
    assert set(osdeps.DIR_INPUTS) <= set(paths.CONFIG_INPUTS)


# -- the store ---------------------------------------------------------------------------------


def test_windows_keeps_logins_in_the_keyring_and_a_file_only_when_asked(tmp_path, monkeypatch):
    monkeypatch.setattr(secrets, "viable_keyring", lambda timeout: (None, "it failed to load"))
    env = {"HOME": str(tmp_path)}
    with pytest.raises(StoreError, match='set store = "file"'):
        secrets.choose("auto", env, lambda line: None, platform="win32")
    assert isinstance(secrets.choose("file", env, lambda line: None, platform="win32"),
                      secrets.FileStore)
    assert isinstance(secrets.choose("auto", env, lambda line: None, platform="linux"),
                      secrets.FileStore)  # Linux without a Secret Service: the private file
    assert "access control list" in osdeps.file_store_note("win32")
    assert osdeps.file_store_note("linux") == "" and osdeps.file_fallback("darwin")


# -- the command -------------------------------------------------------------------------------


def test_the_command_file_name_and_configure_recognising_it():
    from helper.commands import configure

    assert osdeps.command_file("linux") == osdeps.command_file("darwin") == APP
    assert osdeps.command_file("win32") == f"{APP}.exe"
    assert configure.is_ours(f"/home/me/.local/bin/{APP}")
    assert configure.is_ours(f"C:/Users/me/Scripts/{APP}.exe") == (sys.platform == "win32")


def test_windows_writes_newlines_as_they_are():
    """A Windows text stream writes \\r\\n; the protocol and `token` must not."""
    raw = io.BytesIO()
    stream = io.TextIOWrapper(raw, newline="\r\n")  # what stdout is on Windows
    osdeps.newlines_as_written(stream, "linux")
    stream.write("a\n")
    stream.flush()
    osdeps.newlines_as_written(stream, "win32")
    stream.write("password=tok\n")
    stream.flush()
    assert raw.getvalue() == b"a\r\npassword=tok\n"


# -- the browser and WSL -----------------------------------------------------------------------


def test_browser_opener_per_os(tmp_path: Path, not_wsl: str, wsl: str):
    webbrowser = [sys.executable, "-I", "-m", "webbrowser", "-t"]
    assert osdeps.browser_command({}, "darwin", not_wsl) == webbrowser
    assert osdeps.browser_command({}, "win32", not_wsl) == webbrowser
    assert osdeps.browser_command({}, "linux", not_wsl) is None
    assert osdeps.browser_command({"DISPLAY": ":0"}, "linux", not_wsl) == webbrowser
    assert osdeps.browser_command({}, "linux", wsl) is None  # WSL without wslview
    wslview = executable(tmp_path / "bin", "wslview", "#!/bin/sh\n")
    env = {"PATH": f"/nonexistent{os.pathsep}{wslview.parent}"}
    assert osdeps.browser_command(env, "linux", wsl) == [str(wslview)]
    assert osdeps.browser_command(env, "linux", not_wsl) is None  # wslview alone: not WSL
    assert osdeps.browser_command({**env, "BROWSER": "x"}, "linux", wsl) == webbrowser


def test_wsl_is_recognised(not_wsl: str, wsl: str, tmp_path: Path):
    assert osdeps.is_wsl({}, "linux", wsl)
    assert osdeps.is_wsl({"WSL_DISTRO_NAME": "Ubuntu"}, "linux", not_wsl)
    assert not osdeps.is_wsl({}, "linux", not_wsl)
    assert not osdeps.is_wsl({}, "linux", str(tmp_path / "missing"))
    assert not osdeps.is_wsl({"WSL_DISTRO_NAME": "Ubuntu"}, "darwin", wsl)


def test_wsl_signs_in_with_a_device_code_unless_a_browser_can_open(tmp_path: Path):
    """`flow = "auto"` under WSL (this Linux, with WSL_DISTRO_NAME): the device flow without
    an opener, the browser once wslview is on PATH."""
    auth, device = "https://idp.example/authorize", "https://idp.example/device"
    env = {"WSL_DISTRO_NAME": "Ubuntu", "PATH": str(tmp_path / "bin")}
    assert browser.choose("auto", auth, device, env, "linux") == "device"
    executable(tmp_path / "bin", "wslview", "#!/bin/sh\n")
    assert browser.choose("auto", auth, device, env, "linux") == "browser"


def test_wsl_opens_the_link_with_wslview(tmp_path: Path):
    """The real opener, with a stand-in wslview that hands its arguments back over a socket."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        server.settimeout(30)
        port = server.getsockname()[1]
        executable(tmp_path / "bin", "wslview", f"#!{sys.executable}\nimport socket, sys\n"
                   f"with socket.create_connection(('127.0.0.1', {port})) as s:\n"
                   "    s.sendall(repr(sys.argv[1:]).encode())\n")
        link = "http://127.0.0.1:1/start?cookie=abc"
        browser.open_browser(link, {"WSL_DISTRO_NAME": "Ubuntu", "PATH": str(tmp_path / "bin")})
        conn, _ = server.accept()
        with conn:
            conn.settimeout(30)
            said = b"".join(iter(lambda: conn.recv(4096), b""))
    assert said.decode() == repr([link])


def test_wsl_findings(tmp_path: Path, not_wsl: str, wsl: str):
    env = {"HOME": "/home/me", "WSL_DISTRO_NAME": "Ubuntu", "PATH": str(tmp_path / "bin")}
    assert osdeps.wsl_findings({"HOME": "/home/me"}, "linux", not_wsl) == []
    kept, opens = osdeps.wsl_findings(env, "linux", not_wsl)
    assert not kept.fix and kept.detail.startswith("Ubuntu: logins are kept on the Linux side")
    assert f"/home/me/.local/share/{APP}" in kept.detail and "Credential Manager" in kept.detail
    assert "device code" in opens.detail and "wslu" in opens.fix  # a caveat: doctor warns
    executable(tmp_path / "bin", "wslview", "#!/bin/sh\n")
    _, opens = osdeps.wsl_findings(env, "linux", wsl)
    assert not opens.fix
    assert opens.detail == f"browser sign-ins open Windows' browser through {tmp_path}/bin/wslview"
    _, opens = osdeps.wsl_findings({**env, "BROWSER": "wslview"}, "linux", wsl)
    assert opens.detail == "browser sign-ins open through $BROWSER (wslview)"


def test_doctor_says_it_is_wsl(tmp_path: Path):
    """The installed command's doctor under WSL (WSL_DISTRO_NAME on this Linux). The config is
    broken on purpose: doctor then stops before any network check."""
    bad = tmp_path / "config.toml"
    bad.write_text("this is = not toml =\n")
    env = {"HOME": str(tmp_path), "PATH": os.environ["PATH"], "WSL_DISTRO_NAME": "Ubuntu",
           "GIT_CREDENTIAL_COPILOT_CONFIG": str(bad)}
    run = subprocess.run([EXE, "doctor"], env=env, capture_output=True, text=True, timeout=60)
    assert run.returncode == 1, run.stderr
    lines = run.stdout.splitlines()
    assert any(line.startswith("✗ config:") for line in lines), run.stdout
    assert "✓ wsl: Ubuntu: logins are kept on the Linux side" in run.stdout
    assert any(line.startswith("! wsl browser: no browser opener") for line in lines), run.stdout
    no_wsl = {k: v for k, v in env.items() if k != "WSL_DISTRO_NAME"}
    checks = doctor.run_checks(no_wsl, "", None)
    assert "wsl" not in [c.name for c in checks] or osdeps.is_wsl(no_wsl)


# -- the wheel's command: a plain script on POSIX, an .exe entry point on Windows --------------


def wheel_command(wheel: Path) -> tuple[list[str], str]:
    names = zipfile.ZipFile(wheel).namelist()
    scripts = [n for n in names if ".data/scripts/" in n]
    (entry_points,) = [n for n in names if n.endswith(".dist-info/entry_points.txt")] or [""]
    return scripts, zipfile.ZipFile(wheel).read(entry_points).decode() if entry_points else ""


@pytest.mark.network
def test_the_posix_wheel_carries_the_plain_launcher(dist: Dist):
    scripts, entry_points = wheel_command(dist.wheel)
    assert scripts == [f"git_credential_copilot-{helper.__version__}.data/scripts/{APP}"]
    assert "console_scripts" not in entry_points


@pytest.mark.network
def test_the_windows_wheel_carries_a_console_script_and_it_runs(tmp_path: Path, dist: Dist):
    """Built as on Windows: no extensionless script, the entry point pip makes an .exe of. Here
    pip installs it as a wrapper script instead; running that proves the entry point's target
    is real. The .exe itself has not been run."""
    wheel = dist.windows_wheel
    scripts, entry_points = wheel_command(wheel)
    assert scripts == []
    assert entry_points.split() == ["[console_scripts]", f"{APP}", "=",
                                    "helper.launch:main"]
    target = tmp_path / "installed"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target",
                    str(target), str(wheel)], check=True, capture_output=True, timeout=300)
    command = target / "bin" / APP
    assert "from helper.launch import main" in command.read_text()
    run = subprocess.run([command, "--version"], env={**os.environ, "PYTHONPATH": str(target)},
                         capture_output=True, text=True, timeout=60)
    assert run.stdout == f"{APP} {helper.__version__}\n", run.stderr


PATHS = ["", "/", "//", "a", "a/", "/a", "/a/", "a/b", "/a/b/", "//a//b//", "/a b/c'd",
         "~/x", "./a/../b", "/home/u/.local/state/git-credential-copilot", "\udcff/x"]


@pytest.mark.skipif(sys.platform == "win32", reason="posixpath's rules are POSIX's")
def test_the_path_rules_without_os_are_posixpaths():
    """osdeps keeps its own copy of five posixpath rules (the cached get must not import os):
    they give posixpath's answers."""
    import posixpath

    for path in PATHS:
        assert osdeps.dirname(path) == posixpath.dirname(path), path
        assert osdeps.basename(path) == posixpath.basename(path), path
        assert osdeps.isabs(path) == posixpath.isabs(path), path
        for other in PATHS:
            assert osdeps.join(path, other) == posixpath.join(path, other), (path, other)
            assert osdeps.join(path, other, path) == posixpath.join(path, other, path)
    assert osdeps.lexists("/") and not osdeps.lexists("/nonexistent/x")
    assert not osdeps.lexists("a\0")


def test_the_environment_without_os_is_os_environ(monkeypatch):
    """Decoded as os.environ decodes it, undecodable bytes included; and it follows changes
    made through os.environ (the two share one dict)."""
    monkeypatch.setenv("GCC_TEST_VAR", "caf\u00e9 \udcff")
    monkeypatch.delenv("XDG_STATE_HOME", raising=False)
    assert dict(osdeps.environ()) == dict(os.environ)


EXIT_NOW = """
import os, sys
sys.path.insert(0, {root!r})
from helper import osdeps

class Teardown:
    def __del__(self):
        os.write(1, b" teardown")

kept = Teardown()
{hook}
sys.stdout.write("answer")
osdeps.exit_now(3)
sys.stdout.write(" returned")
"""


def run_exit_now(hook: str = "") -> subprocess.CompletedProcess[str]:
    """The probe in a fresh interpreter; not under coverage (scripts/coverage), whose
    process start-up registers an atexit hook of its own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("COVERAGE_")}
    return subprocess.run([sys.executable, "-c", EXIT_NOW.format(root=str(ROOT), hook=hook)],
                          capture_output=True, text=True, timeout=60, check=False, env=env)


def test_exit_now_skips_the_teardown_and_keeps_the_written_answer():
    done = run_exit_now()
    assert (done.returncode, done.stdout, done.stderr) == (3, "answer", "")


def test_exit_now_leaves_an_atexit_hook_its_usual_exit():
    """Coverage saves its data from an atexit hook: with one registered, the exit is the
    usual one, teardown and hook included."""
    done = run_exit_now('import atexit; atexit.register(os.write, 1, b" hook")')
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.startswith("answer returned")
    assert " hook" in done.stdout and " teardown" in done.stdout
