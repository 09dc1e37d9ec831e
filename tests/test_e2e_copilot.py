"""End to end: the installed executable against the fake GitHub + Copilot server.

Every count is the server's own (exchanges, device flows); no test sleeps to synchronise.
"""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import requests

import helper

from conftest import EXE, quick_login, timeouts, uncached
from procs import Watched, asking, device_login

INTERACTIVE = {"GIT_CREDENTIAL_COPILOT_INTERACTIVE": "always"}


def login(box) -> str:
    return device_login(box)


@pytest.mark.slow  # a real process waits a real poll interval
def test_login_runs_the_device_flow_and_stores_the_login(sandbox):
    err = login(sandbox)
    assert sandbox.server.device_flows == 1
    assert sandbox.server.exchanges == 1  # login checks Copilot access once
    assert "logged in as octocat" in err
    assert "/login/device" in err
    assert sandbox.stored()["access_token"].startswith("gho_")
    got = sandbox.run("get", input=sandbox.credential())
    assert got.returncode == 0
    assert got.pairs()["username"] == "octocat"
    assert sandbox.server.exchanges == 1


def test_login_replaces_a_valid_login(logged_in):
    box = logged_in
    old = box.stored()["access_token"]
    assert box.call("get", input=box.credential()).returncode == 0
    quick_login(box)
    assert box.stored()["access_token"] != old
    assert box.server.device_flows == 1
    # The old token is never sent again: only the new one reached the exchange since.
    sent = [h.get("Authorization") for m, p, h in box.server.requests
            if p == "/copilot_internal/v2/token"]
    assert sent[-1] == f"token {box.stored()['access_token']}"


def test_get_prints_the_protocol_answer(logged_in):
    box = uncached(logged_in)  # the first get mints, then answers
    result = box.run("get", input=box.credential())
    assert result.returncode == 0, result.stderr
    pairs = result.pairs()
    assert pairs["protocol"] == "http"
    assert pairs["host"] == box.server.host
    assert pairs["username"] == "octocat"
    assert pairs["password"] in box.server.copilot_tokens
    # The lifetime is counted from the server's Date (whole seconds) and laid on the local
    # clock at minting: a second boundary crossed in between moves it by one.
    expiry = int(pairs["password_expiry_utc"])
    assert abs(expiry - box.server.copilot_tokens[pairs["password"]]) <= 1
    assert result.stderr == ""
    again = box.run("get", input=box.credential())  # another process: the cached token
    assert again.returncode == 0 and again.pairs()["password"] == pairs["password"]
    assert box.server.exchanges == 2  # the login's check, then the first get


def test_erase_then_get_mints_a_new_token(logged_in):
    box = logged_in
    first = box.call("get", input=box.credential()).pairs()["password"]
    erase = box.call("erase", input=box.credential(password=first))
    assert erase.returncode == 0 and erase.stdout == ""
    second = box.call("get", input=box.credential()).pairs()["password"]
    assert second != first
    assert box.server.exchanges == 2


def test_stale_erase_keeps_the_newer_token(logged_in):
    box = logged_in
    old = box.call("get", input=box.credential()).pairs()["password"]
    box.call("erase", input=box.credential(password=old))
    new = box.call("get", input=box.credential()).pairs()["password"]
    # A late erase from a process that still held the old token:
    assert box.call("erase", input=box.credential(password=old)).returncode == 0
    assert box.call("get", input=box.credential()).pairs()["password"] == new
    assert box.server.exchanges == 2


def test_caller_recovers_from_401_with_erase_and_get(logged_in):
    """The loop every integration runs: request, 401, erase, get, request again."""
    box = logged_in
    token = box.call("get", input=box.credential()).pairs()["password"]
    chat = f"{box.server.url}/chat/completions"
    assert requests.post(chat, headers={"Authorization": f"Bearer {token}"}, timeout=5).ok
    box.server.invalidate_copilot_tokens()
    rejected = requests.post(chat, headers={"Authorization": f"Bearer {token}"}, timeout=5)
    assert rejected.status_code == 401 and "token expired" in rejected.text
    box.call("erase", input=box.credential(password=token))
    fresh = box.call("get", input=box.credential()).pairs()["password"]
    assert requests.post(chat, headers={"Authorization": f"Bearer {fresh}"}, timeout=5).ok
    assert box.server.exchanges == 2


