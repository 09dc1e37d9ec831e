"""``status``: what a person sees about a profile - the login, the store, the token - and
never a secret (each is masked)."""

from __future__ import annotations

import time

from .errors import CredentialError, mask
from .lifecycle import Lifecycle

TYPE_CHECKING = False
if TYPE_CHECKING:
    from .config import Profile


def status(lc: Lifecycle, profile: Profile) -> tuple[list[str], bool]:
    """Lines describing the profile, and whether a token is at hand."""
    lines = [f"profile: {profile.name} (provider {profile.provider})"]
    provider = lc.parts.provider()
    try:
        store = lc.parts.store()
        stored = lc.stored_grant(store)
        lines.append(f"secrets: {store.describe()}")
    except CredentialError as e:
        lines.append(f"secrets: unavailable: {e}")
        stored = None
    grants = provider.sources(stored, lc.env)
    if grants:
        first = grants[0]
        who = first.username or "unknown user"
        lines.append(f"login: {who} via {first.origin} ({mask(first.secret)})")
    else:
        lines.append("login: none")
    try:
        token = lc.token()
    except CredentialError as e:
        lines.append(f"token: none: {e}")
        return lines, False
    left = token.expires_at - lc.now()
    lines.append(
        f"token: valid until {_utc(token.expires_at)} "
        f"({left / 60:.0f} min left)" + (f", API {token.api_base}" if token.api_base else "")
    )
    return lines, True


def _utc(timestamp: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(timestamp))
