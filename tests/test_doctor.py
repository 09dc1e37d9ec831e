"""`doctor`: each check in process against the fake server, and the command as a whole.

The shared checks are doctor's (helper/commands/doctor.py); the Copilot ones are the
provider's (helper/providers/copilot/diagnostics.py): both are tested here, through the
command and one by one."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from email.utils import formatdate

import pytest

from helper.commands import configure as gitconfig
from helper.commands import doctor
from helper.net import transport
from helper.providers.copilot import diagnostics as copilot_checks


def git(box, *args: str) -> None:
    subprocess.run(["git", *args], env=box.env, check=True, capture_output=True, timeout=60)


def lines(result) -> dict[str, str]:
    """check name -> its line."""
    out = {}
    for line in result.stdout.splitlines():
        mark, rest = line.split(" ", 1)
        out[rest.split(": ", 1)[0]] = line
    return out


@pytest.fixture
def healthy(logged_in):
    """Logged in and configured: every check passes."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    assert logged_in.call("configure").returncode == 0
    return logged_in


def test_all_checks_pass_on_a_healthy_set_up(healthy):
    result = healthy.call("doctor")
    assert result.returncode == 0, result.stdout + result.stderr
    assert all(line.startswith("✓") for line in result.stdout.splitlines()), result.stdout
    seen = lines(result)
    assert "git 127.0.0.1" in "\n".join(seen)
    assert "chat_enabled=True" in seen["token exchange"]
    assert f"endpoints.api={healthy.server.url}" in seen["token exchange"]
    assert "login of octocat" in seen["store"]
    assert healthy.server.exchanges == 2 and healthy.server.device_flows == 0  # store's, ours
    healthy.check_no_secret_leaked(result.stdout, "doctor's stdout")


def test_json_format(healthy):
    result = healthy.call("doctor", "--format", "json")
    report = json.loads(result.stdout)
    assert report["ok"] is True and result.returncode == 0
    assert {"name", "ok", "detail", "fix"} <= set(report["checks"][0])


def test_doctor_is_read_only(healthy):
    state = healthy.state_dir
    before = sorted(p.name for p in state.iterdir()), healthy.stored()
    gitcfg = (healthy.root / "home" / ".gitconfig").read_text()
    healthy.call("doctor")
    assert (sorted(p.name for p in state.iterdir()), healthy.stored()) == before
    assert (healthy.root / "home" / ".gitconfig").read_text() == gitcfg


def test_a_storing_helper_in_front_is_named_with_the_fix(logged_in):
    box = logged_in
    git(box, "config", "--global", "credential.helper", "store")
    git(box, "config", "--global", "--add", "credential.helper", "copilot")
    result = box.call("doctor")
    assert result.returncode == 1
    line = next(v for k, v in lines(result).items() if k.startswith("git "))
    assert line.startswith("✗") and "'store'" in line and ".gitconfig" in line
    assert "git-credential-copilot configure" in line


def test_not_logged_in(sandbox):
    result = sandbox.call("doctor")
    assert result.returncode == 1
    line = lines(result)["token exchange"]
    assert line.startswith("✗") and "login --from editor" in line


def test_no_copilot_seat_says_403_and_why(logged_in):
    logged_in.server.no_copilot.add("octocat")
    line = lines(logged_in.call("doctor"))["token exchange"]
    assert "403" in line and "do not have access" in line


def test_a_gh_token_gets_404_and_the_kind_is_named(sandbox):
    token = sandbox.server.add_github_token()
    sandbox.server.app_not_accepted.add(token)
    result = sandbox.call("doctor", env={"GH_TOKEN": token})
    seen = lines(result)
    assert "OAuth app token (gho_" in seen["env GH_TOKEN"]
    assert "404" in seen["token exchange"] and seen["token exchange"].startswith("✗")
    sandbox.check_no_secret_leaked(result.stdout, "doctor's stdout")
    assert token not in result.stdout


@pytest.mark.parametrize(("token", "ok"), [
    ("ghp_" + "a" * 36, False), ("github_pat_" + "b" * 40, False),
    ("ghs_" + "c" * 36, False), ("ghu_" + "d" * 36, True),
])
def test_env_token_kinds(token, ok):
    check = copilot_checks.env_token("GH_TOKEN", token, used=True)
    assert check.ok is ok and token not in check.detail
    assert copilot_checks.env_token("GH_TOKEN", token, used=False).ok


