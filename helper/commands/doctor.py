"""``doctor``: check each moving part a token depends on, and say what to fix.

When a token is refused the cause is one of a handful: no Copilot seat, a token kind the
exchange does not accept, a storing git helper answering first, a locked keyring, a proxy,
a clock that is off. Each check below is a small function taking what it looks at, and
returns one ``Check``; the command prints one line per check (✓ or ✗, and for ✗ the fix)
and exits 0 only when all pass. It is read-only - it writes no file, stores nothing, and the
Copilot token its one exchange yields is thrown away - and it never prints a secret.
"""

from __future__ import annotations

import os
import time
from collections import namedtuple
from collections.abc import Callable, Mapping, Sequence
from urllib.parse import urlsplit

from helper import osdeps
from helper.providers.copilot import ENV_FALLBACK, ENV_FIRST, exchange_request, grant_sources, kind_of
from helper.errors import HelperError, mask, one_line
from helper.storage.records import STORE, Grant

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: kept out of the cached path's imports
if TYPE_CHECKING:
    from typing import Any

Check = namedtuple("Check", ("name", "ok", "detail", "fix"), defaults=("",))

PROXY_VARS = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY",
              "all_proxy", "NO_PROXY", "no_proxy")
CA_VARS = ("REQUESTS_CA_BUNDLE", "SSL_CERT_FILE", "SSL_CERT_DIR", "CURL_CA_BUNDLE")
ENV_TOKENS = (ENV_FIRST, *ENV_FALLBACK)
CLOCK_SKEW = 60  # seconds


# -- the checks ----------------------------------------------------------------------------


def check_config(load: Callable[[], Any]) -> tuple[Check, Any]:
    from helper.errors import ConfigError

    try:
        cfg = load()
    except ConfigError as e:
        return Check("config", False, str(e), "fix the file or the variable it names"), None
    where = str(cfg.path) if cfg.path.exists() else f"no file at {cfg.path}: built-in defaults"
    names = ", ".join(cfg.profiles)
    return Check("config", True, f"{where}; profiles: {names}; default {cfg.default_profile}"), cfg


def check_hosts(profile: Any, urls: Sequence[str]) -> Check:
    if not urls:
        return Check(f"hosts ({profile.name})", False, "the profile claims no host",
                     f"add hosts = [...] to [profiles.{profile.name}]")
    shown = ", ".join(urlsplit(u).netloc for u in urls)
    return Check(f"hosts ({profile.name})", True, f"answers git for {shown}")


def check_store(choose: Callable[[], Any], profile_name: str,
                clock: Callable[[], float] = time.monotonic
                ) -> tuple[Check, dict[str, Any] | None, Any]:
    """Does the secret store answer (and how fast), and is a login kept there?"""
    started = clock()
    try:
        store = choose()
        raw = store.read(profile_name)
    except HelperError as e:
        return Check("store", False, one_line(str(e)),
                     'unlock your keyring, or set store = "file" in the config'), None, None
    took = clock() - started
    where = store.describe()
    if not raw:
        return Check("store", True, f"{where} answered in {took:.1f} s; no login stored for "
                     f"{profile_name!r}"), None, store
    secret = raw.get("access_token") or raw.get("refresh_token") or ""
    user = raw.get("username") or "unknown user"
    return Check("store", True, f"{where} answered in {took:.1f} s; login of {user} "
                 f"({kind_of(secret)[0]}, {mask(secret)}) stored for {profile_name!r}"), raw, store


def check_one_place(used: str, other: str, other_raw: dict[str, Any] | None) -> Check:
    """With store = "auto" a login can also sit in the store not in use (made while the
    keyring did not answer); it would come back if the keyring stops answering."""
    if not other_raw:
        return Check("login in one place", True, f"none left in {other}")
    return Check("login in one place", False, f"{used} is in use, but {other} holds a login "
                 "too", "run `git-credential-copilot logout`, then log in again")


