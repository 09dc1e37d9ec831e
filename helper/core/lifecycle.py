"""The token life cycle: hand out a profile's token, renew it, erase it, cache one given.

It is the same for every provider. A cached token that is still fresh is returned after
reading one small file, without importing requests, keyring or filelock (the cached path
runs once per LLM request). Anything else happens under the profile lock: re-read the
state (another process may just have refreshed), mint a token from the best grant, drop a
grant the server calls dead so it is never sent again, and run the login only when a
person can see it. Provider, store, lock and clock come in as ``Parts``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from helper.core import cachefiles
from helper.errors import CredentialError, LoginRequired, mask
from helper.storage import state as statefile
from helper.storage.records import EXPIRY_MARGIN, STORE, Grant, Token, fingerprint
from helper.storage.state import State

if TYPE_CHECKING:
    from pathlib import Path
    from types import TracebackType
    from typing import Protocol

    from helper.console import Console
    from helper.providers.base import Provider

    class Store(Protocol):
        """Where grants live: the keyring or a private file (helper.store)."""

        def describe(self) -> str: ...
        def read(self, profile: str) -> dict[str, object] | None: ...
        def write(self, profile: str, value: dict[str, object]) -> None: ...
        def delete(self, profile: str) -> None: ...

    class Lock(Protocol):
        """The profile lock (helper.lock): one process at a time past this point."""

        def __enter__(self) -> object: ...
        def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                     traceback: TracebackType | None) -> None: ...

RENEW_GRACE = 60  # seconds during which a just-minted token is not renewed again
QUICK_REJECT = 60  # a token rejected this soon after minting counts towards the alarm


class Parts:
    """What the life cycle is built from: provider, store and lock factories (each called
    only when needed, so the cached path builds none) and the clock."""

    __slots__ = ("provider", "store", "lock", "now")

    def __init__(self, provider: Callable[[], Provider], store: Callable[[], Store],
                 lock: Callable[[str], Lock], now: Callable[[], float] = time.time):
        self.provider = provider
        self.store = store
        self.lock = lock
        self.now = now


class Prompt:
    """May the life cycle run a login, and if not, the words that say why and what to run."""

    __slots__ = ("allowed", "why_not", "login_command")

    def __init__(self, allowed: bool, why_not: str = " and no prompt may be shown here",
                 login_command: str = "git-credential-copilot login"):
        self.allowed = allowed
        self.why_not = why_not
        self.login_command = login_command


class Lifecycle:
    """One profile's tokens, for one command."""

    def __init__(self, name: str, state_path: Path, parts: Parts, console: Console,
                 env: Mapping[str, str], prompt: Prompt, issuer: str = "",
                 login_key: str = "", legacy_login: bool = False):
        self.name = name
        self.state_path = state_path
        self.parts = parts
        self.console = console
        self.env = env
        self.prompt = prompt
        self.issuer = issuer  # the profile's server and client (config.Profile.issuer)
        self.login_key = login_key or name  # its key in the secret store (Profile.login_key)
        # A login stored under the bare profile name by an older version is adopted only by
        # a profile on its provider's default server, where it can only have come from.
        self.legacy_login = legacy_login

    def now(self) -> float:
        return self.parts.now()

    def read_state(self) -> State:
        return statefile.read(self.state_path, self.console.notice)

    def write_state(self, state: State) -> None:
        save_state(self.state_path, state, self.console.notice)

    def stored_grant(self, store: Store) -> Grant | None:
        raw = store.read(self.login_key)
        if raw is None and self.legacy_login and self.login_key != self.name:
            raw = store.read(self.name)
            if raw is not None:  # adopt it under the key of its server, once
                store.write(self.login_key, raw)
                store.delete(self.name)
        return Grant.from_dict(raw) if raw else None

    # -- get ---------------------------------------------------------------------------

    def token(self, min_ttl: float = 0) -> Token:
        """A fresh token with at least ``min_ttl`` seconds left: the cached one if still
        good and minted by this caller's login, else a new one under the lock."""
        state = self.read_state()
        if self._usable(state, min_ttl):
            return state.token  # type: ignore[return-value]  # _usable: not None
        self._check_min_ttl(state.token, min_ttl)
        with self.parts.lock("get"):
            state = self.read_state()
            if self._usable(state, min_ttl):
                return state.token  # type: ignore[return-value]
            self._check_min_ttl(state.token, min_ttl)
            token = self._mint(state)
            self._check_min_ttl(token, min_ttl)
            return token

    def _usable(self, state: State, min_ttl: float = 0) -> bool:
        token = state.token
        return (token is not None and token.fresh(self.now(), min_ttl)
                and token.serves(self.env, self.issuer, state.dead))

    def _check_min_ttl(self, token: Token | None, min_ttl: float) -> None:
        """Fail at once, without minting, when ``min_ttl`` is more than this server's tokens
        allow (as the last one it issued shows): each call would mint a token that is too
        short again - a storm of exchanges, which GitHub treats as abuse."""
        if not min_ttl or token is None or token.issuer != self.issuer:
            return
        longest = longest_min_ttl(token)
        if min_ttl > longest:
            raise CredentialError(
                f"--min-ttl {min_ttl:g} cannot be met: this server's tokens live "
                f"{token.expires_at - token.minted_at} s, so the longest --min-ttl it "
                f"allows is {longest} s; ask for at most that")

    def _mint(self, state: State) -> Token:
        from helper.providers.base import GrantRevoked

        provider = self.parts.provider()
        store = self.parts.store()
        rejected = []
        for grant in provider.sources(self.stored_grant(store), self.env):
            if grant.from_env and state.is_dead(grant.access_token):  # reported once, then
                # skipped: the token minted from the next login serves while it stays dead
                rejected.append(grant.origin)
                continue
            try:
                minted = provider.mint(grant)
            except GrantRevoked as e:
                state = self._drop_dead_grant(grant, state, store, str(e))
                rejected.append(grant.origin)
                continue
            if minted.grant is not None and not grant.from_env:
                store.write(self.login_key, minted.grant.to_dict())
            return self.cache(state, self.stamp(minted.token, minted.grant or grant, provider))
        if not self.prompt.allowed:
            raise LoginRequired(self._why_no_login(rejected, state))
        return self.authorize(state, provider, store)

    def _drop_dead_grant(self, grant: Grant, state: State, store: Store, why: str) -> State:
        if grant.from_env:
            self.console.notice(
                f"{grant.origin} ({mask(grant.access_token)}) was rejected: {why}; "
                "ignoring it from now on"
            )
            state = state.mark_dead(grant.access_token)
            self.write_state(state)
            return state
        self.console.notice(
            f"the stored login for profile {self.name!r} is dead ({why}); deleted it"
        )
        store.delete(self.login_key)
        return state

    def _why_no_login(self, rejected: list[str], state: State) -> str:
        envs = [origin for origin in rejected if origin != STORE]
        if STORE in rejected:
            start = f"the login for profile {self.name!r} was rejected and deleted"
        elif envs:
            start = f"{' and '.join(envs)} was rejected (replace or unset it)"
        elif state.token is not None and state.token.issuer != self.issuer:
            start = (f"profile {self.name!r} now names another server or client than its "
                     "login's (which is kept, for when the config names that one again): "
                     "not logged in there")
        else:
            start = f"not logged in (profile {self.name!r})"
        return f"{start}{self.prompt.why_not}; run `{self.prompt.login_command}`"

    def authorize(self, state: State, provider: Provider, store: Store) -> Token:
        """Run the provider's login, store its grant, and cache a first token."""
        from helper.providers.base import GrantRevoked

        authorization = provider.authorize(self.console)
        grant = authorization.grant
        store.write(self.login_key, grant.to_dict())
        token = authorization.token
        if token is None:
            try:
                minted = provider.mint(grant)
            except GrantRevoked as e:
                raise CredentialError(f"the login just made was rejected at once: {e}") from e
            if minted.grant is not None:
                store.write(self.login_key, minted.grant.to_dict())
                grant = minted.grant
            token = minted.token
        return self.cache(state, self.stamp(token, grant, provider))

    def stamp(self, token: Token, grant: Grant, provider: Provider) -> Token:
        """Mark ``token`` with the login and the server that minted it (the cache serves it
        to that login, while the profile names that server, only)."""
        token.origin = grant.origin
        token.origin_fp = fingerprint(grant.secret) if grant.from_env else ""
        token.overrides = tuple(provider.env_overrides)
        token.issuer = self.issuer
        return token

    def cache(self, state: State, token: Token) -> Token:
        self.write_state(state.with_token(token))
        return token

    def renew(self, min_ttl: float = 0) -> Token:
        """For callers that ask again at start and after a 401 and cannot say which token
        failed (Codex with refresh_interval_ms = 0, Claude Code's apiKeyHelper). A start is
        not a rejection: the cached token is kept while the API still accepts it (one cheap
        authenticated request, ``Provider.accepts``). A rejected one is replaced once,
        however many callers report it: under the lock, a token other than the one they
        saw rejected is another caller's renewal. Where the provider cannot tell, a token
        minted in the last minute is taken for that renewal. Fresh tokens the API keeps
        rejecting stop being minted at the alarm (``state.ERASE_ALARM`` in 5 minutes)."""
        state = self.read_state()
        seen, verdict = state.token, None
        if seen is not None and self._usable(state, min_ttl):
            verdict = self.parts.provider().accepts(seen)
            if verdict or (verdict is None and self._just_minted(state, min_ttl)):
                return seen
        self._check_min_ttl(seen, min_ttl)
        with self.parts.lock("renew"):
            fresh = self.read_state()
            if fresh.token is not None and self._usable(fresh, min_ttl) and (
                    seen is None or fresh.token.token != seen.token
                    or (verdict is None and self._just_minted(fresh, min_ttl))):
                return fresh.token
            if fresh.token is not None:
                quick = verdict is False and self.now() - fresh.token.minted_at < QUICK_REJECT
                fresh = self._drop_token(fresh, counted=quick)
            if fresh.recent_erases(self.now()) >= statefile.ERASE_ALARM:
                raise CredentialError(
                    "the API rejected each of the last tokens minted for it: not minting "
                    "another for a few minutes (a subscription or policy problem, not a stale "
                    "token); see `git-credential-copilot status`")
            token = self._mint(fresh)
            self._check_min_ttl(token, min_ttl)
            return token

    def _just_minted(self, state: State, min_ttl: float) -> bool:
        return (state.token is not None and self.now() - state.token.minted_at < RENEW_GRACE
                and self._usable(state, min_ttl))

    # -- erase / store of a token ---------------------------------------------------------

    def erase(self, password: str) -> None:
        """Forget the cached token, only if it is ``password`` (when given). Only a
        rejection naming a freshly minted token counts towards the alarm; an erase without
        ``password=`` is a person's, and it just says what it dropped."""
        if not _holds(self.read_state(), password):
            return  # a late erase of an older token must not destroy the newer one
        with self.parts.lock("erase"):
            state = self.read_state()
            if state.token is None or not _holds(state, password):
                return
            token = state.token
            fresh = bool(password) and self.now() - token.minted_at < QUICK_REJECT
            self._drop_token(state, counted=fresh)
            if fresh:
                self.console.notice(
                    f"a token minted {self.now() - token.minted_at:.0f} s ago was rejected; "
                    "dropped it, the next request mints a new one")
            elif not password:
                self.console.notice(
                    f"dropped the cached token of profile {self.name!r} "
                    f"({mask(token.token)}); the next request mints a new one")

    def _drop_token(self, state: State, counted: bool = True) -> State:
        """Forget the cached token; a rejected fresh one is remembered, and a run of
        them is reported (the login is fine, the API refuses new tokens)."""
        now = self.now()
        if not counted:
            self.write_state(State(None, state.api_base, state.erased, state.dead))
            return state
        state = state.after_erase(now)
        self.write_state(state)
        recent = state.recent_erases(now)
        if recent >= statefile.ERASE_ALARM:
            self.console.notice(
                f"{recent} freshly minted tokens were rejected within 5 minutes: the API "
                "refuses new tokens too, which is a subscription or policy problem, not a "
                "stale token; see `git-credential-copilot status`"
            )
        return state

    def store(self, username: str, password: str, expiry: str) -> None:
        """Cache a token git hands us (with its expiry); never one we cannot time."""
        if not password:
            return
        from helper.net.transport import header_safe, unsendable_line

        if not header_safe(password):  # it could never be sent: say so, cache nothing
            self.console.notice(f"not caching it: {unsendable_line(password, 'git store')}")
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
        token = Token(token=password, expires_at=expires_at, refresh_at=expires_at,
                      minted_at=int(self.now()), api_base=state.api_base,
                      username=person(username),
                      overrides=tuple(self.parts.provider().env_overrides), issuer=self.issuer)
        with self.parts.lock("store"):
            self.cache(self.read_state(), token)

    # -- logins: run one, forget one, import one (the commands ask for these) ------------

    def provider(self) -> Provider:
        """The profile's provider, for what it knows (labels, import sources, hints). Tokens
        and logins go through the operations here, which take the lock."""
        return self.parts.provider()

    def stored_login(self) -> Grant | None:
        return self.stored_grant(self.parts.store())

    def login(self) -> Token:
        """A fresh login that replaces whatever the profile had."""
        with self.parts.lock("login"):
            return self.authorize(self.read_state().cleared(), self.parts.provider(),
                                  self.parts.store())

    def logout(self) -> None:
        """Forget the login and every copy of its token (the cached get's too)."""
        with self.parts.lock("logout"):
            self.parts.store().delete(self.login_key)
            cachefiles.forget_token(str(self.state_path))
            statefile.remove(self.state_path)

    def erase_login(self, password: str) -> None:
        """Forget the login (only if it is ``password``, when given) and its cached token."""
        with self.parts.lock("erase"):
            store = self.parts.store()
            stored = self.stored_grant(store)
            if stored is not None and password and password not in (
                stored.access_token, stored.refresh_token
            ):
                return
            if stored is not None:
                store.delete(self.login_key)
            self.write_state(self.read_state().cleared())

    def import_login(self, grant: Grant) -> Token:
        """Make ``grant`` the profile's login only after one mint accepts it, and cache the
        token that mint made (the next get needs none). Refused, and nothing changed, when
        the provider refuses it or cannot be reached."""
        with self.parts.lock("store"):
            provider = self.parts.provider()
            try:
                minted = provider.mint(grant)
            except CredentialError as e:
                raise Refused(str(e), provider.refusal_hint(grant.secret),
                              provider.mint_label) from e
            login = minted.grant or grant
            self.parts.store().write(self.login_key, login.to_dict())
            return self.cache(self.read_state().cleared(),
                              self.stamp(minted.token, login, provider))

    def describe(self) -> Description:
        """Where the login is kept and which one a get would try first, for ``status``.
        Each part that fails (a locked or hung keyring) leaves its error; the rest answers."""
        from helper.errors import HelperError, one_line

        found = Description()
        stored = None
        try:
            store = self.parts.store()
            found.secrets = store.describe()
            stored = self.stored_grant(store)
            holder = getattr(store, "holder", None)  # the auto store: which of its two has it
            if stored is not None and holder is not None:
                found.holder = holder(self.login_key)
        except HelperError as e:
            found.secrets_error = one_line(str(e))
        try:
            grants = self.parts.provider().sources(stored, self.env)
        except HelperError as e:
            grants, found.provider_error = [], one_line(str(e))
        found.login = grants[0] if grants else None
        return found