def test_a_token_copilot_may_refuse_is_a_warning_not_a_failure():
    check = copilot_checks.env_token("GH_TOKEN", "gho_" + "e" * 36, used=True)
    assert check.ok and check.status == "warn" and "404" in check.detail


def test_clock_skew():
    now = float(int(time.time()))  # Date has whole seconds

    def date(at: float) -> dict[str, str]:
        return {"Date": formatdate(at, usegmt=True)}

    assert doctor.check_clock(date(now - 5), now).ok
    ahead = doctor.check_clock(date(now - 3600), now)
    assert not ahead.ok and "3600 s ahead" in ahead.detail and ahead.fix
    behind = doctor.check_clock(date(now + 120), now)
    assert not behind.ok and "behind" in behind.detail
    assert doctor.check_clock(None, now).ok and doctor.check_clock({"Date": "garbage"}, now).ok


def test_the_clock_is_read_from_the_servers_date(logged_in, monkeypatch):
    result = doctor.run_checks(logged_in.env, "", _console(), now=lambda: time.time() + 7200)
    clock = next(c for c in result if c.name == "clock")
    assert not clock.ok and "ahead" in clock.detail


def test_an_unreachable_host_names_the_proxy(logged_in, monkeypatch):
    monkeypatch.setattr(transport, "UNREACHABLE_RETRY_DELAY", 0)  # in process: retry at once
    logged_in.write_config("""\
        store = "file"
        http_timeout = 1
        [profiles.copilot]
        github_url = "http://127.0.0.1:9"
        api_url = "http://127.0.0.1:9"
        hosts = ["{host}"]
        """)
    env = {"HTTPS_PROXY": "http://user:hunter2@proxy.example:3128"}
    result = logged_in.call("doctor", env=env)
    seen = lines(result)
    assert seen["reach 127.0.0.1:9"].startswith("✗") and "HTTPS_PROXY" in seen["reach 127.0.0.1:9"]
    assert "proxy.example" in seen["network settings"] and "hunter2" not in result.stdout


def test_a_missing_ca_bundle_is_named():
    check = doctor.check_network_env({"REQUESTS_CA_BUNDLE": "/nonexistent/ca.pem"})
    assert not check.ok and "REQUESTS_CA_BUNDLE" in check.detail


def test_a_broken_config_is_reported_not_raised(sandbox):
    sandbox.config_path.write_text("store = 'nope'\n")
    result = sandbox.call("doctor")
    assert result.returncode == 1 and lines(result)["config"].startswith("✗")


def test_a_locked_store_is_a_line_with_the_fix():
    from helper.errors import StoreError

    def choose():
        raise StoreError("the keyring did not answer within 10 s")

    check, raw, store = doctor.check_store(choose, "copilot")
    assert not check.ok and "keyring" in check.detail and 'store = "file"' in check.fix


def test_a_login_left_in_the_other_store_is_named():
    assert doctor.check_one_place("keyring", "file /x", None).ok
    both = doctor.check_one_place("keyring", "file /x", {"access_token": "gho_" + "a" * 36})
    assert not both.ok and "file /x" in both.detail and "logout" in both.fix


def test_check_git_cases():
    H = gitconfig.Helper
    ours = doctor.check_git("https://a.example", [H("copilot", "file:x")],
                            gitconfig.is_ours, gitconfig.storing)
    assert ours.ok
    none = doctor.check_git("https://a.example", [], gitconfig.is_ours, gitconfig.storing)
    assert not none.ok and "configure" in none.fix
    other = doctor.check_git("https://a.example", [H("osxkeychain", "file:/etc/gitconfig")],
                             gitconfig.is_ours, gitconfig.storing)
    assert not other.ok and "osxkeychain" in other.detail and "never this one" in other.detail


def test_usage(sandbox):
    assert sandbox.call("doctor", "--format", "env").returncode == 2
    assert sandbox.call("doctor", "--renew").returncode == 2


def _console():
    import io

    from helper.console import Console

    return Console(io.StringIO())


def test_the_installed_command(healthy):
    result = healthy.run("doctor")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("\n") >= 8 and "✗" not in result.stdout


