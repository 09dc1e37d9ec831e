"""Shared fixtures: a fake GitHub/Copilot server and a sandboxed HOME to run the helper in.

Every run of the helper, in process or as a subprocess, goes through ``Sandbox.run``/
``Sandbox.call``, which fails the test if any secret the fake server issued appears on
stderr: secret hygiene is checked across the whole suite, not in one test.
"""

from __future__ import annotations

import gc
import io
import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass, field
from pathlib import Path

import keyring.backend
import pytest
from keyring.errors import PasswordDeleteError

from helper.commands import main as cli

from fakeserver import FakeGitHub, FakeIdP, FakeServer

EXE = Path(sys.executable).parent / "git-credential-copilot"
ROOT = Path(__file__).resolve().parent.parent
BUILD_TIMEOUT = 300  # seconds: `python -m build` of the package (about half a second)
# litellm fetches a price list from the network at import; tests have no network.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")


class FakeClock:
    """The suite's one fake clock: it moves only when the code under test sleeps (or a test
    sets ``now``), and it records every sleep. Call it for the time; pass ``.sleep`` as the
    sleep/wait function."""

    def __init__(self, now: float = 0.0):
        self.now = now
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str

    def pairs(self) -> dict[str, str]:
        return dict(line.split("=", 1) for line in self.stdout.splitlines() if "=" in line)


