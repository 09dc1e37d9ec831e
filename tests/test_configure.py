"""`configure` / `unconfigure` with real git in a sandboxed HOME, a storing helper in front."""

from __future__ import annotations

import shutil

import pytest

from helper.commands import configure as gitconfig

from conftest import git, require_executable

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def fill(box) -> dict[str, str]:
    out = git(box, "credential", "fill", input=f"url={box.server.url}/chat\n\n")
    return dict(line.split("=", 1) for line in out.stdout.decode().splitlines())


def helpers(box, url: str) -> list[str]:
    out = git(box, "config", "--global", "-z", "--get-all", f"credential.{url}.helper",
              check=False).stdout.decode()
    return out.split("\0")[:-1]


@pytest.fixture
def with_store(logged_in, tmp_path):
    """A person's usual set-up: `store` for every host, ours after it, and a stale
    Copilot token that `store` saved earlier."""
    require_executable()
    box = logged_in
    git(box, "config", "--global", "credential.helper", "store")
    git(box, "config", "--global", "--add", "credential.helper", "copilot")
    creds = tmp_path / "home" / ".git-credentials"
    creds.write_text(f"http://oauth2:stale-copilot-token@{box.server.host}\n")
    creds.chmod(0o600)
    return box


def test_store_in_front_serves_the_stale_token_until_configure(with_store):
    box = with_store
    assert fill(box)["password"] == "stale-copilot-token"  # the bug this command fixes
    result = box.run("configure")
    assert result.returncode == 0, result.stderr
    url = f"http://{box.server.host}"
    assert f"credential.{url}.helper" in result.stdout
    got = fill(box)["password"]
    assert got in box.server.copilot_tokens
    assert box.server.exchanges == 1
    assert helpers(box, url) == ["", "copilot"]


def test_configure_is_idempotent_and_unconfigure_removes_only_ours(with_store):
    box = with_store
    url = f"http://{box.server.host}"
    git(box, "config", "--global", "--add", f"credential.{url}.useHttpPath", "false")  # the user's
    box.run("configure")
    before = (box.root / "home" / ".gitconfig").read_text()
    again = box.run("configure")
    assert "already set" in again.stdout
    assert (box.root / "home" / ".gitconfig").read_text() == before
    removed = box.run("unconfigure")
    assert removed.returncode == 0 and "removed" in removed.stdout
    assert helpers(box, url) == []
    assert git(box, "config", "--global", "--get-all", "credential.helper").stdout == \
        b"store\ncopilot\n"
    assert git(box, "config", "--global", f"credential.{url}.useHttpPath").stdout == b"false\n"
    assert "api.githubcopilot.com" not in (box.root / "home" / ".gitconfig").read_text()
    assert "nothing of ours" in box.run("unconfigure").stdout
    assert fill(box)["password"] == "stale-copilot-token"  # back to the user's own set-up


def test_unconfigure_keeps_the_users_own_entries_for_a_host(with_store):
    box = with_store
    box.write_config("""\
        store = "file"
        [profiles.copilot]
        github_url = "http://localhost:{port}"
        api_url = "{url}"
        """)
    key = "credential.https://api.githubcopilot.com.helper"
    git(box, "config", "--global", "--add", key, "cache")
    box.run("configure")
    assert helpers(box, "https://api.githubcopilot.com") == ["cache", "", "copilot"]
    box.run("unconfigure")
    assert helpers(box, "https://api.githubcopilot.com") == ["cache"]


def test_configure_claims_the_remembered_api_host_and_ghe_tenants(sandbox):
    require_executable()
    sandbox.write_config("""\
        store = "file"
        [profiles.copilot]
        github_url = "http://localhost:{port}"
        api_url = "{url}"
        hosts = []
        [profiles.tenant]
        github_url = "https://acme.ghe.com"
        api_url = "https://api.acme.ghe.com"
        hosts = []
        [profiles.plain]
        """)
    sandbox.state_dir.mkdir(parents=True)
    (sandbox.state_dir / "copilot.json").write_text(
        '{"version": 1, "api_base": "https://api.individual.githubcopilot.com"}')
    result = sandbox.run("configure")
    assert result.returncode == 0, result.stderr
    assert helpers(sandbox, "https://api.individual.githubcopilot.com") == ["", "copilot"]
    assert helpers(sandbox, "https://copilot-api.acme.ghe.com") == ["", "copilot"]
    for host in ("api.githubcopilot.com", "api.business.githubcopilot.com"):  # built-in
        assert helpers(sandbox, f"https://{host}") == ["", "copilot"]
    assert helpers(sandbox, "https://github.com") == []  # never a login host


def test_configure_system_writes_the_system_file(sandbox, tmp_path):
    require_executable()
    system = tmp_path / "gitconfig-system"
    env = {"GIT_CONFIG_SYSTEM": str(system), "GIT_CONFIG_NOSYSTEM": ""}
    result = sandbox.run("configure", "--system", env=env)
    assert result.returncode == 0, result.stderr
    assert "helper = copilot" in system.read_text()
    assert helpers(sandbox, f"http://{sandbox.server.host}") == []
    sandbox.run("unconfigure", "--system", env=env)
    assert "copilot" not in system.read_text()


def test_options_go_with_their_commands(sandbox):
    assert sandbox.call("status", "--system").returncode == 2
    assert sandbox.call("configure", "--from", "litellm").returncode == 2


@pytest.mark.parametrize(("pattern", "url", "want"), [
    ("https://api.githubcopilot.com", "https://api.githubcopilot.com/chat", True),
    ("https://*.githubcopilot.com", "https://api.githubcopilot.com", True),
    ("https://*.githubcopilot.com", "https://a.b.githubcopilot.com", False),
    ("https://api.githubcopilot.com", "http://api.githubcopilot.com", False),
    ("https://api.githubcopilot.com:443", "https://api.githubcopilot.com", True),
    ("https://api.githubcopilot.com/v1", "https://api.githubcopilot.com/v10", False),
    ("https://github.com", "https://api.githubcopilot.com", False),
])
def test_url_matches_like_git(pattern, url, want):
    assert gitconfig.url_matches(pattern, url) is want


def test_effective_helpers_follow_gits_reset_rule(sandbox):
    box = sandbox
    git(box, "config", "--global", "credential.helper", "osxkeychain")
    url = "https://api.githubcopilot.com"
    assert [h.value for h in gitconfig.effective_helpers(url, box.env)] == ["osxkeychain"]
    gitconfig.configure([url], "global", box.env)
    assert [h.value for h in gitconfig.effective_helpers(url, box.env)] == ["copilot"]
    git(box, "config", "--global", "--add", "credential.helper", "cache")  # same section
    assert [h.value for h in gitconfig.effective_helpers(url, box.env)] == ["copilot"]
    later = {**box.env, "GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": "credential.helper",
             "GIT_CONFIG_VALUE_0": "store"}  # e.g. a repository's own config, read later
    seen = gitconfig.effective_helpers(url, later)
    assert [h.value for h in seen] == ["copilot", "store"]
    assert seen[0].origin.endswith(".gitconfig") and seen[1].origin.startswith("command")
