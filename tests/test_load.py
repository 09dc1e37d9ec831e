"""Load: a crowd of `get` processes while the cached token goes stale every second; and what
a renewal costs: renewers of a fresh token never queue on the lock, and a refresh fsyncs
nothing (docs/performance.md quotes both).

CI runs LOAD_RACERS (default 60) processes; `LOAD_RACERS=200 scripts/test tests/test_load.py`
runs the full count. `benchmarks/bench.py --load 200` reports p50/p95 wall times.
"""

from __future__ import annotations

import json
import math
import os
import time

import pytest

from helper import osdeps
from helper.storage.lock import ProfileLock

from conftest import require_executable, timeouts, uncached
from procs import asking

RACERS = int(os.environ.get("LOAD_RACERS", "60"))


def _expire_the_cached_token(box) -> None:
    """Mark the cached token dead in place, as its expiry would: whoever reads the state
    file next must refresh."""
    path = box.state_dir / "copilot.json"
    state = box.state()
    state["token"]["expires_at"] = state["token"]["refresh_at"] = 1
    spare = path.with_name("copilot.json.test")
    spare.write_text(json.dumps(state))
    os.replace(spare, path)  # atomically, like the helper: a racer never reads half of it


@pytest.mark.slow
def test_a_crowd_with_the_cache_expiring_mid_run(logged_in):
    require_executable()
    box = uncached(logged_in)  # the first token below is minted with refresh_in = 1
    # Bounds for a crowd on two busy cores: this test is about one refresh for the crowd,
    # not about timeouts (tests/test_deadlines.py holds those), so no answer may be cut off.
    timeouts(box, http_timeout=30, retry_budget=30)
    box.server.refresh_in = 1  # every token is due for refresh a second after it is minted
    assert box.call("get", input=box.credential()).returncode == 0  # minted, then cached
    minted = box.server.exchanges
    data = box.credential().encode()
    started = time.monotonic()
    procs = [asking(box.start("get"), data) for _ in range(RACERS // 2)]
    _expire_the_cached_token(box)  # while the first half runs: the cache expires mid-run
    procs += [asking(box.start("get"), data) for _ in range(RACERS - RACERS // 2)]
    answers = [p.communicate(timeout=180) for p in procs]
    wall = time.monotonic() - started
    failures = [err.decode() for (_, err), p in zip(answers, procs, strict=True)
                if p.returncode != 0]
    assert not failures, failures[:3]
    # the second half read the dead token: the crowd refreshed, at most once per expiry
    # (each second of the run, and the one forced above)
    expiries = math.ceil(wall / box.server.refresh_in) + 1
    assert 1 <= box.server.exchanges - minted <= expiries, (box.server.exchanges, expiries, wall)
    tokens = {dict(line.split("=", 1) for line in out.decode().splitlines())["password"]
              for out, _ in answers}
    assert tokens <= set(box.server.copilot_tokens)


# -- renewers of a fresh token never queue on the lock; a refresh fsyncs no cache ----------


@pytest.mark.slow  # a crowd of 50
def test_fifty_renewers_of_a_fresh_token_do_not_queue_on_the_lock(logged_in):
    import time

    require_executable()
    box = logged_in
    token = box.run("token").stdout
    with ProfileLock(box.state_dir, "copilot", "get", lambda line: None):
        started = time.monotonic()
        procs = [box.start("token", "--renew") for _ in range(50)]
        outs = [p.communicate(timeout=120) for p in procs]
        took = time.monotonic() - started
    assert all(p.returncode == 0 for p in procs), [e for _, e in outs if e][:1]
    assert {out.decode() for out, _ in outs} == {token}
    assert box.server.exchanges == 1
    assert took < 60, took  # none waited for the lock (it was held throughout)


def test_a_refresh_fsyncs_nothing_but_a_login_it_stores(logged_in, monkeypatch):
    uncached(logged_in)  # the get below mints and caches a token
    calls = []
    real = os.fsync
    for module in (os, osdeps.native):  # the JSON files use os; the private primitives posix
        monkeypatch.setattr(module, "fsync", lambda fd: (calls.append(fd), real(fd))[1])
    assert logged_in.call("get", input=logged_in.credential()).returncode == 0
    assert logged_in.server.exchanges == 2 and calls == []  # the login's check, then this
    logged_in.call("logout")
    token = logged_in.server.add_github_token()
    logged_in.call("store", input=logged_in.credential(host=logged_in.login_host,
                                                       password=token))
    assert len(calls) == 2  # the login itself: the file and its directory