def test_revoked_login_fails_once_and_clearly_without_a_prompt(logged_in):
    box = uncached(logged_in)
    box.server.revoke_github()
    result = box.call("get", input=box.credential())
    assert result.returncode == 1
    assert result.stdout == ""
    assert "git-credential-copilot login" in result.stderr
    assert box.stored() == {}  # the dead token is gone
    assert box.server.exchanges == 2  # the login's check at store, then the 401
    again = box.call("get", input=box.credential())
    assert again.returncode == 1
    assert box.server.exchanges == 2  # never sent again
    assert box.server.device_flows == 0


@pytest.mark.slow  # a real process waits a real poll interval
def test_revoked_login_runs_the_device_flow_when_a_person_can_see_it(logged_in):
    box = uncached(logged_in)
    box.server.revoke_github()
    watched = Watched(box.start("get", env=INTERACTIVE), stdin=box.credential().encode())
    box.server.approve(watched.user_code())
    code, out, err = watched.finish()
    assert code == 0, err
    assert "password=" in out
    assert box.server.device_flows == 1
    assert box.server.exchanges == 3  # the store's check, the 401, the new login's exchange


def test_git_terminal_prompt_0_fails_fast_even_when_interactive_is_always(sandbox):
    result = sandbox.call("get", input=sandbox.credential(),
                         env={**INTERACTIVE, "GIT_TERMINAL_PROMPT": "0"})
    assert result.returncode == 1
    assert "GIT_TERMINAL_PROMPT=0" in result.stderr
    assert sandbox.server.device_flows == 0


@pytest.mark.slow  # a real process waits a real poll interval
def test_denied_device_flow_is_one_clear_line(sandbox):
    watched = Watched(sandbox.start("login"))
    sandbox.server.deny(watched.user_code())
    code, out, err = watched.finish()
    assert code == 1 and out == ""
    assert "access_denied" in err.splitlines()[-1]
    assert sandbox.stored() == {}


@pytest.mark.slow  # a crowd of processes
def test_thirty_concurrent_gets_exchange_exactly_once(logged_in):
    """Thirty processes asked at once, nothing cached: one exchange between them."""
    box = uncached(logged_in)
    before, data = box.server.exchanges, box.credential().encode()
    procs = [asking(box.start("get"), data) for _ in range(30)]
    answers = [p.communicate(timeout=60) for p in procs]
    assert all(p.returncode == 0 for p in procs), [err for _, err in answers]
    tokens = {dict(line.split("=", 1) for line in out.decode().splitlines())["password"]
              for out, _ in answers}
    assert len(tokens) == 1
    assert box.server.exchanges - before == 1


@pytest.mark.slow  # a real process waits a real poll interval
def test_eight_interactive_gets_without_login_run_one_device_flow(sandbox):
    sandbox.server.auto_approve = True
    data = sandbox.credential().encode()
    procs = [sandbox.start("get", env=INTERACTIVE) for _ in range(8)]
    answers = [p.communicate(data, timeout=60) for p in procs]
    assert all(p.returncode == 0 for p in procs), [err for _, err in answers]
    assert sandbox.server.device_flows == 1
    assert sandbox.server.exchanges == 1
    assert len({out for out, _ in answers}) == 1


@pytest.mark.slow  # a real process waits a real poll interval
def test_kill_9_of_the_lock_holder_mid_device_flow_does_not_block_the_next(sandbox):
    first = Watched(sandbox.start("get", env=INTERACTIVE), stdin=sandbox.credential().encode())
    first.user_code()  # it holds the lock and waits for a person
    os.kill(first.proc.pid, signal.SIGKILL)
    first.proc.wait(timeout=10)
    second = Watched(sandbox.start("get", env=INTERACTIVE), stdin=sandbox.credential().encode())
    sandbox.server.approve(second.user_code())
    code, out, err = second.finish()
    assert code == 0, err
    assert sandbox.server.device_flows == 2
    assert json.loads(json.dumps(sandbox.state()))["token"]["token"] in out


