"""The real Claude Code with the helper as its ``apiKeyHelper``.

Claude Code runs ``apiKeyHelper`` (through /bin/sh) at start, when
``CLAUDE_CODE_API_KEY_HELPER_TTL_MS`` has passed and after a 401, and sends its output as
``x-api-key`` and ``Authorization: Bearer``. On a Copilot seat it talks to the Copilot
API's Anthropic Messages endpoint (``{endpoints.api}/v1/messages``) with the editor
headers from ``ANTHROPIC_CUSTOM_HEADERS``; the fake refuses a call without them. These
tests configure it with ``git-credential-copilot setup claude-code`` in a throwaway HOME,
run ``claude -p`` and count on the fake's own numbers. One test runs
``contrib/claude-code/settings.json`` as written there.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest

from conftest import seed_oauth_login, uncached
from fakeserver import RefusingProxy
from realtools import COPILOT_HEADERS, COPILOT_MODELS, ROOT, ToolBox, tool

pytestmark = [pytest.mark.integration, pytest.mark.slow]

MODEL = "claude-sonnet-4.6"  # Copilot's slug for it, as the fake's model list has it
# Test-only: the variables Claude Code's docs name to stop telemetry, error reports,
# update checks and other traffic that is not the model's.
QUIET = {"DISABLE_TELEMETRY": "1", "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
         "DISABLE_AUTOUPDATER": "1", "DISABLE_ERROR_REPORTING": "1"}
BOUND = 90  # seconds: a run is ~2 s


def settings(tb: ToolBox) -> dict:
    return json.loads((tb.home / ".claude" / "settings.json").read_text())


def write_settings(tb: ToolBox, value: dict) -> None:
    (tb.home / ".claude").mkdir(exist_ok=True)
    (tb.home / ".claude" / "settings.json").write_text(json.dumps(value, indent=2))


@pytest.fixture
def proxy():
    server = RefusingProxy().start()
    yield server
    server.stop()


@pytest.fixture
def claude(logged_in, proxy) -> ToolBox:
    """Claude Code set up for the fake Copilot API by `setup claude-code`; the helper
    logged in, with nothing cached (setup's own token forgotten)."""
    tool("claude")
    tb = ToolBox(logged_in, proxy)
    tb.server.models, tb.server.strict_models = COPILOT_MODELS, True
    tb.setup("claude-code")
    uncached(logged_in)
    return tb


def run_claude(tb: ToolBox, prompt: str = "say hello", stop_when=None):
    result = tb.run([str(tool("claude")), "-p", prompt], env=QUIET, timeout=BOUND,
                    stop_when=stop_when)
    assert not tb.offline(), f"claude tried to reach the internet: {tb.offline()}"
    return result


def test_the_first_request_carries_a_token_the_helper_minted(claude):
    before = claude.server.exchanges
    result = run_claude(claude)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == "hello"
    assert claude.server.exchanges - before == 1
    assert len(claude.helper_calls()) == 1  # once, at start
    assert claude.helper_calls()[0].endswith("token --renew --min-ttl 600")
    sent = claude.sent_headers("/v1/messages")
    assert len(sent) == 1
    minted = claude.cached_token()
    assert sent[0]["x-api-key"] == minted
    assert sent[0]["Authorization"] == f"Bearer {minted}"
    assert {k: sent[0].get(k) for k in COPILOT_HEADERS} == COPILOT_HEADERS
    assert [body["model"] for path, body in claude.server.bodies
            if path == "/v1/messages"] == [MODEL]
    assert [body.get("stream") for path, body in claude.server.bodies
            if path == "/v1/messages"] == [True]


def test_without_the_editor_headers_the_copilot_api_refuses(claude):
    """The fake holds Claude Code to the Copilot API's rule (and so can fail a set-up
    that forgets ANTHROPIC_CUSTOM_HEADERS)."""
    value = settings(claude)
    del value["env"]["ANTHROPIC_CUSTOM_HEADERS"]
    write_settings(claude, value)
    result = run_claude(claude)
    assert result.returncode != 0
    assert "missing Copilot-Integration-Id" in result.stdout + result.stderr
    assert claude.server.model_calls == 0


def test_a_token_revoked_between_runs_costs_the_next_run_one_exchange(claude):
    assert run_claude(claude).returncode == 0
    claude.age_cached_token()  # the next run comes minutes later
    claude.server.revoke_api_tokens()
    before = claude.server.exchanges
    result = run_claude(claude)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == "hello"
    assert claude.server.exchanges - before == 1
    assert claude.sent_tokens("/v1/messages")[-1] == claude.cached_token()


def test_a_token_revoked_inside_a_run_is_replaced_after_the_401(claude):
    """The prompt costs two model calls (a tool call, then the answer); the token dies after
    the first. Claude Code reruns apiKeyHelper after the 401 and the run succeeds."""
    server = claude.server
    server.tool_call = ("Read", {"file_path": str(claude.work / "notes.txt")})
    server.revoke_after_model_calls = 1
    server.on_revoke = claude.age_cached_token  # it had lived a while
    before = server.exchanges
    result = run_claude(claude)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == "hello"
    assert server.counts["/v1/messages"] == 3  # the tool call, the 401, the answer
    assert server.refused["/v1/messages"] == 1
    assert server.exchanges - before == 2  # the first token, and one after the 401
    assert len(claude.helper_calls()) == 2  # at start, and once after the 401
    first, refused, answered = claude.sent_tokens("/v1/messages")
    assert first == refused != answered == claude.cached_token()


def test_an_enterprise_403_inside_a_run_is_replaced_too(claude):
    """Copilot Enterprise answers 403 for an expired token: Claude Code reruns
    apiKeyHelper after a 403 as after a 401."""
    server = claude.server
    server.expired_status = 403
    server.tool_call = ("Read", {"file_path": str(claude.work / "notes.txt")})
    server.revoke_after_model_calls = 1
    server.on_revoke = claude.age_cached_token
    before = server.exchanges
    result = run_claude(claude)
    assert result.returncode == 0, result.stdout + result.stderr
    assert server.refused["/v1/messages"] == 1
    assert server.exchanges - before == 2  # the first token, and one after the 403
    assert len(claude.helper_calls()) == 2


def test_a_token_revoked_a_moment_after_minting_is_replaced_after_the_401(claude):
    server = claude.server
    server.tool_call = ("Read", {"file_path": str(claude.work / "notes.txt")})
    server.revoke_after_model_calls = 1
    # It must not retry the dead token: stop at the second refusal rather than wait out
    # the tool's own retries (a minute or more).
    result = run_claude(claude, stop_when=lambda: server.refused["/v1/messages"] > 1)
    assert server.refused["/v1/messages"] == 1, f"a dead token was retried: {server.refused}"
    assert result.returncode == 0, result.stdout + result.stderr
    assert server.exchanges == 3  # the login's check, the first token, one after the 401


def test_five_sessions_meeting_a_revoked_token_mint_one_between_them(claude):
    assert run_claude(claude).returncode == 0
    claude.age_cached_token()
    claude.server.revoke_api_tokens()
    before = claude.server.exchanges
    with ThreadPoolExecutor(max_workers=5) as pool:
        results = list(pool.map(lambda _: run_claude(claude), range(5)))
    assert [r.returncode for r in results] == [0] * 5, [r.stderr for r in results]
    assert claude.server.exchanges - before == 1


def test_without_a_login_claude_shows_our_line_and_stops(claude):
    claude.server.revoke_github()
    result = run_claude(claude)
    assert result.returncode != 0
    assert "Your apiKeyHelper script is failing" in result.stdout
    assert "run `git-credential-copilot login`" in result.stderr
    assert result.seconds < BOUND
    assert claude.server.model_calls == 0
    assert claude.server.exchanges == 2  # the login's check, then the one that found it dead


def test_later_starts_with_nothing_rejected_cost_no_exchange(claude):
    """Each start runs `token --renew`; the helper checks the cached token with one
    `GET /models` (Claude Code itself never calls it) and keeps it."""
    assert run_claude(claude).returncode == 0
    before, checks = claude.server.exchanges, claude.server.counts["/models"]
    for start in range(3):
        claude.age_cached_token()  # starts minutes apart, the token still good
        assert run_claude(claude).returncode == 0
        assert claude.server.exchanges == before, f"start {start + 1} cost an exchange"
    assert claude.server.counts["/models"] - checks == 3


def test_claude_code_with_a_company_gateway(corp, proxy):
    """An `oauth` profile in front of an Anthropic-style gateway (the fake IdP)."""
    tool("claude")
    seed_oauth_login(corp)
    tb = ToolBox(corp, proxy)
    tb.setup("claude-code", profile="corp")
    assert settings(tb)["env"]["ANTHROPIC_BASE_URL"] == corp.server.url  # no /v1
    before = corp.server.refreshes
    result = run_claude(tb)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == "hello"
    assert corp.server.refreshes - before <= 1
    assert tb.sent_tokens("/v1/messages") == [tb.cached_token("corp")]


def test_the_contrib_copilot_snippet_works_as_written(logged_in, proxy):
    """contrib/claude-code/settings-copilot.json with its base URL pointed at the fake."""
    tool("claude")
    tb = ToolBox(uncached(logged_in), proxy)
    tb.server.models, tb.server.strict_models = COPILOT_MODELS, True
    value = json.loads((ROOT / "contrib" / "claude-code" / "settings-copilot.json").read_text())
    value["env"]["ANTHROPIC_BASE_URL"] = tb.server.url
    write_settings(tb, value)
    result = run_claude(tb)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == "hello"
    assert tb.server.exchanges == 2  # the login's check, then the token Claude Code got
    assert tb.sent_tokens("/v1/messages") == [tb.cached_token()]


def test_the_contrib_gateway_snippet_works_as_written(corp, proxy):
    """contrib/claude-code/settings.json (an `oauth` profile `corp` in front of a gateway)
    with its base URL pointed at the fake."""
    tool("claude")
    seed_oauth_login(corp)
    tb = ToolBox(corp, proxy)
    value = json.loads((ROOT / "contrib" / "claude-code" / "settings.json").read_text())
    value["env"]["ANTHROPIC_BASE_URL"] = corp.server.url
    write_settings(tb, value)
    result = run_claude(tb)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == "hello"
    assert corp.server.refreshes == 1
    assert tb.sent_tokens("/v1/messages") == [tb.cached_token("corp")]
