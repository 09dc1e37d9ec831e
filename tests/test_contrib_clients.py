"""contrib/: each integration driven by its real client against the fake servers.

openai-python (real package), bash + curl, git, aider (a stand-in that records how it was
started), and the exact commands the Claude Code and Codex snippets configure.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import seed_oauth_login

CONTRIB = Path(__file__).resolve().parent.parent / "contrib"


pytestmark = pytest.mark.usefixtures("_installed")  # the check is defined in conftest


def sh(box, argv: list[str], env: dict | None = None, timeout: float = 60):
    result = subprocess.run(argv, capture_output=True, env={**box.env, **(env or {})},
                            timeout=timeout)
    box.check_no_secret_leaked(result.stderr.decode(), "stderr")
    return result


# -- openai-python --------------------------------------------------------------------------

@pytest.mark.integration
class TestOpenAI:
    @pytest.fixture
    def client(self, logged_in, monkeypatch):
        pytest.importorskip("openai", reason="pip install -e .[integrations]")
        for key, value in logged_in.env.items():
            monkeypatch.setenv(key, value)
        sys.path.insert(0, str(CONTRIB / "openai"))
        import copilot_openai

        yield copilot_openai.copilot_client(max_retries=0)
        sys.path.remove(str(CONTRIB / "openai"))

    def test_chat_and_recovery_after_invalidation(self, client, logged_in):
        messages = [{"role": "user", "content": "hi"}]
        reply = client.chat.completions.create(model="gpt-4o", messages=messages)
        assert reply.choices[0].message.content == "hello"
        logged_in.server.invalidate_copilot_tokens()
        again = client.chat.completions.create(model="gpt-4o", messages=messages)
        assert again.choices[0].message.content == "hello"
        assert logged_in.server.exchanges == 2
        sent = [h for m, p, h in logged_in.server.requests if p == "/chat/completions"]
        assert sent[-1]["Copilot-Integration-Id"] == "vscode-chat"

    def test_a_persistent_401_is_sent_exactly_twice(self, client, logged_in):
        import openai

        from fakeserver import Fault

        logged_in.server.inject("/chat/completions", *[Fault(status=401, body=b"{}")] * 5)
        with pytest.raises(openai.AuthenticationError):
            client.chat.completions.create(model="gpt-4o",
                                           messages=[{"role": "user", "content": "hi"}])
        assert logged_in.server.counts["/chat/completions"] == 2


    def test_a_403_is_treated_like_a_401(self, client, logged_in):
        import openai

        from fakeserver import Fault

        messages = [{"role": "user", "content": "hi"}]
        client.chat.completions.create(model="gpt-4o", messages=messages)
        logged_in.server.inject("/chat/completions", Fault(status=403, body=b"{}"))
        reply = client.chat.completions.create(model="gpt-4o", messages=messages)
        assert reply.choices[0].message.content == "hello"
        assert logged_in.server.exchanges == 2  # erased and minted anew
        logged_in.server.inject("/chat/completions", *[Fault(status=403, body=b"{}")] * 5)
        with pytest.raises(openai.PermissionDeniedError):
            client.chat.completions.create(model="gpt-4o", messages=messages)
        assert logged_in.server.counts["/chat/completions"] == 5  # ok, 403, ok, 403, 403


# -- shell ----------------------------------------------------------------------------------

def test_copilot_curl_lists_models_and_recovers_from_401(logged_in):
    box = logged_in
    first = sh(box, [str(CONTRIB / "shell" / "list-models")])
    assert first.returncode == 0, first.stderr
    assert first.stdout.decode().split() == ["gpt-4o"]
    box.server.invalidate_copilot_tokens()
    second = sh(box, [str(CONTRIB / "shell" / "copilot-curl"), "/models"])
    assert second.returncode == 0, second.stderr
    assert json.loads(second.stdout)["data"][0]["id"] == "gpt-4o"
    assert box.server.exchanges == 2
    assert box.server.counts["/models"] == 3  # ok, 401, ok


def test_copilot_curl_with_a_dead_login_fails_once(logged_in):
    box = logged_in
    sh(box, [str(CONTRIB / "shell" / "list-models")])
    box.server.invalidate_copilot_tokens()
    box.server.revoke_github()
    result = sh(box, [str(CONTRIB / "shell" / "copilot-curl"), "/models"])
    assert result.returncode == 1
    assert "git-credential-copilot login" in result.stderr.decode()
    assert box.server.exchanges == 2 and box.server.counts["/models"] == 2


def test_copilot_curl_treats_403_like_401(logged_in):
    from fakeserver import Fault

    box = logged_in
    sh(box, [str(CONTRIB / "shell" / "list-models")])
    box.server.inject("/models", Fault(status=403, body=b'{"message": "expired"}'))
    again = sh(box, [str(CONTRIB / "shell" / "copilot-curl"), "/models"])
    assert again.returncode == 0, again.stderr
    assert box.server.exchanges == 2 and box.server.counts["/models"] == 3
    box.server.inject("/models", *[Fault(status=403, body=b"{}")] * 2)
    refused = sh(box, [str(CONTRIB / "shell" / "copilot-curl"), "/models"])
    assert refused.returncode == 22 and b"HTTP 403" in refused.stderr
    assert box.server.counts["/models"] == 5


def _curl_shim(tmp_path: Path) -> tuple[dict, Path]:
    """Every local user can read a process's argv (ps, /proc/PID/cmdline): a curl shim
    records the argv it was started with and what its /proc cmdline says, then runs curl."""
    import shutil

    real = shutil.which("curl")
    if real is None:
        pytest.skip("curl is not installed")
    shims = tmp_path / "shims"
    shims.mkdir()
    record = tmp_path / "argv.log"
    (shims / "curl").write_text(
        "#!/usr/bin/env bash\n"
        f"tr '\\0' ' ' < /proc/$$/cmdline >> {record}; echo >> {record}\n"
        f'printf "%s " "$@" >> {record}; echo >> {record}\n'
        f'exec {real} "$@"\n')
    (shims / "curl").chmod(0o755)
    return {"PATH": f"{shims}:{os.environ.get('PATH', '/usr/bin:/bin')}"}, record


def test_copilot_curl_never_puts_the_token_in_an_argv(logged_in, tmp_path):
    box = logged_in
    env, record = _curl_shim(tmp_path)
    env["PATH"] = f"{env['PATH'].split(':')[0]}:{box.env['PATH']}"
    result = sh(box, [str(CONTRIB / "shell" / "copilot-curl"), "/models"], env=env)
    assert result.returncode == 0, result.stderr
    seen = record.read_text()
    assert "/models" in seen  # the shim really ran
    token = json.loads(box.state_dir.joinpath("copilot.json").read_text())["token"]["token"]
    assert token in box.server.copilot_tokens
    assert token not in seen and "Bearer" not in seen


def _recording(path: Path, record: Path, real: str) -> None:
    """A stand-in for ``real`` that appends what the kernel says it was started with (argv
    and environment, from /proc) to ``record``, then runs ``real``."""
    path.write_text(
        "#!/bin/sh\n"
        f"{{ tr '\\0' '\\n' < /proc/$$/cmdline; tr '\\0' '\\n' < /proc/$$/environ; }}"
        f" >> {shlex.quote(str(record))}\n"
        f'exec {shlex.quote(real)} "$@"\n')
    path.chmod(0o755)


@pytest.mark.parametrize("shell", ["dash", "posh"])
def test_copilot_curl_keeps_the_token_out_of_every_childs_environment(logged_in, tmp_path,
                                                                      shell):
    """No child (curl, the helper for `token` and `erase`, any tool the shell runs as a
    program) gets the token in its argv or its environment, even when the caller exported
    variables of the names the script uses. posh runs printf as a program, not a builtin."""
    import shutil

    box = logged_in
    real_curl, shell_path = shutil.which("curl"), shutil.which(shell)
    if real_curl is None or shell_path is None:
        pytest.skip(f"curl or {shell} is not installed")
    shims, record = tmp_path / "shims", tmp_path / "started.log"
    shims.mkdir()
    _recording(shims / "curl", record, real_curl)
    _recording(shims / "helper", record, shutil.which("git-credential-copilot",
                                                      path=box.env["PATH"]))
    for tool in ("printf", "echo", "cat", "rm", "mktemp"):
        _recording(shims / tool, record, shutil.which(tool) or f"/usr/bin/{tool}")
    sh(box, [str(CONTRIB / "shell" / "list-models")])
    box.server.invalidate_copilot_tokens()  # so: 401, erase, a new token, 200
    decoys = {name: "decoy" for name in ("OPENAI_API_KEY", "token", "last_token", "value")}
    result = sh(box, [shell_path, str(CONTRIB / "shell" / "copilot-curl"), "/models"],
                env={"PATH": f"{shims}:{box.env['PATH']}", **decoys,
                     "GIT_CREDENTIAL_COPILOT": str(shims / "helper")})
    assert result.returncode == 0, result.stderr
    assert box.server.counts["/models"] == 3 and box.server.exchanges == 2
    started = record.read_text()
    lines = started.splitlines()
    assert lines.count(f"{shims}/curl") == 2 and lines.count(f"{shims}/helper") == 3
    assert "erase" in started and "/models" in started
    tokens = json.loads(box.state_dir.joinpath("copilot.json").read_text())["token"]["token"]
    refused = [h["Authorization"] for m, p, h in box.server.requests if p == "/models"][1]
    for token in (tokens, refused.removeprefix("Bearer ")):
        assert token.startswith("tid=") and token not in started
    assert "Bearer" not in started and "OPENAI_API_KEY=decoy" in started


def test_the_readme_curl_pattern_keeps_the_token_out_of_argv(logged_in, tmp_path):
    box = logged_in
    env, record = _curl_shim(tmp_path)
    env["PATH"] = f"{env['PATH'].split(':')[0]}:{box.env['PATH']}"
    text = (CONTRIB / "shell" / "README.md").read_text()
    snippet = text.split("The pattern for your own scripts:")[1].split("```sh\n")[1]
    snippet = snippet.split("```")[0].replace("https://api.githubcopilot.com", box.server.url)
    result = sh(box, ["bash", "-c", f"set -o pipefail; {snippet}"], env=env)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["data"][0]["id"] == "gpt-4o"
    seen = record.read_text()
    assert "/models" in seen and "Bearer" not in seen
    assert not any(t in seen for t in box.server.copilot_tokens)


def test_token_format_env_is_shell_safe(logged_in):
    out = sh(logged_in, ["bash", "-c", 'eval "$(git-credential-copilot token --format env)"; '
                                        'printf "%s\\n%s\\n" "$OPENAI_API_BASE" "$OPENAI_API_KEY"'])
    base, key = out.stdout.decode().splitlines()
    assert base == logged_in.server.url and key in logged_in.server.copilot_tokens


# -- aider ----------------------------------------------------------------------------------

def test_aider_launcher_hands_aider_a_fresh_key_base_and_headers(logged_in, tmp_path):
    box = logged_in
    record = tmp_path / "aider-record.json"
    stub = tmp_path / "aider"
    stub.write_text(f"""#!{sys.executable}
