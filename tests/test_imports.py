"""`login --from litellm|editor` and `login --with-token`: real files laid out as LiteLLM
and copilot.vim lay them out; the fake server's counters prove one exchange, no device flow."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from helper.commands import login_from as imports


def litellm_token_file(box, token: str, env: dict | None = None) -> Path:
    """LiteLLM's default: ~/.config/litellm/github_copilot/access-token, the token alone."""
    directory = Path(box.env["HOME"]) / ".config" / "litellm" / "github_copilot"
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "access-token"
    path.write_text(token)  # LiteLLM writes it without a newline, mode from the umask
    return path


def editor_apps_json(box, token: str, client: str = "Iv1.b507a08c87ecfe98",
                     name: str = "apps.json", key: str | None = None) -> Path:
    """copilot.vim / copilot.lua: $XDG_CONFIG_HOME/github-copilot/apps.json."""
    directory = Path(box.env["XDG_CONFIG_HOME"]) / "github-copilot"
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    entries = {
        "github.example:Iv1.other": {"user": "someone", "oauth_token": "ghu_not_this_one_xxxxxx"},
        key or f"{box.login_host}:{client}": {"user": "octocat", "oauth_token": token,
                                               "githubAppId": client},
    }
    path.write_text(json.dumps(entries, indent=2))
    path.chmod(0o644)
    return path


def snapshot(path: Path) -> tuple:
    info = path.stat()
    return path.read_bytes(), info.st_mode, info.st_mtime_ns


def test_login_from_litellm_takes_its_token_with_one_exchange(sandbox):
    token = sandbox.server.add_github_token()
    path = litellm_token_file(sandbox, token)
    before = snapshot(path)
    result = sandbox.call("login", "--from", "litellm")
    assert result.returncode == 0, result.stderr
    assert str(path) in result.stderr and imports.mask(token) in result.stderr
    assert "was not changed" in result.stderr
    assert sandbox.stored()["access_token"] == token
    assert sandbox.server.exchanges == 1 and sandbox.server.device_flows == 0
    assert snapshot(path) == before
    assert sandbox.call("token").returncode == 0


def test_login_from_litellm_honours_its_variables(sandbox, tmp_path):
    token = sandbox.server.add_github_token()
    custom = tmp_path / "elsewhere"
    custom.mkdir()
    (custom / "gh-token").write_text(token + "\n")
    result = sandbox.call("login", "--from", "litellm", env={
        "GITHUB_COPILOT_TOKEN_DIR": str(custom), "GITHUB_COPILOT_ACCESS_TOKEN_FILE": "gh-token"})
    assert result.returncode == 0, result.stderr
    assert str(custom / "gh-token") in result.stderr
    assert sandbox.stored()["access_token"] == token


def test_login_from_editor_picks_the_entry_for_the_github_host(sandbox):
    token = sandbox.server.add_github_token()
    path = editor_apps_json(sandbox, token)
    before = snapshot(path)
    result = sandbox.call("login", "--from", "editor")
    assert result.returncode == 0, result.stderr
    assert "as octocat" in result.stderr and str(path) in result.stderr
    stored = sandbox.stored()
    assert stored["access_token"] == token and stored["username"] == "octocat"
    assert sandbox.server.exchanges == 1 and sandbox.server.device_flows == 0
    assert snapshot(path) == before  # not rewritten, not chmod-ed


def test_login_from_editor_reads_the_older_hosts_json(sandbox):
    token = sandbox.server.add_github_token()
    editor_apps_json(sandbox, token, name="hosts.json", key=sandbox.login_host)
    result = sandbox.call("login", "--from", "editor")
    assert result.returncode == 0, result.stderr
    assert "hosts.json" in result.stderr and sandbox.stored()["access_token"] == token


def test_login_with_token_reads_stdin(sandbox):
    token = sandbox.server.add_github_token()
    result = sandbox.call("login", "--with-token", input=token + "\n")
    assert result.returncode == 0, result.stderr
    assert sandbox.stored()["access_token"] == token
    assert sandbox.server.exchanges == 1 and sandbox.server.device_flows == 0


def test_the_installed_command_reads_the_token_from_stdin(sandbox):
    token = sandbox.server.add_github_token()
    result = sandbox.run("login", "--with-token", input=token)
    assert result.returncode == 0, result.stderr
    assert sandbox.stored()["access_token"] == token


def test_a_refused_token_replaces_nothing(logged_in):
    box = logged_in
    good = box.stored()["access_token"]
    dead = box.server.add_github_token()
    box.server.revoke_github(dead)
    path = litellm_token_file(box, dead)
    result = box.call("login", "--from", "litellm")
    assert result.returncode == 1
    assert "was refused" in result.stderr and "nothing was stored" in result.stderr
    assert str(path) in result.stderr and imports.mask(dead) in result.stderr
    assert box.stored()["access_token"] == good
    assert box.server.exchanges == 2 and box.server.device_flows == 0  # the store's, this one


def test_a_token_without_copilot_is_refused_with_the_reason(sandbox):
    token = sandbox.server.add_github_token(login="nocopilot")
    sandbox.server.no_copilot.add("nocopilot")
    result = sandbox.call("login", "--with-token", input=token)
    assert result.returncode == 1 and "403" in result.stderr
    assert sandbox.stored() == {}


@pytest.mark.parametrize(("content", "why"), [
    ("", "holds no token"),
    ("gho_a\ngho_b\n", "single GitHub token"),
    ("gho_a b", "single GitHub token"),
])
def test_a_file_without_one_token_is_one_clear_line(sandbox, content, why):
    litellm_token_file(sandbox, content)
    result = sandbox.call("login", "--from", "litellm")
    assert result.returncode == 1 and why in result.stderr
    assert result.stderr.count("\n") == 1
    assert sandbox.server.exchanges == 0 and sandbox.stored() == {}


def test_missing_sources_say_where_they_looked(sandbox):
    result = sandbox.call("login", "--from", "litellm")
    assert result.returncode == 1 and "access-token: no such file" in result.stderr
    result = sandbox.call("login", "--from", "editor")
    assert result.returncode == 1 and "apps.json or" in result.stderr
    assert sandbox.server.exchanges == 0


def test_hostile_editor_files_are_refused(sandbox):
    directory = Path(sandbox.env["XDG_CONFIG_HOME"]) / "github-copilot"
    directory.mkdir(parents=True)
    (directory / "apps.json").write_text("[" * 100000)
    result = sandbox.call("login", "--from", "editor")
    assert result.returncode == 1 and "not valid JSON" in result.stderr
    (directory / "apps.json").unlink()
    os.mkfifo(directory / "apps.json")
    result = sandbox.call("login", "--from", "editor")
    assert result.returncode == 1 and "not a regular file" in result.stderr


def test_login_from_needs_a_copilot_profile(corp):
    result = corp.call("--profile", "corp", "login", "--with-token", input="x")
    assert result.returncode == 2 and "provider 'oauth'" in result.stderr


def test_unknown_source_is_a_usage_error(sandbox):
    assert sandbox.call("login", "--from", "vscode").returncode == 2
