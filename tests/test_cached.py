"""The cached get/token (helper.fast): the installed command answers from the token file
and the routes alone, byte for byte what the full command line answers, and falls through
to it whenever anything is uncertain. Which path answered is read from the interpreter's
own import log (``-X importtime``): the cached path never imports helper.commands.main."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from helper import fast as cached
from helper import launch
from helper.commands import main as cli
from helper.core.lifecycle import save_state
from helper.storage import state as statefile

from conftest import EXE, Dist, Result, uncached

HEAVY = ("re", "json", "pathlib", "tomllib", "tomli", "collections", "typing", "dataclasses",
         "requests", "keyring", "filelock", "urllib3", "hashlib", "ssl", "helper.commands.main",
         "helper.core.config", "helper.storage.files")
TEN_PROFILES = "".join(
    f'\n[profiles.other{i}]\nprovider = "oauth"\nissuer = "https://idp{i}.example.com"\n'
    f'client_id = "c{i}"\nhosts = ["llm{i}.example.com"]\napi_base = "https://llm{i}.example.com/v1"\n'
    for i in range(1, 10))


def settle(path: Path) -> None:
    """Date the config file back: routes are not kept for a file changed this instant (a
    change within the same timestamp tick could go unseen)."""
    past = time.time() - 60
    os.utime(path, (past, past))


def traced(exe: Path, args: tuple[str, ...], data: bytes, env: dict, script: bool = True,
           flags: tuple[str, ...] = ()) -> tuple[Result, set[str]]:
    """Run the installed command (or, not ``script``, its venv's python) with the
    interpreter's ``flags``; its result and every module it imported."""
    python = exe.parent / "python"
    argv = [str(python), "-X", "importtime", *flags, *([str(exe)] if script else []), *args]
    proc = subprocess.run(argv, input=data, capture_output=True, env=env, timeout=60)
    err = proc.stderr.decode()
    modules = {line.rsplit("|", 1)[1].strip() for line in err.splitlines()
               if line.startswith("import time:") and line.count("|") == 2}
    rest = "\n".join(line for line in err.splitlines() if not line.startswith("import time:"))
    assert "Traceback" not in rest, rest
    return Result(proc.returncode, proc.stdout.decode(), rest), modules - {"module"}


def both(box, *args: str, input: str = "", env: dict | None = None) -> tuple[Result, bool]:
    """The installed command's answer (checked equal to the full command line's, run in
    process) and whether the cached path gave it."""
    run_env = {**box.env, **(env or {})}
    fast, modules = traced(EXE, args, input.encode(), run_env)
    slow = box.call(*args, input=input, env=env)
    assert (fast.returncode, fast.stdout) == (slow.returncode, slow.stdout), (fast, slow)
    return fast, "helper.commands.main" not in modules


@pytest.fixture
def ready(logged_in):
    """A logged-in sandbox whose config file is old enough for routes to be kept."""
    box = logged_in
    settle(box.config_path)
    assert box.call("get", input=box.credential()).returncode == 0  # mints; writes the routes
    return box


def test_get_and_token_with_a_config_file_are_answered_from_the_cache(ready):
    box = ready
    cases = [("get",), ("token",), ("token", "--format", "raw"), ("--profile", "copilot", "get"),
             ("token", "--format=raw", "--profile=copilot")]
    for args in cases:
        result, fast = both(box, *args, input=box.credential() if "get" in args else "")
        assert result.returncode == 0 and fast, args
        assert box.state()["token"]["token"] in result.stdout
    result, fast = both(box, "get", input="")  # no host at all: the default profile's token
    assert fast and result.pairs()["host"] == box.server.host
    assert box.server.exchanges == 1


def test_get_without_a_config_file(ready):
    box = ready
    no_config = {"GIT_CREDENTIAL_COPILOT_CONFIG": ""}
    question = "protocol=https\nhost=api.githubcopilot.com\n\n"
    # A token github.com's Copilot minted (the built-in profile's server), not the fake's:
    # a token is served only while the profile names the server that issued it.
    from helper.core import config

    path = box.state_dir / "copilot.json"
    state = statefile.read(path, print)
    state.token.issuer = config.load({**box.env, **no_config}).profile("copilot").issuer
    save_state(path, state, print)
    both(box, "get", input=question, env=no_config)  # the first one keeps the routes
    result, fast = both(box, "get", input=question, env=no_config)
    assert fast and result.pairs()["host"] == "api.githubcopilot.com"
    result, fast = both(box, "token", env=no_config)
    assert fast and result.stdout.strip() == box.state()["token"]["token"]


def test_ten_profiles_and_a_host_remembered_from_endpoints_api(ready):
    box = ready
    box.config_path.write_text(box.config_path.read_text().replace(
        f'hosts = ["{box.server.host}"]', 'hosts = ["api.githubcopilot.com"]') + TEN_PROFILES)
    settle(box.config_path)
    first, fast = both(box, "get", input=box.credential())
    assert not fast  # the config changed: the full command line routes, and keeps the routes
    again, fast = both(box, "get", input=box.credential())
    assert fast and again.stdout == first.stdout and again.pairs()["host"] == box.server.host
    # The state names another API host now: the remembered route is not taken on trust.
    state = statefile.read(box.state_dir / "copilot.json", print)
    save_state(box.state_dir / "copilot.json", statefile.State(
        state.token, "https://elsewhere.example", state.erased, state.dead), print)
    result, fast = both(box, "get", input=box.credential())
    assert not fast and result.stdout == ""


def test_a_profile_that_starts_remembering_a_host_earlier_in_order_is_seen(ready):
    box = ready
    box.config_path.write_text(
        'default_profile = "second"\n' + box.config_path.read_text().replace(
            f'hosts = ["{box.server.host}"]', 'hosts = ["api.githubcopilot.com"]')
        + '\n[profiles.second]\nprovider = "oauth"\nissuer = "https://idp.example.com"\n'
        'client_id = "c"\nhosts = ["llm.example.com"]\n')
    settle(box.config_path)
    first, _ = both(box, "get", input=box.credential())  # copilot remembers the host
    again, fast = both(box, "get", input=box.credential())
    assert fast and again.stdout == first.stdout
    now = int(time.time())
    from helper.core import config
    from helper.storage.records import Token

    issuer = config.load(box.env).profile("second").issuer
    token = Token("second-token", now + 3600, now + 3000, now, box.server.url, "", issuer=issuer)
    save_state(box.state_dir / "second.json", statefile.State(token, box.server.url), print)
    result, _ = both(box, "get", input=box.credential())  # routing tries "second" first now
    assert result.pairs()["password"] == "second-token"


def test_erase_is_seen_at_once(ready):
    box = ready
    first, fast = both(box, "get", input=box.credential())
    assert fast
    assert box.run("erase", input=box.credential(password=first.pairs()["password"])
                   ).returncode == 0
    assert not (box.state_dir / "tokens" / "copilot").exists()
    second = box.run("get", input=box.credential())
    assert second.pairs()["password"] not in ("", first.pairs()["password"])
    assert box.server.exchanges == 2


def test_logout_is_seen_at_once(ready):
    box = ready
    assert box.run("logout").returncode == 0
    result, fast = both(box, "get", input=box.credential())
    assert not fast and result.returncode == 1 and result.stdout == ""


def test_a_state_file_written_by_anything_else_is_not_trusted(ready):
    box = ready
    path = box.state_dir / "copilot.json"
    path.write_text(path.read_text())  # as an older version would: no token file update
    path.chmod(0o600)
    _, fast = both(box, "get", input=box.credential())
    assert not fast


def test_token_and_routes_files_must_be_private_regular_files(ready):
    box = ready
    token_file = box.state_dir / "tokens" / "copilot"
    token_file.chmod(0o644)
    _, fast = both(box, "get", input=box.credential())
    assert not fast
    token_file.chmod(0o600)
    _, fast = both(box, "get", input=box.credential())
    assert fast
    saved = token_file.read_bytes()
    token_file.unlink()
    token_file.symlink_to(box.root / "elsewhere")
    (box.root / "elsewhere").write_bytes(saved)
    (box.root / "elsewhere").chmod(0o600)
    _, fast = both(box, "get", input=box.credential())
    assert not fast


def test_a_stale_token_is_never_served_from_the_cache(ready):
    box = ready
    path = box.state_dir / "copilot.json"
    state = statefile.read(path, print)
    token = state.token
    token.refresh_at = int(time.time()) - 1
    save_state(path, state, print)
    result, fast = both(box, "get", input=box.credential())
    assert not fast and box.server.exchanges == 2
    assert result.pairs()["password"] != token.token


def test_a_renewal_does_not_rewrite_current_routes(ready, monkeypatch):
    box = ready
    box.config_path.write_text(box.config_path.read_text() + TEN_PROFILES)
    settle(box.config_path)
    assert box.call("get", input=box.credential()).returncode == 0  # new routes
    (routes,) = (box.state_dir / "routes").iterdir()
    before = routes.stat().st_mtime_ns
    path = box.state_dir / "copilot.json"
    state = statefile.read(path, print)
    state.token.refresh_at = int(time.time()) - 1
    save_state(path, state, print)
    out = io.StringIO()
    code, handoff = cached.main(["get"], io.BytesIO(box.credential().encode()), out, box.env)
    assert code is None and handoff.routes_current and handoff.credential is not None
    reads = []
    real = statefile.read
    monkeypatch.setattr(statefile, "read", lambda *a: reads.append(a) or real(*a))
    assert cli.main(["get"], stdin=io.BytesIO(), stdout=out, stderr=io.StringIO(), env=box.env,
                    handoff=handoff) == 0
    assert "password=" in out.getvalue() and box.server.exchanges == 2
    assert routes.stat().st_mtime_ns == before
    assert reads and {args[0].name for args in reads} == {"copilot.json"}  # no other profile's


def test_anything_unusual_falls_through_with_stdin_intact(ready):
    box = ready
    url = f"url=http://{box.server.host}/org/repo.git\nusername=someone\n\n"
    result, fast = both(box, "get", input=url)  # url= is split by the one reader, as git does
    assert fast and result.pairs()["host"] == box.server.host
    for args, data in [
        (("get",), f"protocol=http\nhost={box.server.host}\r\n\n"),  # CR: refused
        (("get",), f"protocol=ftp\nhost={box.server.host}\n\n"),
        (("get",), "protocol=https\nhost=\n\n"),
        (("token", "--format", "json"), ""),
        (("token", "--renew"), ""),
        (("--profile", "nosuch", "get"), box.credential()),
        (("status",), ""),
    ]:
        result, fast = both(box, *args, input=data)
        assert not fast, args
    result, _ = both(box, "get", input=url)
    assert result.pairs()["host"] == box.server.host and result.pairs()["password"]
    # A host no profile claims: nothing, as the full path says, without starting it.
    result, fast = both(box, "get", input="protocol=https\nhost=unclaimed.example.com\n\n")
    assert fast and result.returncode == 0 and result.stdout == ""


def test_only_profiles_the_config_names_are_answered_for(ready):
    box = ready
    tokens = box.state_dir / "tokens"
    (tokens / "gone").write_bytes((tokens / "copilot").read_bytes())  # a removed profile's
    (tokens / "gone").chmod(0o600)
    for args in (("--profile", "gone", "token"), ("--profile", "../tokens/gone", "token")):
        result, fast = both(box, *args)
        assert not fast and result.returncode == 2


def test_a_token_that_does_not_serve_this_caller_is_not_served(ready):
    box = ready
    assert cached.main(["token"], None, io.StringIO(), box.env)[0] == 0
    # COPILOT_GITHUB_TOKEN comes before the stored login that minted the cached token.
    env = {**box.env, "COPILOT_GITHUB_TOKEN": "ghu_" + "x" * 36}
    assert cached.main(["token"], None, io.StringIO(), env)[0] is None


def test_a_profile_that_does_not_claim_the_host_gets_no_fast_answer(ready):
    box = ready
    box.config_path.write_text(box.config_path.read_text() + TEN_PROFILES)
    settle(box.config_path)
    assert box.call("get", input=box.credential()).returncode == 0  # routes for this config
    assert cached.main(["get"], io.BytesIO(box.credential().encode()), io.StringIO(),
                       box.env)[0] == 0
    other = ["--profile", "other1", "get"]  # claims llm1.example.com, not the fake's host
    out = io.StringIO()
    assert cached.main(other, io.BytesIO(box.credential().encode()), out, box.env)[0] == 0
    assert out.getvalue() == ""  # no token: the profile does not claim the host
    result = box.call(*other, input=box.credential())
    assert result.returncode == 0 and result.stdout == ""  # not ours: no token


def test_a_carriage_return_on_a_claimed_host_is_refused_by_both_paths(ready):
    box = ready
    for data in (f"protocol=http\nhost={box.server.host}\nusername=x\r\n\n",
                 f"protocol=http\nhost={box.server.host}\npath=a\0b\n\n"):
        code, handoff = cached.main(["get"], io.BytesIO(data.encode()), io.StringIO(), box.env)
        assert code is None and handoff.error is not None
        result, fast = both(box, "get", input=data)
        assert result.returncode == 1 and result.stdout == "" and not fast


def test_routes_saved_from_a_config_edited_in_the_same_coarse_tick_are_not_trusted(ready):
    """A filesystem with 1-second stamps: an edit landing in the same second as a slow get
    keeps size and mtime; routes saved from the old text must not be used under the new."""
    box = ready
    routes = box.state_dir / "routes"
    shutil.rmtree(routes, ignore_errors=True)
    now = time.time()
    second = int(now) * 1_000_000_000

    def coarse(path, **kw):
        info = os.stat(path, **kw)
        if str(path) != str(box.config_path):
            return info
        fields = list(info)
        fields[8] = int(now)  # st_mtime, as a 1-second filesystem keeps it
        result = os.stat_result(fields)
        return _Stamped(result, second)

    from helper.core import cachefiles, routing

    key = cachefiles.route_key(box.env, coarse, lambda: second + 400_000_000)
    assert key is not None and not key.settled  # read 0.4 s into the tick it was written in
    from helper.core import config

    routing.save_routes(key, config.load(box.env), box.env, print)
    assert not routes.exists() or not any(routes.iterdir())  # nothing saved to trust later
    later = cachefiles.route_key(box.env, coarse, lambda: second + 3_500_000_000)
    assert later is not None and later.settled


class _Stamped:
    """An os.stat_result with a coarse st_mtime_ns."""

    def __init__(self, info, mtime_ns):
        self._info, self.st_mtime_ns = info, mtime_ns

    def __getattr__(self, name):
        return getattr(self._info, name)


def test_environment_changes_are_part_of_the_routes_key(ready):
    box = ready
    result, fast = both(box, "get", input=box.credential(),
                        env={"GIT_CREDENTIAL_COPILOT_PROFILE": "nosuch"})
    assert not fast and result.returncode == 2
    result, fast = both(box, "get", input=box.credential(),
                        env={"GIT_CREDENTIAL_COPILOT_STORE": "bogus"})
    assert not fast and result.returncode == 2


def test_routes_are_not_kept_for_a_config_file_changed_this_instant(logged_in):
    box = logged_in
    box.config_path.write_text(box.config_path.read_text() + "\n")
    box.call("get", input=box.credential())
    assert not (box.state_dir / "routes").exists() or not any((box.state_dir / "routes").iterdir())
    settle(box.config_path)
    box.call("get", input=box.credential())
    assert len(list((box.state_dir / "routes").iterdir())) == 1
    box.config_path.write_text(box.config_path.read_text() + "\n")  # an edit replaces them
    settle(box.config_path)
    box.call("get", input=box.credential())
    assert len(list((box.state_dir / "routes").iterdir())) == 1
    _, fast = both(box, "get", input=box.credential())
    assert fast


def test_an_interrupt_while_reading_stdin_reaches_the_launcher():
    """helper.fast lets an interrupt through: helper.launch says it in one line, exit 130."""
    class Interrupted:
        def readline(self, limit: int = -1) -> bytes:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        cached.main(["get"], Interrupted(), io.StringIO(), {})
    err = io.StringIO()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sys, "argv", ["git-credential-copilot", "get"])
        patch.setattr(sys, "stdin", Shell(stdin=Interrupted()))
        patch.setattr(sys, "stderr", err)
        assert launch.main() == 130
    assert err.getvalue() == "git-credential-copilot: interrupted\n"
    launcher = (Path(__file__).resolve().parent.parent / "scripts" / "git-credential-copilot")
    assert "raise SystemExit(launch.main())" in launcher.read_text()


