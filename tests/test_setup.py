"""`setup` / `teardown` codex|claude-code|aider against the fake server, in a sandboxed HOME.

Round trips are byte for byte: setup then teardown gives back the file as it was, whatever
its comments, other providers or odd formatting. The installed command runs the happy path
of each tool, and the command each config names is run the way the tool runs it, its token
checked against the fake server's own list and its exchanges counted there.
"""

from __future__ import annotations

import errno
import json
import os
import shlex
import stat
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

try:
    import tomllib
except ImportError:  # Python < 3.11
    import tomli as tomllib

from helper import tools

from conftest import EXE, OAUTH_CONFIG, Sandbox, sandbox_env, seed_oauth_login
from fakeserver import FakeIdP


def home(box: Sandbox) -> Path:
    return box.root / "home"


def codex_config(box: Sandbox) -> Path:
    return home(box) / ".codex" / "config.toml"


def claude_settings(box: Sandbox) -> Path:
    return home(box) / ".claude" / "settings.json"


def launcher(box: Sandbox, profile: str = "copilot") -> Path:
    return home(box) / ".local" / "bin" / f"aider-{profile}"


def write(path: Path, text: str, mode: int = 0o644) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode())
    path.chmod(mode)


def backups(path: Path) -> list[Path]:
    return sorted(path.parent.glob(f"{path.name}.bak-*"))


def ok(result) -> None:
    assert result.returncode == 0, result.stderr


def state_of(box: Sandbox, tool: str) -> list[str]:
    return [r.state for r in tools.report(box.env) if r.name == tool]


# -- Codex: round trips byte for byte ----------------------------------------------------

CODEX_FILES = {
    "comments and other providers": """\
        # my codex config
        model = "o3"   # favourite
        approval_policy = "on-request"

        [model_providers.ollama]
        name = "Ollama"
        base_url = "http://localhost:11434/v1"

        [mcp_servers.docs]
        command = "npx"
        args = ["-y", "docs"]
        """,
    "no final newline": 'model = "o3"',
    "empty": "",
    "only a comment": "# nothing here yet\n",
    "tables without blank lines": (
        '[model_providers.ollama]\nname = "Ollama"\n[mcp_servers.x]\ncommand = "x"\n'),
    "crlf": 'model = "o3"\r\n\r\n[model_providers.ollama]\r\nname = "x"\r\n',
    "out of order tables": (
        '[model_providers.a]\nx = 1\n\n[mcp.x]\ny = 2\n\n[model_providers.b]\nz = 3\n'),
    "odd formatting": (
        "\n\n# leading blank lines\nmodel   =    'o3'\n[ model_providers.ollama ]\n"
        "\tname = \"Ollama\"   # tab-indented\n\n\n[[hooks]]\nrun = 'a'\n\n[[hooks]]\n"
        "run = 'b'\n\n\n"),
    "our provider already there, by hand": """\
        model_provider = "copilot"

        [model_providers.copilot]
        name = "Copilot"
        base_url = "https://api.githubcopilot.com"   # from the contrib snippet
        wire_api = "responses"
        requires_openai_auth = false

        [model_providers.copilot.auth]
        command = "git-credential-copilot"
        args = ["token", "--renew"]
        """,
}


@pytest.mark.parametrize("name", list(CODEX_FILES))
def test_codex_round_trip_is_byte_for_byte(logged_in, name):
    box = logged_in
    original = textwrap.dedent(CODEX_FILES[name])
    write(codex_config(box), original)
    before = tomllib.loads(original)
    ok(box.call("setup", "codex"))
    after = tomllib.loads(codex_config(box).read_text())
    provider = after["model_providers"]["copilot"]
    assert provider["base_url"] == box.server.url
    assert provider["wire_api"] == "responses"
    assert provider["auth"]["command"] == str(EXE)
    for key, value in before.items():  # everything else is still there
        if key != "model_providers":
            assert after[key] == value
    for pid, table in before.get("model_providers", {}).items():
        if pid != "copilot":
            assert after["model_providers"][pid] == table
    ok(box.call("teardown", "codex"))
    assert codex_config(box).read_bytes() == original.encode()
    assert not (home(box) / ".codex" / "copilot.config.toml").exists()


