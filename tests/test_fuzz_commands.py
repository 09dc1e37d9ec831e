"""Fuzzing whole commands, in process (hypothesis): get, store and erase fed random bytes,
repeated and unknown keys, and url=/host= lines with tricky hosts never crash, store and erase
print nothing, and get never hands a token to a host no profile claims. The parser alone is
fuzzed in test_protocol. FUZZ_EXAMPLES (default 200) is the number of examples per test.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

KEYS = ["protocol", "host", "url", "path", "username", "password", "password_expiry_utc",
        "wwwauth[]", "capability[]", "", "=", "HOST"]
TRICKY_HOSTS = ["api.githubcopilot.com.evil.com", "evil.com%0d", "evil.com\r",
                "user@api.githubcopilot.com", "API.GITHUBCOPILOT.COM", "xn--api-8ya.com",
                "127.0.0.1", "127.0.0.1:1", "[::1]:80", "localhost", "", "a" * 300]


@st.composite
def credential_inputs(draw, box_host: str) -> bytes:
    hosts = st.sampled_from(TRICKY_HOSTS + [box_host, box_host.upper(), box_host + ".evil"])
    lines = []
    for _ in range(draw(st.integers(0, 8))):
        key = draw(st.sampled_from(KEYS))
        if key in ("host", "HOST"):
            value = draw(hosts)
        elif key == "url":
            value = f"{draw(st.sampled_from(['https', 'http', '']))}://{draw(hosts)}/x"
        else:
            value = draw(st.text(max_size=40))
        lines.append(f"{key}={value}")
    raw = "\n".join(lines).encode("utf-8", "surrogatepass")
    if draw(st.booleans()):
        raw += draw(st.binary(max_size=64))
    return raw


def _claimed(box) -> set[str]:
    return {box.server.host.lower()}


FUZZ = settings(max_examples=int(os.environ.get("FUZZ_EXAMPLES", "200")), deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])


@pytest.mark.slow  # hundreds of examples
@FUZZ
@given(data=st.data())
def test_fuzz_get_never_hands_a_token_to_an_unclaimed_host(logged_in, data):
    box = logged_in
    payload = data.draw(credential_inputs(box.server.host) | st.binary(max_size=512))
    result = box.call("get", input=payload)
    assert result.returncode in (0, 1), result.stderr
    assert "internal error" not in result.stderr
    if result.stdout:
        pairs = result.pairs()
        host = pairs["host"].lower()
        assert host in _claimed(box) or host == "", (payload, pairs)
        assert pairs["protocol"] in ("http", "https")


@pytest.mark.slow  # hundreds of examples
@FUZZ
@given(data=st.data(), action=st.sampled_from(["store", "erase"]))
def test_fuzz_store_and_erase_never_crash_or_print(logged_in, data, action):
    box = logged_in
    payload = data.draw(credential_inputs(box.server.host) | st.binary(max_size=512))
    result = box.call(action, input=payload)
    assert result.returncode in (0, 1), result.stderr
    assert result.stdout == ""
    assert "internal error" not in result.stderr
