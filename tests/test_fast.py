"""The cached get/token (helper.fast), in process: what it answers is byte for byte what the
full command line answers, and whatever is not certain is handed to the full path, which
then answers, or refuses, exactly as it would alone. The installed command's own runs (and
what they import) are tested in test_cached."""

from __future__ import annotations

import io
import os
import time

import pytest

from helper import fast
from helper.commands import main as cli
from helper.core.lifecycle import save_state
from helper.storage import state as statefile

from conftest import Result

OTHER = ('\n[profiles.other]\nprovider = "oauth"\nissuer = "https://idp.example.com"\n'
         'client_id = "c"\nhosts = ["llm.example.com"]\napi_base = "https://llm.example.com/v1"\n')


def settle(path) -> None:
    """Date the config file back: routes are saved only for a config that has settled."""
    past = time.time() - 60
    os.utime(path, (past, past))


def fast_path(box, *args: str, input: str = "", env: dict | None = None):
    """(exit code or None, stdout, handoff) of helper.fast.main in this process."""
    out = io.StringIO()
    code, handoff = fast.main(list(args), io.BytesIO(input.encode()), out,
                              {**box.env, **(env or {})})
    return code, out.getvalue(), handoff


def command(box, *args: str, input: str = "", env: dict | None = None) -> tuple[Result, bool]:
    """What the installed command does, in process: the cached path, else the full one with
    its handoff. Its result, and whether the cached path answered."""
    code, text, handoff = fast_path(box, *args, input=input, env=env)
    if code is not None:
        return Result(code, text, ""), True
    assert text == ""  # nothing written before handing off
    out, err = io.StringIO(), io.StringIO()
    code = cli.main(list(args), stdin=io.BytesIO(), stdout=out, stderr=err,
                    env={**box.env, **(env or {})}, handoff=handoff)
    return Result(code, out.getvalue(), err.getvalue()), False


def same(box, *args: str, input: str = "", env: dict | None = None) -> tuple[Result, bool]:
    """``command``, checked equal to the full command line alone."""
    result, answered = command(box, *args, input=input, env=env)
    alone = box.call(*args, input=input, env=env)
    assert (result.returncode, result.stdout) == (alone.returncode, alone.stdout), (result, alone)
    return result, answered


@pytest.fixture
def ready(logged_in):
    """Logged in (the profile also claims copilot.example.com), with a second profile
    ``other`` (claiming llm.example.com), a settled config and the routes saved by a first
    get."""
    box = logged_in
    box.config_path.write_text(box.config_path.read_text().replace(
        f'hosts = ["{box.server.host}"]', f'hosts = ["{box.server.host}", "copilot.example.com"]')
        + OTHER)
    settle(box.config_path)
    assert box.call("get", input=box.credential()).returncode == 0
    assert fast_path(box, "get", input=box.credential())[0] == 0
    return box


# -- what it answers ------------------------------------------------------------------------


def test_its_answers_are_the_full_paths(ready):
    box = ready
    token = box.state()["token"]
    for args, data in [(("get",), box.credential()), (("token",), ""),
                       (("token", "--format", "raw"), ""), (("token", "--format=raw"), ""),
                       (("--profile", "copilot", "get"), box.credential()),
                       (("get", "--profile=copilot"), box.credential()),
                       (("get",), box.credential(protocol="https")),
                       (("get",), box.credential(protocol="")),
                       (("get",), f"protocol=http\nhost={box.server.host.upper()}\n\n")]:
        result, answered = same(box, *args, input=data)
        assert answered and result.returncode == 0, args
        assert token["token"] in result.stdout, args
    assert box.server.exchanges == 1


def test_the_get_answer_line_by_line(ready):
    box = ready
    token = box.state()["token"]
    result, answered = same(box, "get", input=box.credential(path="a/b", username="someone"))
    assert answered and result.stdout == (
        f"protocol=http\nhost={box.server.host}\nusername={token['username'] or 'oauth2'}\n"
        f"password={token['token']}\npassword_expiry_utc={token['expires_at']}\n")
    result, answered = same(box, "token")
    assert answered and result.stdout == token["token"] + "\n"


def test_no_host_is_answered_for_the_tokens_api_host(ready):
    box = ready
    result, answered = same(box, "get", input="protocol=https\n\n")
    assert answered and result.pairs()["host"] == box.server.host
    assert result.pairs()["protocol"] == "https"
    result, answered = same(box, "get", input="\n")
    assert answered and result.pairs()["protocol"] == "https"