class Refused(CredentialError):
    """The provider did not accept a login offered to it; nothing changed. ``hint`` says why
    a login of that kind may be refused ("" when unknown), ``checker`` what refused it."""

    def __init__(self, message: str, hint: str = "", checker: str = ""):
        super().__init__(message)
        self.hint = hint
        self.checker = checker


class Description:
    """What ``status`` shows of a login: the store (``secrets``; ``holder``, which store
    holds it) and ``login``, the one a get tries first; or the error of each part."""

    __slots__ = ("secrets", "holder", "login", "secrets_error", "provider_error")

    def __init__(self) -> None:
        self.secrets = ""
        self.holder = ""
        self.login: Grant | None = None
        self.secrets_error = ""
        self.provider_error = ""


def save_state(path: Path, state: State, notice: Callable[[str], None]) -> None:
    """The state file, and the cached get's token file beside it: gone first, then written
    stamped with the new state file."""
    cachefiles.forget_token(str(path))
    statefile.write(path, state, notice)
    cachefiles.keep_token(str(path), state.api_base, state.dead, state.token, notice)


def longest_min_ttl(token: Token) -> int:
    """The longest ``--min-ttl`` a server that issued ``token`` can meet without a new token
    more often than every quarter of a token's useful life (at least a minute)."""
    useful = min(token.refresh_at, token.expires_at - EXPIRY_MARGIN) - token.minted_at
    return max(0, token.expires_at - token.minted_at - max(60, useful // 4))


def _holds(state: State, password: str) -> bool:
    """Is there a cached token to erase: any one, or exactly ``password`` if given?"""
    return state.token is not None and (not password or state.token.token == password)


def person(username: str) -> str:
    """A username from the protocol; ``oauth2`` is the placeholder, not a person."""
    return "" if username == "oauth2" else username
