"""The oauth provider and discovery against recorded answers: bad servers are one clear line."""

from __future__ import annotations

from pathlib import Path

import pytest
import responses

from helper.core import config
from helper.errors import CredentialError
from helper.net.transport import Transport
from helper.oauth2 import rfc8414
from helper.providers.base import GrantRevoked
from helper.providers.oauth import OAuthProvider
from helper.storage.records import Grant

from conftest import FakeClock

ISSUER = "https://idp.example.com"
TOKEN = f"{ISSUER}/oauth/token"


def provider(tmp_path: Path, **keys) -> OAuthProvider:
    profile = config.Profile(name="corp", provider="oauth", client_id="c",
                             scope="openid offline_access",
                             settings={"device_authorization_url": f"{ISSUER}/oauth/device",
                                       "token_url": TOKEN, **keys})
    clock = FakeClock()  # retries wait out the budget on the fake clock, not in real time
    return OAuthProvider(profile, Transport(budget=1, sleep=clock.sleep, clock=clock), tmp_path)


def mint(tmp_path, refresh="rt_old"):
    return provider(tmp_path).mint(Grant(refresh_token=refresh))


@responses.activate
def test_refresh_sends_the_grant_and_returns_rotation(tmp_path):
    responses.post(TOKEN, json={"access_token": "at_1", "expires_in": 600,
                                "refresh_token": "rt_new"})
    minted = mint(tmp_path)
    assert minted.token.token == "at_1" and minted.grant.refresh_token == "rt_new"
    body = responses.calls[0].request.body
    assert "grant_type=refresh_token" in body and "refresh_token=rt_old" in body


@pytest.mark.parametrize("status, body", [
    (400, {"error": "invalid_grant"}),
    (401, {"error": "invalid_client"}),
    (400, "<html><body>Bad Request</body></html>"),
    (401, ""),
    (400, {"foo": "no error code"}),
])
@responses.activate
def test_a_400_or_401_from_the_refresh_means_the_refresh_token_is_dead(tmp_path, status, body):
    kwargs = {"json": body} if isinstance(body, dict) else {"body": body}
    responses.post(TOKEN, status=status, **kwargs)
    with pytest.raises(GrantRevoked) as info:
        mint(tmp_path)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("kwargs, message", [
    ({"json": {"token_type": "Bearer"}}, "without a usable access_token"),
    ({"json": {"access_token": 42}}, "without a usable access_token"),
    ({"json": {"access_token": "at", "expires_in": "soon"}}, "malformed expires_in"),
    ({"json": {"access_token": "at", "refresh_token": ["x"]}}, "malformed refresh_token"),
    ({"json": ["not", "an", "object"]}, "not an object"),
    ({"status": 500, "body": "<html>Internal Server Error</html>"}, "HTTP 500"),
    ({"status": 200, "body": "<html>login page</html>"}, "not JSON"),
    ({"status": 400, "json": {"error": "temporarily_unavailable"}}, "temporarily_unavailable"),
])
@responses.activate
def test_bad_answers_are_one_clear_error_that_keeps_the_refresh_token(tmp_path, kwargs, message):
    responses.post(TOKEN, **kwargs)
    with pytest.raises(CredentialError, match=message) as info:
        mint(tmp_path)
    assert not isinstance(info.value, GrantRevoked)
    assert "\n" not in str(info.value)


def test_a_login_without_refresh_token_is_dead_once_the_access_token_expires(tmp_path):
    with pytest.raises(GrantRevoked, match="offline_access"):
        provider(tmp_path).mint(Grant(access_token="at_only"))


@pytest.mark.parametrize("issuer, urls", [
    ("https://idp.example.com", ["https://idp.example.com/.well-known/openid-configuration",
                                 "https://idp.example.com/.well-known/oauth-authorization-server"]),
    ("https://idp.example.com/realms/corp", [
        "https://idp.example.com/realms/corp/.well-known/openid-configuration",
        "https://idp.example.com/.well-known/oauth-authorization-server/realms/corp",
        "https://idp.example.com/realms/corp/.well-known/oauth-authorization-server"]),
])
def test_well_known_urls(issuer, urls):
    assert rfc8414.well_known_urls(issuer) == urls


@responses.activate
def test_a_document_for_another_issuer_is_not_used():
    responses.get(f"{ISSUER}/.well-known/openid-configuration", json={
        "issuer": "https://evil.example.com", "device_authorization_endpoint": f"{ISSUER}/d",
        "token_endpoint": f"{ISSUER}/t"})
    responses.get(f"{ISSUER}/.well-known/oauth-authorization-server", status=404)
    with pytest.raises(rfc8414.DiscoveryError, match="evil.example.com.*token_url"):
        rfc8414.fetch(Transport(), ISSUER)


@responses.activate
def test_a_document_without_a_device_endpoint_says_which_key(tmp_path):
    responses.get(f"{ISSUER}/.well-known/openid-configuration",
                  json={"issuer": ISSUER, "token_endpoint": f"{ISSUER}/t"})
    responses.get(f"{ISSUER}/.well-known/oauth-authorization-server", status=404)
    with pytest.raises(rfc8414.DiscoveryError, match="device_authorization_endpoint"):
        rfc8414.fetch(Transport(), ISSUER)


@responses.activate
def test_a_stale_cache_is_used_when_the_issuer_is_down(tmp_path):
    import json

    cache = tmp_path / "d.json"
    cache.write_text(json.dumps({"issuer": ISSUER, "fetched_at": 0,
                                 "device_authorization_endpoint": f"{ISSUER}/d",
                                 "token_endpoint": f"{ISSUER}/t"}))
    cache.chmod(0o600)
    responses.get(f"{ISSUER}/.well-known/openid-configuration", status=503)
    notices = []
    clock = FakeClock()
    found = rfc8414.discover(Transport(budget=0.5, sleep=clock.sleep, clock=clock), ISSUER,
                             cache, notices.append)
    assert found.token_endpoint == f"{ISSUER}/t" and "cached endpoints" in notices[0]