@pytest.mark.slow  # a real process waits a real poll interval, and a waiter for the lock
def test_a_waiter_says_who_holds_the_lock(sandbox):
    first = Watched(sandbox.start("login"))
    code_ = first.user_code()
    waiter = Watched(sandbox.start("get", env=INTERACTIVE), stdin=sandbox.credential().encode())
    waiter.wait_for_line(r"waiting for another git-credential-copilot .*pid \d+ running `login`")
    sandbox.server.approve(code_)
    assert first.finish()[0] == 0
    code, out, err = waiter.finish()
    assert code == 0, err
    assert sandbox.server.device_flows == 1


def test_files_are_private(logged_in):
    box = logged_in
    box.call("get", input=box.credential())
    for path in (box.state_dir / "copilot.json", box.stored_path()):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    for path in (box.state_dir, box.data_dir):
        assert stat.S_IMODE(path.stat().st_mode) == 0o700, path


def test_corrupt_state_file_is_one_line_and_rewritten(logged_in):
    box = logged_in
    box.call("get", input=box.credential())
    (box.state_dir / "copilot.json").write_bytes(b"\x00{not json")
    result = box.call("get", input=box.credential())
    assert result.returncode == 0
    assert result.stderr.count("\n") == 1 and "not valid JSON" in result.stderr
    assert box.state()["token"]["token"] == result.pairs()["password"]


def test_corrupt_secrets_file_is_treated_as_absent(logged_in):
    box = uncached(logged_in)
    box.stored_path().write_text("[1, 2")
    result = box.call("get", input=box.credential())
    assert result.returncode == 1
    assert "not valid JSON" in result.stderr and "login" in result.stderr


def test_world_readable_secrets_file_is_repaired_with_a_warning(logged_in):
    box = uncached(logged_in)
    os.chmod(box.stored_path(), 0o644)
    result = box.call("get", input=box.credential())
    assert result.returncode == 0
    assert "readable by others" in result.stderr
    assert stat.S_IMODE(box.stored_path().stat().st_mode) == 0o600


def test_unclaimed_host_gets_nothing_even_with_profile(logged_in):
    box = logged_in
    for args in (("get",), ("--profile", "copilot", "get")):
        result = box.call(*args, input=box.credential(host="evil.example.com", protocol="https"))
        assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
    lookalike = box.credential(host=f"{box.server.host}.evil.com")
    assert box.call("get", input=lookalike).stdout == ""
    assert box.server.exchanges == 1  # the login's check at store; none since


def test_no_host_means_a_script_and_gets_the_default_profile(logged_in):
    result = logged_in.call("get", input="\n")
    assert result.returncode == 0
    assert result.pairs()["host"] == logged_in.server.host  # the endpoints.api host


def test_plain_http_to_a_non_loopback_claimed_host_gets_nothing(logged_in):
    box = logged_in
    result = box.call("get", input=box.credential(host="api.githubcopilot.com", protocol="http"))
    assert result.stdout == "" and result.returncode == 0


def test_copilot_403_is_one_line_and_deletes_nothing(logged_in):
    box = uncached(logged_in)
    box.server.no_copilot.add("octocat")
    result = box.call("get", input=box.credential())
    assert result.returncode == 1
    assert "You do not have access to GitHub Copilot." in result.stderr
    assert box.stored() != {}
    assert box.server.exchanges == 2  # the login's check at store, then the 403


def test_copilot_404_is_one_line_and_deletes_nothing(logged_in):
    box = uncached(logged_in)
    box.server.app_not_accepted.add(box.stored()["access_token"])
    result = box.call("get", input=box.credential())
    assert result.returncode == 1 and "404" in result.stderr
    assert box.stored() != {}


@pytest.mark.slow  # waits out the retry budget
def test_server_errors_are_retried_a_bounded_number_of_times(logged_in):
    from fakeserver import Fault

    box = uncached(logged_in)
    timeouts(box, http_timeout=2, retry_budget=1)
    box.server.inject("/copilot_internal/v2/token", *[Fault(status=502)] * 50)
    result = box.call("get", input=box.credential())
    assert result.returncode == 1
    assert "HTTP 502" in result.stderr and "try again later" in result.stderr
    assert 2 <= box.server.exchanges - 1 <= 6  # 1: the store's check; retry_budget = 1 s


