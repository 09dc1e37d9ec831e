"""The adversarial suite: broken servers, kill -9, full and read-only disks, hostile files,
fuzzed commands, and proof that the secret-hygiene net can fail.

Counts that CI keeps small are behind environment variables: CRASH_RUNS (default 30 per
flow), CRASH_DEVICE_RUNS (default 6: each point once), FUZZ_EXAMPLES (default 200).
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import seed_oauth_login, uncached
from fakeserver import Fault
from procs import Watched

INTERACTIVE = {"GIT_CREDENTIAL_COPILOT_INTERACTIVE": "always"}
CORP = ("--profile", "corp")


# -- fault injection -------------------------------------------------------------------------

FAULTS = {
    "500": lambda: Fault(status=500),
    "502": lambda: Fault(status=502, body=b'{"message": "Bad Gateway"}'),
    "503": lambda: Fault(status=503, body=b""),
    "429 Retry-After": lambda: Fault(status=429, headers={"Retry-After": "1"}),
    "hang": lambda: Fault(action="hang", hang_seconds=4),
    "reset": lambda: Fault(action="reset"),
    "truncated JSON": lambda: Fault(status=200, body=b'{"token": "tid=abc;exp=1'),
    "HTML error page": lambda: Fault(status=500, headers={"Content-Type": "text/html"},
                                     body=b"<html><body><h1>500 Internal Error</h1></body></html>"),
    "200 without token": lambda: Fault(status=200, body=b'{"status": "ok"}'),
}


def _exchange(box):
    token = box.server.add_github_token()
    box.call("store", input=box.credential(host=box.login_host, password=token))
    uncached(box)  # the get must meet the fault, not the token the store's check minted
    return "/copilot_internal/v2/token", ("get",), {}


def _device_code(box):
    return "/login/device/code", ("get",), INTERACTIVE


def _polling(box):
    box.server.auto_approve = True
    return "/login/oauth/access_token", ("get",), INTERACTIVE


ENDPOINTS = {"exchange": _exchange, "device code": _device_code, "polling": _polling}


@pytest.mark.slow
@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_copilot_endpoint_faults(sandbox, endpoint, fault, instant_polls):
    path, args, env = ENDPOINTS[endpoint](sandbox)
    _assert_fails_cleanly(sandbox, path, args, env, fault, sandbox.credential())


@pytest.mark.slow
@pytest.mark.parametrize("fault", FAULTS)
def test_refresh_endpoint_faults(corp, fault):
    seed_oauth_login(corp)  # no access token cached: the get must refresh
    _assert_fails_cleanly(corp, "/token", (*CORP, "get"), {}, fault, corp.credential())


def _assert_fails_cleanly(box, path, args, env, fault, stdin):
    """In process: what is tested is the helper's answer to the server, not the process.
    Half-second timeout and retry budget, so the matrix is quick and the bound is tight (every
    answer is a fault: a timeout the machine's load causes fails the same clean way)."""
    config = box.config_path.read_text()
    assert "http_timeout = 2\nretry_budget = 2" in config
    box.config_path.write_text(config.replace(
        "http_timeout = 2\nretry_budget = 2", "http_timeout = 0.5\nretry_budget = 0.5"))
    stored_before = {p: box.stored(p) for p in ("copilot", "corp")}
    box.server.inject(path, *[FAULTS[fault]() for _ in range(40)])
    started = time.monotonic()
    result = box.call(*args, input=stdin, env=env)
    elapsed = time.monotonic() - started
    assert result.returncode == 1 and result.stdout == ""
    last = result.stderr.splitlines()[-1]
    assert last.startswith("git-credential-copilot: ") and len(last) < 400
    assert elapsed < 10, elapsed  # http_timeout 0.5 s, retry_budget 0.5 s: a loose upper bound
    assert box.server.counts[path] <= 6
    assert {p: box.stored(p) for p in ("copilot", "corp")} == stored_before  # nothing lost


# -- crash safety ----------------------------------------------------------------------------
#
# Each run kills the helper at one point of a fixed schedule, so where the kills land does not
# depend on the machine's speed: "early" (a random moment in its first 50 ms: start-up, files,
# the lock), "held" (the server has the request and holds its answer: the kill lands mid-
# request, counted by the server), "answered" (a random moment up to 100 ms after the server
# answered: parsing, storing, printing). After every kill the files must parse and the next
# `get`, in process, must work or ask clearly for a login; a run that lost the login is
# re-seeded with a fresh one, so every run tests recovery from a live login.

RUNS = int(os.environ.get("CRASH_RUNS", "30"))
DEVICE_RUNS = int(os.environ.get("CRASH_DEVICE_RUNS", "6"))  # each point once (each waits 1 s)


def _all_files_parse(box) -> None:
    for directory in (box.state_dir, box.data_dir):
        if not directory.exists():
            continue
        for path in directory.glob("*.json"):
            json.loads(path.read_text())  # tmp files may be partial; the real ones never


def _arrived(server, proc) -> bool:
    """Whether the held request reached the server before the process ended (bounded)."""
    deadline = time.monotonic() + 30
    while not server.arrived.wait(0.02):
        if proc.poll() is not None:
            return False
        assert time.monotonic() < deadline, "the helper never reached the held endpoint"
    return True


def _kill(server, proc, path: str, when: str, rng: random.Random) -> str:
    """Kill -9 at the point (path, when); where it landed, or "finished" if it ended first."""
    server.hold_path = path if when != "early" else ""
    try:
        if when == "early":
            proc.wait(timeout=rng.uniform(0, 0.05))
            return "finished"
        if not _arrived(server, proc):
            return "finished"
        if when == "answered":
            server.release.set()
            proc.wait(timeout=rng.uniform(0, 0.1))
            return "finished"
    except subprocess.TimeoutExpired:
        pass
    proc.kill()
    proc.wait(timeout=10)
    return f"killed {when}"


def _kill_at_scheduled_points(box, args, env, stdin: bytes, prepare, points,
                              reseed=None, runs: int = RUNS):
    """Outcome counts, and per run (kill point, where the kill landed, next get ok)."""
    rng = random.Random(os.environ.get("CRASH_SEED", "git-credential-copilot"))
    outcomes = {"finished": 0, "killed early": 0, "killed held": 0, "killed answered": 0,
                "next get ok": 0, "next get asks to log in": 0, "re-seeded": 0}
    server = box.server
    log: list[tuple[tuple[str, str], str, bool]] = []
    for run in range(runs):
        path, when = points[run % len(points)]
        prepare()
        proc = box.start(*args, env=env)
        proc.stdin.write(stdin)
        proc.stdin.close()
        try:
            landed = _kill(server, proc, path, when, rng)
            outcomes[landed] += 1
        finally:
            server.hold_path = ""
            server.release.set()  # a held answer goes out, as a server would send it anyway
            proc.stdout.close()
            proc.stderr.close()
        server.arrived.clear()
        server.release.clear()
        _all_files_parse(box)
        after = box.call(*args[:-1], "get", input=stdin)
        log.append(((path, when), landed, after.returncode == 0))
        if landed == "finished":  # a helper that ended on its own left everything usable
            assert after.returncode == 0, (path, when, after.stderr)
        if after.returncode == 0:
            outcomes["next get ok"] += 1
            continue
        assert "login" in after.stderr, after.stderr
        outcomes["next get asks to log in"] += 1
        if reseed is not None:
            reseed()
            outcomes["re-seeded"] += 1
            assert box.call(*args[:-1], "get", input=stdin).returncode == 0
    return outcomes, log


def _held(points, runs: int = RUNS) -> int:
    """How many runs the schedule killed while the server held the answer."""
    return sum(1 for run in range(runs) if points[run % len(points)][1] == "held")


EXCHANGE = "/copilot_internal/v2/token"


@pytest.mark.slow
def test_kill_9_during_refresh_never_corrupts_anything(logged_in):
    box = logged_in
    points = [("", "early"), (EXCHANGE, "held"), (EXCHANGE, "answered")]

    def prepare():
        box.call("erase", input=box.credential())  # every run must exchange

    outcomes, log = _kill_at_scheduled_points(box, ("get",), {}, box.credential().encode(), prepare,
                                         points)
    assert outcomes["killed held"] == _held(points), outcomes  # landed mid-request
    assert outcomes["next get ok"] == RUNS, outcomes  # the GitHub login always survives
    assert box.server.exchanges >= RUNS  # every run's next get exchanged again


@pytest.mark.slow
def test_kill_9_during_a_device_flow_never_corrupts_anything(sandbox):
    box = sandbox
    box.server.auto_approve = True
    poll = "/login/oauth/access_token"
    points = [("", "early"), ("/login/device/code", "held"), (poll, "held"),
              (poll, "answered"), (EXCHANGE, "held"), (EXCHANGE, "answered")]

    def prepare():
        box.call("logout")

    outcomes, log = _kill_at_scheduled_points(box, ("get",), INTERACTIVE, box.credential().encode(),
                                         prepare, points, runs=DEVICE_RUNS)
    assert outcomes["killed held"] == _held(points, DEVICE_RUNS), outcomes
    assert outcomes["next get ok"] + outcomes["next get asks to log in"] == DEVICE_RUNS
    # Killed before the poll was answered, nothing was stored: the next get asks for a login.
    before_the_grant = {("", "early"), ("/login/device/code", "held"), (poll, "held")}
    assert not [run for run in log if run[0] in before_the_grant and run[2]], log
    # The login is stored before its first exchange: a kill from there on keeps it.
    assert all(run[2] for run in log if run[0] == (EXCHANGE, "held")), log


@pytest.mark.slow
def test_kill_9_during_an_oauth_refresh_keeps_a_usable_refresh_token(corp):
    from test_e2e_oauth import expire_access_token

    seed_oauth_login(corp)
    server = corp.server
    points = [("", "early"), ("/token", "held"), ("/token", "answered")]

    def prepare():
        if (corp.state_dir / "corp.json").exists():
            expire_access_token(corp)

    def reseed():
        seed_oauth_login(corp)

    outcomes, log = _kill_at_scheduled_points(corp, (*CORP, "get"), {}, corp.credential().encode(),
                                         prepare, points, reseed)
    assert outcomes["killed held"] == _held(points), outcomes
    # A kill after the server rotated but before we stored the new refresh token loses the
    # family (the server revoked the old one): then the next get must ask to log in, clearly,
    # and a fresh login works again.
    assert outcomes["next get ok"] + outcomes["next get asks to log in"] == RUNS
    assert outcomes["re-seeded"] == outcomes["next get asks to log in"]
    assert server.replays <= outcomes["next get asks to log in"]
    assert server.refreshes >= RUNS  # every run refreshed from a live refresh token


# -- full and read-only disks ---------------------------------------------------------------

def _mount_tmpfs(path: Path, options: str) -> bool:
    path.mkdir(parents=True, exist_ok=True)
    return subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)],
                          capture_output=True).returncode == 0


