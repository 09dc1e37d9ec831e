"""The helper's own error types, and secret masking for every message a person reads.

Callers only ever see these types: errors from requests, keyring, filelock and the OS are
translated where they happen (``raise ... from e``). Each carries the exit code the command
line uses and a message that is one line saying what happened and what to do.

Masking is one pass over every message, whatever produced its text (a server echoing an
Authorization header, an ``error_description`` quoting a refresh token, a keyring exception
holding the value it failed to write): the secrets this process has handled are registered
with ``remember_secret`` where they enter (transport, stores, the environment), and
``scrub`` replaces each of them, and anything shaped like a GitHub token or a bearer
credential, with its ``mask``. The register is process-wide on purpose: a secret must be
masked in a message built by code that never saw it.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_NO_CREDENTIAL = 1
EXIT_USAGE = 2


class HelperError(Exception):
    """Base class: a one-line message for a person, and an exit code."""

    exit_code = EXIT_NO_CREDENTIAL

    def __init__(self, *args: object):
        super().__init__(*(scrub(a) if isinstance(a, str) else a for a in args))


class UsageError(HelperError):
    """The command line is wrong."""

    exit_code = EXIT_USAGE


class ConfigError(HelperError):
    """The configuration file or an environment override is wrong."""

    exit_code = EXIT_USAGE


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