def test_a_transient_error_then_success_is_invisible(logged_in):
    from fakeserver import Fault

    box = uncached(logged_in)
    box.server.inject("/copilot_internal/v2/token", Fault(status=503))
    result = box.call("get", input=box.credential())
    assert result.returncode == 0, result.stderr
    assert box.server.exchanges == 3  # the login's check at store, the 503, the retry


def test_env_token_comes_first_and_is_never_stored(sandbox):
    token = sandbox.server.add_github_token()
    result = sandbox.call("get", input=sandbox.credential(), env={"COPILOT_GITHUB_TOKEN": token})
    assert result.returncode == 0, result.stderr
    assert sandbox.stored() == {}
    sent = [h["Authorization"] for m, p, h in sandbox.server.requests
            if p == "/copilot_internal/v2/token"]
    assert sent == [f"token {token}"]


def test_gh_token_is_used_only_when_nothing_is_stored(logged_in):
    box = uncached(logged_in)  # the get below exchanges a GitHub token: which one?
    other = box.server.add_github_token(login="someone-else")
    mark = len(box.server.requests)
    assert box.call("get", input=box.credential(), env={"GH_TOKEN": other}).returncode == 0
    sent = [h["Authorization"] for m, p, h in box.server.requests[mark:]
            if p == "/copilot_internal/v2/token"]
    assert sent == [f"token {box.stored()['access_token']}"]


def test_rejected_env_token_is_named_and_never_sent_again(sandbox):
    dead = "gho_" + "d" * 36
    env = {"GH_TOKEN": dead}
    first = sandbox.call("get", input=sandbox.credential(), env=env)
    assert first.returncode == 1
    assert "GH_TOKEN" in first.stderr and dead not in first.stderr
    second = sandbox.call("get", input=sandbox.credential(), env=env)
    assert second.returncode == 1 and "GH_TOKEN" in second.stderr
    assert sandbox.server.exchanges == 1


def test_store_at_the_login_host_imports_a_login(sandbox):
    token = sandbox.server.add_github_token()
    stored = sandbox.call("store", input=sandbox.credential(host=sandbox.login_host,
                                                            password=token))
    assert stored.returncode == 0 and stored.stdout == ""
    assert sandbox.call("get", input=sandbox.credential()).returncode == 0


def test_erase_at_the_login_host_drops_the_login(logged_in):
    box = logged_in
    box.call("get", input=box.credential())
    assert box.call("erase", input=box.credential(host=box.login_host)).returncode == 0
    assert box.stored() == {}
    assert "token" not in box.state()


def test_store_at_an_api_host_caches_a_token_with_its_expiry(sandbox):
    import time

    expiry = str(int(time.time()) + 600)
    sandbox.call("store", input=sandbox.credential(password="tid=imported;exp=1",
                                                  password_expiry_utc=expiry))
    result = sandbox.call("get", input=sandbox.credential())
    assert result.pairs()["password"] == "tid=imported;exp=1"
    assert sandbox.server.exchanges == 0


def test_repeated_erases_of_fresh_tokens_say_it_is_not_a_stale_token(logged_in):
    box = logged_in
    results = []
    for _ in range(3):
        token = box.call("get", input=box.credential()).pairs()["password"]
        results.append(box.call("erase", input=box.credential(password=token)))
    assert "subscription or policy problem" in results[-1].stderr
    assert "subscription or policy" not in results[0].stderr


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


def test_token_command_formats(logged_in):
    box = logged_in
    raw = box.call("token")
    assert raw.returncode == 0 and raw.stdout.count("\n") == 1
    data = json.loads(box.call("token", "--format", "json").stdout)
    assert data == {"token": raw.stdout.strip(), "expires_at": data["expires_at"],
                    "api_base": box.server.url, "profile": "copilot"}
    env = box.call("token", "--format", "env").stdout
    assert f"export OPENAI_API_BASE={box.server.url}" in env
    assert box.server.exchanges == 1