@pytest.fixture
def small_disk(tmp_path):
    mounted = []

    def mount(path: Path, options: str) -> None:
        if not _mount_tmpfs(path, options):
            pytest.skip("cannot mount a tmpfs here (needs root with CAP_SYS_ADMIN)")
        mounted.append(path)

    yield mount
    for path in mounted:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


def test_a_full_disk_is_one_clear_line(logged_in, small_disk):
    box = logged_in
    state_root = box.root / "full-state"
    small_disk(state_root, "size=64k")
    (state_root / "filler").write_bytes(b"x" * 60 * 1024)
    with pytest.raises(OSError):
        (state_root / "more").write_bytes(b"x" * 8 * 1024)
    result = box.call("get", input=box.credential(), env={"XDG_STATE_HOME": str(state_root)})
    assert result.returncode == 1 and result.stdout == ""
    assert "No space left on device" in result.stderr.splitlines()[-1]
    assert box.stored()["access_token"]  # the login is untouched


def test_a_read_only_state_dir_is_one_clear_line(logged_in, small_disk):
    box = logged_in
    state_root = box.root / "ro-state"
    small_disk(state_root, "ro,size=64k")
    result = box.call("get", input=box.credential(), env={"XDG_STATE_HOME": str(state_root)})
    assert result.returncode == 1 and result.stdout == ""
    assert "Read-only file system" in result.stderr.splitlines()[-1]