def check_git(url: str, helpers: Sequence[Any], is_ours: Callable[[str], bool],
              storing: Callable[[str], bool]) -> Check:
    """Does git ask our helper first for ``url``?"""
    name = f"git {urlsplit(url).netloc}"
    fix = "run `git-credential-copilot configure`"
    if not helpers:
        return Check(name, False, f"git asks no credential helper for {url}", fix)
    first = helpers[0]
    if is_ours(first.value):
        after = [h for h in helpers[1:] if storing(h.value)]
        note = (f"; {after[0].value!r} ({after[0].origin}) also gets each token git approves"
                if after else "")
        return Check(name, True, f"git asks this helper first{note}")
    ours = any(is_ours(h.value) for h in helpers)
    kind = "a storing helper" if storing(first.value) else "another helper"
    what = f"git asks {kind}, {first.value!r} ({first.origin}), " + (
        "before this one: it can answer with a stale Copilot token" if ours
        else "and never this one")
    return Check(name, False, what, fix)


def check_reach(request: Callable[[str], Any], url: str,
                fix: str) -> tuple[Check, Any]:
    """One request to ``url``: any HTTP answer means the network path works."""
    host = urlsplit(url).netloc
    try:
        response = request(url)
    except HelperError as e:
        return Check(f"reach {host}", False, _failure(e), fix), None
    return Check(f"reach {host}", True, f"answered HTTP {response.status}"), response


def check_network_env(env: Mapping[str, str]) -> Check:
    """Which proxy and CA-bundle variables are in force (proxy credentials masked)."""
    shown = [f"{name}={_safe_url(env[name])}" for name in PROXY_VARS + CA_VARS if env.get(name)]
    for name in CA_VARS:
        if env.get(name) and not os.path.exists(env[name]):
            return Check("network settings", False, f"{name} names {env[name]}, which does not "
                         "exist", f"point {name} at your CA bundle, or unset it")
    return Check("network settings", True, "; ".join(shown) if shown
                 else "no proxy or CA-bundle variables set: direct connections")


def check_clock(date_header: str | None, now: float) -> Check:
    """The local clock against the server's ``Date``: token lifetimes are counted on it."""
    from email.utils import parsedate_to_datetime

    if not date_header:
        return Check("clock", True, "not checked: no server answered with a Date header")
    try:
        server = parsedate_to_datetime(date_header).timestamp()
    except (TypeError, ValueError):
        return Check("clock", True, "the server's Date header is unreadable; not checked")
    skew = now - server
    if abs(skew) <= CLOCK_SKEW:
        return Check("clock", True, f"within {max(abs(skew), 1):.0f} s of the server's")
    way = "ahead of" if skew > 0 else "behind"
    return Check("clock", False, f"the local clock is {abs(skew):.0f} s {way} the server's",
                 "sync it (e.g. `timedatectl set-ntp true`, or your OS's time settings)")


def check_env_token(name: str, value: str, used: bool) -> Check:
    """The kind of an environment token, and whether the exchange accepts that kind."""
    kind, accepted = kind_of(value)
    where = f"holds {kind} ({mask(value)})"
    if not used:
        return Check(f"env {name}", True, f"{where}; not used: a stored login comes first")
    if accepted is False:
        return Check(f"env {name}", False, f"{where}; the Copilot exchange refuses this kind",
                     f"unset {name} and run `git-credential-copilot login`")
    if accepted is None:
        return Check(f"env {name}", True, f"{where}; accepted only if issued to an app "
                     "Copilot trusts (gh's tokens get 404; see the exchange check)")
    return Check(f"env {name}", True, f"{where}; the exchange accepts this kind")


def check_cached(state: Any, now: float) -> Check:
    token = state.token
    if token is None or not token.fresh(now):
        return Check("cached token", True, "none fresh; the next get mints one")
    api = f", API {token.api_base}" if token.api_base else ""
    return Check("cached token", True,
                 f"valid {(token.expires_at - now) / 60:.0f} min more{api}")


