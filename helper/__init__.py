"""git-credential-copilot: fresh GitHub Copilot and OAuth tokens, never a stale one.

In-process API for Python callers (it shares the store, cache and lock with the command):

    import helper
    token = helper.get_token()            # helper.Token: .token, .expires_at, .api_base
    ...                                   # the API answered 401?
    helper.erase(token.token)             # then get_token() again mints a new one

This module stays tiny: the command line imports it on every cached ``get``.
"""

__version__ = "0.1.0"
__all__ = ["get_token", "erase", "Token", "HelperError", "__version__"]

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: importing typing costs the cached get ~3 ms
if TYPE_CHECKING:
    from helper.api import Token
    from helper.errors import HelperError


def get_token(profile: str | None = None) -> "Token":
    """A fresh token for ``profile`` (default: the configured default profile).

    Raises helper.HelperError (with a one-line message) when none can be produced.
    """
    from helper.api import get_token as _get_token

    return _get_token(profile)


def erase(token: str, profile: str | None = None) -> None:
    """Forget ``token`` after the API rejected it; a no-op if a newer token is cached."""
    from helper.api import erase as _erase

    _erase(token, profile)


def __getattr__(name: str) -> object:
    if name == "Token":
        from helper.api import Token

        return Token
    if name == "HelperError":
        from helper.errors import HelperError

        return HelperError
    raise AttributeError(name)
