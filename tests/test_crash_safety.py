"""Crash safety: kill -9 at a fixed schedule of points of a Copilot refresh, an OAuth refresh
and a device flow; every file still parses, and the next get works or asks clearly for a
login.

CI keeps the counts small with CRASH_RUNS (default 30 per flow) and CRASH_DEVICE_RUNS
(default 6: each point once); CRASH_SEED picks where in its window each kill lands.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import time

import pytest

from conftest import expire_access_token, seed_oauth_login, timeouts

INTERACTIVE = {"GIT_CREDENTIAL_COPILOT_INTERACTIVE": "always"}
CORP = ("--profile", "corp")
EXCHANGE = "/copilot_internal/v2/token"

# Each run kills the helper at one point of a fixed schedule, so where the kills land does not
# depend on the machine's speed: "early" (a random moment in its first 50 ms: start-up, files,
# the lock), "held" (the server has the request and holds its answer: the kill lands mid-
# request, counted by the server), "answered" (a random moment up to 100 ms after the server
# answered: parsing, storing, printing). After every kill the files must parse and the next
# `get`, in process, must work or ask clearly for a login; a run that lost the login is
# re-seeded with a fresh one, so every run tests recovery from a live login.

RUNS = int(os.environ.get("CRASH_RUNS", "30"))
DEVICE_RUNS = int(os.environ.get("CRASH_DEVICE_RUNS", "6"))  # each point once (each waits 1 s)


def _all_files_parse(box) -> None:
    for directory in (box.state_dir, box.data_dir):
        if not directory.exists():
            continue
        for path in directory.glob("*.json"):
            json.loads(path.read_text())  # tmp files may be partial; the real ones never


def _arrived(server, proc) -> bool:
    """Whether the held request reached the server before the process ended (bounded)."""
    deadline = time.monotonic() + 30
    while not server.arrived.wait(0.02):
        if proc.poll() is not None:
            return False
        assert time.monotonic() < deadline, "the helper never reached the held endpoint"
    return True


def _kill(server, proc, path: str, when: str, rng: random.Random) -> str:
    """Kill -9 at the point (path, when); where it landed, or "finished" if it ended first."""
    server.hold_path = path if when != "early" else ""
    try:
        if when == "early":
            proc.wait(timeout=rng.uniform(0, 0.05))
            return "finished"
        if not _arrived(server, proc):
            return "finished"
        if when == "answered":
            server.release.set()
            proc.wait(timeout=rng.uniform(0, 0.1))
            return "finished"
    except subprocess.TimeoutExpired:
        pass
    proc.kill()
    proc.wait(timeout=10)
    return f"killed {when}"


def _kill_at_scheduled_points(box, args, env, stdin: bytes, prepare, points,
                              reseed=None, runs: int = RUNS):
    """Outcome counts, and per run (kill point, where the kill landed, next get ok)."""
    rng = random.Random(os.environ.get("CRASH_SEED", "git-credential-copilot"))
    # The kills land by schedule, not by the clock: give each request the time a machine with
    # every core busy may need (one that timed out would end its run before the kill).
    timeouts(box, http_timeout=30, retry_budget=2)
    outcomes = {"finished": 0, "killed early": 0, "killed held": 0, "killed answered": 0,
                "next get ok": 0, "next get asks to log in": 0, "re-seeded": 0}
    server = box.server
    log: list[tuple[tuple[str, str], str, bool]] = []
    for run in range(runs):
        path, when = points[run % len(points)]
        prepare()
        proc = box.start(*args, env=env)
        proc.stdin.write(stdin)
        proc.stdin.close()
        try:
            landed = _kill(server, proc, path, when, rng)
            outcomes[landed] += 1
        finally:
            server.hold_path = ""
            server.release.set()  # a held answer goes out, as a server would send it anyway
            # and before the next request, as a server handles them in order: a killed OAuth
            # refresh rotates the token first (else the next get's refresh could come first
            # and the late rotation count as its replay).
            if server.arrived.is_set():
                assert server.served.wait(30), "the server never finished the held request"
            proc.stdout.close()
            proc.stderr.close()
        server.arrived.clear()
        server.release.clear()
        server.served.clear()
        _all_files_parse(box)
        after = box.call(*args[:-1], "get", input=stdin)
        log.append(((path, when), landed, after.returncode == 0))
        if landed == "finished":  # a helper that ended on its own left everything usable
            assert after.returncode == 0, (path, when, after.stderr)
        if after.returncode == 0:
            outcomes["next get ok"] += 1
            continue
        assert "login" in after.stderr, after.stderr
        outcomes["next get asks to log in"] += 1
        if reseed is not None:
            reseed()
            outcomes["re-seeded"] += 1
            assert box.call(*args[:-1], "get", input=stdin).returncode == 0
    return outcomes, log


def _held(points, runs: int = RUNS) -> int:
    """How many runs the schedule killed while the server held the answer."""
    return sum(1 for run in range(runs) if points[run % len(points)][1] == "held")


@pytest.mark.slow
def test_kill_9_during_refresh_never_corrupts_anything(logged_in):
    box = logged_in
    points = [("", "early"), (EXCHANGE, "held"), (EXCHANGE, "answered")]

    def prepare():
        box.call("erase", input=box.credential())  # every run must exchange

    outcomes, log = _kill_at_scheduled_points(box, ("get",), {}, box.credential().encode(), prepare,
                                         points)
    assert outcomes["killed held"] == _held(points), outcomes  # landed mid-request
    assert outcomes["next get ok"] == RUNS, outcomes  # the GitHub login always survives
    assert box.server.exchanges >= RUNS  # every run's next get exchanged again


@pytest.mark.slow
def test_kill_9_during_a_device_flow_never_corrupts_anything(sandbox):
    box = sandbox
    box.server.auto_approve = True
    poll = "/login/oauth/access_token"
    points = [("", "early"), ("/login/device/code", "held"), (poll, "held"),
              (poll, "answered"), (EXCHANGE, "held"), (EXCHANGE, "answered")]

    def prepare():
        box.call("logout")

    outcomes, log = _kill_at_scheduled_points(box, ("get",), INTERACTIVE, box.credential().encode(),
                                         prepare, points, runs=DEVICE_RUNS)
    assert outcomes["killed held"] == _held(points, DEVICE_RUNS), outcomes
    assert outcomes["next get ok"] + outcomes["next get asks to log in"] == DEVICE_RUNS
    # Killed before the poll was answered, nothing was stored: the next get asks for a login.
    before_the_grant = {("", "early"), ("/login/device/code", "held"), (poll, "held")}
    assert not [run for run in log if run[0] in before_the_grant and run[2]], log
    # The login is stored before its first exchange: a kill from there on keeps it.
    assert all(run[2] for run in log if run[0] == (EXCHANGE, "held")), log


@pytest.mark.slow
def test_kill_9_during_an_oauth_refresh_keeps_a_usable_refresh_token(corp):
    seed_oauth_login(corp)
    server = corp.server
    points = [("", "early"), ("/token", "held"), ("/token", "answered")]

    def prepare():
        if (corp.state_dir / "corp.json").exists():
            expire_access_token(corp)

    def reseed():
        seed_oauth_login(corp)

    outcomes, log = _kill_at_scheduled_points(corp, (*CORP, "get"), {}, corp.credential().encode(),
                                         prepare, points, reseed)
    assert outcomes["killed held"] == _held(points), outcomes
    # A kill after the server rotated but before we stored the new refresh token loses the
    # family (the server revoked the old one): then the next get must ask to log in, clearly,
    # and a fresh login works again.
    assert outcomes["next get ok"] + outcomes["next get asks to log in"] == RUNS
    assert outcomes["re-seeded"] == outcomes["next get asks to log in"]
    assert server.replays <= outcomes["next get asks to log in"]
    assert server.refreshes >= RUNS  # every run refreshed from a live refresh token