@dataclass
class Sandbox:
    root: Path
    server: FakeServer
    env: dict[str, str] = field(default_factory=dict)

    @property
    def config_path(self) -> Path:
        return self.root / "config.toml"

    @property
    def state_dir(self) -> Path:
        return self.root / "state" / "git-credential-copilot"

    @property
    def data_dir(self) -> Path:
        return self.root / "data" / "git-credential-copilot"

    def write_config(self, text: str) -> None:
        """Write the config as if written a minute ago: the cached get saves routes only
        for a config that has not changed for a few seconds (cachefiles.RACY)."""
        self.config_path.write_text(textwrap.dedent(text).format(
            url=self.server.url, host=self.server.host, port=self.server.port))
        settled = time.time() - 60
        os.utime(self.config_path, (settled, settled))

    @property
    def login_host(self) -> str:
        """The fake GitHub's host as the profile's github_url names it (not the API host)."""
        return f"localhost:{self.server.port}"

    def state(self, profile: str = "copilot") -> dict:
        path = self.state_dir / f"{profile}.json"
        return json.loads(path.read_text()) if path.exists() else {}

    def login_key(self, profile: str = "copilot") -> str:
        """The key the profile's login is stored under: its name and its server."""
        from helper.core import config

        return f"{profile}@{config.load(self.env).profile(profile).issuer}"

    def stored_path(self, profile: str = "copilot") -> Path:
        return self.data_dir / f"{self.login_key(profile)}.json"

    def stored(self, profile: str = "copilot") -> dict:
        from helper.errors import ConfigError

        try:
            path = self.stored_path(profile)
        except ConfigError:  # a profile the config does not name has no login
            return {}
        return json.loads(path.read_text()) if path.exists() else {}

    def credential(self, host: str | None = None, protocol: str = "http", **extra: str) -> str:
        lines = [f"protocol={protocol}", f"host={self.server.host if host is None else host}"]
        lines += [f"{k}={v}" for k, v in extra.items()]
        return "\n".join(lines) + "\n\n"

    def check_no_secret_leaked(self, text: str, where: str) -> None:
        for secret in self.server.issued:
            assert secret not in text, f"a secret the server issued appeared on {where}"

    def run(self, *args: str, input: str | bytes = "", env: dict | None = None,
            timeout: float = 60) -> Result:
        """Run the installed executable as a subprocess."""
        require_executable()
        data = input.encode() if isinstance(input, str) else input
        proc = subprocess.run(
            [str(EXE), *args], input=data, capture_output=True, timeout=timeout,
            env={**self.env, **(env or {})},
        )
        result = Result(proc.returncode, proc.stdout.decode(), proc.stderr.decode())
        self.check_no_secret_leaked(result.stderr, "stderr")
        assert "Traceback" not in result.stderr, result.stderr
        assert "internal error" not in result.stderr, result.stderr  # a bug, not an answer
        return result

    def start(self, *args: str, env: dict | None = None) -> subprocess.Popen:
        require_executable()
        return subprocess.Popen(
            [str(EXE), *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, env={**self.env, **(env or {})},
        )

    def call(self, *args: str, input: str | bytes = "", env: dict | None = None) -> Result:
        """Run ``cli.main`` in this process with its own streams. A bug in the helper raises
        here with its traceback (GIT_CREDENTIAL_COPILOT_DEBUG) instead of "internal error"."""
        data = input.encode() if isinstance(input, str) else input
        out, err = io.StringIO(), io.StringIO()
        code = cli.main(list(args), stdin=io.BytesIO(data), stdout=out, stderr=err,
                        env={**self.env, "GIT_CREDENTIAL_COPILOT_DEBUG": "1", **(env or {})})
        result = Result(code, out.getvalue(), err.getvalue())
        self.check_no_secret_leaked(result.stderr, "stderr")
        return result


# The product's own network bounds (10 s a request, 20 s of retries): a test whose subject
# is a hang, a refusal or a retry sets its own with ``timeouts``.
DEFAULT_CONFIG = """\
store = "file"

[profiles.copilot]
github_url = "http://localhost:{port}"
api_url = "{url}"
hosts = ["{host}"]
"""


OAUTH_CONFIG = """\
store = "file"

[profiles.corp]
provider = "oauth"
issuer = "{url}"
client_id = "helper-tests"
hosts = ["{host}"]
api_base = "{url}/v1"
"""


def sandbox_env(root: Path) -> dict[str, str]:
    home = root / "home"
    home.mkdir(parents=True, exist_ok=True)
    return {
        "PATH": f"{EXE.parent}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}",
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "XDG_CONFIG_HOME": str(root / "config"),
        "XDG_STATE_HOME": str(root / "state"),
        "XDG_DATA_HOME": str(root / "data"),
        "XDG_CACHE_HOME": str(root / "cache"),
        "GIT_CREDENTIAL_COPILOT_CONFIG": str(root / "config.toml"),
        "GIT_CREDENTIAL_COPILOT_INTERACTIVE": "never",
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": str(home / ".gitconfig"),
        # Subprocess coverage (coverage's own .pth starts it when this is set), and the code
        # under test when it is not the installed checkout (scripts/mutation sets PYTHONPATH).
        **{k: v for k, v in os.environ.items()
           if k in ("COVERAGE_PROCESS_START", "COVERAGE_PROCESS_CONFIG", "PYTHONPATH")},
    }


@pytest.fixture
def github():
    server = FakeGitHub().start()
    yield server
    server.stop()


@pytest.fixture
def sandbox(tmp_path: Path, github: FakeGitHub) -> Sandbox:
    box = Sandbox(root=tmp_path, server=github, env=sandbox_env(tmp_path))
    box.write_config(DEFAULT_CONFIG)
    return box


@pytest.fixture
def idp():
    server = FakeIdP().start()
    yield server
    server.stop()


@pytest.fixture
def corp(tmp_path: Path, idp: FakeIdP) -> Sandbox:
    """A sandbox whose ``corp`` profile is an OAuth provider served by the fake IdP."""
    box = Sandbox(root=tmp_path, server=idp, env=sandbox_env(tmp_path))
    box.write_config(OAUTH_CONFIG)
    return box


@pytest.fixture
def logged_in(sandbox: Sandbox) -> Sandbox:
    """A sandbox whose profile holds a valid GitHub login, imported through ``store``: its one
    exchange cached a first token (``uncached`` forgets it)."""
    token = sandbox.server.add_github_token()
    result = sandbox.call("store", input=sandbox.credential(
        host=sandbox.login_host, username="octocat", password=token))
    assert result.returncode == 0, result.stderr
    assert sandbox.stored()["access_token"] == token
    return sandbox


def timeouts(box: Sandbox, http_timeout: float, retry_budget: float) -> Sandbox:
    """The test's own network bounds in place of the product's: short ones where the subject
    is a hang, a refusal or a retry (the test then ends in seconds), long ones where the
    machine's load must not cut an answer off. Everywhere else the helper has the product's
    bounds: a test's 2 s bound on an exchange was a race with the scheduler whenever another
    worker started a crowd of helper processes."""
    config = box.config_path.read_text()
    assert "http_timeout" not in config and "retry_budget" not in config, config
    box.write_config(f"http_timeout = {http_timeout}\nretry_budget = {retry_budget}\n" + config)
    return box


def uncached(box: Sandbox, profile: str = "copilot") -> Sandbox:
    """Forget the token the login's check minted (``store`` caches it), for a test whose
    subject is what the next ``get`` meets at the exchange."""
    for path in (box.state_dir / f"{profile}.json", box.state_dir / "tokens" / profile):
        path.unlink(missing_ok=True)
    return box


def quick_login(box: Sandbox, *args: str) -> str:
    """``login`` in process, approved at once, the poll not waiting its interval: for tests
    whose subject is not the device flow a person sees (``procs.device_login`` runs that)."""
    from unittest import mock

    from helper.console import Console

    approve, box.server.auto_approve = box.server.auto_approve, True
    try:
        with mock.patch.object(Console, "wait", lambda self, seconds: None):
            result = box.call(*args, "login")
    finally:
        box.server.auto_approve = approve
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    return result.stderr


@pytest.fixture
def instant_polls(monkeypatch) -> None:
    """In-process device flows poll without waiting the interval (RFC 8628's timing is
    tested against a fake clock in test_rfc8628)."""
    from helper.console import Console

    monkeypatch.setattr(Console, "wait", lambda self, seconds: None)


def seed_oauth_login(box: Sandbox, profile: str = "corp", cached: bool = False) -> str:
    """A fresh login as the fake IdP hands one out (a new refresh-token family), stored where
    ``login`` stores it, and with ``cached`` its access token cached through ``store`` as
    ``login`` caches it. For tests of what comes after a login, without a device flow's
    one-second poll; the device flow itself is tested in test_e2e_oauth."""
    from helper.storage import files
    from helper.storage.records import Grant
    from helper.storage.secrets import FileStore

    from fakeserver import Family

    server = box.server
    family = Family(current="")
    with server.lock:
        server.families.append(family)
        tokens = server._tokens(family)
    FileStore(box.data_dir, files.quiet).write(
        box.login_key(profile), Grant(refresh_token=tokens["refresh_token"]).to_dict())
    if cached:
        expiry = str(int(server.access_tokens[tokens["access_token"]]))
        result = box.call("--profile", profile, "store", input=box.credential(
            password=tokens["access_token"], password_expiry_utc=expiry))
        assert result.returncode == 0 and box.state(profile)["token"], result.stderr
    return tokens["refresh_token"]


@pytest.fixture(autouse=True)
def secret_hygiene(monkeypatch, caplog, capfd):
    """Across the whole suite: no secret a fake server issued may appear in this process's
    stderr, in any log record, or in the message of any HelperError the helper raised
    (caught or not). Subprocess stderr is checked by Sandbox.run/call."""
    from helper import errors

    messages: list[str] = []
    original = errors.HelperError.__init__

    def recording_init(self, *args, **kwargs):
        original(self, *args, **kwargs)
        messages.append(str(self))

    monkeypatch.setattr(errors.HelperError, "__init__", recording_init)
    start = len(FakeServer.ALL_ISSUED)
    yield
    issued = FakeServer.ALL_ISSUED[start:]
    if not issued:
        return
    _, err = capfd.readouterr()
    places = [("stderr", err)] + [("a log record", r.getMessage()) for r in caplog.records]
    places += [("an exception message", m) for m in messages]
    for where, text in places:
        for secret in issued:
            assert secret not in text, f"a secret the fake server issued appeared in {where}"


@pytest.fixture(autouse=True)
def _no_real_credentials(monkeypatch):
    for name in ("GH_TOKEN", "GITHUB_TOKEN", "COPILOT_GITHUB_TOKEN",
                 "GIT_CREDENTIAL_COPILOT_PROFILE", "GIT_CREDENTIAL_COPILOT_CONFIG"):
        monkeypatch.delenv(name, raising=False)


def wait_until(condition, seconds: float) -> bool:
    """Poll ``condition`` until it holds or ``seconds`` pass; what it says last. For what a
    detached process writes, which no event of the test's can signal (a bounded wait)."""
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.05)
    return bool(condition())


