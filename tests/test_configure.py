"""`configure` / `unconfigure` with real git in a sandboxed HOME, a storing helper in front."""

from __future__ import annotations

import re
import shutil
import textwrap

import pytest

from helper.commands import configure as gitconfig

from conftest import git, require_executable

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")

BUILT_IN = ("api.githubcopilot.com", "api.individual.githubcopilot.com",
            "api.business.githubcopilot.com", "api.enterprise.githubcopilot.com")


def fill(box, url: str | None = None, check: bool = True) -> dict[str, str]:
    out = git(box, "credential", "fill", input=f"url={url or box.server.url}/chat\n\n",
              check=check)
    return dict(line.split("=", 1) for line in out.stdout.decode().splitlines())


def helpers(box, section: str, scope: str = "global") -> list[str]:
    """The helper values of one section, exactly as spelled."""
    out = git(box, "config", f"--{scope}", "-z", "--get-all", f"credential.{section}.helper",
              check=False).stdout.decode()
    return out.split("\0")[:-1]


def ours(box, url: str, scope: str = "global") -> list[str]:
    return helpers(box, f"{url}/", scope)


def asked(box, url: str) -> list[str]:
    """The helpers git asks for ``url``, in order."""
    return [h.value for h in gitconfig.effective_helpers(url, box.env)]


def gitconfig_text(box) -> str:
    path = box.root / "home" / ".gitconfig"
    return path.read_text() if path.exists() else ""


def claim_the_copilot_hosts(box) -> None:
    """The profile claims the test server and Copilot's own API hosts (git's answers for
    those come from the token the login cached: no request leaves this machine)."""
    hosts = ", ".join(f'"{host}"' for host in ("{host}", *BUILT_IN))
    box.write_config(f"""\
        store = "file"
        [profiles.copilot]
        github_url = "http://localhost:{{port}}"
        api_url = "{{url}}"
        hosts = [{hosts}]
        """)


def configured_urls(result) -> list[str]:
    """The URLs `configure` reported writing or finding, from its own lines."""
    return re.findall(r"^credential\.(\S+)/\.helper", result.stdout, re.M)


@pytest.fixture
def with_store(logged_in, tmp_path):
    """A person's usual set-up: `store` for every host, ours after it, and a stale
    Copilot token that `store` saved earlier."""
    require_executable()
    box = logged_in
    git(box, "config", "--global", "credential.helper", "store")
    git(box, "config", "--global", "--add", "credential.helper", "copilot")
    creds = tmp_path / "home" / ".git-credentials"
    creds.write_text(f"http://oauth2:stale-copilot-token@{box.server.host}\n")
    creds.chmod(0o600)
    return box


def test_store_in_front_serves_the_stale_token_until_configure(with_store):
    box = with_store
    assert fill(box)["password"] == "stale-copilot-token"  # the bug this command fixes
    result = box.run("configure")
    assert result.returncode == 0, result.stderr
    url = f"http://{box.server.host}"
    assert f"credential.{url}/.helper = \"\" then copilot" in result.stdout
    assert "git no longer asks store" in result.stdout
    got = fill(box)["password"]
    assert got in box.server.copilot_tokens
    assert box.server.exchanges == 1
    assert ours(box, url) == ["", "copilot"]
    assert asked(box, url) == ["copilot"]


def test_configure_is_idempotent_and_unconfigure_removes_only_ours(with_store):
    box = with_store
    url = f"http://{box.server.host}"
    git(box, "config", "--global", "--add", f"credential.{url}.useHttpPath", "false")  # the user's
    original = gitconfig_text(box)
    box.run("configure")
    before = gitconfig_text(box)
    again = box.run("configure")
    assert "already set" in again.stdout
    assert gitconfig_text(box) == before
    removed = box.run("unconfigure")
    assert removed.returncode == 0 and "removed" in removed.stdout
    assert gitconfig_text(box) == original
    assert "nothing of ours" in box.run("unconfigure").stdout
    assert fill(box)["password"] == "stale-copilot-token"  # back to the user's own set-up


def test_the_users_entries_for_a_host_stay_and_are_overridden(with_store):
    box = with_store
    box.write_config("""\
        store = "file"
        [profiles.copilot]
        github_url = "http://localhost:{port}"
        api_url = "{url}"
        """)
    url = "https://api.githubcopilot.com"
    git(box, "config", "--global", "--add", f"credential.{url}.helper", "cache")
    original = gitconfig_text(box)
    box.run("configure")
    assert helpers(box, url) == ["cache"] and ours(box, url) == ["", "copilot"]
    assert asked(box, url) == ["copilot"]
    box.run("unconfigure")
    assert gitconfig_text(box) == original
    assert asked(box, url) == ["store", "copilot", "cache"]