def test_codex_writes_exactly_this(logged_in):
    box = logged_in
    ok(box.call("setup", "codex"))
    assert codex_config(box).read_text() == textwrap.dedent(f"""\
        [model_providers.copilot]
        name = "GitHub Copilot (git-credential-copilot)"
        base_url = "{box.server.url}"
        wire_api = "responses"
        http_headers = {{Copilot-Integration-Id = "vscode-chat", Editor-Version = "vscode/1.99.3", Editor-Plugin-Version = "copilot-chat/0.26.7"}}

        [model_providers.copilot.auth]
        command = "{EXE}"
        args = ["--profile", "copilot", "token", "--renew", "--min-ttl", "600"]
        timeout_ms = 80000
        refresh_interval_ms = 0
        """)  # noqa: E501
    assert (home(box) / ".codex" / "copilot.config.toml").read_text() == (
        'model_provider = "copilot"\nmodel = "gpt-5-codex"\n')


def test_codex_default_switches_the_provider_and_teardown_puts_the_old_one_back(logged_in):
    box = logged_in
    original = 'model = "o3"  # mine\nmodel_provider = "openai"\n\n[tui]\nnotifications = true\n'
    write(codex_config(box), original)
    result = box.call("setup", "codex", "--default")
    ok(result)
    assert "by default" in result.stderr
    after = tomllib.loads(codex_config(box).read_text())
    assert (after["model_provider"], after["model"]) == ("copilot", "gpt-5-codex")
    assert not (home(box) / ".codex" / "copilot.config.toml").exists()
    assert '"gpt-5-codex"  # mine' in codex_config(box).read_text()  # the comment stays
    ok(box.call("teardown", "codex"))
    assert codex_config(box).read_text() == original


@pytest.mark.parametrize("original, why", [
    ('model_providers = { ollama = { name = "x" } }\n', "inline table"),
    ('model_providers.ollama.name = "x"\nmodel_providers.ollama.base_url = "y"\n',
     "would alter what the rest of the file means"),
])
def test_codex_providers_we_cannot_add_to_are_refused_and_left_alone(logged_in, original, why):
    box = logged_in
    write(codex_config(box), original)
    result = box.call("setup", "codex")
    assert result.returncode == 1
    assert len(result.stderr.splitlines()) == 1
    assert why in result.stderr and "nothing was changed" in result.stderr
    assert codex_config(box).read_text() == original
    assert backups(codex_config(box)) == []
    assert not (home(box) / ".codex" / "copilot.config.toml").exists()


# -- Claude Code: JSON, keys and order kept ----------------------------------------------

CLAUDE_FILES = {
    "claude code's own format": json.dumps({
        "permissions": {"allow": ["Bash(ls:*)"], "deny": []},
        "env": {"DISABLE_TELEMETRY": "1"}, "theme": "dark", "ünïcode": "✓"},
        indent=2, ensure_ascii=False) + "\n",
    "four spaces, no final newline": json.dumps({"model": "opus", "hooks": {}}, indent=4),
    "tabs": json.dumps({"includeCoAuthoredBy": False}, indent="\t") + "\n",
    "one line": '{"theme": "light"}\n',
    "an apiKeyHelper of the user's": json.dumps({
        "apiKeyHelper": "~/bin/my-key", "env": {"ANTHROPIC_BASE_URL": "https://mine"}},
        indent=2) + "\n",
}


