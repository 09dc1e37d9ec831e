"""Benchmarks for the two hot spots: the cached ``get`` and a crowd refreshing at once.

Run from a checkout: ``python3 benchmarks/bench.py`` (any Python >= 3.10 with venv and pip).
It installs a copy of the checkout with ``install.sh`` under a temporary HOME (a regular,
non-editable ``pip install`` into a fresh venv, and install.sh's launcher), so the figures
are what a user's install costs, and runs everything against the project's fake GitHub /
Copilot server on 127.0.0.1 (tests/fakeserver.py): no network is needed beyond the package
registry for the install.

1. Cached ``get`` and ``token``, through the installed ``git-credential-copilot`` command,
   interleaved run by run with the same venv's ``python -c pass`` (the interpreter's own
   start, the physical floor) so machine noise hits all alike, in shuffled order each round.
   Cases: no config file; a 10-profile config file; a host the profile remembered from the
   exchange's ``endpoints.api``; 100 and 1000 profiles (the slope per profile). Prints the
   median, min and max of each, its ratio to ``python -c pass`` (goal <= 1.3) and the peak
   RSS (the largest of 5 separate runs under GNU ``/usr/bin/time``) against ``python -c
   pass``'s (goal <= 1.1).
2. N racers (default 64) run ``get`` at once on an empty cache; prints how many exchanges the
   server saw (goal: exactly 1) and the wall time, with p50/p95 of each racer's time.
3. ``--load N`` (default 200): N racers while every token goes stale a second after it is
   minted; prints exchanges against the number of expiries (goal: exchanges <= expiries).
"""

from __future__ import annotations

import argparse
import datetime
import math
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

from fakeserver import FakeGitHub  # noqa: E402

COPILOT_HOST = "api.githubcopilot.com"


# -- the install -------------------------------------------------------------------------------

def fresh_install(where: Path) -> Path:
    """A new install of this checkout by install.sh (a regular pip install into a new venv,
    and install.sh's launcher), under ``where``; returns the venv's bin directory. The
    launcher is ``where/home/.local/bin/git-credential-copilot``."""
    # Install from a copy: a build in the checkout would leave build/ and *.egg-info behind.
    src = where / "src"
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(
        ".git", ".venv", ".tools", "build", "dist", "*.egg-info", "__pycache__",
        ".pytest_cache"))
    (where / "home").mkdir()
    env = {**os.environ, "HOME": str(where / "home"), "XDG_DATA_HOME": str(where / "data"),
           "PYTHON": sys.executable}
    env.pop("VIRTUAL_ENV", None)
    run = subprocess.run(["sh", str(src / "install.sh")], env=env, capture_output=True,
                         text=True, check=False)
    check(run.returncode == 0, f"install.sh failed:\n{run.stdout}{run.stderr}")
    (venv,) = (where / "data" / "git-credential-copilot-venv").iterdir()
    return venv / "bin"


# -- timing one process ------------------------------------------------------------------------

