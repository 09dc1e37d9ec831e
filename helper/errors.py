"""The helper's own error types, drawn whole here, and secret masking for every message a
person reads.

Callers only ever see these types: errors from requests, keyring, filelock and the OS are
translated where they happen (``raise ... from e``), and the OAuth layer's own errors are
translated by the providers that call it. Each message is one line saying what happened and
what to do. The exit code is chosen by the command line from the type
(``commands.main.EXIT_CODES``: usage and configuration 2, everything else 1). One class per
thing a caller handles differently::

    Exception
    +-- HelperError                     one line for a person, secrets masked
    |   +-- UsageError                  the command line is wrong                     (exit 2)
    |   +-- ConfigError                 the config file or an override is wrong      (exit 2)
    |   +-- ProtocolError               git's input is malformed or hostile
    |   +-- CredentialError             no credential could be produced
    |   |   +-- LoginRequired           no usable login, and no prompt may be shown
    |   |   +-- net.transport.ServerError       a server answered badly, or not in time
    |   |   +-- net.transport.UnsendableError   a token no HTTP header can carry
    |   |   +-- providers.base.GrantRevoked     the server says the login is dead: drop it
    |   |   +-- providers.base.SourceError      a login to import cannot be read
    |   |   +-- providers.copilot.exchange.NoCopilotAccess (NoCopilotSeat, AppNotAccepted)
    |   |   |                                   the exchange refuses a live login: keep it
    |   |   +-- providers.copilot.exchange.UnexpectedAnswer   an answer it cannot read
    |   |   +-- core.lifecycle.Refused          a login offered for import was not accepted
    |   +-- StoreError                  a file or the keyring could not be used
    |   |   +-- storage.private.UnreadableFile  treated as absent, after one line
    |   +-- LockTimeout                 another process held the profile lock too long
    |   +-- OutputError                 stdout is closed or full: nothing was delivered
    |   +-- commands.configure.GitError git config could not be read or written
    |   +-- tools.documents.ToolConfigError    a tool's config file cannot be edited safely
    +-- oauth2.errors.OAuth2Error       the OAuth layer's own (providers.base.translated)
        +-- oauth2.rfc6749.OAuthError   an RFC 6749 §5.2 error response, one class a code
        |   (InvalidRequest, InvalidClient, InvalidGrant, UnauthorizedClient,
        |    UnsupportedGrantType, InvalidScope, ServerSide; rfc8628: AuthorizationPending,
        |    SlowDown, AccessDenied, ExpiredToken)
        +-- oauth2.rfc8252.RedirectError       the loopback redirect gave no code
        |   (Interfered, Refused, TimedOut, PortInUse)
        +-- oauth2.rfc8414.DiscoveryError      no usable metadata for the issuer
        +-- oauth2.browser.NoFlow, CodeRefused no flow can run here; the code was refused

Private signals that never leave their module: ``fast._Uncertain``,
``core.cachefiles.Unusable``, ``net.jsonsafe.UnsafeJSON`` (a ValueError).

Masking is one pass over every message, whatever produced its text (a server echoing an
Authorization header, an ``error_description`` quoting a refresh token, a keyring exception
holding the value it failed to write): the secrets this process has handled are registered
with ``remember_secret`` where they enter (transport, stores, the environment), and
``scrub`` replaces each of them, and anything shaped like a GitHub token or a bearer
credential, with its ``mask``. The register is process-wide on purpose: a secret must be
masked in a message built by code that never saw it.
"""


class HelperError(Exception):
    """Base class: a one-line message for a person."""

    def __init__(self, *args: object):
        super().__init__(*(scrub(a) if isinstance(a, str) else a for a in args))


class UsageError(HelperError):
    """The command line is wrong."""


class ConfigError(HelperError):
    """The configuration file or an environment override is wrong."""


class ProtocolError(HelperError):
    """The credential-protocol input on stdin is malformed or hostile."""


class CredentialError(HelperError):
    """No credential could be produced (network, server or policy reasons)."""


class LoginRequired(CredentialError):
    """The long-lived login is missing or dead and no prompt may be shown."""


class StoreError(HelperError):
    """A file or the keyring could not be read or written."""


class LockTimeout(HelperError):
    """Another process held the profile lock for longer than we may wait."""


class OutputError(HelperError):
    """stdout is closed or full: the answer could not be delivered."""


def mask(secret: str | None) -> str:
    """Show enough of a secret to recognise it, never enough to use it: ``gho_…a1b2``."""
    if not secret:
        return "<none>"
    if len(secret) < 16:
        return "…"
    head = secret[:4]
    return f"{head}…{secret[-4:]}"


def one_line(text: str, limit: int = 200) -> str:
    """Fold server-provided text to one printable line of bounded length, secrets masked
    before it is cut (a cut secret would no longer be recognised)."""
    flat = scrub(" ".join(str(text).split()))
    flat = "".join(ch if ch.isprintable() else "?" for ch in flat)
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


_SECRETS: set[str] = set()
MIN_SECRET = 8  # shorter values (a user code, "oauth2") are not worth masking, and too common
SECRET_FIELDS = frozenset({
    "access_token", "refresh_token", "id_token", "token", "client_secret", "device_code",
    "code", "code_verifier", "password", "assertion", "client_assertion",
})
ENV_TOKENS = ("COPILOT_GITHUB_TOKEN", "GH_TOKEN", "GITHUB_TOKEN")
# GitHub's token formats, Copilot's tid=… tokens, JWTs and any Bearer/token credential.
_TOKEN_SHAPES = (
    r"\b(?:gh[opusr]_[A-Za-z0-9_]{16,}|github_pat_[A-Za-z0-9_]{16,}"
    r"|tid=[^\s\"',]{8,}|eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*)"
    r"|(?<=\b[Bb]earer )[A-Za-z0-9._~+/=-]{8,}|(?<=\btoken )[A-Za-z0-9._~+/=-]{16,}"
)
_shapes = None


def remember_secret(secret: object) -> None:
    """Register a secret this process holds, so no message to a person ever shows it."""
    if isinstance(secret, str) and len(secret) >= MIN_SECRET:
        _SECRETS.add(secret)


def remember_fields(values: object) -> None:
    """Register the secret-bearing fields of a form, a token response or a stored login."""
    if isinstance(values, dict):
        for key, value in values.items():
            if key in SECRET_FIELDS:
                remember_secret(value)


def remember_env(env: object) -> None:
    """Register the tokens the environment hands us (GH_TOKEN and friends)."""
    for name in ENV_TOKENS:
        remember_secret(getattr(env, "get", lambda _: None)(name))


def scrub(text: str) -> str:
    """``text`` with every registered secret, and anything token-shaped, masked."""
    global _shapes
    for secret in sorted(_SECRETS, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, mask(secret))
    if _shapes is None:
        import re

        _shapes = re.compile(_TOKEN_SHAPES)
    return _shapes.sub(lambda m: mask(m.group()), text)
