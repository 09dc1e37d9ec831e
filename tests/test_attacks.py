"""Attacks that once worked, each kept closed by a test: a hostile caller (``url=``), a
hostile server (trickling bytes, hostile JSON, echoed secrets, a zero polling interval), a
hostile local file (FIFOs, planted JSON), a hostile environment (umask 000, a full stdout).

Each test names the promise it keeps (docs/security.md lists them).
"""

from __future__ import annotations

import io
import json
import os
import stat
import subprocess
from pathlib import Path

import pytest
import responses

from helper.storage import files
from helper.net import jsonsafe
from helper.commands import protocol
from helper.oauth2 import rfc8628
from helper.storage import state
from helper.errors import ProtocolError
from helper.storage.lock import ProfileLock
from helper.net.transport import ServerError, Transport

from conftest import DEFAULT_CONFIG, EXE, MemoryKeyring, require_executable, uncached
from fakeserver import Fault

EXCHANGE = "/copilot_internal/v2/token"

# -- 1. url= is split exactly as git splits it; a URL read two ways gets nothing ----------

AMBIGUOUS_URLS = [
    "https://evil.example?@api.githubcopilot.com/",  # '?' ends the authority (git, curl)
    "https://evil.example#@api.githubcopilot.com/",  # '#' too
    "https://user@evil@api.githubcopilot.com/",  # git: host 'evil@api…'; urllib: 'api…'
    "https://evil.example\\@api.githubcopilot.com/",  # browsers read '\\' as '/'
    "https://api.githubcopilot.com?x/y",  # git before 2.26.1: host 'api…?x'
]


@pytest.mark.parametrize("url", AMBIGUOUS_URLS)
def test_url_naming_two_hosts_is_refused(url):
    with pytest.raises(ProtocolError, match="ambiguously"):
        protocol.read(io.BytesIO(f"url={url}\n".encode()))


@pytest.mark.parametrize("data", [b"url=https:///evil.example/\n", b"host=\n",
                                  b"host=api.githubcopilot.com\nurl=https:///x\n"])
def test_an_explicitly_empty_host_is_not_no_host(data):
    with pytest.raises(ProtocolError, match="empty host"):
        protocol.read(io.BytesIO(data))


def test_url_lines_apply_in_order_like_git():
    """git's credential_from_url clears what came before; later lines override the URL."""
    cred = protocol.read(io.BytesIO(
        b"host=evil.example\nusername=x\nurl=https://api.githubcopilot.com//v1//\n"))
    assert (cred.host, cred.username, cred.path) == ("api.githubcopilot.com", "", "v1")
    cred = protocol.read(io.BytesIO(b"url=https://a.example/\nhost=b.example\n"))
    assert cred.host == "b.example"


@pytest.mark.parametrize("url, host, user", [
    ("https://u:p@api.githubcopilot.com:443/x", "api.githubcopilot.com:443", "u"),
    ("https://u@api.githubcopilot.com", "api.githubcopilot.com", "u"),
    ("https://api.githubcopilot.com/a@b", "api.githubcopilot.com", ""),  # '@' in the path
])
def test_plain_urls_still_parse_like_git(url, host, user):
    cred = protocol.read(io.BytesIO(f"url={url}\n".encode()))
    assert (cred.host, cred.username) == (host, user)


def test_ambiguous_url_gets_no_token_from_the_installed_command(logged_in):
    require_executable()
    for url in [f"http://evil.example?@{logged_in.server.host}/",
                f"http:///{logged_in.server.host}/"]:
        result = logged_in.run("get", input=f"url={url}\n\n")
        assert result.returncode == 1 and "password=" not in result.stdout
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert logged_in.server.exchanges == 1  # the login's check at store; none since


# -- 8. the device-flow poll interval: at least 1 s, the RFC's 5 s when missing or 0 ------

CODE_URL = "https://idp.example.com/device"
TOKEN_URL = "https://idp.example.com/token"


@pytest.mark.parametrize("interval, want", [(0, 5), (None, 5), (0.2, 5), (1, 1), (7, 7)])
@responses.activate
def test_poll_interval_is_never_a_tight_loop(interval, want):
    body = {"device_code": "d", "user_code": "U-1", "verification_uri": "https://x/a",
            "expires_in": 600}
    if interval is not None:
        body["interval"] = interval
    responses.post(CODE_URL, json=body)
    responses.post(TOKEN_URL, json={"error": "authorization_pending"})
    responses.post(TOKEN_URL, json={"access_token": "at_x", "token_type": "bearer"})
    code = rfc8628.request_code(Transport(), CODE_URL, "client")
    waits: list[float] = []
    rfc8628.poll(Transport(sleep=lambda s: None), TOKEN_URL, "client", code,
                 wait=waits.append, clock=lambda: sum(waits))
    assert waits == [want, want]


