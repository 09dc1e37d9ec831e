"""The real aider, started by ``contrib/aider/aider-copilot``.

aider has no token command: it reads ``OPENAI_API_KEY`` once, at start, and exits 0 even
after its request failed. The launcher asks the helper for a token with at least 20 minutes
left, has aider log its requests to a private file, and after a request that never
completed erases that token and exits 1, so the next start mints a new one. These tests
run the launcher with the real aider (``--message``, one request) in a throwaway HOME
against the fake Copilot API and count on the fake's own numbers. The launcher that
``git-credential-copilot setup aider`` writes is run too.
"""

from __future__ import annotations

import glob
import shutil
import signal

import pytest

from conftest import uncached
from fakeserver import RefusingProxy
from realtools import COPILOT_HEADERS, COPILOT_MODELS, ROOT, TOOLS_BIN, ToolBox, ToolRun, tool

pytestmark = [pytest.mark.integration, pytest.mark.slow]

LAUNCHER = ROOT / "contrib" / "aider" / "aider-copilot"
# Test-only flags: one request and out; no git, no update check, no analytics prompt.
FLAGS = ["--yes-always", "--no-git", "--no-check-update", "--analytics-disable",
         "--no-show-release-notes", "--message", "say hello"]
BOUND = 120  # seconds: aider starts in ~5-10 s; on a 403 it retries for about a minute
GIVE_UP = "start aider-copilot again for a new one"


def offline_model_prices(tb: ToolBox) -> None:
    """aider refetches LiteLLM's price table from GitHub when its copy is older than a day:
    give it a fresh copy of the table LiteLLM ships (and LiteLLM its own, by variable)."""
    bundled = glob.glob(str(TOOLS_BIN.parent / "aider-venv" / "lib" / "python3*" /
                            "site-packages" / "litellm" /
                            "model_prices_and_context_window_backup.json"))
    assert bundled, "aider's venv has no LiteLLM price table"
    caches = tb.home / ".aider" / "caches"
    caches.mkdir(parents=True, exist_ok=True)
    shutil.copy(bundled[0], caches / "model_prices_and_context_window.json")
    tb.env["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"


@pytest.fixture
def proxy():
    server = RefusingProxy().start()
    yield server
    server.stop()


@pytest.fixture
def aider(logged_in, proxy) -> ToolBox:
    """A logged-in helper with nothing cached; aider offline but for the fake Copilot API,
    which here also wants the editor headers on chat completions."""
    tb = ToolBox(uncached(logged_in), proxy)
    tb.env["AIDER"] = str(tool("aider"))
    offline_model_prices(tb)
    tb.server.editor_header_paths.add("/chat/completions")
    tb.server.models, tb.server.strict_models = COPILOT_MODELS, True
    return tb


def run_aider(tb: ToolBox, launcher=LAUNCHER, ctrl_c_when=None) -> ToolRun:
    """The launcher to its end; or, with ``ctrl_c_when``, as a terminal's foreground job
    whose person presses Ctrl-C (SIGINT to the whole process group) once it holds."""
    result = tb.run([str(launcher), *FLAGS], timeout=BOUND, stop_when=ctrl_c_when,
                    stop_with=signal.SIGINT)
    if ctrl_c_when is not None:
        assert result.stopped, "aider ended before the condition held"
    assert not tb.offline(), f"aider tried to reach the internet: {tb.offline()}"
    return result


def test_a_start_reuses_the_token_until_a_401_then_drops_it(aider):
    """Two starts, minutes apart (each costs aider's seconds of imports): the first mints one
    token; the second reuses it and meets a 401 (the token died in between), so the launcher
    erases it and exits 1. The start after that is a first start again (nothing cached); the
    recovery through a launcher is the last test's."""
    server = aider.server
    before = server.exchanges
    first = run_aider(aider)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "hello" in first.stdout
    assert server.exchanges - before == 1
    minted = aider.cached_token()
    sent = aider.sent_headers("/chat/completions")[0]
    assert {k: sent.get(k) for k in COPILOT_HEADERS} == COPILOT_HEADERS

    aider.age_cached_token()  # minutes apart, and the token dies before the next request
    server.revoke_after_model_calls = server.model_calls  # the next model call is refused
    failed = run_aider(aider)
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert server.exchanges - before == 1, "the second start minted instead of reusing it"
    assert "not able to authenticate you" in failed.stdout  # aider's own words
    assert GIVE_UP in failed.stderr  # ours
    assert server.refused["/chat/completions"] == 1  # aider does not retry a 401
    assert aider.sent_tokens("/chat/completions") == [minted, minted]
    asked = "token --format env --min-ttl 1200"
    assert aider.helper_calls() == [asked, asked, "erase"]
    assert aider.box.state("copilot").get("token") is None  # the next start mints


def test_without_a_login_the_launcher_says_why_and_aider_never_starts(aider):
    aider.server.revoke_github()
    result = run_aider(aider)
    assert result.returncode == 1
    assert "run `git-credential-copilot login`" in result.stderr
    assert "Aider v" not in result.stdout
    assert aider.server.counts["/chat/completions"] == 0
    assert result.seconds < 10


def setup_launcher(tb: ToolBox):
    """`setup aider` writes its own launcher, ~/.local/bin/aider-PROFILE."""
    tb.setup("aider")
    uncached(tb.box)  # forget setup's own token
    return tb.home / ".local" / "bin" / "aider-copilot"


def test_the_launcher_setup_writes_sends_the_headers_and_recovers_after_an_enterprise_403(aider):
    """setup's own launcher, through the scenario it exists for, with Copilot Enterprise's
    answer for an expired token, 403 (the contrib launcher meets a 401 above; two aider
    starts, not four: each costs seconds of imports). aider (LiteLLM) takes a 403 for a
    passing error and retries it for about a minute; a person presses Ctrl-C, the launcher
    drops the token and fails; the next start mints one token and answers. Every request
    carries the headers."""
    launcher = setup_launcher(aider)
    server = aider.server
    server.expired_status = 403
    server.revoke_after_model_calls = 0
    before = server.exchanges
    failed = run_aider(aider, launcher,
                       ctrl_c_when=lambda: server.refused["/chat/completions"] >= 2)
    # 1, or aider's own 130 when the Ctrl-C caught it sleeping between retries (traceback)
    assert failed.returncode in (1, 130), failed.stdout + failed.stderr
    assert "token expired" in failed.stdout  # aider's retry messages
    assert GIVE_UP in failed.stderr
    assert server.exchanges - before == 1
    refused = aider.sent_tokens("/chat/completions")
    assert len(set(refused)) == 1 and len(refused) == server.refused["/chat/completions"] >= 2

    before = server.exchanges
    result = run_aider(aider, launcher)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "hello" in result.stdout
    assert server.exchanges - before == 1
    assert server.refused["/chat/completions"] == len(refused)  # no 403 after the recovery
    answered = aider.sent_tokens("/chat/completions")[len(refused):]
    assert answered == [aider.cached_token()] and answered[0] != refused[0]
    for sent in aider.sent_headers("/chat/completions"):
        assert {k: sent.get(k) for k in COPILOT_HEADERS} == COPILOT_HEADERS