@pytest.mark.parametrize("name", list(CLAUDE_FILES))
def test_claude_round_trip_is_byte_for_byte(logged_in, name):
    box = logged_in
    original = CLAUDE_FILES[name]
    write(claude_settings(box), original, 0o640)
    ok(box.call("setup", "claude-code"))
    after = json.loads(claude_settings(box).read_text())
    assert after["env"]["ANTHROPIC_BASE_URL"] == box.server.url
    for key, value in json.loads(original).items():
        if key not in ("apiKeyHelper", "env"):
            assert after[key] == value
    assert list(after)[: len(json.loads(original))] == list(json.loads(original))  # order
    assert stat.S_IMODE(claude_settings(box).stat().st_mode) == 0o640
    ok(box.call("teardown", "claude-code"))
    assert claude_settings(box).read_bytes() == original.encode()


def test_claude_code_writes_exactly_this(logged_in):
    box = logged_in
    result = box.call("setup", "claude-code")
    ok(result)
    helper = f"{shlex.quote(str(EXE))} --profile copilot token --renew --min-ttl 600"
    assert claude_settings(box).read_text() == json.dumps({
        "apiKeyHelper": helper,
        "env": {
            "ANTHROPIC_BASE_URL": box.server.url,
            "CLAUDE_CODE_API_KEY_HELPER_TTL_MS": "1800000",
            "ANTHROPIC_CUSTOM_HEADERS": "Copilot-Integration-Id: vscode-chat\n"
                                        "Editor-Version: vscode/1.99.3\n"
                                        "Editor-Plugin-Version: copilot-chat/0.26.7",
            "ANTHROPIC_MODEL": "claude-sonnet-4.6",
        }}, indent=2) + "\n"
    assert "GitHub's terms" in result.stderr
    assert stat.S_IMODE(claude_settings(box).stat().st_mode) == 0o600
    assert stat.S_IMODE(claude_settings(box).parent.stat().st_mode) == 0o700


@pytest.mark.parametrize("text, why", [
    ('{\n  // my comment\n  "theme": "dark"\n}\n', "JSONC"),
    ('{\n  "theme": "dark",\n}\n', "JSONC"),
    ('{"theme": "dark", "theme": "light"}\n', "appears twice"),
    ('["not", "an", "object"]\n', "does not hold a JSON object"),
    ('{"env": "not an object"}\n', "env is not an object"),
    ("{ not json", "not plain JSON"),
])
def test_an_unusable_settings_file_is_one_line_and_left_alone(logged_in, text, why):
    box = logged_in
    write(claude_settings(box), text)
    result = box.call("setup", "claude-code")
    assert result.returncode == 1
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert why in result.stderr
    assert claude_settings(box).read_text() == text
    assert backups(claude_settings(box)) == []
    assert state_of(box, "claude-code") == [tools.NOT_SET_UP]


def test_invalid_toml_is_one_line_and_left_alone(logged_in):
    box = logged_in
    write(codex_config(box), "model = \n[broken\n")
    result = box.call("setup", "codex")
    assert result.returncode == 1 and len(result.stderr.splitlines()) == 1
    assert "not valid TOML" in result.stderr
    assert codex_config(box).read_text() == "model = \n[broken\n"


# -- idempotence, dry run, backups, teardown exactness -----------------------------------


@pytest.mark.parametrize("tool", tools.names())
def test_a_second_setup_changes_nothing_and_makes_no_backup(logged_in, tool):
    box = logged_in
    write(codex_config(box), 'model = "o3"\n')
    write(claude_settings(box), '{"theme": "dark"}\n')
    ok(box.call("setup", tool))
    snapshot = {p: p.read_bytes() for p in home(box).rglob("*") if p.is_file()}
    again = box.call("setup", tool)
    ok(again)
    assert "already set up" in again.stderr
    assert {p: p.read_bytes() for p in home(box).rglob("*") if p.is_file()} == snapshot