@responses.activate
def test_a_device_code_built_with_interval_zero_still_waits():
    responses.post(TOKEN_URL, json={"access_token": "at_x", "token_type": "bearer"})
    code = rfc8628.DeviceCode("d", "U", "https://x", 600, 0)
    waits: list[float] = []
    rfc8628.poll(Transport(), TOKEN_URL, "client", code, wait=waits.append,
                 clock=lambda: sum(waits))
    assert waits == [1]


# -- 6. every JSON read is bounded in size, depth and number range --------------------------

DEEP = b"[" * 100000 + b"]" * 100000
HOSTILE_JSON = [b"1e400", b'{"a": NaN}', b'{"a": -Infinity}', DEEP,
                b'{"a": ' * 40 + b"1" + b"}" * 40, b'{"a": 1' + b"0" * 30 + b"}",
                b" " * (1024 * 1024 + 1)]


@pytest.mark.parametrize("data", HOSTILE_JSON, ids=lambda d: repr(d[:12]))
def test_hostile_json_is_refused_as_a_value_error(data):
    with pytest.raises(ValueError):
        jsonsafe.loads(data)


def test_ordinary_json_with_brackets_in_strings_is_accepted():
    text = json.dumps({"a": "[[[[" * 100, "b": [1.5, -2, {"c": None}]})
    assert jsonsafe.loads(text.encode()) == json.loads(text)


@pytest.mark.parametrize("body", [DEEP, b'{"token": "x", "expires_at": 1e400}',
                                  b'{"token": NaN}'], ids=["deep", "1e400", "NaN"])
@responses.activate
def test_server_garbage_is_one_line(body):
    responses.post("https://api.example.com/t", status=400, body=body)
    response = Transport().request("POST", "https://api.example.com/t")
    with pytest.raises(ServerError, match="sent garbage") as e:
        response.json_object()
    assert "\n" not in str(e.value)


@pytest.mark.parametrize("body", [DEEP, b'{"token": "tid=1", "expires_at": 1e400}'],
                         ids=["deep", "1e400"])
def test_hostile_exchange_answer_is_one_line_not_an_internal_error(logged_in, body):
    uncached(logged_in)
    _point_exchange_at(logged_in, logged_in.server.url, budget=0.3)  # retried garbage: short
    logged_in.server.inject(EXCHANGE, *[Fault(status=200, body=body)] * 20)
    result = logged_in.run("get", input=logged_in.credential())
    assert result.returncode == 1 and "password=" not in result.stdout
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "internal error" not in result.stderr and "garbage" in result.stderr


@pytest.mark.parametrize("planted", [DEEP, b'{"token": {"token": "x", "expires_at": 1e400, '
                                     b'"refresh_at": 1, "minted_at": 1}}', b'{"dead": NaN}'],
                         ids=["deep", "1e400", "NaN"])
def test_planted_state_file_is_treated_as_absent_once(logged_in, planted):
    box = logged_in
    box.state_dir.mkdir(parents=True, exist_ok=True)
    (box.state_dir / "copilot.json").write_bytes(planted)
    first = box.run("get", input=box.credential())
    assert first.returncode == 0 and "ignoring" in first.stderr, first.stderr
    second = box.run("get", input=box.credential())
    assert second.returncode == 0 and second.stderr == ""  # rewritten: not failing every call
    assert box.server.exchanges == 2  # the login's check at store, then the first get's


def test_planted_store_file_is_treated_as_absent(logged_in):
    uncached(logged_in)
    logged_in.stored_path().write_bytes(DEEP)
    result = logged_in.run("get", input=logged_in.credential())
    assert result.returncode == 1 and "internal error" not in result.stderr
    assert "ignoring" in result.stderr and "login" in result.stderr


def test_planted_keyring_value_is_one_line():
    from helper.errors import StoreError
    from helper.storage.secrets import KeyringStore

    class Backend:
        def get_password(self, service, name):
            return "[" * 50000 + "]" * 50000

    with pytest.raises(StoreError, match="damaged"):
        KeyringStore(Backend(), 5).read("copilot")


# -- 9. no FIFO, device or symlink where a file goes can block or fool the helper ----------