def require_executable() -> None:
    """Every subprocess test starts here (Sandbox.run/start call it): a missing executable is
    one clear failure, not a FileNotFoundError."""
    assert EXE.exists(), f"{EXE} is missing: install the package first (pip install -e .)"


@pytest.fixture
def _installed() -> None:
    """For tests that run EXE themselves rather than through Sandbox.run/start."""
    require_executable()


# pytest-xdist hands whole files to the workers in collection order (scripts/test: --dist
# loadfile --no-loadscope-reorder), each worker taking the next file when it is nearly done.
# The longest files go first, so that no worker is handed a minute-long file while the others
# are about to finish; the rest follow in name order. Longest first by a one-worker run
# (`scripts/test --durations=0 -p no:xdist`), the real tools and installs first.
LONGEST_FIRST = (
    "test_tools_aider.py", "test_install.py", "test_tools_codex.py", "test_tools_claude_code.py",
    "test_crash_safety.py", "test_e2e_copilot.py", "test_contrib_litellm.py",
    "test_configure.py", "test_browser.py", "test_faults.py", "test_load.py",
    "test_platform.py", "test_setup.py", "test_contrib_clients.py", "test_cached.py",
    "test_deadlines.py", "test_keyring_e2e.py", "test_e2e_oauth.py", "test_jsonsafe.py",
    "test_git.py", "test_shell_static.py", "test_doctor.py", "test_console.py",
    "test_fuzz_commands.py", "test_token_encoding.py",
)


