"""Real git drives the helper: `git credential fill`, `approve` and `reject`."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from conftest import git, require_executable

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def fields(result: subprocess.CompletedProcess) -> dict[str, str]:
    return dict(line.split("=", 1) for line in result.stdout.decode().splitlines())


def fill(box, input: str) -> dict[str, str]:
    return fields(git(box, "credential", "fill", input=input))


@pytest.fixture
def configured(logged_in):
    require_executable()
    git(logged_in, "config", "--global", f"credential.{logged_in.server.url}.helper", "copilot")
    return logged_in


def test_fill_approve_reject_through_real_git(configured):
    box = configured
    filled = fill(box, box.credential())
    assert filled["password"] in box.server.copilot_tokens
    assert filled["username"] == "octocat"
    approve = "".join(f"{k}={v}\n" for k, v in filled.items())
    git(box, "credential", "approve", input=approve)
    assert fill(box, box.credential())["password"] == filled["password"]
    assert box.server.exchanges == 1
    git(box, "credential", "reject", input=approve)
    refilled = fill(box, box.credential())
    assert refilled["password"] != filled["password"]
    assert box.server.exchanges == 2


def test_fill_with_a_url(configured):
    box = configured
    filled = fill(box, f"url={box.server.url}/chat/completions\n\n")
    assert filled["password"] in box.server.copilot_tokens


def test_an_unclaimed_host_falls_through_to_git(logged_in):
    require_executable()
    box = logged_in
    git(box, "config", "--global", "credential.helper", "copilot")
    result = git(box, "credential", "fill", input="protocol=https\nhost=example.com\n\n",
                 check=False)
    assert result.returncode != 0  # nobody had a credential, and git may not prompt
    assert b"password=" not in result.stdout
    assert box.server.exchanges == 1  # the login's check at store; none since


def test_a_stale_reject_from_git_does_not_destroy_the_new_token(configured):
    box = configured
    old = fill(box, box.credential())
    git(box, "credential", "reject", input="".join(f"{k}={v}\n" for k, v in old.items()))
    new = fill(box, box.credential())
    git(box, "credential", "reject", input="".join(f"{k}={v}\n" for k, v in old.items()))
    assert fill(box, box.credential())["password"] == new["password"]


# -- git's approve after a push ------------------------------------------------------------


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