def _fifo(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        path.unlink()
    os.mkfifo(path, 0o600)


def test_fifo_as_state_file_does_not_block(logged_in):
    _fifo(logged_in.state_dir / "copilot.json")
    result = logged_in.run("get", input=logged_in.credential(), timeout=15)
    assert result.returncode == 0 and "not a regular file" in result.stderr
    assert stat.S_ISREG(os.lstat(logged_in.state_dir / "copilot.json").st_mode)


def test_fifo_as_store_file_does_not_block(logged_in):
    uncached(logged_in)
    _fifo(logged_in.stored_path())
    result = logged_in.run("get", input=logged_in.credential(), timeout=15)
    assert result.returncode == 1 and "not a regular file" in result.stderr


def test_fifo_as_config_file_does_not_block(sandbox):
    _fifo(sandbox.config_path)
    result = sandbox.run("get", input=sandbox.credential(), timeout=15)
    assert result.returncode == 2 and "not a regular file" in result.stderr


def test_read_regular_refuses_what_is_not_a_regular_file(tmp_path):
    _fifo(tmp_path / "fifo")
    (tmp_path / "dir").mkdir()
    (tmp_path / "real").write_text("x")
    (tmp_path / "link").symlink_to(tmp_path / "real")
    for name in ("fifo", "dir", "link"):
        with pytest.raises(files.UnreadableFile):
            files.read_regular(tmp_path / name)
    assert files.read_regular(tmp_path / "link", follow=True) == b"x"
    assert files.read_regular(tmp_path / "absent") is None


# -- 10. every directory the helper creates is 0700, whatever the umask -------------------


def test_directories_created_under_umask_000_are_private(sandbox):
    require_executable()
    box = sandbox
    fresh = box.root / "fresh"
    env = {**box.env, "XDG_STATE_HOME": str(fresh / "a" / "state"),
           "XDG_DATA_HOME": str(fresh / "b" / "data")}
    token = box.server.add_github_token()
    stdin = box.credential(host=box.login_host, password=token)
    subprocess.run(["sh", "-c", f'umask 000; exec "{EXE}" store'], input=stdin.encode(),
                   env=env, check=True, timeout=30)
    subprocess.run(["sh", "-c", f'umask 000; exec "{EXE}" get'],
                   input=box.credential().encode(), env=env, check=True, timeout=30,
                   capture_output=True)
    made = [p for p in fresh.rglob("*") if p.is_dir()] + [fresh]
    assert len(made) >= 6
    for path in made:
        assert stat.S_IMODE(path.stat().st_mode) == 0o700, path


def test_ensure_private_dir_ignores_a_umask_that_takes_owner_bits(tmp_path):
    old = os.umask(0o277)
    try:
        files.ensure_private_dir(tmp_path / "x" / "y")
    finally:
        os.umask(old)
    for path in (tmp_path / "x", tmp_path / "x" / "y"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o700, path


# -- 12. lock files and state files live in separate namespaces ----------------------------


def test_a_lock_note_is_never_another_profiles_state_file(tmp_path):
    with ProfileLock(tmp_path, "a", "get", lambda line: None) as lock:
        assert lock.owner_path.exists()
        for name in ("a.lock", "a.lock.owner", "a.owner", "locks"):
            assert not state.path_for(tmp_path, name).exists(), name
        assert lock.path.parent == lock.owner_path.parent == tmp_path / "locks"


# -- 7. one masking pass over every line written to stderr ---------------------------------


def test_a_403_echoing_the_authorization_header_is_masked(logged_in):
    box = uncached(logged_in)
    github_token = box.stored()["access_token"]
    echo = json.dumps({"message": f"Bad credentials for Authorization: token {github_token}"})
    box.server.inject(EXCHANGE, Fault(status=403, body=echo.encode()))
    result = box.run("get", input=box.credential())  # run() fails on any issued secret
    assert result.returncode == 1 and github_token[-4:] in result.stderr  # masked, not gone


def test_an_error_description_echoing_the_refresh_token_is_masked(corp):
    from conftest import seed_oauth_login

    refresh_token = seed_oauth_login(corp, cached=True)  # no device flow's one-second poll
    assert json.loads(corp.stored_path("corp").read_text())["refresh_token"] == refresh_token
    state = json.loads((corp.state_dir / "corp.json").read_text())
    state["token"]["expires_at"] = state["token"]["refresh_at"] = 1
    (corp.state_dir / "corp.json").write_text(json.dumps(state))
    corp.server.inject("/token", Fault(status=400, body=json.dumps({
        "error": "invalid_request",
        "error_description": f"refresh_token={refresh_token} is malformed"}).encode()))
    result = corp.run("--profile", "corp", "token")
    assert result.returncode == 1 and refresh_token not in result.stderr
    assert "malformed" in result.stderr


@responses.activate
def test_an_error_description_echoing_the_client_secret_is_masked():
    from helper.oauth2.rfc6749 import OAuthError

    secret = "cs-very-secret-0123456789"
    responses.post("https://idp.example.com/token", status=401, json={
        "error": "invalid_client", "error_description": f"client_secret '{secret}' is wrong"})
    response = Transport().request("POST", "https://idp.example.com/token",
                                   data={"client_id": "c", "client_secret": secret})
    from helper.oauth2.rfc6749 import parse_token_response

    with pytest.raises(OAuthError) as e:
        parse_token_response(response)
    assert secret not in str(e.value) and "is wrong" in str(e.value)


def test_a_keyring_exception_holding_the_secret_is_masked():
    from keyring.errors import PasswordSetError

    from helper.errors import StoreError
    from helper.storage.secrets import KeyringStore

    class Backend:
        def set_password(self, service, name, value):
            raise PasswordSetError(f"D-Bus said no to {value}")

    secret = "gho_" + "k" * 36
    with pytest.raises(StoreError) as e:
        KeyringStore(Backend(), 5).write("copilot", {"access_token": secret})
    assert secret not in str(e.value)


def test_every_console_line_is_scrubbed_of_known_and_token_shaped_secrets():
    from helper.console import Console
    from helper.errors import remember_env

    env_token = "env-token-value-0123456789"
    remember_env({"GH_TOKEN": env_token})
    stream = io.StringIO()
    console = Console(stream)
    never_seen = ["ghp_" + "a" * 36, "github_pat_11AAAA_" + "b" * 40, "gho_" + "c" * 36,
                  "tid=abc;exp=1;sku=x:" + "d" * 20]
    console.notice(f"{env_token} " + " ".join(never_seen) + " Bearer eeeeeeeeeeeeeeeeeeee")
    written = stream.getvalue()
    for secret in [env_token, *never_seen, "eeeeeeeeeeeeeeeeeeee"]:
        assert secret not in written, secret
    assert written.count("…") == 6


# -- 13. a closed or full stdout: exit 1, one line on stderr, nothing else -----------------


def _run_with_stdout(box, args, stdin: str, stdout) -> subprocess.CompletedProcess:
    return subprocess.run([str(EXE), *args], input=stdin.encode(), stdout=stdout,
                          stderr=subprocess.PIPE, env=box.env, timeout=30)


@pytest.mark.parametrize("args", [("get",), ("token",), ("--version",)])
def test_a_full_stdout_is_one_line_and_exit_1(logged_in, args):
    require_executable()
    with open("/dev/full", "w") as full:
        proc = _run_with_stdout(logged_in, args, logged_in.credential(), full)
    err = proc.stderr.decode()
    assert proc.returncode == 1, err
    assert len(err.strip().splitlines()) == 1 and "stdout" in err, err
    assert "Exception ignored" not in err and "Traceback" not in err
    logged_in.check_no_secret_leaked(err, "stderr")


@pytest.mark.parametrize("args", [("get",), ("token",)])
def test_a_closed_stdout_is_one_line_and_exit_1(logged_in, args):
    require_executable()
    read_end, write_end = os.pipe()
    os.close(read_end)  # nobody will ever read: every write is EPIPE
    try:
        proc = _run_with_stdout(logged_in, args, logged_in.credential(), write_end)
    finally:
        os.close(write_end)
    err = proc.stderr.decode()
    assert proc.returncode == 1, err
    assert len(err.strip().splitlines()) == 1 and "Broken pipe" in err, err


# -- 2. one deadline: a request has a total-time limit; a lock waiter gives up in time ----


class Trickle:
    """A server that answers one byte every ``every`` seconds: in the headers or the body.
    Each byte arrives well within any read timeout, so only a total deadline stops it."""

    def __init__(self, where: str = "body", every: float = 0.4):
        import socket
        import threading

        self.where, self.every = where, every
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.stopped = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        import threading

        while not self.stopped.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn) -> None:
        head = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                b"Content-Length: 100000\r\n\r\n")
        try:
            conn.recv(65536)
            if self.where == "body":
                conn.sendall(head)
            for byte in (head if self.where == "headers" else b" " * 100000):
                if self.stopped.wait(self.every):
                    break
                conn.sendall(bytes([byte]) if isinstance(byte, int) else byte)
        except OSError:
            pass
        finally:
            conn.close()

    def stop(self) -> None:
        self.stopped.set()
        self.sock.close()


