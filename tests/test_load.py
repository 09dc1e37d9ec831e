"""Load: a crowd of `get` processes while the cached token goes stale every second.

CI runs LOAD_RACERS (default 60) processes; `LOAD_RACERS=200 scripts/test tests/test_load.py`
runs the full count. `benchmarks/bench.py --load 200` reports p50/p95 wall times.
"""

from __future__ import annotations

import math
import os
import time

import pytest

from conftest import require_executable

RACERS = int(os.environ.get("LOAD_RACERS", "60"))


@pytest.mark.slow
def test_a_crowd_with_the_cache_expiring_mid_run(logged_in):
    require_executable()
    box = logged_in
    box.server.refresh_in = 1  # every token is due for refresh a second after it is minted
    data = box.credential().encode()
    started = time.monotonic()
    procs = [box.start("get") for _ in range(RACERS)]
    answers = [p.communicate(data, timeout=180) for p in procs]
    wall = time.monotonic() - started
    failures = [err.decode() for (_, err), p in zip(answers, procs, strict=True)
                if p.returncode != 0]
    assert not failures, failures[:3]
    expiries = math.ceil(wall / box.server.refresh_in) + 1
    assert 1 <= box.server.exchanges <= expiries, (box.server.exchanges, expiries, wall)
    if wall > 3:  # the cache really expired mid-run, and the crowd refreshed again
        assert box.server.exchanges >= 2, (box.server.exchanges, wall)
    tokens = {dict(line.split("=", 1) for line in out.decode().splitlines())["password"]
              for out, _ in answers}
    assert tokens <= set(box.server.copilot_tokens)