class Shell:
    """A stand-in for sys.stdin: its ``buffer`` is what the cached path reads."""

    def __init__(self, stdin: object):
        self.buffer = stdin


def test_main_in_process_answers_and_hands_off(ready):
    box = ready
    out = io.StringIO()
    code, handoff = cached.main(["get"], io.BytesIO(box.credential().encode()), out, box.env)
    assert code == 0 and "password=" in out.getvalue()
    source = io.BytesIO(f"url=ftp://{box.server.host}/\n\n".encode())  # the full path says no
    code, handoff = cached.main(["get"], source, io.StringIO(), box.env)
    assert code is None and handoff.credential.host == box.server.host
    assert cached.main(["login"], None, None, box.env)[0] is None
    out = io.StringIO()
    code, handoff = cached.main(["get"], io.BytesIO(box.credential().encode()), io.StringIO(),
                                {**box.env, "GIT_CREDENTIAL_COPILOT_CONFIG": str(box.config_path)
                                 + "x"})
    assert code is None
    assert cli.main(["get"], stdin=io.BytesIO(), stdout=out, stderr=io.StringIO(), env=box.env,
                    handoff=handoff) == 0 and "password=" in out.getvalue()


def test_logout_leaves_no_copy_of_the_token_for_the_cached_get(logged_in):
    box = logged_in
    assert box.call("get", input=box.credential()).returncode == 0
    token_file = box.state_dir / "tokens" / "copilot"
    assert token_file.exists()
    assert box.call("logout").returncode == 0
    assert not token_file.exists()