TRICKLE_CONFIG = """\
store = "file"
http_timeout = {timeout}
retry_budget = {budget}
keyring_timeout = {keyring}

[profiles.copilot]
github_url = "http://localhost:{port}"
api_url = "{api}"
hosts = ["{host}"]
"""


def _point_exchange_at(box, api_url: str, budget: float = 2, timeout: float = 2,
                       keyring: float = 1) -> None:
    """Bounds are short where a test waits them out: the test's time is the bound's."""
    text = (TRICKLE_CONFIG.replace("{api}", api_url).replace("{budget}", str(budget))
            .replace("{timeout}", str(timeout)).replace("{keyring}", str(keyring)))
    login = box.stored_path().read_bytes() if box.stored_path().exists() else None
    box.write_config(text)
    if login is not None:  # a login at that server too (logins are kept per server)
        box.stored_path().write_bytes(login)
        box.stored_path().chmod(0o600)


@pytest.mark.parametrize("where", ["headers", "body"])
def test_a_trickling_server_is_cut_off_at_the_deadline(logged_in, where):
    import time

    uncached(logged_in)
    server = Trickle(where, every=0.05)  # each byte well within the 0.3 s read timeout
    try:
        _point_exchange_at(logged_in, server.url, budget=0.3, timeout=0.3)
        started = time.monotonic()
        result = logged_in.run("get", input=logged_in.credential(), timeout=40)
        took = time.monotonic() - started
    finally:
        server.stop()
    assert result.returncode == 1 and "password=" not in result.stdout
    assert "within 0.3 s" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert took < 0.3 + 0.3 + 3, took  # retry_budget + http_timeout, and process start-up


