"""``doctor``: check each moving part a token depends on, and say what to fix.

It collects and prints; it knows no provider. The checks here look at what every profile
depends on: the configuration, the network settings, the secret store, git, whether the
profile's servers answer, the clock, the cached token. The profile's provider adds its own
(``Provider.diagnose``: whether the login a get would use works, read as the provider reads
its server's answers), and other parts of the helper may add theirs (``extra_sources``).
Each check is one ``Diagnostic`` - ok, warn or fail, one line of detail, the fix - printed
as one line, or as JSON; the command exits 0 unless one failed.

It is read-only: it writes no file and stores nothing. It never prints a secret: proxy URLs
and git helper values are shown without their credentials, each line is masked once more on
its way out (``errors.scrub``: every secret this process handled, anything token-shaped).
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from helper import osdeps, tools
from helper.commands import configure as gitconfig
from helper.core import config, routing
from helper.core.lifecycle import Prompt
from helper.errors import ConfigError, HelperError, mask, one_line, scrub
from helper.net.transport import Transport
from helper.providers import registry
from helper.providers.base import (
    FAIL,
    OK,
    Checkup,
    Diagnostic,
    every_answer_final,
    failed,
    failure,
    passed,
    server_time,
    warned,
)
from helper.storage import files, paths, secrets, state
from helper.storage.records import Grant

if TYPE_CHECKING:
    from typing import Any

    from helper.core.config import Config
    from helper.providers.base import Provider
    from helper.providers.profile import Profile

    Source = Callable[[Mapping[str, str]], Sequence[Diagnostic]]

PROXY_VARS = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY",
              "all_proxy")
NO_PROXY_VARS = ("NO_PROXY", "no_proxy")
CA_VARS = ("REQUESTS_CA_BUNDLE", "SSL_CERT_FILE", "SSL_CERT_DIR", "CURL_CA_BUNDLE")
CLOCK_SKEW = 60  # seconds
MARKS = {OK: "✓", FAIL: "✗"}  # anything else (a warning): "!"


# -- the shared checks ----------------------------------------------------------------------


def check_config(load: Callable[[], Config]) -> tuple[Diagnostic, Config | None]:

    try:
        cfg = load()
    except ConfigError as e:
        return failed("config", str(e), "fix the file or the variable it names"), None
    path = cfg.path
    where = str(path) if path is not None and path.exists() \
        else f"no file at {path}: built-in defaults"
    names = ", ".join(cfg.profiles)
    return passed("config", f"{where}; profiles: {names}; default {cfg.default_profile}"), cfg


def check_hosts(profile: Profile, urls: Sequence[str]) -> Diagnostic:
    name = f"hosts ({profile.name})"
    if not urls:
        return failed(name, "the profile claims no host",
                      f"add hosts = [...] to [profiles.{profile.name}]")
    return passed(name, f"answers git for {', '.join(urlsplit(u).netloc for u in urls)}")


def check_store(choose: Callable[[], Any], key: str,
                describe: Callable[[Grant], str] = lambda grant: "a login",
                clock: Callable[[], float] = time.monotonic
                ) -> tuple[Diagnostic, Grant | None, Any]:
    """Does the secret store answer (and how fast), and is a login kept there? The store,
    and the login it holds (None: none), come back for the checks after this one."""
    started = clock()
    try:
        store = choose()
        raw = store.read(key)
    except HelperError as e:
        return failed("store", one_line(str(e)),
                      'unlock your keyring, or set store = "file" in the config'), None, None
    took = clock() - started
    where = store.describe()
    grant = Grant.from_dict(raw) if raw else None
    if grant is None:
        return passed("store", f"{where} answered in {took:.1f} s; no login stored for "
                      f"{key!r}"), None, store
    user = grant.username or "unknown user"
    return passed("store", f"{where} answered in {took:.1f} s; login of {user} "
                  f"({describe(grant)}, {mask(grant.secret)}) stored for {key!r}"), \
        grant, store


def check_one_place(used: str, other: str, other_raw: dict[str, Any] | None) -> Diagnostic:
    """With store = "auto" a login can also sit in the store not in use (made while the
    keyring did not answer); it would come back if the keyring stops answering."""
    if not other_raw:
        return passed("login in one place", f"none left in {other}")
    return failed("login in one place", f"{used} is in use, but {other} holds a login too",
                  "run `git-credential-copilot logout`, then log in again")


def check_git(url: str, helpers: Sequence[Any], is_ours: Callable[[str], bool],
              storing: Callable[[str], bool]) -> Diagnostic:
    """Does git ask our helper first for ``url``? Helpers are named without secrets."""
    name = f"git {urlsplit(url).netloc}"
    fix = "run `git-credential-copilot configure`"
    if not helpers:
        return failed(name, f"git asks no credential helper for {url}", fix)
    first = helpers[0]
    if is_ours(first.value):
        after = [h for h in helpers[1:] if storing(h.value)]
        note = (f"; {safe_helper(after[0].value)!r} ({after[0].origin}) also gets each token "
                "git approves" if after else "")
        return passed(name, f"git asks this helper first{note}")
    ours = any(is_ours(h.value) for h in helpers)
    kind = "a storing helper" if storing(first.value) else "another helper"
    what = f"git asks {kind}, {safe_helper(first.value)!r} ({first.origin}), " + (
        "before this one: it can answer with a stale token" if ours
        else "and never this one")
    return failed(name, what, fix)


def check_reach(request: Callable[[str], Any], url: str, fix: str) -> tuple[Diagnostic, Any]:
    """One request to ``url``: any HTTP answer means the network path works."""
    host = urlsplit(url).netloc
    try:
        response = request(url)
    except HelperError as e:
        return failed(f"reach {host}", failure(e), fix), None
    return passed(f"reach {host}", f"answered HTTP {response.status}"), response


def check_network_env(env: Mapping[str, str]) -> Diagnostic:
    """Which proxy and CA-bundle variables are in force (proxy credentials hidden)."""
    shown = [f"{name}={safe_url(env[name]) if name in PROXY_VARS else one_line(env[name], 120)}"
             for name in PROXY_VARS + NO_PROXY_VARS + CA_VARS if env.get(name)]
    for name in CA_VARS:
        if env.get(name) and not os.path.exists(env[name]):
            return failed("network settings", f"{name} names {one_line(env[name], 120)}, which "
                          "does not exist", f"point {name} at your CA bundle, or unset it")
    return passed("network settings", "; ".join(shown) if shown
                  else "no proxy or CA-bundle variables set: direct connections")


def check_clock(headers: Mapping[str, str] | None, now: float) -> Diagnostic:
    """The local clock against the server's ``Date``: token lifetimes are counted on it."""
    if not headers or not any(k.lower() == "date" for k in headers):
        return warned("clock", "not checked: no server answered with a Date header")
    server = server_time(headers)
    if server is None:
        return warned("clock", "the server's Date header is unreadable; not checked")
    skew = now - server
    if abs(skew) <= CLOCK_SKEW:
        return passed("clock", f"within {max(abs(skew), 1):.0f} s of the server's")
    way = "ahead of" if skew > 0 else "behind"
    return failed("clock", f"the local clock is {abs(skew):.0f} s {way} the server's",
                  "sync it (e.g. `timedatectl set-ntp true`, or your OS's time settings)")


