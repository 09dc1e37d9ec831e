"""The real OpenAI Codex CLI with the helper as its provider's auth command.

Codex runs ``[model_providers.<id>.auth] command`` at start, keeps the token in memory and,
with ``refresh_interval_ms = 0``, runs it again only after a 401. These tests configure it
with ``git-credential-copilot setup codex`` in a throwaway HOME, run ``codex --profile P
exec`` (what setup tells the person to run) against the fake Copilot API (and the fake
company gateway), and count on the fake's own numbers: token exchanges, model calls,
refusals. One test runs ``contrib/codex/config.toml`` as written there.
"""

from __future__ import annotations

import json
import sys

import pytest

from conftest import seed_oauth_login, uncached
from fakeserver import RefusingProxy
from realtools import COPILOT_HEADERS, COPILOT_MODELS, ROOT, ToolBox, tool

if sys.version_info >= (3, 11):
    import tomllib
else:  # the project's own fallback
    import tomli as tomllib

pytestmark = [pytest.mark.integration, pytest.mark.slow]

# `features.plugins=false`: at start codex syncs its plugin list with
# `git ls-remote https://github.com/openai/plugins`; the tests must not reach the internet.
QUIET = ["--skip-git-repo-check", "-c", "analytics.enabled=false", "-c", "features.plugins=false"]
BOUND = 90  # seconds: a codex run is ~2 s; its retries on a dead helper take ~16 s


def contrib_config(base_url: str) -> str:
    """contrib/codex/config.toml as a person would paste it, pointed at the fake."""
    text = (ROOT / "contrib" / "codex" / "config.toml").read_text()
    config = tomllib.loads(text)
    real = config["model_providers"][config["model_provider"]]["base_url"]
    return text.replace(json.dumps(real), json.dumps(base_url))


@pytest.fixture
def proxy():
    server = RefusingProxy().start()
    yield server
    server.stop()


@pytest.fixture
def codex(logged_in, proxy) -> ToolBox:
    """Codex set up for the fake Copilot by `setup codex`; the helper logged in, with
    nothing cached (setup's own token forgotten)."""
    tool("codex")
    tb = ToolBox(logged_in, proxy)
    tb.server.models, tb.server.strict_models = COPILOT_MODELS, True
    tb.setup("codex")
    uncached(logged_in)
    return tb


def run_codex(tb: ToolBox, prompt: str = "say hello", stop_when=None, profile="copilot"):
    result = tb.run([str(tool("codex")), *(["--profile", profile] if profile else []),
                     "exec", *QUIET, prompt], timeout=BOUND, stop_when=stop_when)
    assert not tb.offline(), f"codex tried to reach the internet: {tb.offline()}"
    return result


def test_the_first_request_carries_a_token_the_helper_minted(codex):
    before, mark = codex.server.exchanges, codex.mark()
    result = run_codex(codex)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "hello"
    assert codex.server.exchanges - before == 1
    assert len(codex.helper_calls()) == 1  # once, at start
    assert codex.helper_calls()[0].endswith("token --renew --min-ttl 600")
    minted = codex.cached_token()
    assert codex.sent_tokens("/responses") == [minted]
    assert set(codex.sent_tokens("/models", mark)) == {minted}  # codex lists models at start
    sent = codex.sent_headers("/responses")[0]
    assert {k: sent.get(k) for k in COPILOT_HEADERS} == COPILOT_HEADERS
    assert [b["model"] for p, b in codex.server.bodies if p == "/responses"] == ["gpt-5.1-codex"]


def test_a_token_revoked_between_runs_costs_the_next_run_one_exchange(codex):
    assert run_codex(codex).returncode == 0
    codex.age_cached_token()  # the next run comes minutes later
    codex.server.revoke_api_tokens()
    before = codex.server.exchanges
    result = run_codex(codex)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "hello"
    assert codex.server.exchanges - before == 1
    assert codex.sent_tokens("/responses")[-1] == codex.cached_token()


def test_a_token_revoked_inside_a_run_is_replaced_after_the_401(codex):
    """The prompt costs two model calls (a tool call, then the answer); the token dies after
    the first. Codex reruns the command after the 401 and the run succeeds."""
    server = codex.server
    server.tool_call = ("get_goal", {})  # a tool that runs nothing and needs no sandbox
    server.revoke_after_model_calls = 1
    server.on_revoke = codex.age_cached_token  # it had lived a while
    before = server.exchanges
    result = run_codex(codex)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "hello"
    assert server.counts["/responses"] == 3  # the tool call, the 401, the answer
    assert server.refused["/responses"] == 1
    assert server.exchanges - before == 2  # the first token, and one after the 401
    assert len(codex.helper_calls()) == 2  # at start, and once after the 401
    first, refused, answered = codex.sent_tokens("/responses")
    assert first == refused != answered == codex.cached_token()