def test_a_lock_waiter_gives_up_within_the_bound_with_one_line(logged_in):
    import time

    box = uncached(logged_in)
    _point_exchange_at(box, box.server.url, budget=0.1, timeout=0.1, keyring=0.1)
    with ProfileLock(box.state_dir, "copilot", "get", lambda line: None):
        started = time.monotonic()
        result = box.run("get", input=box.credential(), timeout=60)
        took = time.monotonic() - started
    assert result.returncode == 1 and "gave up after" in result.stderr, result.stderr
    assert "gave up" in result.stderr.strip().splitlines()[-1]
    assert took < 0.1 + 0.1 + 0.1 + 3, took  # retry_budget + http_timeout + keyring_timeout


@pytest.mark.slow  # waits past the lock's bound on purpose
def test_a_lock_waiter_keeps_waiting_while_a_person_signs_in_and_says_so(logged_in):
    from procs import Watched

    box = uncached(logged_in)
    # a bound of 1.2 s (the exchange after the wait keeps a 1 s http_timeout on a busy machine)
    _point_exchange_at(box, box.server.url, budget=0.1, timeout=1, keyring=0.1)
    lock = ProfileLock(box.state_dir, "copilot", "login", lambda line: None, may_prompt=True)
    with lock:
        watched = Watched(box.start("get"), box.credential().encode())
        watched.wait_for_line("a person may be signing in", timeout=20)
        with pytest.raises(subprocess.TimeoutExpired):
            # the bound again after the notice, which came a second after the start
            watched.proc.wait(timeout=0.1 + 1 + 0.1)  # so past the bound without a person
    code, out, err = watched.finish(timeout=30)
    assert code == 0 and "password=" in out, err


# -- issue 13: offline is said at once, naming the host and the network, DNS or proxy -----


def _closed_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_an_unreachable_host_fails_fast_naming_it_and_the_network(logged_in):
    import time

    uncached(logged_in)
    _point_exchange_at(logged_in, f"http://127.0.0.1:{_closed_port()}", budget=20)
    started = time.monotonic()
    result = logged_in.run("get", input=logged_in.credential(), timeout=60)
    took = time.monotonic() - started
    assert result.returncode == 1, result.stderr
    line = result.stderr.strip()
    assert len(line.splitlines()) == 1 and "cannot reach 127.0.0.1" in line, line
    assert "network" in line and took < 5, (took, line)


def test_an_unreachable_proxy_is_named(logged_in):
    import time

    uncached(logged_in)
    _point_exchange_at(logged_in, logged_in.server.url, budget=20)
    proxy = f"http://127.0.0.1:{_closed_port()}"
    started = time.monotonic()
    result = logged_in.run("get", input=logged_in.credential(), timeout=60,
                           env={"HTTP_PROXY": proxy, "http_proxy": proxy})
    took = time.monotonic() - started
    assert result.returncode == 1 and "proxy" in result.stderr and "HTTP" in result.stderr
    assert took < 5, took
    assert logged_in.server.exchanges == 1  # the login's check at store; none through the proxy


@responses.activate
def test_timeouts_and_5xx_keep_their_retry_budget():
    responses.post("https://api.example.com/t", status=503)
    slept: list[float] = []
    now = [0.0]

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    with pytest.raises(ServerError, match="kept failing"):
        Transport(budget=20, sleep=sleep, clock=lambda: now[0]).request(
            "POST", "https://api.example.com/t")
    assert len(slept) >= 4 and sum(slept) <= 20


# -- 4. the cached token remembers which login minted it -------------------------------------


def _token(box, env: dict | None = None, *args: str):
    return box.call("token", *args, env=env)


def test_a_cached_token_is_never_handed_to_a_caller_with_another_login(logged_in):
    box = logged_in
    a = _token(box).stdout.strip()
    assert box.server.exchanges == 1
    other = box.server.add_github_token("mallory")
    b = _token(box, {"COPILOT_GITHUB_TOKEN": other})
    assert b.returncode == 0 and b.stdout.strip() not in ("", a)
    assert box.server.exchanges == 2  # an exchange with B, not A's cached token
    again = _token(box).stdout.strip()  # back without B: never B's token
    assert again != b.stdout.strip() and box.server.exchanges == 3
    assert _token(box).stdout.strip() == again and box.server.exchanges == 3  # cached again


def test_a_token_minted_from_an_env_var_is_not_handed_to_a_caller_without_it(sandbox):
    box = sandbox
    first = box.server.add_github_token("octocat")
    minted = _token(box, {"GH_TOKEN": first})
    assert minted.returncode == 0 and box.server.exchanges == 1
    assert _token(box, {"GH_TOKEN": first}).stdout == minted.stdout  # same login: cached
    without = _token(box)
    assert without.returncode == 1 and without.stdout == ""
    second = box.server.add_github_token("other")
    another = _token(box, {"GH_TOKEN": second})
    assert another.stdout not in ("", minted.stdout) and box.server.exchanges == 2


