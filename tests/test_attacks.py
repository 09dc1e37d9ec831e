"""Attacks that once worked, each kept closed by a test: a hostile caller (``url=``), a
hostile server (trickling bytes, hostile JSON, echoed secrets, a zero polling interval), a
hostile local file (FIFOs, planted JSON), a hostile environment (umask 000, a full stdout).

Each test names the promise it keeps (the README's security section lists them).
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

from helper import files, jsonsafe, protocol, rfc8628, state
from helper.errors import ProtocolError
from helper.lock import ProfileLock
from helper.transport import ServerError, Transport

from conftest import EXE, require_executable
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
    assert logged_in.server.exchanges == 0


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
    assert box.server.exchanges == 1


def test_planted_store_file_is_treated_as_absent(logged_in):
    (logged_in.data_dir / "copilot.json").write_bytes(DEEP)
    result = logged_in.run("get", input=logged_in.credential())
    assert result.returncode == 1 and "internal error" not in result.stderr
    assert "ignoring" in result.stderr and "login" in result.stderr


def test_planted_keyring_value_is_one_line():
    from helper.errors import StoreError
    from helper.store import KeyringStore

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
    _fifo(logged_in.data_dir / "copilot.json")
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
    box = logged_in
    github_token = box.stored()["access_token"]
    echo = json.dumps({"message": f"Bad credentials for Authorization: token {github_token}"})
    box.server.inject(EXCHANGE, Fault(status=403, body=echo.encode()))
    result = box.run("get", input=box.credential())  # run() fails on any issued secret
    assert result.returncode == 1 and github_token[-4:] in result.stderr  # masked, not gone


def test_an_error_description_echoing_the_refresh_token_is_masked(corp):
    from procs import device_login

    device_login(corp, "--profile", "corp")
    refresh_token = json.loads((corp.data_dir / "corp.json").read_text())["refresh_token"]
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
    from helper.rfc6749 import OAuthError

    secret = "cs-very-secret-0123456789"
    responses.post("https://idp.example.com/token", status=401, json={
        "error": "invalid_client", "error_description": f"client_secret '{secret}' is wrong"})
    response = Transport().request("POST", "https://idp.example.com/token",
                                   data={"client_id": "c", "client_secret": secret})
    from helper.rfc6749 import parse_token_response

    with pytest.raises(OAuthError) as e:
        parse_token_response(response)
    assert secret not in str(e.value) and "is wrong" in str(e.value)


def test_a_keyring_exception_holding_the_secret_is_masked():
    from keyring.errors import PasswordSetError

    from helper.errors import StoreError
    from helper.store import KeyringStore

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
http_timeout = 2
retry_budget = 2
keyring_timeout = 1

[profiles.copilot]
github_url = "http://localhost:{port}"
api_url = "{api}"
hosts = ["{host}"]
"""


def _point_exchange_at(box, api_url: str, budget: float = 2) -> None:
    text = TRICKLE_CONFIG.replace("{api}", api_url).replace("retry_budget = 2",
                                                            f"retry_budget = {budget}")
    box.write_config(text)


@pytest.mark.parametrize("where", ["headers", "body"])
def test_a_trickling_server_is_cut_off_at_the_deadline(logged_in, where):
    import time

    server = Trickle(where)
    try:
        _point_exchange_at(logged_in, server.url)
        started = time.monotonic()
        result = logged_in.run("get", input=logged_in.credential(), timeout=40)
        took = time.monotonic() - started
    finally:
        server.stop()
    assert result.returncode == 1 and "password=" not in result.stdout
    assert "within 2 s" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert took < 2 + 2 + 3, took  # retry_budget + http_timeout, and process start-up


def test_a_lock_waiter_gives_up_within_the_bound_with_one_line(logged_in):
    import time

    box = logged_in
    box.write_config(TRICKLE_CONFIG.replace("{api}", box.server.url))
    with ProfileLock(box.state_dir, "copilot", "get", lambda line: None):
        started = time.monotonic()
        result = box.run("get", input=box.credential(), timeout=60)
        took = time.monotonic() - started
    assert result.returncode == 1 and "gave up after" in result.stderr, result.stderr
    assert "gave up" in result.stderr.strip().splitlines()[-1]
    assert took < 2 + 2 + 1 + 3, took  # retry_budget + http_timeout + keyring_timeout


def test_a_lock_waiter_keeps_waiting_while_a_person_signs_in_and_says_so(logged_in):
    from procs import Watched

    box = logged_in
    box.write_config(TRICKLE_CONFIG.replace("{api}", box.server.url))
    lock = ProfileLock(box.state_dir, "copilot", "login", lambda line: None, may_prompt=True)
    with lock:
        watched = Watched(box.start("get"), box.credential().encode())
        watched.wait_for_line("a person may be signing in", timeout=20)
        with pytest.raises(subprocess.TimeoutExpired):
            watched.proc.wait(timeout=2 + 2 + 1 + 2)  # past the bound without a person
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

    _point_exchange_at(logged_in, logged_in.server.url, budget=20)
    proxy = f"http://127.0.0.1:{_closed_port()}"
    started = time.monotonic()
    result = logged_in.run("get", input=logged_in.credential(), timeout=60,
                           env={"HTTP_PROXY": proxy, "http_proxy": proxy})
    took = time.monotonic() - started
    assert result.returncode == 1 and "proxy" in result.stderr and "HTTP" in result.stderr
    assert took < 5, took
    assert logged_in.server.exchanges == 0


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
