"""``status``: what a person sees about a profile - the login, the store, the token - and
never a secret (each is masked)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from helper.core.lifecycle import Lifecycle
from helper.errors import HelperError, mask, one_line

if TYPE_CHECKING:
    from helper.providers.profile import Profile


def status(lc: Lifecycle, profile: Profile) -> tuple[list[str], bool]:
    """Lines describing the profile, and whether a token is at hand. Each part that fails
    (a locked or hung keyring, a server down) becomes its own line: the rest still prints."""
    lines = [f"profile: {profile.name} (provider {profile.provider})"]
    found = lc.describe()
    if found.secrets:
        lines.append(f"secrets: {found.secrets}")
    if found.holder:
        lines.append(f"login kept in: {found.holder}")
    if found.secrets_error:
        lines.append(f"secrets: unavailable: {found.secrets_error}")
    if found.provider_error:
        lines.append(f"provider: unavailable: {found.provider_error}")
    if found.login is not None:
        who = found.login.username or "unknown user"
        lines.append(f"login: {who} via {found.login.origin} ({mask(found.login.secret)})")
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
