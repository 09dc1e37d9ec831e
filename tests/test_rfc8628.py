"""RFC 8628 polling, against GitHub's dialect (errors as HTTP 200) and the RFC's (HTTP 400)."""

from __future__ import annotations

import pytest
import responses

from helper.oauth2 import rfc8628
from helper.oauth2.rfc6749 import InvalidClient
from helper.net.transport import ServerError, Transport

from conftest import FakeClock

CODE_URL = "https://idp.example.com/device"
TOKEN_URL = "https://idp.example.com/token"


def code(interval: int = 5, expires_in: int = 900) -> rfc8628.DeviceCode:
    return rfc8628.DeviceCode("dev", "ABCD-1234", "https://idp.example.com/activate",
                              expires_in, interval)


def poll(device_code: rfc8628.DeviceCode, waits: FakeClock):
    return rfc8628.poll(Transport(sleep=lambda s: None), TOKEN_URL, "client", device_code,
                        wait=waits.sleep, clock=waits)


@pytest.mark.parametrize("error_status", [200, 400])
@responses.activate
def test_pending_then_slow_down_then_success(error_status):
    responses.post(TOKEN_URL, status=error_status, json={"error": "authorization_pending"})
    responses.post(TOKEN_URL, status=error_status, json={"error": "slow_down"})
    responses.post(TOKEN_URL, status=error_status, json={"error": "authorization_pending"})
    responses.post(TOKEN_URL, json={"access_token": "gho_x", "token_type": "bearer"})
    waits = FakeClock()
    answer = poll(code(interval=5), waits)
    assert answer.access_token == "gho_x"
    assert waits.sleeps == [5, 5, 10, 10]  # slow_down adds 5 s for this and all later polls
    sent = responses.calls[0].request.body
    assert "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code" in sent


@responses.activate
def test_googles_dialect_428_pending_and_403_slow_down():
    responses.post(TOKEN_URL, status=428, json={"error": "authorization_pending"})
    responses.post(TOKEN_URL, status=403, json={"error": "slow_down"})
    responses.post(TOKEN_URL, json={"access_token": "ya29.x", "expires_in": 3599})
    waits = FakeClock()
    assert poll(code(interval=5), waits).access_token == "ya29.x"
    assert waits.sleeps == [5, 5, 10]


@responses.activate
def test_google_verification_url_and_extra_parameters():
    responses.post(CODE_URL, json={"device_code": "d", "user_code": "U-1", "expires_in": 1800,
                                   "verification_url": "https://www.google.com/device"})
    got = rfc8628.request_code(Transport(), CODE_URL, "client", extra={"audience": "api://x"})
    assert got.verification_uri == "https://www.google.com/device"
    assert "audience=api%3A%2F%2Fx" in responses.calls[0].request.body


@responses.activate
def test_github_slow_down_with_its_own_interval_is_obeyed():
    responses.post(TOKEN_URL, json={"error": "slow_down", "interval": 15})
    responses.post(TOKEN_URL, json={"access_token": "gho_x"})
    waits = FakeClock()
    poll(code(interval=5), waits)
    assert waits.sleeps == [5, 15]


@pytest.mark.parametrize("error, cls", [
    ("expired_token", rfc8628.ExpiredToken),
    ("access_denied", rfc8628.AccessDenied),
    ("invalid_client", InvalidClient),
])
@responses.activate
def test_terminal_errors_end_the_flow(error, cls):
    responses.post(TOKEN_URL, status=400, json={"error": error, "error_description": "nope"})
    with pytest.raises(cls, match=error):
        poll(code(), FakeClock())


@responses.activate
def test_an_unknown_error_code_is_still_one_clear_error():
    responses.post(TOKEN_URL, json={"error": "device_flow_disabled"})
    with pytest.raises(rfc8628.OAuthError, match="device_flow_disabled"):
        poll(code(), FakeClock())


@responses.activate
def test_the_code_expiring_while_pending_ends_the_flow_without_overshooting():
    responses.post(TOKEN_URL, json={"error": "authorization_pending"})
    waits = FakeClock()
    with pytest.raises(rfc8628.ExpiredToken):
        poll(code(interval=5, expires_in=12), waits)
    assert waits.sleeps == [5, 5]


@responses.activate
def test_request_code_parses_the_response_and_defaults_the_interval():
    responses.post(CODE_URL, json={"device_code": "d", "user_code": "U-1",
                                   "verification_uri": "https://x/activate", "expires_in": 600})
    got = rfc8628.request_code(Transport(), CODE_URL, "client", "read:user")
    assert (got.user_code, got.interval, got.expires_in) == ("U-1", 5, 600)
    assert "scope=read%3Auser" in responses.calls[0].request.body


@pytest.mark.parametrize("body", [
    {"user_code": "U-1", "verification_uri": "https://x"},
    {"device_code": 5, "user_code": "U", "verification_uri": "https://x"},
    {"device_code": "d", "user_code": "U\x1b[2J", "verification_uri": "https://x"},
    {"device_code": "d", "user_code": "U", "verification_uri": "https://x", "interval": "soon"},
])
@responses.activate
def test_request_code_refuses_malformed_answers(body):
    responses.post(CODE_URL, json=body)
    with pytest.raises(ServerError, match="fields RFC 8628 requires"):
        rfc8628.request_code(Transport(), CODE_URL, "client")


@responses.activate
def test_request_code_html_error_page_is_one_line():
    responses.post(CODE_URL, status=404, body="<html><body>Not Found</body></html>")
    with pytest.raises(ServerError, match="HTTP 404"):
        rfc8628.request_code(Transport(), CODE_URL, "client")
