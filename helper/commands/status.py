"""``status``: what a person sees about a profile - the login, the store, the token - and
never a secret (each is masked)."""

from __future__ import annotations

import time

from helper.errors import HelperError, mask, one_line
from helper.core.lifecycle import Lifecycle

TYPE_CHECKING = False
if TYPE_CHECKING:
    from helper.core.config import Profile


def status(lc: Lifecycle, profile: Profile) -> tuple[list[str], bool]:
    """Lines describing the profile, and whether a token is at hand. Each part that fails
    (a locked or hung keyring, a server down) becomes its own line: the rest still prints."""
    lines = [f"profile: {profile.name} (provider {profile.provider})"]
    stored = None
    try:
        store = lc.parts.store()
        lines.append(f"secrets: {store.describe()}")
        stored = lc.stored_grant(store)
        holder = getattr(store, "holder", None)
        if stored is not None and holder is not None:
            lines.append(f"login kept in: {holder(lc.login_key)}")
    except HelperError as e:
        lines.append(f"secrets: unavailable: {one_line(str(e))}")
    try:
        grants = lc.parts.provider().sources(stored, lc.env)
    except HelperError as e:
        grants = []
        lines.append(f"provider: unavailable: {one_line(str(e))}")
    if grants:
        first = grants[0]
        who = first.username or "unknown user"
        lines.append(f"login: {who} via {first.origin} ({mask(first.secret)})")
    else:
        lines.append("login: none")
    try:
        token = lc.token()
    except HelperError as e:
        lines.append(f"token: none: {one_line(str(e))}")
        return lines, False
    left = token.expires_at - lc.now()
    lines.append(
        f"token: valid until {_utc(token.expires_at)} "
        f"({left / 60:.0f} min left)" + (f", API {token.api_base}" if token.api_base else "")
    )
    return lines, True


def _utc(timestamp: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(timestamp))