def test_the_state_file_keeps_no_secret_of_the_login(sandbox):
    box = sandbox
    secret = box.server.add_github_token("octocat")
    assert _token(box, {"COPILOT_GITHUB_TOKEN": secret}).returncode == 0
    text = (box.state_dir / "copilot.json").read_text()
    assert secret not in text and '"origin": "COPILOT_GITHUB_TOKEN"' in text


# -- 5. freshness from the server's clock ------------------------------------------------------


@pytest.mark.parametrize("offset", [3 * 3600, -3 * 3600], ids=["server-ahead", "server-behind"])
def test_a_clock_hours_off_neither_re_mints_nor_hands_out_dead_tokens(logged_in, offset):
    import time

    box = logged_in
    box.server.clock_offset = offset
    before = time.time()
    first = box.call("get", input=box.credential()).pairs()
    second = box.call("get", input=box.credential()).pairs()
    assert first["password"] == second["password"] and box.server.exchanges == 1
    expiry = int(first["password_expiry_utc"])  # on the local clock, as git compares it
    assert before + box.server.copilot_ttl - 5 <= expiry <= time.time() + box.server.copilot_ttl


def test_without_a_date_header_refresh_in_bounds_the_lifetime():
    from helper.providers.copilot import local_times

    now = 1_000_000
    # local clock 3 h behind: expires_at looks 3.5 h away, refresh_in says 25 min
    assert local_times(now, now + 3 * 3600 + 1800, 1500, None) == (now + 1560, now + 1500)
    # with a Date, expires_at minus Date is the lifetime, whatever the local clock says
    assert local_times(now, 5_000_000 + 1800, 1500, 5_000_000) == (now + 1800, now + 1500)


# -- 11. status always prints what it knows ------------------------------------------------------


def test_status_with_a_locked_keyring_prints_every_line(logged_in, monkeypatch):
    from helper.storage import secrets as storemod
    from helper.errors import StoreError

    box = logged_in
    assert box.call("get", input=box.credential()).returncode == 0

    def locked(*args, **kwargs):
        raise StoreError("the keyring is locked (test); unlock it")

    monkeypatch.setattr(storemod, "choose", locked)
    result = box.call("status")
    lines = result.stdout.splitlines()
    assert lines[0].startswith("profile: copilot")
    assert any(line.startswith("secrets: unavailable: the keyring is locked") for line in lines)
    assert any(line.startswith("token: valid until") for line in lines)  # the cache still answers


# -- 3. one login per profile, wherever store = "auto" put it -------------------------------------


def _auto_logged_in_to_file(box, monkeypatch):
    """A login made while no keyring answered (in the file); now a keyring answers."""
    from helper.storage import secrets as storemod

    box.write_config(_AUTO_CONFIG)
    token = box.server.add_github_token()
    monkeypatch.setattr(storemod, "viable_keyring", lambda timeout: (None, "no keyring here"))
    assert box.call("store", input=box.credential(host=box.login_host, username="octocat",
                                                  password=token)).returncode == 0
    assert box.stored()["access_token"] == token
    keyring = MemoryKeyring()
    monkeypatch.setattr(storemod, "viable_keyring", lambda timeout: (keyring, ""))
    return token, keyring


_AUTO_CONFIG = DEFAULT_CONFIG.replace('store = "file"', 'store = "auto"')


def test_auto_finds_a_login_made_while_the_keyring_did_not_answer(sandbox, monkeypatch):
    box = sandbox
    token, keyring = _auto_logged_in_to_file(box, monkeypatch)
    assert box.call("get", input=box.credential()).returncode == 0  # the file's login is used
    status = box.call("status").stdout
    assert f"login kept in: file {box.data_dir}" in status, status


def test_logout_clears_the_login_wherever_it_is(sandbox, monkeypatch):
    box = sandbox
    token, keyring = _auto_logged_in_to_file(box, monkeypatch)
    keyring.set_password("git-credential-copilot", box.login_key(),
                         json.dumps({"access_token": box.server.add_github_token()}))
    assert box.call("logout").returncode == 0
    assert box.stored() == {} and keyring.entries == {}


def test_a_dead_login_is_dropped_from_every_store(sandbox, monkeypatch):
    box = sandbox
    token, keyring = _auto_logged_in_to_file(box, monkeypatch)
    uncached(box)
    box.server.revoke_github(token)
    result = box.call("get", input=box.credential())
    assert result.returncode == 1 and "deleted it" in result.stderr
    assert box.stored() == {} and keyring.entries == {}
    assert box.call("get", input=box.credential()).returncode == 1
    assert box.server.exchanges == 2  # the store's check, one refusal: never sent again