def test_something_planted_where_the_token_files_go_costs_speed_not_tokens(logged_in):
    import shutil

    box = uncached(logged_in)
    shutil.rmtree(box.state_dir / "tokens", ignore_errors=True)
    (box.state_dir / "tokens").write_text("not a directory")
    for _ in range(2):
        result = box.run("get", input=box.credential())
        assert result.returncode == 0 and "password=" in result.stdout, result.stderr
    assert box.server.exchanges == 2  # the store's check, then one mint; the second get cached


# -- a regular install: what a user's cached get imports ------------------------------------


@pytest.fixture(scope="module")
def regular_install(tmp_path_factory, dist: Dist) -> Path:
    """The command from a regular (not editable) install of this checkout's wheel (the run's
    shared build, conftest's ``dist``), in a fresh venv with nothing else: an editable
    install's startup hook imports re and pathlib itself, and the cached path must not need
    the dependencies at all."""
    root = tmp_path_factory.mktemp("regular")
    # No pip in it (seeding pip takes seconds): this venv's pip installs into it (--python).
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root / "venv")],
                   check=True, timeout=300)
    subprocess.run([sys.executable, "-m", "pip", "--python", str(root / "venv" / "bin" / "python"),
                    "install", "-q", "--no-deps", "--no-index", "--disable-pip-version-check",
                    str(dist.wheel)], check=True, capture_output=True, timeout=300)
    return root / "venv" / "bin" / "git-credential-copilot"