def run_once(argv: list[str], env: dict, data: bytes) -> tuple[float, int, bytes]:
    """Wall time, peak RSS (KiB, see peak_rss) and stdout of one process, reaped with wait4()."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env)
    if data:
        proc.stdin.write(data)
    proc.stdin.close()
    out, err = proc.stdout.read(), proc.stderr.read()  # both small: no deadlock
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    proc.stdout.close()
    proc.stderr.close()
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({proc.returncode}): "
                         f"{err.decode(errors='replace')}")
    return elapsed, usage.ru_maxrss, out


def peak_rss(argv: list[str], env: dict, data: bytes, runs: int = 5) -> int | None:
    """Peak RSS in KiB, through GNU time: a child forked by this (large) process inherits its
    high-water mark across exec, so wait4's figure here would be this process's size."""
    gnu_time = shutil.which("time", path="/usr/bin:/bin")
    if gnu_time is None:
        return None
    peaks = []
    with tempfile.NamedTemporaryFile() as out:
        for _ in range(runs):
            run_once([gnu_time, "-f", "%M", "-o", out.name, *argv], env, data)
            peaks.append(int(Path(out.name).read_text().split()[-1]))
    return max(peaks)


class Case:
    def __init__(self, label: str, argv: list[str], env: dict, data: bytes = b""):
        self.label, self.argv, self.env, self.data = label, argv, env, data
        self.times: list[float] = []

    def run(self) -> bytes:
        elapsed, _, out = run_once(self.argv, self.env, self.data)
        self.times.append(elapsed)
        return out

    def peak_rss(self) -> int | None:
        return peak_rss(self.argv, self.env, self.data)

    @property
    def median(self) -> float:
        return statistics.median(self.times)


# -- the sandbox -------------------------------------------------------------------------------

def profiles_config(server: FakeGitHub, count: int, claim_host: bool) -> str:
    """``count`` profiles; ``copilot`` talks to the fake server, the others never run."""
    lines = ['store = "file"', "http_timeout = 2", "retry_budget = 2", ""]
    lines += ["[profiles.copilot]", f'github_url = "http://localhost:{server.port}"',
              f'api_url = "{server.url}"']
    if claim_host:
        lines.append(f'hosts = ["{server.host}"]')
    for i in range(1, count):
        lines += ["", f"[profiles.other{i}]", 'provider = "oauth"',
                  f'issuer = "https://idp{i}.example.com"', f'client_id = "client-{i}"',
                  f'hosts = ["llm{i}.example.com"]', f'api_base = "https://llm{i}.example.com/v1"']
    return "\n".join(lines) + "\n"


def sandbox_env(root: Path, bin_dir: Path, config: Path | None) -> dict:
    env = {
        "PATH": f"{bin_dir}{os.pathsep}/usr/bin:/bin",
        "HOME": str(root / "home"),
        "LANG": "C.UTF-8",
        "XDG_CONFIG_HOME": str(root / "config"),
        "XDG_STATE_HOME": str(root / "state"),
        "XDG_DATA_HOME": str(root / "data"),
        "XDG_CACHE_HOME": str(root / "cache"),
        "GIT_CREDENTIAL_COPILOT_INTERACTIVE": "never",
    }
    if config is not None:
        env["GIT_CREDENTIAL_COPILOT_CONFIG"] = str(config)
    return env


def credential(host: str, protocol: str = "https", **extra: str) -> bytes:
    lines = [f"protocol={protocol}", f"host={host}", *(f"{k}={v}" for k, v in extra.items())]
    return ("\n".join(lines) + "\n\n").encode()


def check(condition: bool, message: str) -> None:
    if not condition:
        raise SystemExit(f"bench: {message}")


# -- 1. the cached get -------------------------------------------------------------------------

def cached_cases(server: FakeGitHub, root: Path, bin_dir: Path) -> list[Case]:
    exe = str(bin_dir / "git-credential-copilot")
    configs = {}
    for count, claim in ((1, True), (10, True), (10, False), (100, True), (1000, True)):
        path = root / f"config-{count}-{'claims' if claim else 'remembers'}.toml"
        path.write_text(profiles_config(server, count, claim))
        # Dated back, as a config in use is: the helper keeps no routes for a config file
        # changed within the last second, and the warm-up runs below would all fall in it.
        os.utime(path, (time.time() - 60, time.time() - 60))
        configs[count, claim] = path
    # Log in and mint once, so every case below finds a fresh token in the state file.
    seed = sandbox_env(root, bin_dir, configs[1, True])
    login = credential(f"localhost:{server.port}", "http", username="octocat",
                       password=server.add_github_token())
    run_once([exe, "store"], seed, login)
    run_once([exe, "get"], seed, credential(server.host, "http"))
    check(server.exchanges == 1, f"seeding took {server.exchanges} exchanges")

    # Without a config file the built-in profile names github.com: its own state directory,
    # holding the seeded token as if github.com's Copilot had minted it.
    none_env = {**sandbox_env(root, bin_dir, None), "XDG_STATE_HOME": str(root / "state-none")}
    _as_if_from_github_com(seed, none_env)
    # install.sh's launcher: the venv's Python, isolated and without site (-I -S).
    launcher = root / "install" / "home" / ".local" / "bin" / "git-credential-copilot"
    python = str(bin_dir / "python")
    cases = [
        Case("python -c pass", [python, "-c", "pass"], none_env),
        Case("python -I -S -c pass", [python, "-I", "-S", "-c", "pass"], none_env),
    ]
    styles = (("install.sh launcher", [str(launcher)]),
              ("python -I -S script", [python, "-I", "-S", exe]), ("pip's script", [exe]))
    for style, command in styles:
        cases.append(Case(f"{style}: get, no config file", [*command, "get"], none_env,
                          credential(COPILOT_HOST)))
        cases.append(Case(f"{style}: token, no config file", [*command, "token"], none_env))
        for count, claim in ((10, True), (10, False), (100, True), (1000, True)):
            env = sandbox_env(root, bin_dir, configs[count, claim])
            how = "a host it claims" if claim else "a host remembered from endpoints.api"
            cases.append(Case(f"{style}: get, {count} profiles, {how}", [*command, "get"], env,
                              credential(server.host, "http")))
    return cases


def _as_if_from_github_com(seeded: dict, none_env: dict) -> None:
    """Mark the seeded token as minted by github.com's Copilot (the built-in profile's
    server), so the cases without a config file find a token their profile may serve."""
    from helper.core import config
    from helper.core.lifecycle import save_state
    from helper.storage import paths, state

    current = state.read(paths.state_dir(seeded) / "copilot.json", print)
    check(current.token is not None, "no token was cached by the seeding runs")
    current.token.issuer = config.load(none_env).profile("copilot").issuer  # type: ignore[union-attr]
    save_state(paths.state_dir(none_env) / "copilot.json", current, print)


def cached_get(server: FakeGitHub, root: Path, bin_dir: Path, rounds: int) -> None:
    cases = cached_cases(server, root, bin_dir)
    before = server.exchanges
    for case in cases:  # warm the page cache and any snapshot the helper keeps
        for _ in range(3):
            case.run()
        case.times.clear()
    for _ in range(rounds):
        order = cases[:]
        random.shuffle(order)
        for case in order:
            out = case.run()
            check(case in cases[:2] or bool(out.strip()), f"{case.label} printed nothing")
    check(server.exchanges == before, f"{server.exchanges - before} exchanges while cached")

    floor, isolated = cases[0].median, cases[1].median
    rss = {case.label: case.peak_rss() for case in cases}
    floor_rss = rss[cases[0].label]
    print(f"cached path, {rounds} interleaved rounds in shuffled order (ms: median [min-max]; "
          "ratio to python -c pass; ratio to python -I -S -c pass; peak RSS):")
    for case in cases:
        t = case.times
        print(f"  {case.label:<66} {case.median * 1000:6.1f} [{min(t) * 1000:5.1f}-"
              f"{max(t) * 1000:5.1f}]  {case.median / floor:4.2f}x  {case.median / isolated:4.2f}x"
              f"  {memory(rss[case.label], floor_rss)}")
    by_label = {c.label: c.median for c in cases}
    ten = by_label["install.sh launcher: get, 10 profiles, a host it claims"]
    for count in (100, 1000):
        many = by_label[f"install.sh launcher: get, {count} profiles, a host it claims"]
        print(f"  {count} profiles vs 10: {(many / ten - 1) * 100:+.1f}% "
              f"({(many - ten) / (count - 10) * 1e6:+.2f} us a profile)")
    print(f"  exchanges during the timed runs: {server.exchanges - before}")


def memory(peak: int | None, floor: int | None) -> str:
    if peak is None or floor is None:
        return "peak RSS n/a (install GNU time: apt-get install time)"
    return f"{peak / 1024:5.1f} MiB ({peak / floor:4.2f}x)"


# -- 2. and 3. crowds --------------------------------------------------------------------------

def crowd(exe: str, env: dict, data: bytes, count: int, server: FakeGitHub):
    before = server.exchanges
    start = time.perf_counter()
    procs = [(time.perf_counter(), subprocess.Popen(
        [exe, "get"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env=env)) for _ in range(count)]
    times, tokens = [], set()
    for started, proc in procs:
        out, err = proc.communicate(data, timeout=300)
        times.append(time.perf_counter() - started)
        check(proc.returncode == 0, f"a racer failed: {err.decode(errors='replace')}")
        tokens.add(out)
    return server.exchanges - before, tokens, time.perf_counter() - start, sorted(times)


def drop_token(exe: str, env: dict, data: bytes, server: FakeGitHub) -> None:
    """Erase the cached token the way a caller that got a 401 would."""
    out = run_once([exe, "get"], env, data)[2].decode()
    answer = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
    run_once([exe, "erase"], env, credential(server.host, "http", password=answer["password"]))


def percentiles(times: list[float]) -> str:
    p95 = times[max(0, math.ceil(len(times) * 0.95) - 1)]
    return f"per-racer p50 {statistics.median(times) * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms"


def crowds(server: FakeGitHub, root: Path, bin_dir: Path, racers: int, load: int) -> None:
    exe = str(bin_dir / "git-credential-copilot")
    env = sandbox_env(root, bin_dir, root / "config-1-claims.toml")
    data = credential(server.host, "http")
    drop_token(exe, env, data, server)
    exchanges, tokens, wall, times = crowd(exe, env, data, racers, server)
    print(f"{racers} racers on an empty cache: {exchanges} exchange(s) (goal: 1), "
          f"{len(tokens)} distinct answer(s), wall {wall:.2f} s, {percentiles(times)}")
    server.refresh_in = 1
    drop_token(exe, env, data, server)
    exchanges, _, wall, times = crowd(exe, env, data, load, server)
    expiries = math.ceil(wall) + 1
    print(f"{load} racers, token stale every 1 s: {exchanges} exchange(s) for {expiries} "
          f"expiries (goal: <=), wall {wall:.2f} s, {percentiles(times)}")


# -- main --------------------------------------------------------------------------------------

def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (f"{datetime.date.today().isoformat()}, {platform.system()} {platform.release()}, "
            f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--racers", type=int, default=64)
    parser.add_argument("--load", type=int, default=200)
    args = parser.parse_args()
    print(f"git-credential-copilot benchmark: {machine()}")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        bin_dir = fresh_install(root / "install")
        (root / "home").mkdir()
        server = FakeGitHub().start()
        try:
            cached_get(server, root, bin_dir, args.rounds)
            crowds(server, root, bin_dir, args.racers, args.load)
        finally:
            server.stop()


if __name__ == "__main__":
    main()
