"""Proof Key for Code Exchange (RFC 7636), the S256 method only.

Spec: https://www.rfc-editor.org/rfc/rfc7636 - §4.1 (the code verifier: 43-128 characters of
``[A-Za-z0-9-._~]``), §4.2 (S256: ``BASE64URL(SHA256(ASCII(verifier)))`` without padding).

The verifier stays in this process; only its hash travels, in the redirect the browser
follows to the authorization endpoint - never in a command line, which any account can read
(the browser is opened on the listener's start link, ``rfc8252``). A code stolen on the way
back to the loopback listener is useless without the verifier.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from dataclasses import dataclass

METHOD = "S256"
VERIFIER = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")


@dataclass(frozen=True)
class Pkce:
    verifier: str
    challenge: str
    method: str = METHOD

    def __repr__(self) -> str:  # the verifier is a secret until the code is redeemed
        return f"Pkce(challenge={self.challenge!r}, method={self.method!r})"


def challenge(verifier: str) -> str:
    """The S256 code challenge for ``verifier`` (RFC 7636 §4.2)."""
    if not VERIFIER.match(verifier):
        raise ValueError("a code verifier is 43-128 characters of A-Z a-z 0-9 - . _ ~")
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def new(nbytes: int = 48) -> Pkce:
    """A fresh verifier (``nbytes`` random bytes; 48 give 64 characters) and its challenge."""
    verifier = secrets.token_urlsafe(nbytes)
    return Pkce(verifier=verifier, challenge=challenge(verifier))
