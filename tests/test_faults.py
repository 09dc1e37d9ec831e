"""Broken servers: each fault (500, 502, 503, 429 with Retry-After, a hang past the timeout, a
connection reset, truncated JSON, an HTML error page, a 200 without a token) on each endpoint
(device code, polling, exchange, refresh) is exit 1 and one line, within a bounded number of
requests (the server's count) and a bounded time, with the store untouched."""

from __future__ import annotations

import time

import pytest

from conftest import seed_oauth_login, timeouts, uncached
from fakeserver import Fault

INTERACTIVE = {"GIT_CREDENTIAL_COPILOT_INTERACTIVE": "always"}
CORP = ("--profile", "corp")


FAULTS = {
    "500": lambda: Fault(status=500),
    "502": lambda: Fault(status=502, body=b'{"message": "Bad Gateway"}'),
    "503": lambda: Fault(status=503, body=b""),
    "429 Retry-After": lambda: Fault(status=429, headers={"Retry-After": "1"}),
    "hang": lambda: Fault(action="hang", hang_seconds=4),
    "reset": lambda: Fault(action="reset"),
    "truncated JSON": lambda: Fault(status=200, body=b'{"token": "tid=abc;exp=1'),
    "HTML error page": lambda: Fault(status=500, headers={"Content-Type": "text/html"},
                                     body=b"<html><body><h1>500 Internal Error</h1></body></html>"),
    "200 without token": lambda: Fault(status=200, body=b'{"status": "ok"}'),
}


def _exchange(box):
    token = box.server.add_github_token()
    box.call("store", input=box.credential(host=box.login_host, password=token))
    uncached(box)  # the get must meet the fault, not the token the store's check minted
    return "/copilot_internal/v2/token", ("get",), {}


def _device_code(box):
    return "/login/device/code", ("get",), INTERACTIVE


def _polling(box):
    box.server.auto_approve = True
    return "/login/oauth/access_token", ("get",), INTERACTIVE


ENDPOINTS = {"exchange": _exchange, "device code": _device_code, "polling": _polling}


@pytest.mark.slow
@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_copilot_endpoint_faults(sandbox, endpoint, fault, instant_polls):
    path, args, env = ENDPOINTS[endpoint](sandbox)
    _assert_fails_cleanly(sandbox, path, args, env, fault, sandbox.credential())


@pytest.mark.slow
@pytest.mark.parametrize("fault", FAULTS)
def test_refresh_endpoint_faults(corp, fault):
    seed_oauth_login(corp)  # no access token cached: the get must refresh
    _assert_fails_cleanly(corp, "/token", (*CORP, "get"), {}, fault, corp.credential())


def _assert_fails_cleanly(box, path, args, env, fault, stdin):
    """In process: what is tested is the helper's answer to the server, not the process.
    Half-second timeout and retry budget, so the matrix is quick and the bound is tight (every
    answer is a fault: a timeout the machine's load causes fails the same clean way)."""
    timeouts(box, http_timeout=0.5, retry_budget=0.5)
    stored_before = {p: box.stored(p) for p in ("copilot", "corp")}
    box.server.inject(path, *[FAULTS[fault]() for _ in range(40)])
    started = time.monotonic()
    result = box.call(*args, input=stdin, env=env)
    elapsed = time.monotonic() - started
    assert result.returncode == 1 and result.stdout == ""
    last = result.stderr.splitlines()[-1]
    assert last.startswith("git-credential-copilot: ") and len(last) < 400
    assert elapsed < 10, elapsed  # http_timeout 0.5 s, retry_budget 0.5 s: a loose upper bound
    assert box.server.counts[path] <= 6
    assert {p: box.stored(p) for p in ("copilot", "corp")} == stored_before  # nothing lost