def pytest_collection_finish(session) -> None:
    """Everything collection imported (the test modules, the helper, pytest itself) lives to
    the end of the run: freeze it out of the cycle collector, which would otherwise walk all
    of it at every full collection."""
    gc.freeze()


def pytest_collection_modifyitems(items) -> None:
    """A real third-party client or an install from the index is slow by nature: those tests
    count as ``slow`` too, so ``-m "not slow"`` is the quick inner loop. Files in
    LONGEST_FIRST order (a stable sort: each file's tests keep theirs)."""
    slow = pytest.mark.slow
    for item in items:
        if item.get_closest_marker("integration") or item.get_closest_marker("network"):
            item.add_marker(slow)
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))


def fresh_clone(dest: Path) -> Path:
    """The working tree as a fresh clone has it: tracked and new files, nothing ignored (no
    .venv, no .tools). Outside a git checkout (an unpacked sdist) the tree as it is."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT, capture_output=True, check=False, timeout=60,
    )
    if listed.returncode != 0:
        return ROOT
    for name in filter(None, listed.stdout.decode().split("\0")):
        src = ROOT / name
        if src.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)  # keeps install.sh executable
    return dest


def shared_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory of this run that every pytest-xdist worker shares (each worker's basetemp
    is a folder of it); without xdist, the run's own basetemp."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


@dataclass(frozen=True)
class Dist:
    sdist: Path
    wheel: Path  # for this OS
    windows_wheel: Path  # as built on Windows (setup.py chooses the command by the OS)


@pytest.fixture(scope="session")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Dist:
    """`python -m build --sdist --wheel` of a fresh clone, then the wheel as Windows builds
    it, from a second one: built once per run by whichever worker asks first, under a file
    lock, and shared by every test and worker that needs them (test_install reads the sdist
    and the wheel, test_platform both wheels' commands, test_cached installs the wheel into a
    fresh venv). With the test venv's setuptools (``.[test]`` asks for the build-system's
    version): an isolated build would fetch setuptools into a new venv three times over, and
    pip's isolated build of the package is what the install tests run. A failed build fails
    each of them with its output."""
    from filelock import FileLock

    pytest.importorskip("build", reason="`build` is not installed in the test venv (.[test])")
    shared = shared_dir(tmp_path_factory)
    out, failed = shared / "dist", shared / "dist-failed.txt"
    with FileLock(str(shared / "dist.lock")):
        if not out.exists() and not failed.exists():
            building = shared / "dist.tmp"
            env = {k: v for k, v in os.environ.items() if k != "GIT_CREDENTIAL_COPILOT_WHEEL_OS"}
            for target, kinds, to in ((None, ["--sdist", "--wheel"], building),
                                      ("win32", ["--wheel"], building / "win32")):
                clone = shared / f"dist-clone-{target or 'here'}"
                clone.mkdir(exist_ok=True)  # a build that timed out is retried
                run = subprocess.run(
                    [sys.executable, "-m", "build", "--no-isolation", *kinds, "-o", str(to),
                     str(fresh_clone(clone))],
                    env={**env, **({"GIT_CREDENTIAL_COPILOT_WHEEL_OS": target} if target else {})},
                    capture_output=True, text=True, timeout=BUILD_TIMEOUT)
                if run.returncode != 0:
                    failed.write_text(run.stdout[-2000:] + run.stderr[-2000:])
                    break
            else:
                building.rename(out)
    assert not failed.exists(), f"python -m build failed:\n{failed.read_text()}"
    (sdist,) = out.glob("*.tar.gz")
    (wheel,) = out.glob("*.whl")
    (windows_wheel,) = out.glob("win32/*.whl")
    return Dist(sdist, wheel, windows_wheel)


def git(box: Sandbox, *args: str, input: str = "", check: bool = True
        ) -> subprocess.CompletedProcess[bytes]:
    """Real git in the sandbox (never prompting); its stderr is held to the hygiene check."""
    result = subprocess.run(["git", *args], input=input.encode(), capture_output=True,
                            env={**box.env, "GIT_TERMINAL_PROMPT": "0"}, timeout=60)
    if check:
        assert result.returncode == 0, result.stderr.decode()
    box.check_no_secret_leaked(result.stderr.decode(), "git's stderr")
    return result


def expire_access_token(box: Sandbox, profile: str = "corp") -> None:
    """Move the cached access token's expiry into the past, as time would."""
    path = box.state_dir / f"{profile}.json"
    state = json.loads(path.read_text())
    state["token"]["expires_at"] = state["token"]["refresh_at"] = 1
    path.write_text(json.dumps(state))