def test_a_new_login_moves_to_the_keyring_and_leaves_no_copy(sandbox, monkeypatch):
    box = sandbox
    token, keyring = _auto_logged_in_to_file(box, monkeypatch)
    fresh = box.server.add_github_token()
    assert box.call("store", input=box.credential(host=box.login_host, username="octocat",
                                                  password=fresh)).returncode == 0
    assert box.stored() == {}
    assert json.loads(keyring.entries[("git-credential-copilot", box.login_key())])["access_token"] \
        == fresh


# -- issue 13: --min-ttl, a push's approve, erase messages --------------------------------


def test_min_ttl_never_hands_out_a_token_with_less_left(logged_in):
    box = logged_in
    first = json.loads(_token(box, None, "--format", "json").stdout)
    state_path = box.state_dir / "copilot.json"
    aged = json.loads(state_path.read_text())
    aged["token"]["expires_at"] -= 1000  # as if handed out 1000 s ago
    aged["token"]["minted_at"] -= 1000
    state_path.write_text(json.dumps(aged))
    for fmt in ("raw", "json", "env"):
        assert _token(box, None, "--format", fmt).returncode == 0
    assert box.server.exchanges == 1  # ~800 s left: fine without --min-ttl
    fresh = _token(box, None, "--format", "json", "--min-ttl", "1200")
    assert json.loads(fresh.stdout)["token"] != first["token"] and box.server.exchanges == 2
    for fmt in ("raw", "json", "env"):
        assert _token(box, None, "--format", fmt, "--min-ttl", "1200").returncode == 0
    assert box.server.exchanges == 2
    refused = _token(box, None, "--min-ttl", "7200")
    assert refused.returncode == 1 and refused.stdout == ""
    assert "cannot be met" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1


def test_min_ttl_takes_whole_seconds(logged_in):
    result = _token(logged_in, None, "--min-ttl", "soon")
    assert result.returncode == 2 and "--min-ttl" in result.stderr


def _git(box, *args: str, input: str = ""):
    result = subprocess.run(["git", *args], input=input.encode(), capture_output=True,
                            env={**box.env, "GIT_TERMINAL_PROMPT": "0"}, timeout=60)
    assert result.returncode == 0, result.stderr.decode()
    return result


def test_gits_approve_after_a_push_never_replaces_a_working_login(logged_in):
    import shutil

    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    require_executable()
    box = logged_in
    login = box.stored()["access_token"]
    _git(box, "config", "--global", "credential.helper", "copilot")  # for every host
    assert box.run("get", input=box.credential()).returncode == 0
    state_before = box.state()
    push = f"protocol=http\nhost={box.login_host}\nusername=me\npassword=ghp_pushpat1234\n\n"
    _git(box, "credential", "approve", input=push)
    assert box.stored()["access_token"] == login and box.state() == state_before
    assert box.server.exchanges == 2  # one check of the PAT; the cached token is untouched
    new = box.server.add_github_token("octocat")
    _git(box, "credential", "approve", input=push.replace("ghp_pushpat1234", new))
    assert box.stored()["access_token"] == new  # one the exchange accepts replaces it


@pytest.mark.parametrize("answer", [401, 404])
def test_gits_approve_with_no_login_stores_a_refused_token_nowhere_and_says_why(sandbox, answer):
    import shutil

    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    require_executable()
    box = sandbox
    pat = "ghp_" + "pushpat" * 5 + "x"  # a classic PAT, as a push over HTTPS used it
    if answer == 404:  # a token GitHub knows, issued to an app Copilot does not trust
        with box.server.lock:
            box.server.github_tokens[pat] = {"login": "octocat", "expires_at": None}
        box.server.app_not_accepted.add(pat)
    _git(box, "config", "--global", "credential.helper", "copilot")
    push = f"protocol=http\nhost={box.login_host}\nusername=me\npassword={pat}\n\n"
    said = _git(box, "credential", "approve", input=push).stderr.decode()
    assert box.stored() == {} and box.state() == {}
    assert box.server.exchanges == 1
    lines = said.strip().splitlines()
    assert len(lines) == 1 and "not storing the token git approved" in lines[0], said
    assert f"({answer})" in said or f"answered {answer}" in said, said
    assert "personal access token" in said and pat not in said


def test_gits_approve_with_no_login_stores_an_accepted_token_and_caches_its_token(sandbox):
    import shutil

    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    require_executable()
    box = sandbox
    token = box.server.add_github_token()
    _git(box, "config", "--global", "credential.helper", "copilot")
    push = f"protocol=http\nhost={box.login_host}\nusername=octocat\npassword={token}\n\n"
    said = _git(box, "credential", "approve", input=push).stderr.decode()
    assert said == "" and box.stored()["access_token"] == token
    got = box.run("get", input=box.credential())
    assert got.returncode == 0, got.stderr
    assert f"password={box.state()['token']['token']}" in got.stdout
    assert box.server.exchanges == 1  # the store's check minted the token the get handed out


