"""HTTP retries: bounded by a time budget, honouring Retry-After, never following redirects."""

from __future__ import annotations

import pytest
import requests
import responses

from helper.net.transport import ServerError, Transport

from conftest import FakeClock

URL = "https://api.example.com/x"


def transport(budget: float = 20.0) -> tuple[Transport, FakeClock]:
    t = FakeClock()
    return Transport(timeout=5, budget=budget, sleep=t.sleep, clock=t,
                     jitter=lambda: 0.5), t


@responses.activate
def test_transient_errors_are_retried_with_exponential_backoff():
    for status in (502, 503, 500):
        responses.get(URL, status=status)
    responses.get(URL, json={"ok": True})
    tr, t = transport()
    assert tr.request("GET", URL).json() == {"ok": True}
    assert t.sleeps == [0.5, 1.0, 2.0]
    assert len(responses.calls) == 4


@responses.activate
def test_the_budget_bounds_total_time_and_attempts():
    responses.get(URL, status=502)
    tr, t = transport(budget=20)
    with pytest.raises(ServerError, match=r"kept failing \(HTTP 502\) after \d+ attempts"):
        tr.request("GET", URL)
    assert sum(t.sleeps) <= 20
    assert len(responses.calls) == 6  # 0.5+1+2+4+8 = 15.5 s of waiting; 16 more would not fit


@responses.activate
def test_retry_after_is_honoured():
    responses.get(URL, status=429, headers={"Retry-After": "7"})
    responses.get(URL, json={})
    tr, t = transport()
    tr.request("GET", URL)
    assert t.sleeps == [7.0]


@responses.activate
def test_retry_after_beyond_the_budget_gives_up_at_once_and_says_so():
    responses.get(URL, status=429, headers={"Retry-After": "3600"})
    tr, t = transport()
    with pytest.raises(ServerError, match="asked to wait 3600 s"):
        tr.request("GET", URL)
    assert t.sleeps == [] and len(responses.calls) == 1


@responses.activate
def test_a_2xx_that_is_not_json_is_transient():
    responses.get(URL, body="<html>maintenance</html>", status=200)
    responses.get(URL, json={"token": "x"})
    tr, _ = transport()
    assert tr.request("GET", URL).json() == {"token": "x"}


@responses.activate
def test_connection_errors_are_retried_and_translated():
    responses.get(URL, body=requests.ConnectionError("Connection refused"))
    tr, _ = transport(budget=3)
    with pytest.raises(ServerError, match="connection refused"):
        tr.request("GET", URL)
    assert len(responses.calls) >= 2


@responses.activate
def test_timeouts_are_retried_and_translated():
    responses.get(URL, body=requests.ReadTimeout())
    tr, _ = transport(budget=1)
    with pytest.raises(ServerError, match="no answer within 5 s"):
        tr.request("GET", URL)


@responses.activate
def test_client_errors_are_returned_not_retried():
    responses.get(URL, status=401, json={"message": "Bad credentials"})
    tr, t = transport()
    assert tr.request("GET", URL).status == 401
    assert t.sleeps == []


@responses.activate
def test_redirects_are_not_followed():
    responses.get(URL, status=302, headers={"Location": "https://evil.example.com/"})
    tr, _ = transport()
    assert tr.request("GET", URL).status == 302
    assert len(responses.calls) == 1


@responses.activate
def test_timeouts_and_5xx_keep_their_retry_budget():
    responses.post("https://api.example.com/t", status=503)
    slept: list[float] = []
    now = [0.0]

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    with pytest.raises(ServerError, match="kept failing"):
        Transport(budget=20, sleep=sleep, clock=lambda: now[0]).request(
            "POST", "https://api.example.com/t")
    assert len(slept) >= 4 and sum(slept) <= 20
