"""``login --from SOURCE`` and ``login --with-token``: take over a login that already exists.

The profile's provider says where it can take a login from and reads it there
(providers/copilot/imports.py: LiteLLM's file, the editor plugins' apps.json, stdin); the
life cycle checks it with one mint before it stores it, so a refused login never replaces
one. This command only asks and reports. The source is only read, never changed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from helper.core.lifecycle import Refused
from helper.errors import CredentialError, UsageError, mask
from helper.providers.base import WITH_TOKEN

if TYPE_CHECKING:
    from helper.console import Streams
    from helper.core.lifecycle import Lifecycle
    from helper.providers.base import Imported, Provider
    from helper.providers.profile import Profile
    from helper.storage.records import Token


def cmd_login_from(source: str, lc: Lifecycle, profile: Profile, streams: Streams) -> int:
    """``login --from SOURCE`` / ``login --with-token``: find, check, then store."""
    provider = lc.provider()
    offered = provider.import_sources()
    if source not in offered:
        raise UsageError(_not_offered(source, offered, profile))
    imported = provider.import_login(source, streams.stdin)
    token = keep(imported, lc, provider)
    streams.console.notice(_logged_in(imported, token, profile, provider))
    return 0


def keep(imported: Imported, lc: Lifecycle, provider: Provider) -> Token:
    """Store the login once one mint accepts it; the token it minted, or why not."""
    secret = imported.grant.secret
    try:
        return lc.import_login(imported.grant)
    except Refused as e:
        raise CredentialError(
            f"the token from {imported.where} ({mask(secret)}) was refused: {e}{e.hint}; "
            "nothing was stored") from e


def _not_offered(source: str, offered: tuple[str, ...], profile: Profile) -> str:
    flag = "--with-token" if source == WITH_TOKEN else f"--from {source}"
    if not offered:
        return (f"login {flag}: profile {profile.name!r} uses provider {profile.provider!r}, "
                "which cannot take over a login from elsewhere")
    names = ", ".join(s for s in offered if s != WITH_TOKEN)
    return (f"login {flag}: provider {profile.provider!r} takes a login from: {names}"
            + (" or --with-token" if WITH_TOKEN in offered else ""))


def _logged_in(imported: Imported, token: Token, profile: Profile, provider: Provider) -> str:
    who = f" as {imported.grant.username}" if imported.grant.username else ""
    api = f" (API {token.api_base})" if token.api_base else ""
    said = (f"logged in{who} (profile {profile.name!r}) with the {provider.grant_label} from "
            f"{imported.where} ({mask(imported.grant.secret)}); {provider.mint_label} "
            f"accepted it{api}")
    return said + (f"; {imported.where} was not changed" if imported.is_file else "")