@pytest.mark.parametrize("tool", tools.names())
def test_dry_run_shows_the_diff_and_writes_nothing(logged_in, tool):
    box = logged_in
    write(codex_config(box), 'model = "o3"\n')
    write(claude_settings(box), '{"theme": "dark"}\n')
    listing = sorted(box.root.rglob("*"))
    result = box.call("setup", tool, "--dry-run")
    ok(result)
    assert result.stdout.startswith("--- ") and "\n+++ " in result.stdout
    assert str(EXE) in result.stdout
    assert "nothing was written" in result.stderr
    assert sorted(box.root.rglob("*")) == listing  # no file, no backup, no record
    ok(box.call("setup", tool))
    listing = sorted(box.root.rglob("*"))
    undo = box.call("teardown", tool, "--dry-run")
    ok(undo)
    assert "\n-" in undo.stdout
    assert sorted(box.root.rglob("*")) == listing


def test_backups_hold_the_file_as_it_was_with_its_mode(logged_in):
    box = logged_in
    original = 'model = "o3"\n'
    write(codex_config(box), original, 0o640)
    ok(box.call("setup", "codex"))
    saved = backups(codex_config(box))
    assert len(saved) == 1
    assert saved[0].read_text() == original
    assert stat.S_IMODE(saved[0].stat().st_mode) == 0o640
    assert stat.S_IMODE(codex_config(box).stat().st_mode) == 0o640
    ok(box.call("teardown", "codex"))
    saved = backups(codex_config(box))
    assert len(saved) == 2  # teardown changed the file too; the first backup is kept
    assert saved[0].read_text() == original


def test_a_value_the_user_changed_is_left_alone_with_a_line(logged_in):
    box = logged_in
    write(claude_settings(box), '{"theme": "dark"}\n')
    ok(box.call("setup", "claude-code"))
    settings = json.loads(claude_settings(box).read_text())
    settings["env"]["ANTHROPIC_MODEL"] = "claude-opus-4.1"  # the person's choice now
    claude_settings(box).write_text(json.dumps(settings, indent=2) + "\n")
    assert state_of(box, "claude-code") == [tools.ELSEWHERE]
    result = box.call("teardown", "claude-code")
    ok(result)
    assert "env.ANTHROPIC_MODEL was changed since setup; left as it is" in result.stderr
    assert json.loads(claude_settings(box).read_text()) == {
        "theme": "dark", "env": {"ANTHROPIC_MODEL": "claude-opus-4.1"}}
    assert state_of(box, "claude-code") == [tools.NOT_SET_UP]


def test_setup_again_after_an_edit_puts_ours_back_and_teardown_the_original(logged_in):
    box = logged_in
    original = '{"env": {"ANTHROPIC_MODEL": "mine"}}\n'
    write(claude_settings(box), original)
    ok(box.call("setup", "claude-code"))
    settings = json.loads(claude_settings(box).read_text())
    settings["env"]["ANTHROPIC_MODEL"] = "edited"
    claude_settings(box).write_text(json.dumps(settings))
    ok(box.call("setup", "claude-code"))
    assert json.loads(claude_settings(box).read_text())["env"]["ANTHROPIC_MODEL"] == \
        "claude-sonnet-4.6"
    ok(box.call("teardown", "claude-code"))
    assert json.loads(claude_settings(box).read_text()) == json.loads(original)


def test_teardown_with_nothing_set_up_says_so(logged_in):
    result = logged_in.call("teardown", "codex")
    ok(result)
    assert "nothing of ours" in result.stderr


def test_a_launcher_that_is_not_ours_is_not_overwritten(logged_in):
    box = logged_in
    write(launcher(box), "#!/bin/sh\necho mine\n", 0o755)
    result = box.call("setup", "aider")
    assert result.returncode == 1
    assert "not the one setup wrote" in result.stderr
    assert launcher(box).read_text() == "#!/bin/sh\necho mine\n"