def check_exchange(request: Callable[[], Any], origin: str, secret: str,
                   fix: str) -> Check:
    """One Copilot token exchange with the login git would use: a token without a prompt,
    and the plan it says the account has."""
    name = "token exchange"
    try:
        response = request()
    except HelperError as e:
        return Check(name, False, _failure(e), fix)
    via = f"the login from {origin} ({mask(secret)})"
    if response.status == 200:
        body = _json(response)
        endpoints = body["endpoints"] if isinstance(body.get("endpoints"), dict) else {}
        plan = ", ".join(f"{k}={one_line(str(v), 60)}" for k, v in (
            ("sku", body.get("sku")), ("chat_enabled", body.get("chat_enabled")),
            ("endpoints.api", endpoints.get("api"))) if v is not None)
        return Check(name, True, f"{via} gets a token without a prompt"
                     + (f"; {plan}" if plan else ""))
    if response.status == 401:
        return Check(name, False, f"{via} was rejected (401): the GitHub token is dead",
                     "run `git-credential-copilot login`")
    if response.status == 403:
        return Check(name, False, f"{via}: no Copilot access (403): {_reason(response)}",
                     "check the account's Copilot seat or policy (github.com/settings/copilot)")
    if response.status == 404:
        return Check(name, False, f"{via}: Copilot does not accept this token (404); "
                     f"it is {kind_of(secret)[0]}",
                     "run `git-credential-copilot login` (this helper's device flow)")
    return Check(name, False, f"{via}: the exchange answered HTTP {response.status}",
                 "try again later; if it persists, see githubstatus.com")


# -- helpers -------------------------------------------------------------------------------


def _safe_url(value: str) -> str:
    """A proxy URL without its credentials. requests accepts ``user:pass@host:port`` with no
    scheme too, so whatever comes before the authority's last ``@`` is hidden."""
    scheme, sep, rest = value.partition("://")
    if not sep:
        scheme, rest = "", value
    authority, slash, path = rest.partition("/")
    if "@" in authority:
        authority = "…@" + authority.rsplit("@", 1)[1]
    return one_line(f"{scheme}{sep}{authority}{slash}{path}", 120)


def network_fix(env: Mapping[str, str]) -> str:
    names = [n for n in PROXY_VARS if env.get(n)]
    return "check the network, DNS and the proxy (" + (
        f"{', '.join(names)} set" if names else "no proxy variable is set: HTTPS_PROXY") + ")"


def _failure(e: Exception) -> str:
    """A transport failure without its "try again later": here the fix says what to do."""
    return one_line(str(e)).replace("; try again later", "")


def _json(response: Any) -> dict[str, Any]:
    try:
        body = response.json_object()
    except HelperError:
        return {}
    return body if isinstance(body, dict) else {}


def _reason(response: Any) -> str:
    body = _json(response)
    details = body.get("error_details")
    message = details.get("message") if isinstance(details, dict) else None
    message = message or body.get("message") or body.get("error")
    return one_line(str(message)) if message else "no reason given"


# -- the command ---------------------------------------------------------------------------


def run_checks(env: Mapping[str, str], profile_name: str, console: Any,
               now: Callable[[], float] = time.time) -> list[Check]:
    from helper.core import config

    checks: list[Check] = []
    check, cfg = check_config(lambda: config.load(env))
    checks.append(check)
    checks.append(check_network_env(env))
    checks += [Check(f.name, f.ok, f.detail, f.fix) for f in osdeps.wsl_findings(env)]  # WSL
    if cfg is None:
        return checks + [check_env_token(n, env[n], True) for n in ENV_TOKENS if env.get(n)]
    try:
        profile = cfg.profile(profile_name or cfg.profile_override or cfg.default_profile)
    except HelperError as e:
        return checks + [Check("profile", False, str(e), "pass --profile with a known name")]
    return checks + profile_checks(cfg, profile, env, console, now)


def profile_checks(cfg: Any, profile: Any, env: Mapping[str, str], console: Any,
                   now: Callable[[], float]) -> list[Check]:
    from helper.storage import files
    from helper.commands import configure as gitconfig
    from helper.storage import paths
    from helper.storage import state
    from helper.storage import secrets as store
    from helper.net.transport import Transport

    checks: list[Check] = []
    urls = gitconfig.profile_urls(cfg, profile, env, console)
    checks.append(check_hosts(profile, urls))
    store_check, raw, used = check_store(
        lambda: store.choose(cfg.store, env, console.notice, cfg.keyring_timeout), profile.login_key)
    checks.append(store_check)
    if isinstance(used, store.AutoStore):
        spare = store.FileStore(paths.data_dir(env), files.quiet)
        try:
            other = spare.read(profile.login_key) if used.holder(profile.login_key) != spare.describe() \
                else None
        except HelperError:
            other = None
        checks.append(check_one_place(used.keyring.describe(), spare.describe(), other))
    checks += git_checks(urls, env)
    transport = Transport(timeout=cfg.http_timeout, budget=0)
    date = None
    for url in dict.fromkeys(_endpoints(profile)):
        check, response = check_reach(lambda u: transport.request("GET", u, retry_statuses=_never),
                                      url, network_fix(env))
        checks.append(check)
        if response is not None and date is None:
            date = response.headers.get("Date") or response.headers.get("date")
    checks.append(check_clock(date, now()))
    current = state.read(state.path_for(paths.state_dir(env), profile.name), files.quiet)
    checks.append(check_cached(current, now()))
    checks += token_checks(profile, raw, env, transport)
    return checks