def check_cached(state: Any, now: float) -> Diagnostic:
    token = state.token
    if token is None or not token.fresh(now):
        return passed("cached token", "none fresh; the next get mints one")
    api = f", API {token.api_base}" if token.api_base else ""
    return passed("cached token", f"valid {(token.expires_at - now) / 60:.0f} min more{api}")


# -- showing what others configured, without their secrets ----------------------------------

# password=…, GH_TOKEN=…, --token …: the value runs to its closing quote or the statement's end
_SECRET_VALUE = re.compile(
    r"(?i)((?<![a-z])(?:password|passwd|pass|token|oauth_token|access_token|secret|api[_-]?key)"
    r"\s*[=:]\s*|--(?:password|token|secret)[\s=]+)(\"[^\"]*\"|'[^']*'|[^;&|'\"}\n]+)")
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s@]*@")


def safe_url(value: str) -> str:
    """A proxy URL as a person may see it: no user information, no query, no fragment.
    requests takes ``user:pass@host:port`` without a scheme too, and a password may hold an
    unencoded ``/``: all before the last ``@`` ahead of any ``?`` or ``#`` is hidden."""
    scheme, sep, rest = value.partition("://")
    if not sep:
        scheme, rest = "", value
    cut = min((i for i in (rest.find("?"), rest.find("#")) if i >= 0), default=len(rest))
    address, extra = rest[:cut], urlsplit(rest[cut:])
    if "@" in address:
        address = "…@" + address.rsplit("@", 1)[1]
    shown = f"{scheme}{sep}{address}" + ("?…" if extra.query else "") + (
        "#…" if extra.fragment else "")
    return one_line(shown, 120)