def test_directories_we_create_are_private_under_umask_000_and_go_again(logged_in):
    box = logged_in
    old = os.umask(0)
    try:
        ok(box.call("setup", "aider"))
    finally:
        os.umask(old)
    for directory in (home(box) / ".local", home(box) / ".local" / "bin"):
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    assert stat.S_IMODE(launcher(box).stat().st_mode) == 0o755
    ok(box.call("teardown", "aider"))
    assert not (home(box) / ".local").exists()


def test_a_failed_write_leaves_the_file_as_it_was(logged_in, monkeypatch):
    box = logged_in
    original = 'model = "o3"\n'
    write(codex_config(box), original)

    real_replace = os.replace

    def full_disk(src, dst):  # the tool's directory is on a full disk
        if Path(dst).parent == codex_config(box).parent:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", full_disk)
    result = box.call("setup", "codex")
    assert result.returncode == 1
    assert "left as it was" in result.stderr and len(result.stderr.splitlines()) == 1
    assert codex_config(box).read_text() == original
    assert [p.name for p in codex_config(box).parent.iterdir()
            if p.name.endswith(".tmp")] == []
    assert state_of(box, "codex") == [tools.NOT_SET_UP]  # no record of a change


def test_the_write_is_a_rename_and_a_symlink_stays_a_symlink(logged_in, tmp_path):
    box = logged_in
    real = tmp_path / "dotfiles" / "settings.json"
    write(real, '{"theme": "dark"}\n')
    claude_settings(box).parent.mkdir(parents=True)
    claude_settings(box).symlink_to(real)
    inode = real.stat().st_ino
    ok(box.call("setup", "claude-code"))
    assert claude_settings(box).is_symlink()
    assert real.stat().st_ino != inode  # a new file renamed over the old one
    assert json.loads(real.read_text())["theme"] == "dark"


def test_secrets_in_the_users_file_are_masked_in_the_diff(logged_in):
    box = logged_in
    secret = "sk-ant-api03-" + "x" * 40
    write(claude_settings(box), json.dumps({"env": {"ANTHROPIC_API_KEY": secret}}, indent=2))
    result = box.call("setup", "claude-code", "--dry-run")
    ok(result)
    assert '"ANTHROPIC_API_KEY": "sk-a…xxxx",' in result.stdout  # it gains a comma: shown
    assert secret not in result.stdout
    assert "Copilot-Integration-Id: vscode-chat" in result.stdout  # our own values are not


# -- doctor's report ---------------------------------------------------------------------


def test_report_follows_setup_edits_and_teardown(logged_in):
    box = logged_in
    assert {r.name: r.state for r in tools.report(box.env)} == dict.fromkeys(
        tools.names(), tools.NOT_SET_UP)
    ok(box.call("setup", "codex"))
    codex = next(r for r in tools.report(box.env) if r.name == "codex")
    assert (codex.state, codex.profile, codex.config_path) == (
        tools.SET_UP, "copilot", codex_config(box))
    text = codex_config(box).read_text().replace(str(EXE), "/usr/bin/other-helper")
    codex_config(box).write_text(text)
    codex = next(r for r in tools.report(box.env) if r.name == "codex")
    assert codex.state == tools.ELSEWHERE
    assert "model_providers.copilot.auth.command" in codex.detail
    ok(box.call("setup", "aider"))
    aider = next(r for r in tools.report(box.env) if r.name == "aider")
    assert (aider.state, aider.config_path) == (tools.SET_UP, launcher(box))


def test_help_names_setup_and_teardown(logged_in):
    result = logged_in.call("setup", "--help")
    ok(result)
    assert "{codex,claude-code,aider}" in result.stdout and "--dry-run" in result.stdout
    top = logged_in.call("--help")
    assert "setup" in top.stdout and "teardown" in top.stdout


def test_report_says_when_our_command_is_gone(logged_in, tmp_path):
    box = logged_in
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "git-credential-copilot").symlink_to(EXE)
    ok(box.call("setup", "claude-code", env={"PATH": f"{bin_dir}:{box.env['PATH']}"}))
    (bin_dir / "git-credential-copilot").unlink()
    claude = next(r for r in tools.report(box.env) if r.name == "claude-code")
    assert claude.state == tools.ELSEWHERE and "no longer there" in claude.detail