def test_erase_at_the_login_host_still_drops_only_the_login_it_names(logged_in):
    box = logged_in
    login = box.stored()["access_token"]
    box.call("erase", input=box.credential(host=box.login_host, password="gho_someoneelse"))
    assert box.stored()["access_token"] == login
    box.call("erase", input=box.credential(host=box.login_host, password=login))
    assert box.stored() == {}


def test_a_persons_erase_says_what_it_dropped_and_never_raises_the_alarm(logged_in):
    box = logged_in
    for _ in range(4):
        assert box.call("get", input=box.credential()).returncode == 0
        erased = box.call("erase", input=box.credential())
        assert "dropped the cached token" in erased.stderr
        assert "rejected" not in erased.stderr and "fault" not in erased.stderr


def test_rejections_of_fresh_tokens_raise_the_alarm_and_never_contradict(logged_in):
    box = logged_in
    said = []
    for _ in range(3):
        token = box.call("get", input=box.credential()).pairs()["password"]
        said.append(box.call("erase", input=box.credential(password=token)).stderr)
    assert "3 freshly minted tokens were rejected" in said[-1]
    assert not any("kept the login" in s or "server may be at fault" in s for s in said)


# -- issue 9: renewers of a fresh token never queue on the lock; a refresh fsyncs no cache ------


def test_fifty_renewers_of_a_fresh_token_do_not_queue_on_the_lock(logged_in):
    import time

    require_executable()
    box = logged_in
    token = box.run("token").stdout
    with ProfileLock(box.state_dir, "copilot", "get", lambda line: None):
        started = time.monotonic()
        procs = [box.start("token", "--renew") for _ in range(50)]
        outs = [p.communicate(timeout=120) for p in procs]
        took = time.monotonic() - started
    assert all(p.returncode == 0 for p in procs), [e for _, e in outs if e][:1]
    assert {out.decode() for out, _ in outs} == {token}
    assert box.server.exchanges == 1
    assert took < 60, took  # none waited for the lock (it was held throughout)


def test_a_refresh_fsyncs_nothing_but_a_login_it_stores(logged_in, monkeypatch):
    calls = []
    real = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (calls.append(fd), real(fd))[1])
    assert logged_in.call("get", input=logged_in.credential()).returncode == 0
    assert logged_in.server.exchanges == 1 and calls == []  # before: 4 (state file, lock note)
    logged_in.call("logout")
    token = logged_in.server.add_github_token()
    logged_in.call("store", input=logged_in.credential(host=logged_in.login_host,
                                                       password=token))
    assert len(calls) == 2  # the login itself: the file and its directory


# -- found by review: each fails on the code before its fix ---------------------------------


def test_a_webbrowser_module_planted_in_the_repository_never_runs(tmp_path, monkeypatch):
    """git runs helpers inside the repository; `python -m webbrowser` there would import a
    webbrowser.py committed at its top instead of the standard library's."""
    import time

    from helper.oauth2 import browser

    repo = tmp_path / "repo"
    repo.mkdir()
    planted = tmp_path / "planted-ran"
    (repo / "webbrowser.py").write_text(f"open({str(planted)!r}, 'w').close()\n")
    opened = tmp_path / "browser-opened"
    fake = tmp_path / "fake-browser"
    fake.write_text(f"#!/bin/sh\ntouch {opened}\n")
    fake.chmod(0o755)
    monkeypatch.chdir(repo)
    browser.open_browser("https://idp.example/authorize", {"BROWSER": str(fake),
                                                           "PATH": os.environ["PATH"]})
    deadline = time.monotonic() + 20
    while not (opened.exists() or planted.exists()) and time.monotonic() < deadline:
        time.sleep(0.05)  # polling for a child's side effect, bounded
    assert opened.exists() and not planted.exists()


def test_logout_leaves_no_copy_of_the_token_for_the_cached_get(logged_in):
    box = logged_in
    assert box.call("get", input=box.credential()).returncode == 0
    token_file = box.state_dir / "tokens" / "copilot"
    assert token_file.exists()
    assert box.call("logout").returncode == 0
    assert not token_file.exists()


def test_something_planted_where_the_token_files_go_costs_speed_not_tokens(logged_in):
    import shutil

    box = uncached(logged_in)
    shutil.rmtree(box.state_dir / "tokens", ignore_errors=True)
    (box.state_dir / "tokens").write_text("not a directory")
    for _ in range(2):
        result = box.run("get", input=box.credential())
        assert result.returncode == 0 and "password=" in result.stdout, result.stderr
    assert box.server.exchanges == 2  # the store's check, then one mint; the second get cached


@pytest.mark.parametrize("value, shown", [
    ("user:s3cret@proxy.corp:3128", "…@proxy.corp:3128"),  # requests adds the scheme itself
    ("http://user:s3cret@proxy.corp:3128/", "http://…@proxy.corp:3128/"),
    ("http://proxy.corp:3128", "http://proxy.corp:3128"),
])
def test_doctor_never_prints_a_proxy_password(value, shown):
    from helper.commands.doctor import safe_url

    assert safe_url(value) == shown and "s3cret" not in safe_url(value)