def safe_helper(value: str) -> str:
    """A git credential helper's value without the secrets a shell helper may hold inline
    (``!f() { echo password=…; }; f``), nor a URL's user information."""
    hidden = _SECRET_VALUE.sub(lambda m: f"{m.group(1)}…", value)
    return one_line(_USERINFO.sub(lambda m: f"{m.group(1)}…@", hidden), 120)


def network_fix(env: Mapping[str, str]) -> str:
    names = [n for n in PROXY_VARS + NO_PROXY_VARS if env.get(n)]
    return "check the network, DNS and the proxy (" + (
        f"{', '.join(names)} set" if names else "no proxy variable is set: HTTPS_PROXY") + ")"


# -- collecting -------------------------------------------------------------------------------


def run_checks(env: Mapping[str, str], profile_name: str, console: Any,
               now: Callable[[], float] = time.time) -> list[Diagnostic]:
    """Every check for one profile, then what other parts of the helper report."""

    check, cfg = check_config(lambda: config.load(env))
    checks = [check, check_network_env(env)]
    if cfg is None:
        checks += environment_checks(env)
    else:
        try:
            profile = cfg.profile(profile_name or cfg.profile_override or cfg.default_profile)
        except HelperError as e:
            checks.append(failed("profile", str(e), "pass --profile with a known name"))
        else:
            checks += profile_checks(cfg, profile, env, console, now)
    return checks + collect_extra(env, extra_sources())


def environment_checks(env: Mapping[str, str]) -> list[Diagnostic]:
    """Without a readable configuration: what each provider would take from the environment."""

    login = Prompt(False).login_command
    return [check for name in registry.names()
            for check in registry.spec(name).provider.diagnose_environment(env, login)]


def profile_checks(cfg: Config, profile: Profile, env: Mapping[str, str], console: Any,
                   now: Callable[[], float]) -> list[Diagnostic]:

    transport = Transport(timeout=cfg.http_timeout, budget=0)  # doctor asks each once
    provider = registry.build(profile, transport, paths.cache_dir(env), env)
    urls = gitconfig.profile_urls(cfg, profile, env, console)
    checks = [check_hosts(profile, urls)]
    store_check, stored, used = check_store(
        lambda: secrets.choose(cfg.store, env, console.notice, cfg.keyring_timeout),
        profile.login_key, provider.describe_grant)
    checks.append(store_check)
    if isinstance(used, secrets.AutoStore):
        checks.append(_one_place(used, profile.login_key, env))
    checks += git_checks(urls, env)
    checks += reach_checks(provider, transport, env, now())
    current = state.read(state.path_for(paths.state_dir(env), profile.name), files.quiet)
    checks.append(check_cached(current, now()))
    login_command = routing.prompt(cfg, profile, env, False).login_command
    return checks + provider.diagnose(Checkup(env, stored, now(), login_command,
                                              network_fix(env)))