def test_after_an_enterprise_403_inside_a_run_the_next_start_recovers(codex):
    """Copilot Enterprise answers 403 for an expired token. Codex 0.171.0 reruns the auth
    command after a 401 only: after a 403 it retries the dead token and the run fails.
    The next start runs the command again and gets a new token."""
    server = codex.server
    server.expired_status = 403
    server.tool_call = ("get_goal", {})
    server.revoke_after_model_calls = 1
    server.on_revoke = codex.age_cached_token
    # It retries the dead token with backoff for ~10 s, then fails; stop it at the second 403.
    failed = run_codex(codex, stop_when=lambda: server.refused["/responses"] >= 2)
    assert failed.stopped or failed.returncode != 0
    assert len(codex.helper_calls()) == 1  # not rerun after the 403s
    before = server.exchanges
    again = run_codex(codex)
    assert again.returncode == 0, again.stderr
    assert server.exchanges - before == 1
    assert codex.sent_tokens("/responses")[-1] == codex.cached_token()


def test_a_token_revoked_a_moment_after_minting_is_replaced_after_the_401(codex):
    """As above, but the token dies seconds after it was minted: `--renew` must not hand
    out the same dead token again because it is new."""
    server = codex.server
    server.tool_call = ("get_goal", {})
    server.revoke_after_model_calls = 1
    # It must not retry the dead token: stop at the second refusal rather than wait out
    # the tool's own retries (a minute or more).
    result = run_codex(codex, stop_when=lambda: server.refused["/responses"] > 1)
    assert server.refused["/responses"] == 1, f"codex retried a dead token: {server.refused}"
    assert result.returncode == 0, result.stderr
    assert server.exchanges == 3  # the login's check, the first token, one after the 401


def test_without_a_login_codex_shows_our_line_and_its_retries_cost_no_exchange(codex):
    """Codex reruns a failing auth command on each of its reconnects (25 runs over 10-30 s,
    then it gives up): each run is one quick refusal, and none of them mints. The test
    stops codex once a request went out without a token (by then it has logged the
    command's failure) and its command has run again, rather than wait out its backoff."""
    codex.server.revoke_github()
    server = codex.server
    result = run_codex(codex, stop_when=lambda: server.refused["/responses"] >= 1
                       and len(codex.helper_calls()) >= 2)
    assert result.stopped or result.returncode != 0
    assert "run `git-credential-copilot login`" in result.stderr
    assert codex.server.counts["/responses"] == codex.server.refused["/responses"]
    assert codex.server.exchanges == 2  # the login's check, then the one that found it dead


def test_later_starts_with_nothing_rejected_cost_no_exchange(codex):
    assert run_codex(codex).returncode == 0
    before = codex.server.exchanges
    for start in range(3):
        codex.age_cached_token()  # starts minutes apart, the token still good
        assert run_codex(codex).returncode == 0
        assert codex.server.exchanges == before, f"start {start + 1} cost an exchange"


def test_codex_with_a_company_gateway(corp, proxy):
    """An `oauth` profile: the gateway (the fake IdP's /v1) takes the IdP's access token."""
    tool("codex")
    seed_oauth_login(corp)
    tb = ToolBox(corp, proxy)
    tb.setup("codex", profile="corp")
    config = tomllib.loads((tb.home / ".codex" / "corp.config.toml").read_text())
    config["model"] = "gpt-5"  # setup names no model for a gateway: the person chooses
    (tb.home / ".codex" / "corp.config.toml").write_text(
        "".join(f"{k} = {json.dumps(v)}\n" for k, v in config.items()))
    before = corp.server.refreshes
    result = run_codex(tb, profile="corp")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "hello"
    assert corp.server.refreshes - before <= 1
    assert tb.sent_tokens("/v1/responses") == [tb.cached_token("corp")]


def test_the_contrib_snippet_works_as_written(logged_in, proxy):
    tool("codex")
    tb = ToolBox(uncached(logged_in), proxy)
    (tb.home / ".codex").mkdir()
    (tb.home / ".codex" / "config.toml").write_text(contrib_config(tb.server.url))
    result = run_codex(tb, profile="")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "hello"
    assert tb.server.exchanges == 2  # the login's check, then the token codex got
    assert tb.sent_tokens("/responses") == [tb.cached_token()]
