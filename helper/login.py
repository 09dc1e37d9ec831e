"""Logins: run one, forget one, import one git hands us, drop one git says is dead.

A login is the long-lived grant in the secret store. Each change to it happens under the
profile lock and clears the cached token, so no token minted from an older login is served.
"""

from __future__ import annotations

from . import files
from .lifecycle import Lifecycle, person
from .records import Grant, Token


def login(lc: Lifecycle) -> Token:
    """A fresh login that replaces whatever the profile had."""
    with lc.parts.lock("login"):
        return lc.authorize(lc.read_state().cleared(), lc.parts.provider(), lc.parts.store())


def logout(lc: Lifecycle) -> None:
    with lc.parts.lock("logout"):
        lc.parts.store().delete(lc.name)
        files.remove(lc.state_path)


def erase_login(lc: Lifecycle, password: str) -> None:
    """Forget the login (only if it is ``password``, when given) and its cached token."""
    with lc.parts.lock("erase"):
        store = lc.parts.store()
        stored = lc.stored_grant(store)
        if stored is not None and password and password not in (
            stored.access_token, stored.refresh_token
        ):
            return
        if stored is not None:
            store.delete(lc.name)
        lc.write_state(lc.read_state().cleared())


def import_login(lc: Lifecycle, username: str, password: str, checked: bool = False) -> bool:
    """Keep a token git hands us at the login host as the profile's login. One that would
    replace another login must first pass one exchange (``checked``: it already did): git
    approves whatever a push used - a PAT, gh's token - to every helper, and that must not
    replace a working login. True when stored."""
    if not password:
        return False
    with lc.parts.lock("store"):
        store = lc.parts.store()
        stored = lc.stored_grant(store)
        if stored is not None and password in (stored.access_token, stored.refresh_token):
            return False
        grant = Grant(access_token=password, username=person(username))
        if stored is not None and not checked and not _accepted(lc, grant):
            return False
        store.write(lc.name, grant.to_dict())
        lc.write_state(lc.read_state().cleared())
        return True


def _accepted(lc: Lifecycle, grant: Grant) -> bool:
    """Does the token exchange accept ``grant``? Any refusal or failure: no."""
    from .errors import CredentialError, mask

    try:
        lc.parts.provider().mint(grant)
    except CredentialError as e:
        lc.console.notice(
            f"not replacing the login of profile {lc.name!r} with the token git approved "
            f"({mask(grant.access_token)}): the exchange refused it ({e})")
        return False
    return True
