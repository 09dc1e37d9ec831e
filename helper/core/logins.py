"""Logins as the command line asks for them: run one, forget one, drop one git says is dead,
and take one git hands us at the login host.

A login is the long-lived grant in the secret store. The life cycle makes each change to it
under the profile lock and replaces the cached token with it (with none, or with one the new
login minted), so no token minted from an older login is served; this module holds the
policy of git's ``store`` at the login host.
"""

from __future__ import annotations

from helper.core.lifecycle import Lifecycle, Refused, person
from helper.errors import mask
from helper.storage.records import Grant, Token


def login(lc: Lifecycle) -> Token:
    """A fresh login that replaces whatever the profile had."""
    return lc.login()


def logout(lc: Lifecycle) -> None:
    lc.logout()


def erase_login(lc: Lifecycle, password: str) -> None:
    """Forget the login (only if it is ``password``, when given) and its cached token."""
    lc.erase_login(password)


def store_login(lc: Lifecycle, username: str, password: str) -> None:
    """git's ``store`` at the login host: git approves whatever a push used - a PAT, gh's
    token - to every helper, so a token the provider refuses changes nothing; it is
    reported in one line (git ignores a helper's ``store`` answer)."""
    if not password:
        return
    from helper.net.transport import header_safe, unsendable_line

    if not header_safe(password):
        lc.console.notice(f"not storing it: {unsendable_line(password, 'git store')}")
        return
    stored = lc.stored_login()
    if stored is not None and password in (stored.access_token, stored.refresh_token):
        return  # git approving the login we already hold
    try:
        lc.import_login(Grant(access_token=password, username=person(username)))
    except Refused as e:
        lc.console.notice(
            f"not storing the token git approved ({mask(password)}) as the login of profile "
            f"{lc.name!r}: {e.checker} did not accept it ({e}){e.hint}")
