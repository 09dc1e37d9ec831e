"""Offline is said at once: a host that cannot be reached at all (connection refused, a proxy
that refuses) fails in well under 5 s with one line naming the host and the network, DNS or
the proxy. Timeouts, 429 and 5xx keep their retry budget (test_transport)."""

from __future__ import annotations

from conftest import point_exchange_at, uncached


def _closed_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_an_unreachable_host_fails_fast_naming_it_and_the_network(logged_in):
    import time

    uncached(logged_in)
    point_exchange_at(logged_in, f"http://127.0.0.1:{_closed_port()}", budget=20)
    started = time.monotonic()
    result = logged_in.run("get", input=logged_in.credential(), timeout=60)
    took = time.monotonic() - started
    assert result.returncode == 1, result.stderr
    line = result.stderr.strip()
    assert len(line.splitlines()) == 1 and "cannot reach 127.0.0.1" in line, line
    assert "network" in line and took < 5, (took, line)


def test_an_unreachable_proxy_is_named(logged_in):
    import time

    uncached(logged_in)
    point_exchange_at(logged_in, logged_in.server.url, budget=20)
    proxy = f"http://127.0.0.1:{_closed_port()}"
    started = time.monotonic()
    result = logged_in.run("get", input=logged_in.credential(), timeout=60,
                           env={"HTTP_PROXY": proxy, "http_proxy": proxy})
    took = time.monotonic() - started
    assert result.returncode == 1 and "proxy" in result.stderr and "HTTP" in result.stderr
    assert took < 5, took
    assert logged_in.server.exchanges == 1  # the login's check at store; none through the proxy
