"""The helper's own error types, and secret masking for every message a person reads.

Callers only ever see these types: errors from requests, keyring, filelock and the OS are
translated where they happen (``raise ... from e``). Each carries the exit code the command
line uses and a message that is one line saying what happened and what to do.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_NO_CREDENTIAL = 1
EXIT_USAGE = 2


class HelperError(Exception):
    """Base class: a one-line message for a person, and an exit code."""

    exit_code = EXIT_NO_CREDENTIAL


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


def mask(secret: str | None) -> str:
    """Show enough of a secret to recognise it, never enough to use it: ``gho_…a1b2``."""
    if not secret:
        return "<none>"
    if len(secret) < 16:
        return "…"
    head = secret[:4]
    return f"{head}…{secret[-4:]}"


def one_line(text: str, limit: int = 200) -> str:
    """Fold server-provided text to one printable line of bounded length."""
    flat = " ".join(str(text).split())
    flat = "".join(ch if ch.isprintable() else "?" for ch in flat)
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