def test_status_never_shows_a_secret_and_says_if_a_token_is_at_hand(logged_in):
    box = logged_in
    ok = box.call("status")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "octocat" in ok.stdout and "token: valid until" in ok.stdout
    box.check_no_secret_leaked(ok.stdout, "status output")
    box.call("logout")
    missing = box.call("status")
    assert missing.returncode == 1 and "login: none" in missing.stdout


def test_logout_forgets_everything(logged_in):
    box = logged_in
    box.call("get", input=box.credential())
    assert box.call("logout").returncode == 0
    assert box.stored() == {} and box.state() == {}


def test_python_dash_m_helper_is_the_same_command(logged_in):
    result = subprocess.run([sys.executable, "-m", "helper", "token"], capture_output=True,
                            env=logged_in.env, timeout=60)
    assert result.returncode == 0 and result.stdout.startswith(b"tid=")


@pytest.mark.parametrize("payload, why", [
    (b"protocol=https\nhost=api.githubcopilot.com\rx\n\n", "carriage return"),
    (b"protocol=https\nhost=api.githubcopilot.com\x00\n\n", "NUL"),
    (b"host=" + b"a" * 70000 + b"\n\n", "64 KiB"),
    (b"x" * 100 + b"\n" + (b"k=" + b"v" * 60000 + b"\n") * 20, "1 MiB"),
    (b"\xff\xfe\xfa=\x80\n\n", "UTF-8"),
    (b"url=https://api.githubcopilot.com%0d.evil.com/\n\n", "control character"),
])
def test_bad_input_is_refused_with_one_line(logged_in, payload, why):
    result = logged_in.call("get", input=payload)
    assert result.returncode == 1
    assert result.stdout == ""
    assert why in result.stderr and result.stderr.count("\n") == 1
    assert logged_in.server.exchanges == 1  # the login's check at store; none since


def test_bad_config_is_exit_2_naming_file_and_key(sandbox):
    sandbox.write_config('store = "cloud"\n')
    result = sandbox.call("get", input=sandbox.credential())
    assert result.returncode == 2
    assert str(sandbox.config_path) in result.stderr and "store" in result.stderr


def test_plain_http_config_url_is_refused_unless_loopback(sandbox):
    sandbox.write_config('[profiles.copilot]\napi_url = "http://api.example.com"\n')
    result = sandbox.call("token")
    assert result.returncode == 2 and "only allowed for loopback" in result.stderr


def test_usage_errors_exit_2(sandbox):
    """The exit codes as a process reports them; every usage row is in test_cli's table."""
    assert sandbox.run("frobnicate").returncode == 2
    assert sandbox.call("--profile", "nope", "token").returncode == 2
    version = sandbox.run("--version")
    assert version.returncode == 0 and version.stdout.startswith("git-credential-copilot ")


def test_executable_is_installed():
    assert EXE.exists()


def test_token_renew_replaces_a_rejected_token_once_a_minute_at_most(logged_in):
    box = logged_in
    first = box.run("token").stdout
    state = box.state()
    state["token"]["minted_at"] -= 120  # as if handed out two minutes ago
    (box.state_dir / "copilot.json").write_text(json.dumps(state))
    kept = [box.run("token", "--renew").stdout for _ in range(3)]  # starts: nothing rejected
    assert kept == [first] * 3 and box.server.exchanges == 1
    assert box.server.counts["/models"] == 3  # one cheap check each
    box.server.invalidate_copilot_tokens()  # the API now answers 401 for it
    renewed = [box.start("token", "--renew") for _ in range(5)]
    outs = {p.communicate(timeout=60)[0] for p in renewed}
    assert all(p.returncode == 0 for p in renewed)
    assert len(outs) == 1 and first.encode() not in outs
    assert box.server.exchanges == 2  # five callers after a 401: one new token


def test_the_api_host_the_exchange_named_is_claimed_even_after_erase(logged_in):
    box = uncached(logged_in)  # nothing claimed yet: the store's check named the host too
    box.config_path.write_text(box.config_path.read_text().replace(
        f'hosts = ["{box.server.host}"]', 'hosts = ["api.githubcopilot.com"]'))
    assert box.call("get", input=box.credential()).stdout == ""  # not claimed yet
    assert box.call("token").returncode == 0  # the exchange names endpoints.api = this server
    first = box.call("get", input=box.credential())
    assert first.pairs()["host"] == box.server.host
    box.call("erase", input=box.credential(password=first.pairs()["password"]))
    again = box.call("get", input=box.credential())
    assert again.returncode == 0 and again.pairs()["password"] != first.pairs()["password"]


