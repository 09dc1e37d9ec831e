"""RFC 8628 polling, against GitHub's dialect (errors as HTTP 200) and the RFC's (HTTP 400)."""

from __future__ import annotations

import pytest
import responses

from helper.net.transport import ServerError, Transport
from helper.oauth2 import rfc8628
from helper.oauth2.rfc6749 import InvalidClient

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


# -- what is sent ------------------------------------------------------------------------------

def sent(call: int = 0) -> dict[str, str]:
    """The form body of a request the client made, as the server reads it."""
    from urllib.parse import parse_qs

    body = responses.calls[call].request.body
    form = parse_qs(body if isinstance(body, str) else body.decode(), strict_parsing=True)
    assert all(len(values) == 1 for values in form.values()), form
    return {key: values[0] for key, values in form.items()}


DEVICE_ANSWER = {"device_code": "dev-code", "user_code": "U-1",
                 "verification_uri": "https://x/activate", "expires_in": 600}


@responses.activate
def test_the_device_authorization_request_sends_exactly_the_rfcs_parameters():
    responses.post(CODE_URL, json=DEVICE_ANSWER)
    rfc8628.request_code(Transport(), CODE_URL, "client")
    assert responses.calls[0].request.method == "POST"
    assert sent() == {"client_id": "client"}  # no empty scope, no empty secret


@responses.activate
def test_scope_secret_and_extra_parameters_are_sent_when_given():
    responses.post(CODE_URL, json=DEVICE_ANSWER)
    rfc8628.request_code(Transport(), CODE_URL, "client", scope="read:user",
                         client_secret="s3cret-of-the-client", extra={"audience": "api://x"})
    assert sent() == {"client_id": "client", "scope": "read:user",
                      "client_secret": "s3cret-of-the-client", "audience": "api://x"}


@pytest.mark.parametrize("secret, want", [("", {}), ("cs-value", {"client_secret": "cs-value"})])
@responses.activate
def test_each_poll_sends_the_grant_type_the_device_code_and_the_client(secret, want):
    responses.post(TOKEN_URL, json={"error": "authorization_pending"})
    responses.post(TOKEN_URL, json={"access_token": "gho_x"})
    rfc8628.poll(Transport(), TOKEN_URL, "client", code(), wait=FakeClock().sleep,
                 client_secret=secret, clock=FakeClock())
    for call in (0, 1):
        assert sent(call) == {"grant_type": "urn:ietf:params:oauth:grant-type:device_code",
                              "device_code": "dev", "client_id": "client", **want}


# -- what is read ------------------------------------------------------------------------------

@responses.activate
def test_the_device_authorization_response_is_read_field_by_field():
    responses.post(CODE_URL, json={**DEVICE_ANSWER, "interval": 7, "verification_url": "https://y",
                                   "verification_uri_complete": "https://x/activate?c=U-1"})
    got = rfc8628.request_code(Transport(), CODE_URL, "client")
    assert got == rfc8628.DeviceCode("dev-code", "U-1", "https://x/activate", 600, 7,
                                     "https://x/activate?c=U-1")


@responses.activate
def test_missing_optional_fields_take_the_rfcs_defaults():
    responses.post(CODE_URL, json={"device_code": "d", "user_code": "U",
                                   "verification_uri": "https://x"})
    got = rfc8628.request_code(Transport(), CODE_URL, "client")
    assert (got.expires_in, got.interval, got.verification_uri_complete) == (900, 5, "")


@pytest.mark.parametrize("interval, want", [(None, 5), (0, 5), (1, 1), (3, 3), (86400, 86400)])
@responses.activate
def test_the_interval_the_server_states(interval, want):
    body = {**DEVICE_ANSWER, **({} if interval is None else {"interval": interval})}
    responses.post(CODE_URL, json=body)
    assert rfc8628.request_code(Transport(), CODE_URL, "client").interval == want


@pytest.mark.parametrize("field, value, ok", [
    ("expires_in", 0, True), ("expires_in", 86400, True), ("expires_in", 86401, False),
    ("expires_in", -1, False), ("expires_in", True, False), ("interval", 86401, False),
    ("interval", False, False), ("interval", -1, False),
    ("user_code", "", False), ("device_code", "", False), ("verification_uri", "", False),
    ("verification_uri_complete", "https://x/\x1b[2J", False),
    ("device_code", ["dev"], False), ("user_code", {"U": 1}, False),
])
@responses.activate
def test_numbers_and_texts_out_of_range_are_refused(field, value, ok):
    responses.post(CODE_URL, json={**DEVICE_ANSWER, field: value})
    if ok:
        assert getattr(rfc8628.request_code(Transport(), CODE_URL, "client"), field) == value
    else:
        with pytest.raises(ServerError, match="fields RFC 8628 requires"):
            rfc8628.request_code(Transport(), CODE_URL, "client")


