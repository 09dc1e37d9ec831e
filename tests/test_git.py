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