def _one_place(used: Any, login_key: str, env: Mapping[str, str]) -> Diagnostic:
    """The auto store: is a login also left in the file while the keyring is in use?"""

    spare = secrets.FileStore(paths.data_dir(env), files.quiet)
    try:
        other = spare.read(login_key) if used.holder(login_key) != spare.describe() else None
    except HelperError:
        other = None
    return check_one_place(used.keyring.describe(), spare.describe(), other)


def reach_checks(provider: Provider, transport: Any, env: Mapping[str, str],
                 now: float) -> list[Diagnostic]:
    """One request to each server the provider depends on, then the clock against the
    first ``Date`` they answered with."""
    checks, date = [], None
    for url in dict.fromkeys(provider.servers()):
        check, response = check_reach(
            lambda u: transport.request("GET", u, retry_statuses=every_answer_final),
            url, network_fix(env))
        checks.append(check)
        if response is not None and date is None and any(
                k.lower() == "date" for k in response.headers):
            date = response.headers
    return [*checks, check_clock(date, now)]


def git_checks(urls: Sequence[str], env: Mapping[str, str]) -> list[Diagnostic]:

    checks = []
    for url in urls:
        try:
            helpers = gitconfig.effective_helpers(url, env)
        except gitconfig.GitError as e:
            return [warned("git", f"{e}: skipped (only `git credential` needs it)")]
        checks.append(check_git(url, helpers, gitconfig.is_ours, gitconfig.storing))
    return checks


# -- what other parts of the helper report --------------------------------------------------


def extra_sources() -> list[Source]:
    """Other parts of the helper that report on themselves in doctor: each a function of
    the environment that returns Diagnostics (read-only, no network). Plug one in here."""

    return [tools.diagnostics, wsl]


def wsl(env: Mapping[str, str]) -> list[Diagnostic]:
    """Under WSL: where logins are kept, how a browser sign-in opens (``helper.osdeps``)."""
    return [warned(f.name, f.detail, f.fix) if f.fix else passed(f.name, f.detail)
            for f in osdeps.wsl_findings(env)]


def collect_extra(env: Mapping[str, str], sources: Sequence[Source]) -> list[Diagnostic]:
    """The diagnostics of each source, in order; a source that fails is one failed line."""
    checks: list[Diagnostic] = []
    for source in sources:
        try:
            checks += source(env)
        except HelperError as e:
            checks.append(failed("report", one_line(str(e)), "see the message; rerun doctor"))
    return checks


# -- printing ---------------------------------------------------------------------------------


def masked(check: Diagnostic) -> Diagnostic:
    """The last pass before stdout: every secret this process handled, and anything
    token-shaped, masked in each field."""
    return Diagnostic(scrub(check.name), check.status, scrub(check.detail), scrub(check.fix))


def render_text(checks: Sequence[Diagnostic]) -> str:
    lines = []
    for c in map(masked, checks):
        line = f"{MARKS.get(c.status, '!')} {c.name}: {c.detail}"
        lines.append(line + (f" — fix: {c.fix}" if c.status != OK and c.fix else ""))
    return "\n".join(lines) + "\n"


def render_json(checks: Sequence[Diagnostic]) -> str:

    return json.dumps({"ok": all(c.ok for c in checks),
                       "checks": [masked(c).as_dict() for c in checks]},
                      ensure_ascii=False) + "\n"


def cmd_doctor(args: Any, streams: Any, env: Mapping[str, str]) -> int:
    checks = run_checks(env, args.profile, streams.console)
    render = render_json if args.format == "json" else render_text
    streams.stdout.write(render(checks))
    streams.stdout.flush()
    return 0 if all(c.ok for c in checks) else 1