# -- what the measurements choose --------------------------------------------------------


def serve_models(box: Sandbox, models: list[dict]) -> list[dict]:
    """Make the fake Copilot API list ``models``; the headers of each request it gets."""
    seen: list[dict] = []

    def models_route(server, headers, form):
        seen.append(dict(headers))
        return 200, {"object": "list", "data": models}

    box.server.routes = {**box.server.routes, ("GET", "/models"): models_route}
    return seen


def test_models_come_from_the_accounts_list(logged_in):
    box = logged_in
    seen = serve_models(box, [
        {"id": "gpt-4.1", "supported_endpoints": ["/chat/completions"]},
        {"id": "gpt-5-codex", "supported_endpoints": ["/responses"]},
        {"id": "gpt-5.1-codex", "supported_endpoints": ["/responses"]},
        {"id": "gpt-5.2-codex", "supported_endpoints": ["/responses"],
         "policy": {"state": "disabled"}},
        {"id": "claude-sonnet-4", "supported_endpoints": ["/v1/messages"]},
        {"id": "claude-sonnet-4.5", "supported_endpoints": ["/chat/completions",
                                                            "/v1/messages"]},
        {"id": "claude-opus-4.5", "supported_endpoints": ["/v1/messages"]},
    ])
    for tool in tools.names():
        ok(box.call("setup", tool))
    assert 'model = "gpt-5.1-codex"' in (home(box) / ".codex" / "copilot.config.toml").read_text()
    assert json.loads(claude_settings(box).read_text())["env"]["ANTHROPIC_MODEL"] == \
        "claude-sonnet-4.5"
    assert "COPILOT_MODEL:-claude-sonnet-4.5}" in launcher(box).read_text()
    assert seen and all(h["Copilot-Integration-Id"] == "vscode-chat" and
                        h["Authorization"].startswith("Bearer ") for h in seen)


def test_an_unreadable_model_list_falls_back_to_the_documented_defaults(logged_in):
    box = logged_in
    box.server.routes = {**box.server.routes,
                         ("GET", "/models"): lambda server, headers, form: (500, {})}
    result = box.call("setup", "claude-code")
    ok(result)
    assert "could not read the account's model list (HTTP 500)" in result.stderr
    assert json.loads(claude_settings(box).read_text())["env"]["ANTHROPIC_MODEL"] == \
        "claude-sonnet-4.6"


@pytest.fixture
def keycloak(tmp_path):
    """A gateway profile whose access tokens live 300 s, as Keycloak's do by default."""
    server = FakeIdP(access_ttl=300).start()
    box = Sandbox(root=tmp_path, server=server, env=sandbox_env(tmp_path))
    box.write_config(OAUTH_CONFIG)
    seed_oauth_login(box)
    yield box
    server.stop()


def test_a_gateway_profile_gets_min_ttls_its_token_lifetime_can_meet(keycloak):
    box = keycloak
    for tool in tools.names():
        result = box.call("--profile", "corp", "setup", tool)
        ok(result)
        assert "live about 5 min" in result.stderr
        assert "GitHub's terms" not in result.stderr
    codex = tomllib.loads(codex_config(box).read_text())["model_providers"]["corp"]
    assert codex["base_url"] == f"{box.server.url}/v1"
    assert "http_headers" not in codex
    assert codex["auth"]["args"] == ["--profile", "corp", "token", "--renew", "--min-ttl", "100"]
    assert (home(box) / ".codex" / "corp.config.toml").read_text() == 'model_provider = "corp"\n'
    settings = json.loads(claude_settings(box).read_text())
    assert settings["apiKeyHelper"].endswith("--profile corp token --renew --min-ttl 100")
    assert settings["env"] == {"ANTHROPIC_BASE_URL": box.server.url,  # Claude Code adds /v1
                               "CLAUDE_CODE_API_KEY_HELPER_TTL_MS": "300000"}
    assert "--min-ttl 200)" in launcher(box, "corp").read_text()
    # Each min-ttl is one the server meets: the commands as written hand out a token.
    assert box.run("--profile", "corp", "token", "--min-ttl", "200").returncode == 0