def test_a_token_without_an_api_base_is_answered_for_the_profiles(ready):
    """A token git handed over (``store``) names no API base: the profile's is the host."""
    box = ready
    expiry = str(int(time.time()) + 3600)
    stored = box.call("--profile", "other", "store", input=box.credential(
        host="llm.example.com", protocol="https", password="at_" + "o" * 30,
        password_expiry_utc=expiry))
    assert stored.returncode == 0 and box.state("other")["token"]["api_base"] == ""
    box.call("--profile", "other", "token")  # routes for this state
    result, answered = same(box, "--profile", "other", "get", input="\n")
    assert answered and result.pairs()["host"] == "llm.example.com"
    assert result.pairs()["password"] == "at_" + "o" * 30
    assert result.pairs()["password_expiry_utc"] == expiry


def test_the_handoff_says_what_was_read_and_that_the_routes_are_current(ready):
    box = ready
    code, _, handoff = fast_path(box, "get", input=box.credential(protocol="ftp"))
    assert code is None and handoff.credential.protocol == "ftp" and handoff.error is None
    code, text, handoff = fast_path(box, "get", input="protocol=https\nhost=unclaimed.example\n\n")
    assert (code, text) == (0, "") and handoff.routes_current  # no profile claims it: nothing
    path = box.state_dir / "copilot.json"
    state = statefile.read(path, print)
    state.token.refresh_at = int(time.time()) - 1
    save_state(path, state, print)
    code, _, handoff = fast_path(box, "get", input=box.credential())
    assert code is None and handoff.routes_current  # routed; only the token was stale


# -- what it leaves to the full path ----------------------------------------------------------


def test_a_carriage_return_or_nul_on_a_claimed_host_is_refused_as_the_full_path_refuses(ready):
    """git refuses CR since the Clone2Leak fixes; so do both paths, in any line."""
    box = ready
    for data in (f"protocol=http\nhost={box.server.host}\nusername=x\r\n\n",
                 f"protocol=http\nhost={box.server.host}\npath=a\0b\n\n",
                 f"protocol=http\nhost={box.server.host}\r\n\n"):
        code, text, handoff = fast_path(box, "get", input=data)
        assert code is None and text == "" and handoff.error is not None
        result, answered = same(box, "get", input=data)
        assert not answered and (result.returncode, result.stdout) == (1, "")


def test_plain_http_to_a_claimed_host_that_is_not_loopback_gets_nothing(ready):
    box = ready
    result, answered = same(box, "get", input="protocol=https\nhost=copilot.example.com\n\n")
    assert answered and result.pairs()["password"]
    for protocol in ("http", "ftp", "HTTPS"):
        for host in ("copilot.example.com", "llm.example.com"):
            result, answered = same(box, "get", input=f"protocol={protocol}\nhost={host}\n\n")
            assert not answered and (result.returncode, result.stdout) == (0, ""), protocol


def test_a_profile_named_on_the_command_line_gets_only_its_own_hosts(ready):
    box = ready
    for args in (("--profile", "other", "get"), ("get", "--profile=other")):
        result, answered = same(box, *args, input=box.credential())
        assert (result.returncode, result.stdout) == (0, "")  # no token, on either path
    env = {"GIT_CREDENTIAL_COPILOT_PROFILE": "other"}
    result, answered = same(box, "get", input=box.credential(), env=env)
    assert (result.returncode, result.stdout) == (0, "")


def test_an_unclaimed_host_gets_nothing_and_an_unknown_profile_is_left_to_the_full_path(ready):
    box = ready
    result, answered = same(box, "get", input="protocol=https\nhost=unclaimed.example\n\n")
    assert answered and (result.returncode, result.stdout) == (0, "")
    result, answered = same(box, "--profile", "nosuch", "get", input=box.credential())
    assert not answered and result.returncode == 2
    result, answered = same(box, "--profile", "nosuch", "token")
    assert not answered and result.returncode == 2


def test_a_token_that_is_not_fresh_is_never_served(ready):
    box = ready
    path = box.state_dir / "copilot.json"
    state = statefile.read(path, print)
    old = state.token.token
    state.token.refresh_at = int(time.time()) - 1
    save_state(path, state, print)
    result, answered = command(box, "token")
    assert not answered and result.stdout.strip() not in ("", old)
    assert box.server.exchanges == 2


def test_a_token_that_does_not_serve_this_caller_is_not_served(ready):
    box = ready
    env = {"COPILOT_GITHUB_TOKEN": "ghu_" + "x" * 36}  # comes before the stored login
    code, text, _ = fast_path(box, "token", env=env)
    assert (code, text) == (None, "")
    code, text, _ = fast_path(box, "get", input=box.credential(), env=env)
    assert (code, text) == (None, "")