# -- hostile files --------------------------------------------------------------------------

def test_a_planted_symlink_at_the_cache_path_is_not_followed(logged_in):
    box = logged_in
    box.call("get", input=box.credential())
    victim = box.root / "victim.txt"
    victim.write_text("do not touch\n")
    cache_file = box.state_dir / "copilot.json"
    cache_file.unlink()
    cache_file.symlink_to(victim)
    result = box.call("get", input=box.credential())
    assert result.returncode == 0
    assert "symlink" in result.stderr
    assert victim.read_text() == "do not touch\n"
    assert not cache_file.is_symlink()  # replaced by a real file of ours


def test_a_state_dir_that_is_a_symlink_to_another_users_dir_is_refused(logged_in):
    box = logged_in
    foreign = box.root / "foreign"
    foreign.mkdir()
    (foreign / "copilot.json").write_text('{"token": {"token": "planted", "expires_at": '
                                          '9999999999, "refresh_at": 9999999999, '
                                          '"minted_at": 0}}')
    os.chown(foreign, 65534, 65534)
    os.chown(foreign / "copilot.json", 65534, 65534)
    shutil.rmtree(box.state_dir, ignore_errors=True)
    box.state_dir.parent.mkdir(parents=True, exist_ok=True)
    box.state_dir.symlink_to(foreign)
    result = box.call("get", input=box.credential())
    assert "planted" not in result.stdout
    assert result.returncode == 1
    assert "symlink" in result.stderr or "another user" in result.stderr