import json, os, sys
args = sys.argv[1:]
settings = open(args[args.index("--model-settings-file") + 1]).read()
json.dump({{"args": args, "base": os.environ["OPENAI_API_BASE"],
           "key": os.environ["OPENAI_API_KEY"], "settings": settings}}, open({str(record)!r}, "w"))
""")
    stub.chmod(0o755)
    result = sh(box, [str(CONTRIB / "aider" / "aider-copilot"), "--yes", "src/"],
                env={"AIDER": str(stub), "COPILOT_MODEL": "claude-sonnet-4"})
    assert result.returncode == 0, result.stderr
    seen = json.loads(record.read_text())
    assert seen["base"] == box.server.url and seen["key"] in box.server.copilot_tokens
    assert seen["args"][:2] == ["--model", "openai/claude-sonnet-4"]
    assert seen["args"][-2:] == ["--yes", "src/"]
    assert "Copilot-Integration-Id: vscode-chat" in seen["settings"]
    assert "name: openai/claude-sonnet-4" in seen["settings"]


def test_aider_launcher_without_login_says_why_and_does_not_start_aider(sandbox, tmp_path):
    result = sh(sandbox, [str(CONTRIB / "aider" / "aider-copilot")],
                env={"AIDER": "/bin/false-should-not-run"})
    assert result.returncode == 1 and b"login" in result.stderr


# -- git ------------------------------------------------------------------------------------

def test_configure_then_real_git_fills(logged_in):
    box = logged_in
    assert sh(box, ["git-credential-copilot", "configure"]).returncode == 0
    sh(box, ["git-credential-copilot", "configure"])  # idempotent
    helpers = sh(box, ["git", "config", "--global", "--get-all",
                       f"credential.{box.server.url}/.helper"]).stdout.decode().split("\n")
    assert helpers[:3] == ["", "copilot", ""]
    filled = sh(box, ["bash", "-c", f"printf 'url={box.server.url}\\n\\n' | git credential fill"],
                env={"GIT_TERMINAL_PROMPT": "0"})
    assert filled.returncode == 0, filled.stderr
    assert b"password=tid=" in filled.stdout


# -- Claude Code and Codex: the exact configured commands ----------------------------------

def _age_cached_token(box, profile: str, seconds: int) -> None:
    path = box.state_dir / f"{profile}.json"
    state = json.loads(path.read_text())
    state["token"]["minted_at"] -= seconds
    path.write_text(json.dumps(state))


def test_claude_code_api_key_helper_command(corp):
    seed_oauth_login(corp, cached=True)  # as login leaves it, without its one-second poll
    settings = json.loads((CONTRIB / "claude-code" / "settings.json").read_text())
    command = settings["apiKeyHelper"]
    first = sh(corp, ["sh", "-c", command])
    assert first.returncode == 0, first.stderr
    assert first.stdout.count(b"\n") == 1
    assert first.stdout.strip().decode() in corp.server.access_tokens
    # Claude Code asks again after a 401: the rejected token is replaced.
    _age_cached_token(corp, "corp", 120)
    second = sh(corp, ["sh", "-c", command])
    assert second.stdout != first.stdout and corp.server.refreshes == 1
    assert int(settings["env"]["CLAUDE_CODE_API_KEY_HELPER_TTL_MS"]) >= 3600_000


def test_codex_auth_command(logged_in):
    import tomllib

    config = tomllib.loads((CONTRIB / "codex" / "config.toml").read_text())
    provider = config["model_providers"][config["model_provider"]]
    auth = provider["auth"]
    argv = [auth["command"], *auth["args"]]
    assert auth["refresh_interval_ms"] == 0 and "--renew" in argv and "--min-ttl" in argv
    out = sh(logged_in, argv, timeout=auth["timeout_ms"] / 1000)
    assert out.returncode == 0 and out.stdout.count(b"\n") == 1
    again = sh(logged_in, argv)  # a rerun within a minute keeps the just-minted token
    assert again.stdout == out.stdout and logged_in.server.exchanges == 1
    assert provider["http_headers"]["Copilot-Integration-Id"] == "vscode-chat"
    assert shlex.join(argv) == "git-credential-copilot token --renew --min-ttl 600"


def test_every_contrib_piece_has_a_readme():
    for piece in sorted(p for p in CONTRIB.iterdir() if p.is_dir()):
        assert (piece / "README.md").is_file(), piece