@pytest.mark.parametrize("length", [120, 121])
@responses.activate
def test_the_refusal_names_the_fields_it_got_in_at_most_120_characters(length):
    responses.post(CODE_URL, json={"x" * length: 1})
    with pytest.raises(ServerError) as e:
        rfc8628.request_code(Transport(), CODE_URL, "client")
    shown = "x" * length if length <= 120 else "x" * 119 + "…"
    assert f"({shown})" in str(e.value)


@pytest.mark.parametrize("status, body, error", [
    (400, {"error": "invalid_client"}, InvalidClient),
    (200, {"error": "unauthorized_client"}, rfc8628.OAuthError),  # GitHub: errors as 200
    (500, DEVICE_ANSWER, ServerError),  # the fields are there, the status says no
    (201, DEVICE_ANSWER, ServerError),
])
@responses.activate
def test_the_device_authorization_error_answers(status, body, error):
    responses.post(CODE_URL, status=status, json=body)
    clock = FakeClock()  # a 5xx is retried: on a clock that moves only when it waits
    with pytest.raises(error) as e:
        rfc8628.request_code(Transport(sleep=clock.sleep, clock=clock), CODE_URL, "client")
    if error is ServerError:
        assert f"HTTP {status}" in str(e.value)
    else:
        assert body["error"] in str(e.value)


def test_a_device_code_never_shows_its_device_code_and_cannot_change():
    import dataclasses

    device = rfc8628.DeviceCode("the-device-code-is-a-credential", "U-1", "https://x", 600)
    assert "the-device-code-is-a-credential" not in repr(device) and "U-1" in repr(device)
    with pytest.raises(dataclasses.FrozenInstanceError):
        device.interval = 0  # type: ignore[misc]


# -- when it polls ------------------------------------------------------------------------------

@responses.activate
def test_the_last_poll_may_end_exactly_at_the_deadline():
    responses.post(TOKEN_URL, json={"error": "authorization_pending"})
    waits = FakeClock(100.0)
    with pytest.raises(rfc8628.ExpiredToken):
        poll(code(interval=5, expires_in=10), waits)
    assert waits.sleeps == [5, 5] and len(responses.calls) == 2


@pytest.mark.parametrize("interval, want", [(0, 1), (1, 1), (2, 2)])
@responses.activate
def test_polls_are_never_closer_than_one_second(interval, want):
    responses.post(TOKEN_URL, json={"access_token": "gho_x"})
    waits = FakeClock()
    poll(code(interval=interval), waits)
    assert waits.sleeps == [want]


@pytest.mark.parametrize("stated, want", [(None, [5, 10]), (3, [5, 10]), (12, [5, 12]),
                                          ("soon", [5, 10]), (-4, [5, 10])])
@responses.activate
def test_slow_down_adds_5_seconds_or_takes_the_servers_longer_interval(stated, want):
    responses.post(TOKEN_URL, json={"error": "slow_down",
                                    **({} if stated is None else {"interval": stated})})
    responses.post(TOKEN_URL, json={"access_token": "gho_x"})
    waits = FakeClock()
    assert poll(code(interval=5), waits).access_token == "gho_x"
    assert waits.sleeps == want


@responses.activate
def test_an_error_page_is_said_as_the_status_it_came_with_not_as_garbage():
    responses.post(CODE_URL, status=404, body="<html><body>Not Found</body></html>")
    with pytest.raises(ServerError) as e:
        rfc8628.request_code(Transport(), CODE_URL, "client")
    assert str(e.value).startswith(f"{CODE_URL} answered HTTP 404 (")
    assert "garbage" not in str(e.value)


@pytest.mark.parametrize("interval, want", [(0, 5), (None, 5), (0.2, 5), (1, 1), (7, 7)])
@responses.activate
def test_poll_interval_is_never_a_tight_loop(interval, want):
    body = {"device_code": "d", "user_code": "U-1", "verification_uri": "https://x/a",
            "expires_in": 600}
    if interval is not None:
        body["interval"] = interval
    responses.post(CODE_URL, json=body)
    responses.post(TOKEN_URL, json={"error": "authorization_pending"})
    responses.post(TOKEN_URL, json={"access_token": "at_x", "token_type": "bearer"})
    code = rfc8628.request_code(Transport(), CODE_URL, "client")
    waits: list[float] = []
    rfc8628.poll(Transport(sleep=lambda s: None), TOKEN_URL, "client", code,
                 wait=waits.append, clock=lambda: sum(waits))
    assert waits == [want, want]


@responses.activate
def test_a_device_code_built_with_interval_zero_still_waits():
    responses.post(TOKEN_URL, json={"access_token": "at_x", "token_type": "bearer"})
    code = rfc8628.DeviceCode("d", "U", "https://x", 600, 0)
    waits: list[float] = []
    rfc8628.poll(Transport(), TOKEN_URL, "client", code, wait=waits.append,
                 clock=lambda: sum(waits))
    assert waits == [1]
