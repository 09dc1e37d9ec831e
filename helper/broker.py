"""The broker: hands out a profile's token, and knows when to refresh, erase and log in.

It is the same for every provider. A cached token that is still fresh is returned after
reading one small file, without importing requests, keyring or filelock (the cached path
runs once per LLM request). Anything else happens under the profile lock: re-read the
cache (another process may just have refreshed), mint a token from the best grant, drop a
grant the server calls dead so it is never sent again, and run the device flow only when a
person can see it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

from . import cache, files, paths
from .cache import CachedToken, State
from .config import host_of, is_loopback
from .errors import CredentialError, LoginRequired, mask

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: importing typing costs the cached get ~3 ms
if TYPE_CHECKING:
    from pathlib import Path

    from .config import Config, Profile
    from .console import Console
    from .providers import Grant, Provider, Source
    from .store import FileStore, KeyringStore

    Store = FileStore | KeyringStore


RENEW_GRACE = 60  # seconds during which a just-minted token is not renewed again


def interactive(config: Config, env: Mapping[str, str], console: Console) -> bool:
    """May we show a device-code prompt? Never when git says no prompts."""
    if env.get("GIT_TERMINAL_PROMPT") == "0" or config.interactive == "never":
        return False
    return config.interactive == "always" or console.is_terminal


def choose_profile(
    config: Config, host: str, env: Mapping[str, str], include_login: bool = False
) -> Profile | None:
    """The profile that answers for ``host``, or None when no profile may hand it a token.

    ``--profile``/the environment win; else the profile claiming the host; else the default.
    Whatever is chosen must claim the host (unless no host was given at all). ``store`` and
    ``erase`` also address a profile at its login host (github.com) to import or drop a login.
    """
    host = host.lower()
    state_dir = paths.state_dir(env)
    if config.profile_override:
        chosen = config.profile(config.profile_override)
        candidates = [chosen] if host else []
    else:
        chosen = config.profile(config.default_profile)
        candidates = [chosen, *(p for p in config.profiles.values() if p is not chosen)]
    if not host:
        return chosen
    # Configured hosts first (no file to read), then the API host each profile last used.
    for profile in candidates:
        if host in profile.hosts or (include_login and host == profile.login_host):
            return profile
    for profile in candidates:
        if _api_host(profile, state_dir) == host:
            return profile
    return None


def _api_host(profile: Profile, state_dir: Path) -> str:
    """The host of the API base the provider last named (endpoints.api), kept in the cache."""
    api_base = cache.read(cache.path_for(state_dir, profile.name), files.quiet).api_base
    return host_of(api_base) if api_base else ""


def transport_ok(protocol: str, host: str) -> bool:
    """Tokens travel over https only, or plain http to a loopback test server."""
    if protocol in ("", "https"):
        return True
    return protocol == "http" and is_loopback(_hostname(host))


def _hostname(host: str) -> str:
    """``host[:port]`` without the port; IPv6 literals keep their brackets stripped."""
    if host.startswith("["):
        return host[1:].split("]", 1)[0]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


class Broker:
    """One profile's tokens, for one command."""

    def __init__(self, config: Config, profile: Profile, env: Mapping[str, str],
                 console: Console, prompt_allowed: bool, now: Callable[[], float] = time.time):
        self.config = config
        self.profile = profile
        self.env = env
        self.console = console
        self.prompt_allowed = prompt_allowed
        self.now = now

    @property
    def state_dir(self) -> Path:
        return paths.state_dir(self.env)

    @property
    def state_path(self) -> Path:
        return cache.path_for(self.state_dir, self.profile.name)

    def read_state(self) -> State:
        return cache.read(self.state_path, self.console.notice)

    # -- get ---------------------------------------------------------------------------

    def token(self) -> CachedToken:
        """A fresh token: the cached one if still good, else a refresh under the lock."""
        state = self.read_state()
        if state.token is not None and state.token.fresh(self.now()):
            return state.token
        with self._lock("get"):
            state = self.read_state()
            if state.token is not None and state.token.fresh(self.now()):
                return state.token
            return self._mint(state)

    def _mint(self, state: State) -> CachedToken:
        from .providers import GrantRevoked

        provider = self._provider()
        store = self._store()
        stored = self._stored_grant(store)
        rejected = []
        for source in provider.sources(stored, self.env):
            if source.from_env and state.is_dead(source.grant.access_token):
                rejected.append(source.origin)
                continue
            try:
                minted = provider.mint(source)
            except GrantRevoked as e:
                state = self._drop_dead_grant(source, state, store, str(e))
                rejected.append(source.origin)
                continue
            if minted.grant is not None and not source.from_env:
                store.write(self.profile.name, minted.grant.to_dict())
            return self._cache(state, minted.token)
        return self._login_after(rejected, state, provider, store)

    def _drop_dead_grant(self, source: Source, state: State, store: Store, why: str) -> State:
        if source.from_env:
            self.console.notice(
                f"{source.origin} ({mask(source.grant.access_token)}) was rejected: {why}; "
                "ignoring it from now on"
            )
            state = state.mark_dead(source.grant.access_token)
            cache.write(self.state_path, state, self.console.notice)
            return state
        self.console.notice(
            f"the stored login for profile {self.profile.name!r} is dead ({why}); deleted it"
        )
        store.delete(self.profile.name)
        return state

    def _login_after(self, rejected: list[str], state: State, provider: Provider,
                     store: Store) -> CachedToken:
        if not self.prompt_allowed:
            raise LoginRequired(self._why_no_login(rejected))
        return self._authorize(state, provider, store)

    def _why_no_login(self, rejected: list[str]) -> str:
        envs = [name for name in rejected if name != "store"]
        if "store" in rejected:
            start = f"the login for profile {self.profile.name!r} was rejected and deleted"
        elif envs:
            start = f"{' and '.join(envs)} was rejected (replace or unset it)"
        else:
            start = f"not logged in (profile {self.profile.name!r})"
        why = " and no prompt may be shown here"
        if self.env.get("GIT_TERMINAL_PROMPT") == "0":
            why = " and GIT_TERMINAL_PROMPT=0 forbids a prompt"
        name = self.profile.name
        flag = "" if name == self.config.default_profile else f"--profile {name} "
        return f"{start}{why}; run `git-credential-copilot {flag}login`"

    def _authorize(self, state: State, provider: Provider, store: Store) -> CachedToken:
        from .providers import GrantRevoked, Source

        authorization = provider.authorize(self.console)
        grant = authorization.grant
        store.write(self.profile.name, grant.to_dict())
        token = authorization.token
        if token is None:
            try:
                minted = provider.mint(Source(grant, "store"))
            except GrantRevoked as e:
                raise CredentialError(f"the login just made was rejected at once: {e}") from e
            if minted.grant is not None:
                store.write(self.profile.name, minted.grant.to_dict())
            token = minted.token
        return self._cache(state, token)

    def _cache(self, state: State, token: CachedToken) -> CachedToken:
        cache.write(self.state_path, state.with_token(token), self.console.notice)
        return token

    def renew(self) -> CachedToken:
        """For callers that ask again only after a 401 and cannot say which token failed
        (Codex with refresh_interval_ms = 0, Claude Code's apiKeyHelper): drop the cached
        token unless it was minted in the last minute - then another caller has just
        renewed it - and get. At most one exchange a minute, however many callers ask."""
        with self._lock("renew"):
            state = self.read_state()
            token, now = state.token, self.now()
            if token is not None and now - token.minted_at < RENEW_GRACE and token.fresh(now):
                return token
            if token is not None:
                state = self._drop_token(state)
            return self._mint(state)

    # -- login / logout ----------------------------------------------------------------

    def login(self) -> CachedToken:
        """A fresh device flow that replaces whatever the profile had."""
        with self._lock("login"):
            return self._authorize(self.read_state().cleared(), self._provider(), self._store())

    def logout(self) -> None:
        with self._lock("logout"):
            self._store().delete(self.profile.name)
            files.remove(self.state_path)

    # -- erase / store -----------------------------------------------------------------

    def erase(self, host: str, password: str) -> None:
        """Forget the token (only if it is ``password``); at the login host, the login too."""
        if host and host.lower() == self.profile.login_host:
            self._erase_login(password)
            return
        if not _holds(self.read_state(), password):
            return  # a late erase of an older token must not destroy the newer one
        with self._lock("erase"):
            state = self.read_state()
            if _holds(state, password):
                self._note_erase(state.token)
                self._drop_token(state)

    def _drop_token(self, state: State) -> State:
        """Forget the cached token, remember when, and say so if it keeps happening."""
        state = state.after_erase(self.now())
        cache.write(self.state_path, state, self.console.notice)
        self._warn_if_looping(state)
        return state

    def _erase_login(self, password: str) -> None:
        with self._lock("erase"):
            store = self._store()
            stored = self._stored_grant(store)
            if stored is not None and password and password not in (
                stored.access_token, stored.refresh_token
            ):
                return
            if stored is not None:
                store.delete(self.profile.name)
            cache.write(self.state_path, self.read_state().cleared(), self.console.notice)

    def _note_erase(self, token: CachedToken) -> None:
        age = self.now() - token.minted_at
        if age < 60:
            self.console.notice(
                f"a token minted {age:.0f} s ago was rejected; the server may be at fault, "
                "not the login (kept the login)"
            )

    def _warn_if_looping(self, state: State) -> None:
        recent = state.recent_erases(self.now())
        if recent >= cache.ERASE_ALARM:
            self.console.notice(
                f"{recent} freshly minted tokens were rejected within 5 minutes: the API "
                "refuses new tokens too, which is a subscription or policy problem, not a "
                "stale token; see `git-credential-copilot status`"
            )

    def store(self, host: str, username: str, password: str, expiry: str) -> None:
        """Import a login (at the login host) or cache a token (at an API host)."""
        if not password:
            return
        if host and host.lower() == self.profile.login_host:
            self._import_login(username, password)
            return
        state = self.read_state()
        if state.token is not None and state.token.token == password:
            return  # git approving the token we just handed out
        try:
            expires_at = int(expiry)
        except ValueError:
            return  # without an expiry we could not tell when to stop using it
        if expires_at <= self.now():
            return
        token = CachedToken(
            token=password, expires_at=expires_at, refresh_at=expires_at,
            minted_at=int(self.now()), api_base=state.api_base, username=_person(username),
        )
        with self._lock("store"):
            self._cache(self.read_state(), token)

    def _import_login(self, username: str, password: str) -> None:
        from .providers import Grant

        with self._lock("store"):
            store = self._store()
            stored = self._stored_grant(store)
            if stored is not None and stored.access_token == password:
                return
            store.write(self.profile.name,
                        Grant(access_token=password, username=_person(username)).to_dict())
            cache.write(self.state_path, self.read_state().cleared(), self.console.notice)

    # -- status ------------------------------------------------------------------------

    def status(self) -> tuple[list[str], bool]:
        """Lines describing the profile (never a secret), and whether a token is at hand."""
        lines = [f"profile: {self.profile.name} (provider {self.profile.provider})"]
        provider = self._provider()
        try:
            store = self._store()
            stored = self._stored_grant(store)
            lines.append(f"secrets: {store.describe()}")
        except CredentialError as e:
            lines.append(f"secrets: unavailable: {e}")
            stored = None
        sources = provider.sources(stored, self.env)
        if sources:
            first = sources[0]
            who = first.grant.username or "unknown user"
            secret = first.grant.access_token or first.grant.refresh_token
            lines.append(f"login: {who} via {first.origin} ({mask(secret)})")
        else:
            lines.append("login: none")
        try:
            token = self.token()
        except CredentialError as e:
            lines.append(f"token: none: {e}")
            return lines, False
        left = token.expires_at - self.now()
        lines.append(
            f"token: valid until {_utc(token.expires_at)} "
            f"({left / 60:.0f} min left)" + (f", API {token.api_base}" if token.api_base else "")
        )
        return lines, True

    # -- plumbing ----------------------------------------------------------------------

    def _lock(self, action: str):
        from .lock import ProfileLock

        c = self.config  # a holder without a person finishes within this: wait no longer
        return ProfileLock(self.state_dir, self.profile.name, action, self.console.notice,
                           wait=c.retry_budget + c.http_timeout + c.keyring_timeout,
                           may_prompt=self.prompt_allowed or action == "login")

    def _provider(self) -> Provider:
        from .providers import for_profile

        return for_profile(self.profile, self.config, paths.cache_dir(self.env))

    def _store(self) -> Store:
        from . import store

        return store.choose(self.config.store, self.env, self.console.notice,
                            self.config.keyring_timeout)

    def _stored_grant(self, store: Store) -> Grant | None:
        from .providers import Grant

        raw = store.read(self.profile.name)
        return Grant.from_dict(raw) if raw else None


def _holds(state: State, password: str) -> bool:
    """Is there a cached token to erase: any one, or exactly ``password`` if given?"""
    return state.token is not None and (not password or state.token.token == password)


def _person(username: str) -> str:
    """A username from the protocol; ``oauth2`` is the placeholder, not a person."""
    return "" if username == "oauth2" else username


def _utc(timestamp: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(timestamp))