@pytest.mark.slow  # builds a wheel and a venv; test_e2e_copilot probes the imports quickly
def test_a_cached_get_imports_nothing_heavy_in_a_regular_install(ready, regular_install):
    box = ready
    floor = traced(regular_install, ("-c", "pass"), b"", box.env, script=False)[1]
    assert not floor & set(HEAVY), "this venv's own start imports them: nothing to measure"
    # Without a config file the built-in profile names github.com: its own state directory,
    # holding the cached token as if github.com's Copilot had minted it.
    no_config = {**box.env, "GIT_CREDENTIAL_COPILOT_CONFIG": "",
                 "XDG_STATE_HOME": str(box.root / "state-github")}
    from helper.core import config

    current = statefile.read(box.state_dir / "copilot.json", print)
    current.token.issuer = config.load(no_config).profile("copilot").issuer
    save_state(box.root / "state-github" / "git-credential-copilot" / "copilot.json",
                    current, print)
    question = "protocol=https\nhost=api.githubcopilot.com\n\n"
    for args, data, env in [(("get",), box.credential(), box.env),
                            (("token",), "", box.env),
                            (("get",), question, no_config),
                            (("token",), "", no_config)]:
        # The first run writes the routes (they belong to the installed code that made them).
        traced(regular_install, args, data.encode(), env)
        result, modules = traced(regular_install, args, data.encode(), env)
        assert result.returncode == 0 and result.stdout, (args, result)
        assert sorted(modules & set(HEAVY)) == [], args
        # Started as install.sh starts it (-I -S), nothing but the interpreter's own start
        # and the helper's cached path: not even os (helper/osdeps.py says why).
        isolated, loaded = traced(regular_install, args, data.encode(), env, flags=("-I", "-S"))
        assert isolated.returncode == 0 and isolated.stdout == result.stdout, args
        bare = traced(regular_install, ("-c", "pass"), b"", env, script=False,
                      flags=("-I", "-S"))[1]
        # atexit is compiled into the interpreter (no file to find): osdeps.exit_now asks it.
        extra = sorted(name for name in loaded - bare - {"atexit"}
                       if not name.startswith("helper"))
        assert extra == [], (args, extra)
        # Last: the in-process full path saves routes of its own code (the checkout's).
        assert result.stdout == box.call(*args, input=data, env=env).stdout

