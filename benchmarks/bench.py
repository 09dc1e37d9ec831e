"""Benchmarks for the two hot spots: the cached ``get`` and a crowd refreshing at once.

Run: ``.venv/bin/python benchmarks/bench.py`` (after ``scripts/test`` or
``pip install -e .[test]``). Everything runs against the fake server on 127.0.0.1.

1. Cached ``get`` vs bare ``python -c pass`` with the same interpreter, interleaved run by run
   so machine noise hits both alike; prints both medians and their ratio (goal: <= 2.0).
2. N racers (default 64) run ``get`` at once on an empty cache; prints how many exchanges the
   server saw (goal: exactly 1) and the wall time, with p50/p95 of each racer's time.
3. ``--load N`` (default 200): N racers while every token goes stale a second after it is
   minted; prints exchanges against the number of expiries (goal: exchanges <= expiries),
   and p50/p95 of each racer's time (how long lock waits made them).
"""

from __future__ import annotations

import argparse
import math
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from conftest import DEFAULT_CONFIG, EXE, Sandbox, sandbox_env  # noqa: E402
from fakeserver import FakeGitHub  # noqa: E402


def timed(argv: list[str], env: dict, data: bytes) -> float:
    start = time.perf_counter()
    proc = subprocess.run(argv, input=data, capture_output=True, env=env, check=False)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{argv[0]} failed: {proc.stderr.decode()}")
    return elapsed


def cached_get(box: Sandbox, rounds: int) -> None:
    data = box.credential().encode()
    assert box.run("get", input=data).returncode == 0
    exchanges = box.server.exchanges
    # As most users run it: no config file, the built-in profile, a host it claims.
    plain_env = {k: v for k, v in box.env.items() if k != "GIT_CREDENTIAL_COPILOT_CONFIG"}
    plain = b"protocol=https\nhost=api.githubcopilot.com\n\n"
    bare, configured, default = [], [], []
    for _ in range(rounds):
        bare.append(timed([sys.executable, "-c", "pass"], box.env, b""))
        configured.append(timed([str(EXE), "get"], box.env, data))
        default.append(timed([str(EXE), "get"], plain_env, plain))
    b = statistics.median(bare)
    for label, times in (("no config file", default), ("with a config file", configured)):
        o = statistics.median(times)
        print(f"cached get, {label}: median {o * 1000:.1f} ms; python -c pass: median "
              f"{b * 1000:.1f} ms; ratio {o / b:.2f} (goal <= 2.0)")
    print(f"  ({rounds} interleaved runs each; exchanges during the runs: "
          f"{box.server.exchanges - exchanges})")


def crowd(box: Sandbox, count: int) -> tuple[int, set[bytes], float, list[float]]:
    """Start ``count`` gets at once; exchanges, distinct answers, wall time, racer times."""
    before = box.server.exchanges
    data = box.credential().encode()
    start = time.perf_counter()
    procs = [(time.perf_counter(), box.start("get")) for _ in range(count)]
    times, tokens = [], set()
    for started, proc in procs:
        out, err = proc.communicate(data, timeout=300)
        times.append(time.perf_counter() - started)
        if proc.returncode != 0:
            raise SystemExit(f"a racer failed: {err.decode()}")
        tokens.add(out)
    return box.server.exchanges - before, tokens, time.perf_counter() - start, sorted(times)


def percentiles(times: list[float]) -> str:
    p95 = times[max(0, math.ceil(len(times) * 0.95) - 1)]
    return f"per-racer p50 {statistics.median(times) * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms"


def racers(box: Sandbox, count: int) -> None:
    assert box.run("erase", input=box.credential()).returncode == 0
    exchanges, tokens, wall, times = crowd(box, count)
    print(f"{count} racers on an empty cache: {exchanges} exchange(s) (goal: 1), "
          f"{len(tokens)} distinct answer(s), wall {wall:.2f} s, {percentiles(times)}")


def load(box: Sandbox, count: int) -> None:
    box.server.refresh_in = 1
    assert box.run("erase", input=box.credential()).returncode == 0
    exchanges, _, wall, times = crowd(box, count)
    expiries = math.ceil(wall) + 1
    print(f"{count} racers, token stale every 1 s: {exchanges} exchange(s) for {expiries} "
          f"expiries (goal: <=), wall {wall:.2f} s, {percentiles(times)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--racers", type=int, default=64)
    parser.add_argument("--load", type=int, default=200)
    args = parser.parse_args()
    server = FakeGitHub().start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            box = Sandbox(root=Path(tmp), server=server, env=sandbox_env(Path(tmp)))
            box.write_config(DEFAULT_CONFIG)
            token = server.add_github_token()
            store = box.credential(host=box.login_host, password=token)
            assert box.run("store", input=store).returncode == 0
            cached_get(box, args.rounds)
            racers(box, args.racers)
            load(box, args.load)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