def test_a_cached_get_imports_none_of_the_heavy_modules(logged_in):
    box = logged_in
    assert box.run("get", input=box.credential()).returncode == 0  # fills the cache
    question = box.credential().encode()
    # Started as install.sh starts it (-I -S: no site, so nothing is loaded before us).
    probe = (
        f"import io, sys; sys.path.insert(0, {str(Path(helper.__file__).parents[1])!r})\n"
        "from helper import fast\n"
        "out = io.StringIO()\n"
        f"code, _ = fast.main(['get'], stdin=io.BytesIO({question!r}), stdout=out)\n"
        "assert code == 0 and 'password=' in out.getvalue(), code\n"
        "heavy = ('requests', 'keyring', 'filelock', 'dataclasses', 'typing', 'urllib3',\n"
        "         'hashlib', 'tomllib', 'ssl', 'json', 'argparse', 're', 'pathlib', 'os',\n"
        "         'collections', '__future__')\n"
        "print(' '.join(sorted(m for m in heavy if m in sys.modules)))\n"
    )
    result = subprocess.run([sys.executable, "-I", "-S", "-c", probe], capture_output=True,
                            env=box.env, timeout=60)
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout.decode().split() == []
    assert box.server.exchanges == 1


def test_the_full_command_line_imports_no_dataclasses():
    """dataclasses pulls inspect, ast and dis into every run that is not a cached get
    ("The full command line's start", docs/design.md). The command line with every
    subcommand built must not import it."""
    probe = (f"import io, sys; sys.path.insert(0, {str(Path(helper.__file__).parents[1])!r})\n"
             "from helper.commands import main\n"
             "main.parser(io.StringIO())\n"
             "print(' '.join(m for m in ('dataclasses', 'inspect') if m in sys.modules))\n")
    found = subprocess.run([sys.executable, "-I", "-S", "-c", probe], capture_output=True,
                           text=True, timeout=60, check=True)
    assert found.stdout.split() == []


@pytest.mark.usefixtures("_installed")
def test_closed_standard_streams_are_not_a_traceback(logged_in):
    box = logged_in
    token = subprocess.run([str(EXE), "token"], stdin=subprocess.DEVNULL, capture_output=True,
                           env=box.env, timeout=60, pass_fds=())
    closed = subprocess.run(f"exec 0<&- ; {EXE} token", shell=True, capture_output=True,
                            env=box.env, timeout=60)
    assert closed.returncode == 0 and closed.stdout == token.stdout
    assert b"Traceback" not in closed.stderr
    no_input = subprocess.run(f"exec 0<&- ; {EXE} get", shell=True, capture_output=True,
                              env=box.env, timeout=60)
    assert no_input.returncode == 0 and b"password=" in no_input.stdout  # no host: a script


def test_a_login_is_bound_to_its_server_and_kept_when_the_config_names_another(logged_in):
    """Point api_url at another server: nothing minted by the first is served or sent there,
    nothing is deleted, and switching back finds the first login and token intact."""
    from fakeserver import FakeGitHub

    box = logged_in
    first = box.run("get", input=box.credential())
    assert first.returncode == 0
    original = box.config_path.read_text()
    other = FakeGitHub().start()
    try:
        box.config_path.write_text(original.replace(f'api_url = "{box.server.url}"',
                                                     f'api_url = "{other.url}"'))
        moved = box.run("get", input=box.credential())
        assert moved.returncode == 1 and "password=" not in moved.stdout
        assert "now names another server" in moved.stderr
        assert other.exchanges == 0 and not other.requests  # no token of ours went there
        assert box.server.exchanges == 1
        box.config_path.write_text(original)
        back = box.run("get", input=box.credential())
        assert back.returncode == 0 and back.pairs()["password"] == first.pairs()["password"]
        assert box.server.exchanges == 1 and box.stored()  # the first login, intact
    finally:
        other.stop()