def test_a_group_readable_state_file_is_repaired(logged_in):
    box = logged_in
    box.call("get", input=box.credential())
    os.chmod(box.state_dir / "copilot.json", 0o640)
    result = box.call("get", input=box.credential())
    assert result.returncode == 0 and "readable by others" in result.stderr
    assert (box.state_dir / "copilot.json").stat().st_mode & 0o077 == 0


def test_a_locked_keyring_is_one_clear_line_within_the_timeout(sandbox, tmp_path):
    from secret_service import AVAILABLE, secret_service

    if not AVAILABLE:
        pytest.skip("dbus-daemon/gnome-keyring not installed (scripts/test installs them)")
    with secret_service(tmp_path / "kr", "right-password") as bus:
        keyring_env = {**sandbox.env, **bus}
        create = "import keyring; keyring.set_password('x', 'y', 'z')"
        subprocess.run([sys.executable, "-c", create], env=keyring_env, check=True, timeout=30,
                       capture_output=True)
    with secret_service(tmp_path / "kr", "wrong-password") as bus:
        sandbox.config_path.write_text(sandbox.config_path.read_text().replace(
            'store = "file"', 'store = "keyring"\nkeyring_timeout = 3'))
        started = time.monotonic()
        result = sandbox.run("get", input=sandbox.credential(), env=bus)
        elapsed = time.monotonic() - started
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "locked" in result.stderr
    assert elapsed < 10


# -- fuzzing whole commands -----------------------------------------------------------------

KEYS = ["protocol", "host", "url", "path", "username", "password", "password_expiry_utc",
        "wwwauth[]", "capability[]", "", "=", "HOST"]
TRICKY_HOSTS = ["api.githubcopilot.com.evil.com", "evil.com%0d", "evil.com\r",
                "user@api.githubcopilot.com", "API.GITHUBCOPILOT.COM", "xn--api-8ya.com",
                "127.0.0.1", "127.0.0.1:1", "[::1]:80", "localhost", "", "a" * 300]


@st.composite
def credential_inputs(draw, box_host: str) -> bytes:
    hosts = st.sampled_from(TRICKY_HOSTS + [box_host, box_host.upper(), box_host + ".evil"])
    lines = []
    for _ in range(draw(st.integers(0, 8))):
        key = draw(st.sampled_from(KEYS))
        if key in ("host", "HOST"):
            value = draw(hosts)
        elif key == "url":
            value = f"{draw(st.sampled_from(['https', 'http', '']))}://{draw(hosts)}/x"
        else:
            value = draw(st.text(max_size=40))
        lines.append(f"{key}={value}")
    raw = "\n".join(lines).encode("utf-8", "surrogatepass")
    if draw(st.booleans()):
        raw += draw(st.binary(max_size=64))
    return raw


def _claimed(box) -> set[str]:
    return {box.server.host.lower()}