USERS_OWN = """\
# my git config
[credential "https://api.githubcopilot.com"]
\t# I run the helper for this host myself; keep this comment
\thelper = copilot  ; and this one
\tuseHttpPath = false
[user]
\tname = Someone
"""


def test_the_users_own_copilot_line_and_comments_are_kept(logged_in):
    """git config cannot remove one of two equal values: had configure written into the
    user's section, unconfigure would take the user's `helper = copilot` with it."""
    box = logged_in
    claim_the_copilot_hosts(box)
    (box.root / "home" / ".gitconfig").write_text(USERS_OWN)
    result = box.run("configure")
    assert result.returncode == 0, result.stderr
    assert gitconfig_text(box).startswith(USERS_OWN)  # only added after it
    assert asked(box, "https://api.githubcopilot.com") == ["copilot"]  # once
    assert box.run("configure").stdout.count("already set") == len(configured_urls(result))
    removed = box.run("unconfigure")
    assert removed.returncode == 0, removed.stderr
    assert gitconfig_text(box) == USERS_OWN


def test_a_section_with_our_spelling_but_no_marker_is_the_users(logged_in):
    box = logged_in
    url = f"http://{box.server.host}"
    git(box, "config", "--global", f"credential.{url}/.helper", "cache")
    original = gitconfig_text(box)
    result = box.run("configure")
    assert result.returncode == 0 and f"credential.{url}/ holds entries" in result.stdout
    assert ours(box, url) == ["cache"]
    box.run("unconfigure")
    assert ours(box, url) == ["cache"] and gitconfig_text(box) == original


def test_four_concurrent_configures_leave_one_pair_per_host(with_store):
    box = with_store
    claim_the_copilot_hosts(box)
    original = gitconfig_text(box)
    runs = [box.start("configure") for _ in range(4)]
    results = [(p.wait(timeout=120), p.stdout.read().decode(), p.stderr.read().decode())
               for p in runs]
    for code, _, err in results:
        assert code == 0, err
    urls = configured_urls(box.run("configure"))
    assert f"http://{box.server.host}" in urls and len(urls) >= 5
    for url in urls:
        assert ours(box, url) == ["", "copilot"], url
        assert git(box, "config", "--global", "--get-all",
                   f"credential.{url}/.copilotConfigured").stdout == b"true\n"
    assert sum("= \"\" then copilot" in out for _, out, _ in results) == 1  # one run wrote
    box.run("unconfigure")
    assert gitconfig_text(box) == original


GIT_THAT_DIES = """\
#!/bin/sh
# git, but the process that runs it is killed (kill -9) right after its Nth config change
"$REAL_GIT" "$@"
status=$?
case " $* " in
  *" config "*" --add "* | *" config "*" --unset-all "* | *" config "*" --remove-section "*)
    n=$(( $(cat "$COUNT" 2>/dev/null || echo 0) + 1 ))
    echo "$n" > "$COUNT"
    [ "$n" -eq "$KILL_AT" ] && kill -9 "$PPID"
    ;;
esac
exit $status
"""


@pytest.mark.slow  # a kill -9 matrix
@pytest.mark.parametrize("kill_at", [1, 2, 3])
@pytest.mark.parametrize("then", ["configure", "unconfigure"])
def test_a_run_killed_between_two_git_config_calls_is_finished_by_the_next(
        with_store, tmp_path, kill_at, then):
    box = with_store
    original = gitconfig_text(box)
    killed = run_killed(box, tmp_path, "configure", kill_at)
    assert killed.returncode == -9
    assert gitconfig_text(box) != original  # it did write something
    result = box.run(then)
    assert result.returncode == 0, result.stderr
    if then == "configure":
        urls = configured_urls(result)
        for url in urls:
            assert ours(box, url) == ["", "copilot"], url
        assert fill(box)["password"] in box.server.copilot_tokens
        assert "repaired" in result.stdout or kill_at == 3  # the third add wrote a whole pair
        box.run("unconfigure")
    assert gitconfig_text(box) == original


@pytest.mark.slow  # a kill -9 matrix
@pytest.mark.parametrize("kill_at", [1, 2])
def test_an_unconfigure_killed_between_two_git_config_calls_is_finished_by_the_next(
        with_store, tmp_path, kill_at):
    box = with_store
    claim_the_copilot_hosts(box)  # five sections: one git call each
    original = gitconfig_text(box)
    box.run("configure")
    killed = run_killed(box, tmp_path, "unconfigure", kill_at)
    assert killed.returncode == -9
    assert gitconfig_text(box) != original
    result = box.run("unconfigure")
    assert result.returncode == 0, result.stderr
    assert gitconfig_text(box) == original