def test_an_oauth_profile(corp):
    from conftest import seed_oauth_login

    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    before = corp.call("doctor", "--profile", "corp")
    assert before.returncode == 1
    assert lines(before)["login"].startswith("✗") and "--profile corp login" in before.stdout
    seed_oauth_login(corp, cached=True)  # as login leaves it, without its one-second poll
    assert corp.call("configure").returncode == 0
    after = corp.call("doctor", "--profile", "corp")
    assert after.returncode == 0, after.stdout
    assert "token exchange" not in after.stdout  # Copilot only
    corp.check_no_secret_leaked(after.stdout, "doctor's stdout")


# -- no secret on doctor's stdout ----------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_proxy_credentials_never_reach_stdout(sandbox, fmt):
    """A password with an unencoded '/' and one in the query are hidden like any other."""
    env = {"HTTPS_PROXY": "http://alice:s3cr/et@proxy.example:3128",
           "HTTP_PROXY": "http://proxy.example:3128/?password=hunter22",
           "ALL_PROXY": "bob:pa55word@socks.example:1080"}
    result = sandbox.call("doctor", "--format", fmt, env=env)
    for secret in ("s3cr", "et@", "hunter22", "pa55word", "alice", "bob"):
        assert secret not in result.stdout, (secret, result.stdout)
    assert "proxy.example:3128" in result.stdout and "socks.example:1080" in result.stdout


@pytest.mark.parametrize(("value", "shown"), [
    ("user:s3cret@proxy.corp:3128", "…@proxy.corp:3128"),
    ("http://user:s3cret@proxy.corp:3128/", "http://…@proxy.corp:3128/"),
    ("http://proxy.corp:3128", "http://proxy.corp:3128"),
    ("http://alice:s3cr/et@proxy:3128", "http://…@proxy:3128"),
    ("http://proxy:3128/?password=s3cret&x=1", "http://proxy:3128/?…"),
    ("http://proxy:3128#s3cret", "http://proxy:3128#…"),
    ("http://a:b@c@proxy:3128/?q=x@y", "http://…@proxy:3128/?…"),
])
def test_safe_url(value, shown):
    assert doctor.safe_url(value) == shown


@pytest.mark.parametrize("value, shown", [
    ("user:s3cret@proxy.corp:3128", "…@proxy.corp:3128"),  # requests adds the scheme itself
    ("http://user:s3cret@proxy.corp:3128/", "http://…@proxy.corp:3128/"),
    ("http://proxy.corp:3128", "http://proxy.corp:3128"),
])
def test_doctor_never_prints_a_proxy_password(value, shown):
    from helper.commands.doctor import safe_url

    assert safe_url(value) == shown and "s3cret" not in safe_url(value)


@pytest.mark.parametrize("value", [
    "!f() { echo password=ghp_" + "z" * 36 + "; }; f",
    "!f() { echo username=me; echo password=hunter2hunter2; }; f",
    "!f() { echo \"password=hunter2 hunter2\"; }; f",
    "/usr/local/bin/some-helper --token hunter2hunter2",
    "!curl -s https://me:hunter2hunter2@vault.example/token",
])
def test_git_helper_values_are_shown_without_their_secrets(value):
    shown = doctor.safe_helper(value)
    assert "hunter2" not in shown and "z" * 36 not in shown, shown


def test_an_inline_shell_helper_in_front_does_not_show_its_token(logged_in):
    box = logged_in
    token = "ghp_" + "q" * 36
    git(box, "config", "--global", "credential.helper", f"!f() {{ echo password={token}; }}; f")
    git(box, "config", "--global", "--add", "credential.helper", "copilot")
    for fmt in ("text", "json"):
        result = box.call("doctor", "--format", fmt)
        assert result.returncode == 1
        assert token not in result.stdout and "q" * 20 not in result.stdout, result.stdout
    line = next(v for k, v in lines(box.call("doctor")).items() if k.startswith("git "))
    assert line.startswith("✗") and "password=…" in line


def test_every_line_is_masked_on_its_way_out():
    from helper.errors import remember_secret
    from helper.providers.base import OK, Diagnostic

    secret = "a-secret-this-process-handled"
    remember_secret(secret)
    checks = [Diagnostic("extra", OK, f"found {secret}", f"rotate {secret}")]
    assert secret not in doctor.render_text(checks)
    assert secret not in doctor.render_json(checks)
    assert json.loads(doctor.render_json(checks))["checks"][0]["status"] == "ok"