def test_setup_without_a_login_is_one_line_and_writes_nothing(sandbox):
    result = sandbox.call("setup", "codex")
    assert result.returncode == 1
    assert "git-credential-copilot login" in result.stderr
    assert not (home(sandbox) / ".codex").exists()


def test_an_unknown_tool_is_a_usage_error(logged_in):
    result = logged_in.call("setup", "vim")
    assert result.returncode == 2
    assert "'codex', 'claude-code', 'aider'" in result.stderr  # the choices


# -- the installed command, and each tool's command run as the tool runs it ------------


def test_codex_happy_path_with_the_installed_command(logged_in):
    box = logged_in
    ok(box.run("setup", "codex"))
    auth = tomllib.loads(codex_config(box).read_text())["model_providers"]["copilot"]["auth"]
    token = subprocess.run([auth["command"], *auth["args"]], capture_output=True,
                           env=box.env, timeout=60, check=True).stdout.decode().strip()
    assert token in box.server.copilot_tokens
    assert box.server.exchanges == 1  # the login's; setup and --renew reused its token
    ok(box.run("teardown", "codex"))
    assert not codex_config(box).exists()
    assert not (home(box) / ".codex").exists()


def test_claude_code_happy_path_with_the_installed_command(logged_in):
    box = logged_in
    original = '{\n  "theme": "dark"\n}\n'
    write(claude_settings(box), original)
    ok(box.run("setup", "claude-code"))
    settings = json.loads(claude_settings(box).read_text())
    token = subprocess.run(["/bin/sh", "-c", settings["apiKeyHelper"]], capture_output=True,
                           env=box.env, timeout=60, check=True).stdout.decode().strip()
    assert token in box.server.copilot_tokens
    assert box.server.exchanges == 1
    ok(box.run("teardown", "claude-code"))
    assert claude_settings(box).read_text() == original


def test_aider_happy_path_with_the_installed_command(logged_in, tmp_path):
    box = logged_in
    ok(box.run("setup", "aider"))
    record = tmp_path / "aider-was-started-with.json"
    stand_in = tmp_path / "aider"
    stand_in.write_text(textwrap.dedent(f"""\
        #!{sys.executable}
        import json, os, sys
        json.dump({{"argv": sys.argv[1:], "key": os.environ["OPENAI_API_KEY"],
                   "base": os.environ["OPENAI_API_BASE"]}}, open({str(record)!r}, "w"))
        """))
    stand_in.chmod(0o755)
    subprocess.run([str(launcher(box)), "--yes", "src/"], env={**box.env, "AIDER": str(stand_in)},
                   timeout=60, check=True)
    started = json.loads(record.read_text())
    assert started["key"] in box.server.copilot_tokens
    assert started["base"] == box.server.url
    settings_file = box.data_dir / "aider-copilot.model-settings.yml"
    argv = started["argv"]
    assert argv[:4] == ["--model", "openai/gpt-4o", "--model-settings-file", str(settings_file)]
    assert argv[4] == "--analytics-log" and argv[6:] == ["--yes", "src/"]  # its failures, read
    import yaml

    assert yaml.safe_load(settings_file.read_text()) == [{
        "name": "aider/extra_params", "extra_params": {"extra_headers": {
            "Copilot-Integration-Id": "vscode-chat", "Editor-Version": "vscode/1.99.3",
            "Editor-Plugin-Version": "copilot-chat/0.26.7"}}}]
    assert box.server.exchanges == 1
    ok(box.run("teardown", "aider"))
    assert not launcher(box).exists() and not settings_file.exists()


