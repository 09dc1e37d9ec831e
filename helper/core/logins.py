"""Logins: run one, forget one, import one git or a person hands us, drop one git says is dead.

A login is the long-lived grant in the secret store. Each change to it happens under the
profile lock and replaces the cached token (with none, or with one the new login minted), so
no token minted from an older login is served.
"""

from __future__ import annotations

from helper.storage import state
from helper.errors import CredentialError, mask
from helper.core.lifecycle import Lifecycle, person
from helper.storage.records import Grant, Token


def login(lc: Lifecycle) -> Token:
    """A fresh login that replaces whatever the profile had."""
    with lc.parts.lock("login"):
        return lc.authorize(lc.read_state().cleared(), lc.parts.provider(), lc.parts.store())


def logout(lc: Lifecycle) -> None:
    with lc.parts.lock("logout"):
        lc.parts.store().delete(lc.login_key)
        state.remove(lc.state_path)  # and the cached get's copy of the token


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
            store.delete(lc.login_key)
        lc.write_state(lc.read_state().cleared())


class Refused(CredentialError):
    """The exchange did not accept a token offered as the login; nothing changed."""


def store_login(lc: Lifecycle, username: str, password: str) -> None:
    """git's ``store`` at the login host: git approves whatever a push used - a PAT, gh's
    token - to every helper, so a token the exchange refuses changes nothing; it is
    reported in one line (git ignores a helper's ``store`` answer)."""
    if not password:
        return
    from helper.net.transport import header_safe, unsendable_line

    if not header_safe(password):
        lc.console.notice(f"not storing it: {unsendable_line(password, 'git store')}")
        return
    stored = lc.stored_grant(lc.parts.store())
    if stored is not None and password in (stored.access_token, stored.refresh_token):
        return  # git approving the login we already hold
    grant = Grant(access_token=password, username=person(username))
    try:
        import_login(lc, grant)
    except Refused as e:
        hint = lc.parts.provider().refusal_hint(password)
        lc.console.notice(
            f"not storing the token git approved ({mask(password)}) as the login of profile "
            f"{lc.name!r}: the Copilot exchange did not accept it ({e}){hint}")


def import_login(lc: Lifecycle, grant: Grant) -> Token:
    """Make ``grant`` the profile's login only after one exchange accepts it, and cache the
    token that exchange minted (the next get needs none). Refused, and nothing changed, when
    the exchange refuses it or cannot be reached."""
    with lc.parts.lock("store"):
        provider = lc.parts.provider()
        try:
            minted = provider.mint(grant)
        except CredentialError as e:
            raise Refused(str(e)) from e
        login = minted.grant or grant
        lc.parts.store().write(lc.login_key, login.to_dict())
        return lc.cache(lc.read_state().cleared(), lc.stamp(minted.token, login, provider))