# -- the provider's knowledge, not doctor's ------------------------------------------------------


def test_the_login_fix_names_the_profile_only_when_it_is_not_the_default(sandbox):
    sandbox.write_config("""\
        store = "file"
        http_timeout = 2
        retry_budget = 2
        default_profile = "work"
        [profiles.work]
        github_url = "http://localhost:{port}"
        api_url = "{url}"
        hosts = ["{host}"]
        """)
    default = lines(sandbox.call("doctor"))["token exchange"]
    assert "run `git-credential-copilot login`" in default and "--profile" not in default
    other = lines(sandbox.call("doctor", "--profile", "copilot"))["token exchange"]
    assert "run `git-credential-copilot --profile copilot login`" in other


def test_a_github_token_about_to_expire_is_not_exchanged(sandbox):
    """The provider refreshes an expiring GitHub token 300 s before it expires, so doctor
    reports that instead of exchanging it (a get would not send it either)."""
    from helper.storage import files
    from helper.storage.records import Grant
    from helper.storage.secrets import FileStore

    token = sandbox.server.add_github_token()
    grant = Grant(access_token=token, refresh_token="ghr_" + "r" * 36,
                  expires_at=int(time.time()) + 100, username="octocat")
    FileStore(sandbox.data_dir, files.quiet).write(sandbox.login_key(), grant.to_dict())
    line = lines(sandbox.call("doctor"))["token exchange"]
    assert line.startswith("✓") and "due for renewal" in line
    assert sandbox.server.exchanges == 0


def test_github_tokens_in_the_environment_do_not_fail_an_oauth_profile(corp):
    from conftest import seed_oauth_login

    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    seed_oauth_login(corp, cached=True)
    assert corp.call("configure").returncode == 0
    result = corp.call("doctor", "--profile", "corp", env={"GH_TOKEN": "ghp_" + "p" * 36})
    assert result.returncode == 0, result.stdout
    assert "env GH_TOKEN" not in result.stdout


def test_a_broken_config_still_reports_the_environments_tokens(sandbox):
    sandbox.config_path.write_text("store = 'nope'\n")
    result = sandbox.call("doctor", env={"GH_TOKEN": "ghp_" + "n" * 36})
    line = lines(result)["env GH_TOKEN"]
    assert line.startswith("✗") and "ghp_…nnnn" in line and "n" * 20 not in result.stdout


# -- other parts of the helper report through one hook -------------------------------------------


def test_extra_sources_are_collected_in_order_and_a_failing_one_is_a_line():
    from helper.errors import StoreError
    from helper.providers.base import FAIL, OK, Diagnostic

    def tools(env):
        return [Diagnostic("tool codex", OK, f"set up for {env['who']}")]

    def broken(env):
        raise StoreError("cannot read the record")

    found = doctor.collect_extra({"who": "me"}, [tools, broken])
    assert [(c.name, c.status) for c in found] == [("tool codex", OK), ("report", FAIL)]
    assert "cannot read the record" in found[1].detail


def test_the_hook_adds_its_lines_to_the_report(sandbox, monkeypatch):
    from helper.providers.base import WARN, Diagnostic

    monkeypatch.setattr(doctor, "extra_sources",
                        lambda: [lambda env: [Diagnostic("tool aider", WARN, "not set up")]])
    result = sandbox.call("doctor")
    assert lines(result)["tool aider"] == "! tool aider: not set up"


def test_a_server_error_at_the_exchange_is_reported_once_not_retried(logged_in):
    from fakeserver import Fault

    before = logged_in.server.exchanges
    logged_in.server.inject("/copilot_internal/v2/token", Fault(status=502))
    line = lines(logged_in.call("doctor"))["token exchange"]
    assert line.startswith("✗") and "answered HTTP 502" in line and "githubstatus" in line
    assert logged_in.server.exchanges == before + 1


def test_an_answer_without_a_usable_token_is_not_a_pass(logged_in):
    """doctor reads the exchange's 200 as the provider does: no token, no pass."""
    from fakeserver import Fault

    logged_in.server.inject("/copilot_internal/v2/token",
                            Fault(status=200, body=b'{"expires_at": 1, "chat_enabled": true}'))
    line = lines(logged_in.call("doctor"))["token exchange"]
    assert line.startswith("✗") and "without a usable token" in line