# -- fuzzing the round trip --------------------------------------------------------------

TOP_KEYS = ['model = "o3"', "approval_policy = 'never'  # mine", "x = 1",
            'profile_note = """a\nb"""', "arr = [1,\n  2]"]
TABLES = ["model_providers.ollama", "model_providers.copilot", "mcp_servers.docs", "tui",
          "model_providers.copilot.auth", '"quoted.table"']
BODIES = ['name = "n"', "base_url = 'http://x'  # comment", "n = 1", "a.b = 2", "t = {k = 1}"]
FILLER = ["", "# a comment", "   ", "\t# indented comment"]


@st.composite
def codex_files(draw):
    lines = [draw(st.sampled_from(FILLER)) for _ in range(draw(st.integers(0, 2)))]
    for key in draw(st.lists(st.sampled_from(TOP_KEYS), unique=True, max_size=3)):
        lines.append(key)
        lines += draw(st.lists(st.sampled_from(FILLER), max_size=2))
    for table in draw(st.lists(st.sampled_from(TABLES), unique=True, max_size=4)):
        lines.append(draw(st.sampled_from([f"[{table}]", f"[ {table} ]"])))
        lines += draw(st.lists(st.sampled_from(BODIES), unique=True, max_size=2))
        lines += draw(st.lists(st.sampled_from(FILLER), max_size=2))
    if draw(st.booleans()):
        lines.append("[[hooks]]\nrun = 'a'")
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    return newline.join(lines) + draw(st.sampled_from(["", newline, newline * 2]))


@pytest.mark.slow
@settings(max_examples=int(os.environ.get("FUZZ_EXAMPLES", "200")) // 4, deadline=None)
@given(text=codex_files(), default=st.booleans())
def test_fuzz_codex_setup_then_teardown_gives_back_the_same_bytes(text, default):
    """Any config.toml: setup then teardown gives back the same bytes, or setup refuses
    with one line and changes nothing."""
    from helper.tools import codex, plan
    from helper.tools.change import apply
    from helper.tools.documents import ToolConfigError
    from helper.tools.record import Record
    from helper.tools.target import Target

    try:
        tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return  # not a config Codex could have read
    with tempfile.TemporaryDirectory() as root:
        env = {"HOME": root, "PATH": ""}
        path = codex.config_path(env)
        write(path, text)
        target = Target("copilot", "copilot", "https://api.githubcopilot.com", 1800, "/x/gcc",
                        40, None, {"Copilot-Integration-Id": "vscode-chat"})
        wanted, _ = codex.wanted(target, env, default)
        record = Record("codex", "copilot")
        try:
            changes = plan.setup(wanted, record)
        except ToolConfigError:
            event("refused")  # --hypothesis-show-statistics: how many
            assert path.read_bytes() == text.encode()
            return
        for change in changes:
            apply(change)
        provider = tomllib.loads(path.read_text())["model_providers"]["copilot"]
        assert provider["auth"]["command"] == "/x/gcc"
        changes, notes = plan.teardown(record)
        assert notes == []
        for change in changes:
            apply(change)
        assert path.read_bytes() == text.encode()


def test_doctor_says_which_tools_are_set_up_and_whether_they_still_point_at_us(logged_in):
    box = logged_in
    before = box.call("doctor", "--format", "json")
    assert '"tool codex"' in before.stdout and "not set up" in before.stdout
    ok(box.call("setup", "codex"))
    after = box.call("doctor")
    line = next(x for x in after.stdout.splitlines() if "tool codex" in x)
    assert "set up in" in line and str(codex_config(box)) in line
    text = codex_config(box).read_text()
    codex_config(box).write_text(text.replace('wire_api = "responses"', 'wire_api = "chat"'))
    edited = box.call("doctor")
    line = next(x for x in edited.stdout.splitlines() if "tool codex" in x)
    assert "no longer points at this helper" in line and "setup codex" in edited.stdout