def test_entries_the_user_adds_to_our_section_stay(logged_in):
    box = logged_in
    url = f"http://{box.server.host}"
    box.run("configure")
    git(box, "config", "--global", "--add", f"credential.{url}/.useHttpPath", "true")
    assert "already set" in box.run("configure").stdout
    result = box.run("unconfigure")
    assert "kept your 1 entry there" in result.stdout
    assert ours(box, url) == []
    assert git(box, "config", "--global", f"credential.{url}/.useHttpPath").stdout == b"true\n"
    assert "copilot" not in gitconfig_text(box)


def run_killed(box, tmp_path, action: str, kill_at: int):
    """``action``, killed with kill -9 right after its ``kill_at``-th git config change."""
    bin_dir = tmp_path / "dying-git"
    bin_dir.mkdir()
    (bin_dir / "git").write_text(GIT_THAT_DIES)
    (bin_dir / "git").chmod(0o755)
    return box.run(action, env={
        "PATH": f"{bin_dir}:{box.env['PATH']}", "REAL_GIT": shutil.which("git"),
        "COUNT": str(tmp_path / "count"), "KILL_AT": str(kill_at)})


def test_unconfigure_with_a_broken_gitconfig_says_what_and_what_to_run(logged_in):
    box = logged_in
    box.run("configure")
    path = box.root / "home" / ".gitconfig"
    path.write_text(path.read_text() + "[broken\n")
    before = path.read_text()
    for action in ("unconfigure", "configure"):
        result = box.run(action)
        assert result.returncode == 1 and result.stdout == ""
        [line] = result.stderr.splitlines()
        assert "cannot read the global git config (bad config line" in line
        assert "in a text editor" in line and "git itself refuses" in line
        assert f"`git-credential-copilot {action}` again" in line
    assert path.read_text() == before


def test_unconfigure_needs_no_config_of_ours(logged_in):
    """A broken (or deleted) config.toml must not keep git pointing at the helper."""
    box = logged_in
    box.run("configure")
    box.config_path.write_text("this is = not [toml\n")
    assert box.run("status").returncode == 2
    result = box.run("unconfigure")
    assert result.returncode == 0, result.stderr
    assert "copilot" not in gitconfig_text(box)


def test_an_older_configures_pair_is_left_and_named(logged_in):
    box = logged_in
    url = "https://api.githubcopilot.com"
    git(box, "config", "--global", "--add", f"credential.{url}.helper", "")
    git(box, "config", "--global", "--add", f"credential.{url}.helper", "copilot")
    original = gitconfig_text(box)
    result = box.run("unconfigure")
    assert result.returncode == 0
    assert f"left credential.{url}:" in result.stdout and "--unset-all" in result.stdout
    assert gitconfig_text(box) == original


def test_configure_claims_the_remembered_api_host_and_ghe_tenants(sandbox):
    require_executable()
    sandbox.write_config("""\
        store = "file"
        [profiles.copilot]
        github_url = "http://localhost:{port}"
        api_url = "{url}"
        hosts = []
        [profiles.tenant]
        github_url = "https://acme.ghe.com"
        api_url = "https://api.acme.ghe.com"
        hosts = []
        [profiles.plain]
        """)
    sandbox.state_dir.mkdir(parents=True)
    (sandbox.state_dir / "copilot.json").write_text(
        '{"version": 1, "api_base": "https://api.individual.githubcopilot.com"}')
    result = sandbox.run("configure")
    assert result.returncode == 0, result.stderr
    assert ours(sandbox, "https://api.individual.githubcopilot.com") == ["", "copilot"]
    assert ours(sandbox, "https://copilot-api.acme.ghe.com") == ["", "copilot"]
    for host in BUILT_IN:
        assert ours(sandbox, f"https://{host}") == ["", "copilot"]
    assert "github.com/" not in configured_urls(result)  # never a login host
    assert ours(sandbox, "https://github.com") == []


def test_configure_system_writes_the_system_file(sandbox, tmp_path):
    require_executable()
    system = tmp_path / "gitconfig-system"
    env = {"GIT_CONFIG_SYSTEM": str(system), "GIT_CONFIG_NOSYSTEM": ""}
    result = sandbox.run("configure", "--system", env=env)
    assert result.returncode == 0, result.stderr
    assert "helper = copilot" in system.read_text()
    assert ours(sandbox, f"http://{sandbox.server.host}") == []
    sandbox.run("unconfigure", "--system", env=env)
    assert "copilot" not in system.read_text()


def test_options_go_with_their_commands(sandbox):
    assert sandbox.call("status", "--system").returncode == 2
    assert sandbox.call("configure", "--from", "litellm").returncode == 2


# -- the platforms' own storing helpers: macOS git's osxkeychain, Git for Windows' manager --

