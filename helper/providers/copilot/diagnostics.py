"""The Copilot provider's ``doctor`` checks: the GitHub tokens in the environment, and one
token exchange with the login a get would use.

Each reads what it checks exactly as the provider does: the login order and token kinds
come from github.py, the exchange's answers are read by exchange.py. The one exchange is
made with the login a get would try first; the Copilot token it yields is thrown away, and
nothing is stored or refreshed (doctor changes nothing).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from helper.errors import CredentialError, HelperError, mask, one_line
from helper.providers.base import (
    Checkup,
    Diagnostic,
    GrantRevoked,
    every_answer_final,
    failed,
    failure,
    passed,
    warned,
)
from helper.providers.copilot import exchange, github
from helper.storage.records import STORE

if TYPE_CHECKING:
    from helper.net.transport import Transport
    from helper.providers.profile import Profile

EXCHANGE = "token exchange"
LATER = "try again later; if it persists, see githubstatus.com"
SEAT = "check the account's Copilot seat or policy (github.com/settings/copilot)"


def diagnose(profile: Profile, transport: Transport, checkup: Checkup,
             login_fix: str) -> list[Diagnostic]:
    """The environment's GitHub tokens, then the exchange with the first login a get tries."""
    stored = checkup.stored is not None
    return [*env_tokens(checkup.env, stored, checkup.login_command),
            exchange_check(profile, transport, checkup, login_fix)]


def env_tokens(env: Mapping[str, str], stored: bool, login_command: str) -> list[Diagnostic]:
    """Each GitHub token variable that is set; with a stored login only COPILOT_GITHUB_TOKEN
    is used (it comes first), the others are not."""
    return [env_token(name, env[name], name == github.ENV_FIRST or not stored, login_command)
            for name in github.ENV_TOKENS if env.get(name)]


def env_token(name: str, value: str, used: bool,
              login_command: str = "git-credential-copilot login") -> Diagnostic:
    """The kind of an environment token, and whether the exchange accepts that kind."""
    kind, accepted = github.kind_of(value)
    where = f"holds {kind} ({mask(value)})"
    check = f"env {name}"
    if not used:
        return passed(check, f"{where}; not used: a stored login comes first")
    if accepted is False:
        return failed(check, f"{where}; the Copilot exchange refuses this kind",
                      f"unset {name} and run `{login_command}`")
    if accepted is None:
        return warned(check, f"{where}; accepted only if issued to an app Copilot trusts "
                      "(gh's tokens get 404; see the exchange check)")
    return passed(check, f"{where}; the exchange accepts this kind")


def exchange_check(profile: Profile, transport: Transport, checkup: Checkup,
                   login_fix: str) -> Diagnostic:
    """One exchange with the login a get would use: a token without a prompt, and the plan
    the answer says the account has."""
    stored = checkup.stored if checkup.stored is not None and checkup.stored.access_token \
        else None
    try:
        grants = github.grant_sources(stored, checkup.env)
    except CredentialError as e:  # a variable no header can carry: named, masked
        return failed(EXCHANGE, one_line(str(e)), "set it to the token alone, or unset it")
    if not grants:
        return failed(EXCHANGE, "no GitHub login to exchange", login_fix)
    first = grants[0]
    if github.due_for_refresh(first, checkup.now):
        return passed(EXCHANGE, "the stored GitHub token is due for renewal; the next get "
                      "refreshes it (not done here: doctor changes nothing)")
    origin = "the store" if first.origin == STORE else first.origin
    via = f"the login from {origin} ({mask(first.access_token)})"
    relogin = f"run `{checkup.login_command}`"
    try:
        response = exchange.answer(transport, profile.setting("api_url"), first.access_token,
                                   every_answer_final)
    except GrantRevoked:
        return failed(EXCHANGE, f"{via} was rejected (401): the GitHub token is dead", relogin)
    except exchange.NoCopilotSeat as e:
        return failed(EXCHANGE, f"{via}: no Copilot access (403): {e.reason}", SEAT)
    except exchange.AppNotAccepted:
        return failed(EXCHANGE, f"{via}: Copilot does not accept this token (404); it is "
                      f"{github.kind_of(first.access_token)[0]}",
                      f"{relogin} (this helper's device flow)")
    except exchange.UnexpectedAnswer as e:
        return failed(EXCHANGE, f"{via}: the exchange answered HTTP {e.status}", LATER)
    except HelperError as e:
        return failed(EXCHANGE, failure(e), checkup.network_fix)
    try:
        exchange.token_from(response, "")
    except HelperError as e:
        return failed(EXCHANGE, f"{via}: {one_line(str(e))}", LATER)
    plan = exchange.plan(response)
    return passed(EXCHANGE, f"{via} gets a token without a prompt" + (f"; {plan}" if plan else ""))
