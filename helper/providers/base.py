"""The provider contract: where a profile's tokens come from, and what a provider declares.

A provider knows two kinds of credential. The *grant* is long-lived and comes from a login
(the GitHub OAuth token for Copilot, the refresh token for OAuth); it lives in the secret
store. The *token* is short-lived and is what callers get (the Copilot token, the OAuth
access token); it lives in the cache. A provider turns a grant into a token (``mint``) and
runs the login that produces a grant (``authorize``). Everything else - caching, locking,
storing, deciding when to prompt - belongs to the life cycle (core/lifecycle.py), the same
for every provider.

Each provider module declares one ``ProviderSpec``: its name, its configuration keys and
their kinds, their defaults, ``check`` (a problem across keys), ``login_host`` and its
``Provider`` class. providers/registry.py maps names to specs. A provider also owns what it
knows beyond tokens: its ``doctor`` checks (``diagnose``, one ``Diagnostic`` type for all)
and the logins of other programs it can take over (``import_sources``/``import_login``).

This module imports nothing heavy: the configuration reads the specs on every ``get``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING

from helper.errors import CredentialError, UsageError
from helper.oauth2.errors import OAuth2Error

if TYPE_CHECKING:
    from pathlib import Path
    from typing import BinaryIO

    from helper.console import Console
    from helper.net.transport import Response, Transport
    from helper.oauth2.rfc6749 import TokenResponse
    from helper.providers.profile import Profile
    from helper.storage.records import Authorization, Grant, Minted, Token

# -- what a provider declares -------------------------------------------------------------

# The kinds of value a provider's key may take; the configuration checks each by its kind.
URL, STR, HOSTS = "url", "str", "hosts"
FLOW, PORT = "flow", "port"  # the sign-in flow (oauth) and a loopback port
KINDS = (URL, STR, HOSTS, FLOW, PORT)
FLOWS = ("auto", "browser", "device")


class Problem:
    """What is wrong with a profile across keys: the key to name (empty: the whole table)."""

    __slots__ = ("key", "message")

    def __init__(self, key: str, message: str):
        self.key = key
        self.message = message


class ProviderSpec:
    """What the configuration and the registry know of a provider without building one:
    ``keys`` (name -> kind, one of KINDS), ``defaults``, ``identity`` (the keys that name
    the server and client issuing a login: a login and its tokens are bound to their
    values), ``check(profile)`` (a Problem, or None), ``login_host(profile)`` (the host git
    names to store or erase the login itself; empty when none) and ``provider``, the class
    that makes its tokens."""

    __slots__ = ("name", "keys", "defaults", "identity", "check", "login_host", "provider")

    def __init__(self, name: str, keys: Mapping[str, str],
                 defaults: Mapping[str, str | tuple[str, ...]], identity: tuple[str, ...],
                 check: Callable[[Profile], Problem | None],
                 login_host: Callable[[Profile], str],
                 provider: type[Provider]):
        self.name = name
        self.keys = keys
        self.defaults = defaults
        self.identity = identity
        self.check = check
        self.login_host = login_host
        self.provider = provider

    @property
    def env_overrides(self) -> tuple[str, ...]:
        """Environment variables that, when set, come before the stored login."""
        return self.provider.env_overrides


# -- what a provider may raise and hand back ------------------------------------------------


class GrantRevoked(CredentialError):
    """The server says the long-lived grant is dead (revoked, expired, replayed)."""


class SourceError(CredentialError):
    """The place a login was to be imported from holds no usable one; nothing was stored."""


class Imported:
    """A login found in another program's keeping (or on stdin): the grant, where it was
    found, and whether that is a file (which the import never changes)."""

    __slots__ = ("grant", "where", "is_file")

    def __init__(self, grant: Grant, where: str, is_file: bool = True):
        self.grant = grant
        self.where = where
        self.is_file = is_file


WITH_TOKEN = "stdin"  # the import source of ``login --with-token``


# -- doctor -------------------------------------------------------------------------------

OK, WARN, FAIL = "ok", "warn", "fail"


class Diagnostic:
    """One line of ``doctor``: what was checked, ``status`` (OK, WARN or FAIL), one line of
    detail and, unless it passed, the fix. Never a secret: mask what you show."""

    __slots__ = ("name", "status", "detail", "fix")

    def __init__(self, name: str, status: str, detail: str, fix: str = ""):
        self.name = name
        self.status = status
        self.detail = detail
        self.fix = fix

    @property
    def ok(self) -> bool:
        """Nothing to fix (a warning passes: it only says what to keep in mind)."""
        return self.status != FAIL

    def as_dict(self) -> dict[str, object]:
        return {"name": self.name, "status": self.status, "ok": self.ok,
                "detail": self.detail, "fix": self.fix}

    def __repr__(self) -> str:
        return f"Diagnostic({self.name!r}, {self.status!r}, {self.detail!r}, {self.fix!r})"


def passed(name: str, detail: str) -> Diagnostic:
    return Diagnostic(name, OK, detail)


def warned(name: str, detail: str, fix: str = "") -> Diagnostic:
    return Diagnostic(name, WARN, detail, fix)


def failed(name: str, detail: str, fix: str) -> Diagnostic:
    return Diagnostic(name, FAIL, detail, fix)


class Checkup:
    """What ``doctor`` hands a provider to examine, read-only: the environment, the login
    the store holds (None: none), the time, and the words of the fixes it may suggest:
    ``login_command`` (with ``--profile`` when the profile is not the default) and
    ``network_fix`` (which proxy variables to look at)."""

    __slots__ = ("env", "stored", "now", "login_command", "network_fix")

    def __init__(self, env: Mapping[str, str], stored: Grant | None, now: float,
                 login_command: str, network_fix: str):
        self.env = env
        self.stored = stored
        self.now = now
        self.login_command = login_command
        self.network_fix = network_fix


def failure(e: Exception) -> str:
    """A failed request as a diagnostic's detail: one line, without the "try again later"
    (the diagnostic's fix says what to do)."""
    from helper.errors import one_line

    return one_line(str(e)).replace("; try again later", "")


def every_answer_final(response: Response) -> bool:
    """A retry policy for ``doctor``: it tries once, and any HTTP answer is the answer."""
    return False


def server_time(headers: Mapping[str, str]) -> float | None:
    """The server's clock from its ``Date`` header; None when absent or unreadable."""
    from email.utils import parsedate_to_datetime

    value = next((v for k, v in headers.items() if k.lower() == "date"), None)
    if not value:
        return None
    try:
        return parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


# -- the provider -------------------------------------------------------------------------


class Provider(ABC):
    """One profile's source of tokens. It gets its HTTP ``transport`` (timeouts and retry
    budget chosen by whoever builds it), ``cache_dir`` for what it may re-fetch (discovery)
    and ``env``, what a login may consult (is there a display for a browser?)."""

    env_overrides: tuple[str, ...] = ()  # variables that, when set, come before the login
    grant_label = "login"  # what the grant is, for messages: "GitHub token"
    mint_label = "the server"  # what checks a grant, for messages: "the Copilot exchange"

    def __init__(self, profile: Profile, transport: Transport, cache_dir: Path,
                 env: Mapping[str, str] | None = None):
        self.profile = profile
        self.transport = transport
        self.cache_dir = cache_dir
        self.env: Mapping[str, str] = env if env is not None else {}

    @property
    @abstractmethod
    def login_label(self) -> str:
        """What a person signs in to, for prompts: 'GitHub (github.com)'."""

    @abstractmethod
    def sources(self, stored: Grant | None, env: Mapping[str, str]) -> list[Grant]:
        """The grants to try, best first (each says where it came from)."""

    def refusal_hint(self, token: str) -> str:
        """Why the server may refuse a login of this kind, for messages; "" when unknown."""
        return ""

    @abstractmethod
    def mint(self, grant: Grant) -> Minted:
        """A fresh short-lived token from a grant. Raises GrantRevoked when it is dead."""

    def accepts(self, token: Token) -> bool | None:
        """Does the API still accept ``token``? One cheap authenticated request, for callers
        that cannot say whether their token was rejected (``token --renew``). None when it
        cannot tell (no such request, or no clear answer): the life cycle then goes by the
        token's age."""
        return None

    @abstractmethod
    def authorize(self, console: Console) -> Authorization:
        """Run the interactive login (a device flow) and return its grant."""

    # -- the API, for a tool's settings (setup) -------------------------------------------

    def api_headers(self) -> dict[str, str]:
        """The headers the provider's API wants on every request besides the token (a tool
        that ``setup`` configures sends them); none by default."""
        return {}

    def models(self, api_base: str, token: str) -> tuple[list[dict[str, object]] | None, str]:
        """The models ``api_base`` offers ``token``'s account, for a tool's settings: the list,
        or None and why not ("" when the provider has no list to offer, the default)."""
        return None, ""

    # -- imports: logins other programs keep --------------------------------------------

    def import_sources(self) -> tuple[str, ...]:
        """The places ``login --from`` can take a login from (WITH_TOKEN: stdin)."""
        return ()

    def import_login(self, source: str, stdin: BinaryIO) -> Imported:
        """The login kept at ``source`` (one of import_sources; files are found through
        ``self.env``), read only. Raises SourceError when there is none to take."""
        raise UsageError(f"profile {self.profile.name!r} cannot import a login")

    # -- doctor ---------------------------------------------------------------------------

    @abstractmethod
    def servers(self) -> list[str]:
        """The URLs this profile's tokens depend on, for doctor's reachability checks."""

    @abstractmethod
    def diagnose(self, checkup: Checkup) -> list[Diagnostic]:
        """This provider's own checks, after the shared ones (config, store, git, network,
        clock): whether the login a get would use works. Read-only: store nothing."""

    @classmethod
    def diagnose_environment(cls, env: Mapping[str, str],
                             login_command: str) -> list[Diagnostic]:
        """What this provider would take from the environment, checked without a profile
        (doctor with a configuration it cannot read)."""
        return []

    def describe_grant(self, grant: Grant) -> str:
        """What a stored login is, for messages, without its secret: 'a refresh token'."""
        return f"a {self.grant_label}"

    def login_fix(self, login_command: str) -> str:
        """The fix for a missing or dead login: the login command, and the imports offered."""
        files = [source for source in self.import_sources() if source != WITH_TOKEN]
        if not files:
            return f"run `{login_command}`"
        offered = " / ".join(f"`login --from {s}`" if i == 0 else f"`--from {s}`"
                             for i, s in enumerate(files))
        return f"run `{login_command}` (or {offered} to reuse a login you have)"

    # -- shared by the providers' logins --------------------------------------------------

    def device_extra(self) -> dict[str, str]:
        """Extra parameters of the device authorization request (none unless overridden)."""
        return {}

    def _device_flow(self, console: Console, code_url: str, token_url: str) -> TokenResponse:
        """RFC 8628 with this profile's client: show the code on stderr, poll until done."""
        from helper.oauth2 import rfc8628

        p = self.profile
        code = rfc8628.request_code(self.transport, code_url, p.client_id, p.scope,
                                    p.client_secret, extra=self.device_extra() or None)
        console.show_device_code(code, self.login_label)
        try:
            return rfc8628.poll(self.transport, token_url, p.client_id, code, wait=console.wait,
                                client_secret=p.client_secret)
        finally:
            console.done_waiting()


@contextmanager
def translated() -> Iterator[None]:
    """The OAuth layer's errors as the helper's own: a provider is the boundary where
    ``helper.oauth2`` is called, and nothing above it sees that layer's types."""
    try:
        yield
    except OAuth2Error as e:
        raise CredentialError(str(e)) from e