class MemoryKeyring(keyring.backend.KeyringBackend):
    """A keyring backend in memory: the real keyring API, no OS service."""

    priority = 1

    def __init__(self) -> None:
        super().__init__()
        self.entries: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.entries.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.entries[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if (service, username) not in self.entries:
            raise PasswordDeleteError("not found")
        del self.entries[(service, username)]


# The default profile with the bounds a test sets, and its exchange at a server the test names
# (point_exchange_at): for tests of deadlines, of an unreachable host and of hostile answers.
BOUNDED_CONFIG = """\
store = "file"
http_timeout = {timeout}
retry_budget = {budget}
keyring_timeout = {keyring}

[profiles.copilot]
github_url = "http://localhost:{port}"
api_url = "{api}"
hosts = ["{host}"]
"""


def point_exchange_at(box: Sandbox, api_url: str, budget: float = 20, timeout: float = 10,
                      keyring: float = 1) -> None:
    """Send the default profile's exchange to ``api_url`` with these bounds, keeping its login.
    The network bounds default to the product's (as ``timeouts`` explains); a test that waits
    one out passes a short one: the test's time is the bound's."""
    text = (BOUNDED_CONFIG.replace("{api}", api_url).replace("{budget}", str(budget))
            .replace("{timeout}", str(timeout)).replace("{keyring}", str(keyring)))
    login = box.stored_path().read_bytes() if box.stored_path().exists() else None
    box.write_config(text)
    if login is not None:  # a login at that server too (logins are kept per server)
        box.stored_path().write_bytes(login)
        box.stored_path().chmod(0o600)


def call_token(box: Sandbox, env: dict | None = None, *args: str) -> Result:
    """``token`` in process, with ``env`` added to the sandbox's environment."""
    return box.call("token", *args, env=env)
