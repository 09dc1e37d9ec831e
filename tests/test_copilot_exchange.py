"""The Copilot token exchange, unit-tested against recorded answers (responses); and a token's
lifetime taken from the server's clock, whatever the local clock says."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import responses

from helper.core import config
from helper.net.transport import ServerError, Transport
from helper.providers.base import GrantRevoked
from helper.providers.copilot import CopilotProvider, NoCopilotAccess
from helper.storage.records import Grant

from conftest import FakeClock, uncached

EXCHANGE = "https://api.github.com/copilot_internal/v2/token"


def provider() -> CopilotProvider:
    clock = FakeClock()  # retries wait out the budget on the fake clock, not in real time
    transport = Transport(budget=1, sleep=clock.sleep, clock=clock)
    return CopilotProvider(config.Config(path=None).profile("copilot"), transport,
                           Path("/nonexistent"))


def mint(grant: Grant | None = None):
    return provider().mint(grant or Grant(access_token="gho_" + "a" * 36))


@responses.activate
def test_exchange_sends_the_github_token_and_editor_headers():
    now = int(time.time())
    responses.get(EXCHANGE, json={"token": "tid=1", "expires_at": now + 1800, "refresh_in": 1500,
                                  "endpoints": {"api": "https://api.business.githubcopilot.com"}})
    token = mint().token
    assert token.token == "tid=1"
    assert token.api_base == "https://api.business.githubcopilot.com"
    assert now + 1490 <= token.refresh_at <= now + 1510
    headers = responses.calls[0].request.headers
    assert headers["Authorization"] == "token gho_" + "a" * 36
    for name in ("Editor-Version", "Editor-Plugin-Version", "User-Agent"):
        assert headers[name]


@responses.activate
def test_401_means_the_github_token_is_dead():
    responses.get(EXCHANGE, status=401, json={"message": "Bad credentials"})
    with pytest.raises(GrantRevoked):
        mint()
    assert len(responses.calls) == 1


@responses.activate
def test_403_shows_the_servers_reason():
    responses.get(EXCHANGE, status=403, json={"error_details": {
        "message": "Your Copilot seat was removed by your organization."}})
    with pytest.raises(NoCopilotAccess, match="seat was removed"):
        mint()


@responses.activate
def test_404_says_the_token_is_from_an_app_copilot_does_not_accept():
    responses.get(EXCHANGE, status=404, json={"message": "Not Found"})
    with pytest.raises(NoCopilotAccess, match="404"):
        mint()


@responses.activate
def test_5xx_is_retried_then_reported():
    responses.get(EXCHANGE, status=500)
    with pytest.raises(ServerError, match="HTTP 500"):
        mint()
    assert len(responses.calls) >= 2


@pytest.mark.parametrize("body, message", [
    ({"expires_at": 1}, "without a usable token"),
    ({"token": "", "expires_at": 1}, "without a usable token"),
    ({"token": "t"}, "numeric expires_at"),
    ({"token": "t", "expires_at": "soon"}, "numeric expires_at"),
    ({"token": "t", "expires_at": 2**31, "endpoints": {"api": "http://evil.example.com"}},
     "cannot be used"),
])
@responses.activate
def test_malformed_answers_are_one_clear_error(body, message):
    responses.get(EXCHANGE, json=body)
    with pytest.raises(ServerError, match=message):
        mint()


@responses.activate
def test_expiring_github_token_is_refreshed_before_the_exchange():
    responses.post("https://github.com/login/oauth/access_token",
                   json={"access_token": "ghu_new", "refresh_token": "ghr_new",
                         "expires_in": 28800, "refresh_token_expires_in": 15897600})
    responses.get(EXCHANGE, json={"token": "tid=2", "expires_at": int(time.time()) + 1800})
    old = Grant(access_token="ghu_old", refresh_token="ghr_old", expires_at=int(time.time()) - 1)
    minted = mint(old)
    assert minted.grant.access_token == "ghu_new" and minted.grant.refresh_token == "ghr_new"
    assert responses.calls[1].request.headers["Authorization"] == "token ghu_new"
    assert "refresh_token=ghr_old" in responses.calls[0].request.body


@responses.activate
def test_a_dead_github_refresh_token_means_the_grant_is_dead():
    responses.post("https://github.com/login/oauth/access_token",
                   json={"error": "bad_refresh_token"})
    old = Grant(access_token="ghu_old", refresh_token="ghr_old", expires_at=int(time.time()) - 1)
    with pytest.raises(GrantRevoked, match="bad_refresh_token"):
        mint(old)


# -- freshness from the server's clock -----------------------------------------------------


@pytest.mark.parametrize("offset", [3 * 3600, -3 * 3600], ids=["server-ahead", "server-behind"])
def test_a_clock_hours_off_neither_re_mints_nor_hands_out_dead_tokens(logged_in, offset):
    """The first get mints at a server whose clock is hours off (the token the login's check
    cached is forgotten first: it was minted before the offset, at an earlier moment than
    ``before``); the second reuses that token."""
    box = uncached(logged_in)
    box.server.clock_offset = offset
    exchanges, before = box.server.exchanges, time.time()
    first = box.call("get", input=box.credential()).pairs()
    second = box.call("get", input=box.credential()).pairs()
    assert first["password"] == second["password"] and box.server.exchanges - exchanges == 1
    expiry = int(first["password_expiry_utc"])  # on the local clock, as git compares it
    assert before + box.server.copilot_ttl - 5 <= expiry <= time.time() + box.server.copilot_ttl


def test_without_a_date_header_refresh_in_bounds_the_lifetime():
    from helper.providers.copilot import local_times

    now = 1_000_000
    # local clock 3 h behind: expires_at looks 3.5 h away, refresh_in says 25 min
    assert local_times(now, now + 3 * 3600 + 1800, 1500, None) == (now + 1560, now + 1500)
    # with a Date, expires_at minus Date is the lifetime, whatever the local clock says
    assert local_times(now, 5_000_000 + 1800, 1500, 5_000_000) == (now + 1800, now + 1500)