FUZZ = settings(max_examples=int(os.environ.get("FUZZ_EXAMPLES", "200")), deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])


@FUZZ
@given(data=st.data())
def test_fuzz_get_never_hands_a_token_to_an_unclaimed_host(logged_in, data):
    box = logged_in
    payload = data.draw(credential_inputs(box.server.host) | st.binary(max_size=512))
    result = box.call("get", input=payload)
    assert result.returncode in (0, 1), result.stderr
    assert "internal error" not in result.stderr
    if result.stdout:
        pairs = result.pairs()
        host = pairs["host"].lower()
        assert host in _claimed(box) or host == "", (payload, pairs)
        assert pairs["protocol"] in ("http", "https")


@FUZZ
@given(data=st.data(), action=st.sampled_from(["store", "erase"]))
def test_fuzz_store_and_erase_never_crash_or_print(logged_in, data, action):
    box = logged_in
    payload = data.draw(credential_inputs(box.server.host) | st.binary(max_size=512))
    result = box.call(action, input=payload)
    assert result.returncode in (0, 1), result.stderr
    assert result.stdout == ""
    assert "internal error" not in result.stderr


# -- the secret-hygiene net can fail --------------------------------------------------------

def test_the_hygiene_check_catches_an_unmasked_token(sandbox, monkeypatch):
    """Break masking on purpose: the suite's own check must notice the leak."""
    from helper import errors
    from helper.core import lifecycle

    dead = sandbox.server.add_github_token()
    sandbox.server.revoke_github(dead)
    monkeypatch.setattr(lifecycle, "mask", lambda secret: secret)
    monkeypatch.setattr(errors, "scrub", lambda text: text)  # and the masking pass behind it
    with pytest.raises(AssertionError, match="secret the server issued appeared"):
        sandbox.call("get", input=sandbox.credential(), env={"GH_TOKEN": dead})


@pytest.mark.slow  # a real process waits a real poll interval
def test_interactive_prompt_goes_to_stderr_never_stdout(sandbox):
    watched = Watched(sandbox.start("get", env=INTERACTIVE), stdin=sandbox.credential().encode())
    code = watched.user_code()
    sandbox.server.approve(code)
    status, out, err = watched.finish()
    assert status == 0
    assert code not in out and "/login/device" not in out
    assert out.startswith("protocol=")


def test_no_record_type_shows_a_secret_in_its_repr():
    """A repr ends up in logs, tracebacks and debug prints: none may carry a secret."""
    from helper import api
    from helper.core import config
    from helper.commands import protocol
    from helper.storage import records
    from helper.oauth2 import rfc6749
    from helper.oauth2 import rfc8628
    from helper.storage import state

    secret = "gho_" + "s" * 36
    records = [
        protocol.Credential(host="h", password=secret),
        config.Profile(name="corp", provider="oauth", client_secret=secret),
        rfc8628.DeviceCode(device_code=secret, user_code="U", verification_uri="https://x",
                           expires_in=1),
        records.Token(token=secret, expires_at=1, refresh_at=1, minted_at=1),
        state.State(token=records.Token(secret, 1, 1, 1)),
        records.Grant(access_token=secret, refresh_token=secret),
        records.Grant(access_token=secret, origin="GH_TOKEN"),
        records.Minted(records.Token(secret, 1, 1, 1), records.Grant(refresh_token=secret)),
        rfc6749.TokenResponse(access_token=secret, refresh_token=secret),
        api.Token(token=secret, expires_at=1, api_base="", profile="p"),
    ]
    for record in records:
        assert secret not in repr(record), type(record).__name__
        assert secret not in str(record), type(record).__name__


def test_server_text_cannot_inject_terminal_escapes(sandbox):
    hostile = b'"\\u001b[2J\\u001b]0;owned\\u0007 go to evil.com"'
    sandbox.server.inject("/login/device/code", Fault(
        status=400, body=b'{"error": "invalid_client", "error_description": ' + hostile + b"}"))
    result = sandbox.call("get", input=sandbox.credential(), env=INTERACTIVE)
    assert result.returncode == 1
    assert "\x1b" not in result.stderr and "\x07" not in result.stderr
    assert "invalid_client" in result.stderr