STAND_IN = """\
#!/bin/sh
# A storing helper as macOS / Windows git have one: it records every call, and answers a
# get with the Copilot token it saved hours ago.
host=$(sed -n 's/^host=//p')
echo "$1 $host" >> "$RECORD"
if [ "$1" = get ]; then
  printf 'username=oauth2\\npassword=stale-copilot-token\\n'
fi
"""


@pytest.mark.parametrize("name", ["osxkeychain", "manager"])
def test_the_platforms_storing_helper_is_never_asked_for_a_copilot_host(logged_in, tmp_path,
                                                                         name):
    box = logged_in
    claim_the_copilot_hosts(box)
    bin_dir, record = tmp_path / "platform-bin", tmp_path / f"{name}.calls"
    bin_dir.mkdir()
    stand_in = bin_dir / f"git-credential-{name}"
    stand_in.write_text(STAND_IN)
    stand_in.chmod(0o755)
    system = tmp_path / "gitconfig-system"  # where the platform's installer puts it
    system.write_text(textwrap.dedent(f"""\
        [credential]
        \thelper = {name}
        """))
    box.env.update({"GIT_CONFIG_SYSTEM": str(system), "GIT_CONFIG_NOSYSTEM": "",
                    "PATH": f"{bin_dir}:{box.env['PATH']}", "RECORD": str(record),
                    "GIT_TERMINAL_PROMPT": "0"})
    copilot_hosts = [f"https://{host}" for host in BUILT_IN] + [box.server.url]

    def calls() -> list[str]:
        return record.read_text().splitlines() if record.exists() else []

    for url in copilot_hosts:  # before configure: it answers first, with a stale token
        assert fill(box, url)["password"] == "stale-copilot-token"
    assert calls() == [f"get {url.split('://')[1]}" for url in copilot_hosts]

    result = box.run("configure")
    assert result.returncode == 0, result.stderr
    assert f"git no longer asks {name}" in result.stdout
    assert set(copilot_hosts) <= set(configured_urls(result))
    record.unlink()
    for url in copilot_hosts:
        answer = fill(box, url, check=False)
        assert answer.get("password") != "stale-copilot-token"
        if answer:  # git passes on what a helper answered: approve asks every helper to store
            git(box, "credential", "approve", input="".join(
                f"{k}={v}\n" for k, v in answer.items()) + "\n")
    assert fill(box)["password"] in box.server.copilot_tokens
    assert calls() == []
    for other in ("https://github.com", f"http://{box.login_host}"):  # not ours: still asked
        assert fill(box, other)["password"] == "stale-copilot-token"
    assert calls() == ["get github.com", f"get {box.login_host}"]

    box.run("unconfigure")
    record.unlink()
    assert fill(box, copilot_hosts[0])["password"] == "stale-copilot-token"
    assert calls() == [f"get {BUILT_IN[0]}"]


@pytest.mark.parametrize(("pattern", "url", "want"), [
    ("https://api.githubcopilot.com", "https://api.githubcopilot.com/chat", True),
    ("https://api.githubcopilot.com/", "https://api.githubcopilot.com", True),
    ("https://*.githubcopilot.com", "https://api.githubcopilot.com", True),
    ("https://*.githubcopilot.com", "https://a.b.githubcopilot.com", False),
    ("https://api.githubcopilot.com", "http://api.githubcopilot.com", False),
    ("https://api.githubcopilot.com:443", "https://api.githubcopilot.com", True),
    ("https://api.githubcopilot.com/v1", "https://api.githubcopilot.com/v10", False),
    ("https://github.com", "https://api.githubcopilot.com", False),
])
def test_url_matches_like_git(pattern, url, want):
    assert gitconfig.url_matches(pattern, url) is want


def test_effective_helpers_follow_gits_reset_rule(sandbox):
    box = sandbox
    git(box, "config", "--global", "credential.helper", "osxkeychain")
    url = "https://api.githubcopilot.com"
    assert [h.value for h in gitconfig.effective_helpers(url, box.env)] == ["osxkeychain"]
    gitconfig.configure([url], "global", box.env)
    assert [h.value for h in gitconfig.effective_helpers(url, box.env)] == ["copilot"]
    git(box, "config", "--global", "--add", "credential.helper", "cache")  # same section
    assert [h.value for h in gitconfig.effective_helpers(url, box.env)] == ["copilot"]
    later = {**box.env, "GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": "credential.helper",
             "GIT_CONFIG_VALUE_0": "store"}  # e.g. a repository's own config, read later
    seen = gitconfig.effective_helpers(url, later)
    assert [h.value for h in seen] == ["copilot", "store"]
    assert seen[0].origin.endswith(".gitconfig") and seen[1].origin.startswith("command")