def git_checks(urls: Sequence[str], env: Mapping[str, str]) -> list[Check]:
    from helper.commands import configure as gitconfig

    checks = []
    for url in urls:
        try:
            helpers = gitconfig.effective_helpers(url, env)
        except gitconfig.GitError as e:
            return [Check("git", True, f"{e}: skipped (only `git credential` needs it)")]
        checks.append(check_git(url, helpers, gitconfig.is_ours, gitconfig.storing))
    return checks


def token_checks(profile: Any, raw: dict[str, Any] | None, env: Mapping[str, str],
                 transport: Any) -> list[Check]:
    """The environment tokens' kinds, then one exchange with the login a get would use."""
    stored = bool(raw and (raw.get("access_token") or raw.get("refresh_token")))
    checks = []
    for name in ENV_TOKENS:
        if env.get(name):
            used = name == "COPILOT_GITHUB_TOKEN" or not stored
            checks.append(check_env_token(name, env[name], used))
    if profile.provider != "copilot":
        ok = stored
        return checks + [Check("login", ok, "a login is stored" if ok else "no login stored",
                               "" if ok else _login_fix(profile))]
    login = Grant.from_dict(raw) if raw else None
    grants = grant_sources(login if login and login.access_token else None, env)
    if not grants:  # the logins a get would try, best first: doctor checks the first
        return checks + [Check("token exchange", False, "no GitHub login to exchange",
                               _login_fix(profile))]
    first = grants[0]
    origin = "the store" if first.origin == STORE else first.origin
    if first.refresh_token and first.expires_at and first.expires_at < time.time():
        return checks + [Check("token exchange", True, "the stored GitHub token has expired; "
                               "the next get refreshes it (not done here: doctor changes nothing)")]
    url, headers = exchange_request(profile.setting("api_url"), first.access_token)
    return checks + [check_exchange(
        lambda: transport.request("GET", url, headers=headers, retry_statuses=_never),
        origin, first.access_token, network_fix(env))]


def _never(response: Any) -> bool:
    """doctor tries once: any HTTP answer is the answer."""
    return False


def _endpoints(profile: Any) -> list[str]:
    if profile.provider == "copilot":
        return [profile.setting("github_url"), profile.setting("api_url")]
    return [u for u in (profile.setting("issuer") or profile.setting("token_url"),
                        profile.setting("api_base")) if u]


def _login_fix(profile: Any) -> str:
    flag = "" if profile.name == "copilot" else f"--profile {profile.name} "
    extra = (" (or `login --from editor` / `--from litellm` to reuse a login you have)"
             if profile.provider == "copilot" else "")
    return f"run `git-credential-copilot {flag}login`{extra}"


def render_text(checks: Sequence[Check]) -> str:
    lines = []
    for c in checks:
        line = f"{'✓' if c.ok else '✗'} {c.name}: {c.detail}"
        lines.append(line + (f" — fix: {c.fix}" if not c.ok and c.fix else ""))
    return "\n".join(lines) + "\n"


def render_json(checks: Sequence[Check]) -> str:
    import json

    return json.dumps({"ok": all(c.ok for c in checks),
                       "checks": [c._asdict() for c in checks]}, ensure_ascii=False) + "\n"


def cmd_doctor(args: Any, streams: Any, env: Mapping[str, str]) -> int:
    checks = run_checks(env, args.profile, streams.console)
    render = render_json if args.format == "json" else render_text
    streams.stdout.write(render(checks))
    streams.stdout.flush()
    return 0 if all(c.ok for c in checks) else 1
