"""The OAuth layer's own error base: every failure of a flow in this package is an
``OAuth2Error`` (RFC 6749 §5.2 error responses, the loopback redirect, discovery, the browser
sign-in). It knows nothing of the command line: the providers translate it into the
helper's ``CredentialError`` where they call this package (``providers.base.translated``).
The message is one line for a person, with every secret masked (``errors.scrub``).
"""

from __future__ import annotations

from helper.errors import scrub


class OAuth2Error(Exception):
    """A sign-in or token request that did not produce a credential."""

    def __init__(self, message: str):
        super().__init__(scrub(message))