def test_a_state_file_written_since_the_token_file_is_not_trusted(ready):
    box = ready
    path = box.state_dir / "copilot.json"
    path.write_text(path.read_text() + " ")  # as an older version would: no token file update
    path.chmod(0o600)
    assert fast_path(box, "token")[0] is None
    assert fast_path(box, "get", input=box.credential())[0] is None


def test_without_routes_or_a_token_file_the_full_path_answers(ready):
    box = ready
    for name in os.listdir(box.state_dir / "routes"):
        os.unlink(box.state_dir / "routes" / name)
    assert fast_path(box, "token")[0] is None
    assert box.call("token").returncode == 0  # saves the routes again
    assert fast_path(box, "token")[0] == 0
    (box.state_dir / "tokens" / "copilot").unlink()
    assert fast_path(box, "token")[0] is None


def test_a_host_remembered_from_the_state_is_checked_against_the_token_file(ready):
    box = ready
    config = box.config_path.read_text()
    claimed = f'hosts = ["{box.server.host}", "copilot.example.com"]'
    assert claimed in config
    box.config_path.write_text(config.replace(claimed, 'hosts = ["api.githubcopilot.com"]'))
    settle(box.config_path)
    first = box.call("get", input=box.credential())  # by the API host copilot's state names
    assert first.pairs()["password"]
    result, answered = same(box, "get", input=box.credential())
    assert answered and result.stdout == first.stdout
    path = box.state_dir / "copilot.json"
    state = statefile.read(path, print)
    save_state(path, statefile.State(state.token, "https://elsewhere.example"), print)
    state.token.api_base = "https://elsewhere.example"
    result, answered = same(box, "get", input=box.credential())
    assert not answered and result.stdout == ""


def test_without_stdin_or_stdout_it_leaves_the_work_to_the_full_path(ready, monkeypatch):
    box = ready
    monkeypatch.setattr("sys.stdin", None)
    assert fast.main(["get"], None, io.StringIO(), box.env)[0] is None
    monkeypatch.setattr("sys.stdout", None)
    assert fast.main(["token"], None, None, box.env)[0] is None


# -- which command lines it answers -----------------------------------------------------------


@pytest.mark.parametrize("argv, want", [
    (["get"], ("get", "")), (["token"], ("token", "")),
    (["--profile", "p", "get"], ("get", "p")), (["get", "--profile", "p"], ("get", "p")),
    (["--profile=p", "token"], ("token", "p")), (["token", "--format", "raw"], ("token", "")),
    (["token", "--format=raw", "--profile", "p"], ("token", "p")),
    ([], None), (["login"], None), (["get", "token"], None), (["get", "get"], None),
    (["token", "--format", "json"], None), (["get", "--format", "raw"], None),
    (["token", "--format"], None), (["--profile"], None), (["get", "--profile"], None),
    (["--profile", "", "get"], None), (["--profile=", "get"], None),
    (["--profile", "a", "--profile", "a", "get"], None),
    (["--format", "raw", "--format=raw", "token"], None),
    (["--profile", "a", "--profile", "raw", "token"], None),
    (["get", "extra"], None), (["--profilex", "get"], None), (["token", "--renew"], None),
])
def test_it_recognises_only_plain_get_and_token(argv, want):
    assert fast.recognise(argv) == want


def test_a_command_line_it_does_not_recognise_reads_nothing(ready):
    box = ready
    stdin = io.BytesIO(box.credential().encode())
    code, handoff = fast.main(["get", "--format", "json"], stdin, io.StringIO(), box.env)
    assert code is None and handoff.credential is None and stdin.tell() == 0


def test_without_argv_it_reads_the_command_line(ready, monkeypatch):
    box = ready
    out = io.StringIO()
    monkeypatch.setattr("sys.argv", ["git-credential-copilot", "token"])
    assert fast.main(None, None, out, box.env)[0] == 0
    assert out.getvalue() == box.state()["token"]["token"] + "\n"
    monkeypatch.setattr("sys.argv", ["git-credential-copilot", "token", "--format", "json"])
    assert fast.main(None, None, out, box.env)[0] is None


def test_an_answer_that_cannot_be_delivered_is_left_to_the_full_path(ready):
    """A closed stdout: the full path says so in one line (test_attacks), not the exit."""
    class Closed(io.StringIO):
        def flush(self) -> None:
            raise BrokenPipeError(32, "Broken pipe")

    box = ready
    assert fast.main(["token"], None, Closed(), box.env)[0] is None


def test_an_interrupt_is_never_swallowed():
    class Interrupted:
        def readline(self, limit: int = -1) -> bytes:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        fast.main(["get"], Interrupted(), io.StringIO(), {})
