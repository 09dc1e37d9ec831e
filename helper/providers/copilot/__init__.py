"""The GitHub Copilot provider: a GitHub OAuth login, exchanged for short-lived Copilot tokens.

Flow: GitHub's device flow (``{github_url}/login/device/code``) gives a GitHub OAuth token;
the Copilot token exchange (exchange.py) turns it into a Copilot token. The rest of what
this provider knows lives beside it: GitHub's token kinds and the login order (github.py),
its ``doctor`` checks (diagnostics.py) and the logins other tools keep that it can take
over (imports.py).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import TYPE_CHECKING

from helper.errors import CredentialError, HelperError
from helper.net.urls import host_of
from helper.providers.base import (
    HOSTS,
    STR,
    URL,
    Checkup,
    Diagnostic,
    GrantRevoked,
    Imported,
    Problem,
    Provider,
    ProviderSpec,
    translated,
)
from helper.providers.copilot import exchange, github
from helper.providers.copilot.exchange import EDITOR_HEADERS, NoCopilotAccess, local_times
from helper.storage.records import Authorization, Grant, Minted, Token

if TYPE_CHECKING:
    from typing import BinaryIO

    from helper.console import Console
    from helper.providers.profile import Profile

__all__ = ["EDITOR_HEADERS", "SPEC", "CopilotProvider", "NoCopilotAccess", "local_times"]

# -- the configuration (read on every get: no heavy imports) -------------------------------

COPILOT_HOSTS = (
    "api.githubcopilot.com",
    "api.individual.githubcopilot.com",
    "api.business.githubcopilot.com",
    "api.enterprise.githubcopilot.com",
)
# The keys that name the server and client issuing a login: a login and its tokens are bound
# to their values (another GitHub, another API or another app is another login).
IDENTITY = ("github_url", "api_url", "client_id")
KEYS = {"github_url": URL, "api_url": URL, "client_id": STR, "scope": STR, "hosts": HOSTS}
DEFAULTS: dict[str, str | tuple[str, ...]] = {
    "github_url": "https://github.com",
    "api_url": "https://api.github.com",
    "client_id": "Iv1.b507a08c87ecfe98",
    "scope": "read:user",
    "hosts": COPILOT_HOSTS,
}


def check(profile: Profile) -> Problem | None:
    """No rule across keys: every key has a default."""
    return None


def login_host(profile: Profile) -> str:
    """git addresses the GitHub login itself at the GitHub host (store/erase)."""
    return host_of(profile.setting("github_url"))


# -- the provider ---------------------------------------------------------------------------


class CopilotProvider(Provider):
    env_overrides = (github.ENV_FIRST,)  # when set, it comes before the stored login
    grant_label = "GitHub token"
    mint_label = "the Copilot exchange"

    @property
    def login_label(self) -> str:
        return f"GitHub ({self.profile.login_host})"

    def sources(self, stored: Grant | None, env: Mapping[str, str]) -> list[Grant]:
        return github.grant_sources(stored, env)

    def refusal_hint(self, token: str) -> str:
        return github.refusal_hint(token)

    def mint(self, grant: Grant) -> Minted:
        with translated():
            renewed = None
            if github.due_for_refresh(grant, time.time()):
                grant = renewed = self._refresh(grant)
            try:
                token = self._exchange(grant)
            except GrantRevoked:
                if renewed is None and grant.refresh_token:
                    renewed = self._refresh(grant)
                    token = self._exchange(renewed)
                else:
                    raise
            return Minted(token=token, grant=renewed)

    def accepts(self, token: Token) -> bool | None:
        """``GET {api}/models`` with the token: 200 means the API accepts it; 401 and 403
        (Copilot Enterprise's answer for an expired token) mean it does not. Anything else
        (a 5xx, no answer) tells nothing."""
        url = f"{token.api_base or exchange.DEFAULT_API_BASE}/models"
        headers = {"Authorization": f"Bearer {token.token}", **exchange.EDITOR_HEADERS}
        try:
            status = self.transport.request("GET", url, headers=headers).status
        except CredentialError:
            return None
        return True if status == 200 else False if status in (401, 403) else None

    def api_headers(self) -> dict[str, str]:
        """The editor-integration headers the Copilot API expects: the exchange's own,
        without User-Agent, which each tool sets for itself (in this order: the tools' files
        are written byte for byte the same each time)."""
        return {name: EDITOR_HEADERS[name]
                for name in ("Copilot-Integration-Id", "Editor-Version", "Editor-Plugin-Version")}

    def models(self, api_base: str, token: str) -> tuple[list[dict[str, object]] | None, str]:
        """``GET {api_base}/models``, asked once: an answer is not retried."""
        headers = {**EDITOR_HEADERS, "Authorization": f"Bearer {token}"}
        try:
            response = self.transport.request("GET", f"{api_base}/models", headers=headers,
                                              retry_statuses=lambda r: False)
            if response.status != 200:
                return None, f"HTTP {response.status}"
            data = response.json_object().get("data")
        except HelperError as e:
            return None, str(e)
        if not isinstance(data, list):
            return None, "the answer has no list of models"
        return [m for m in data if isinstance(m, dict)], ""

    def authorize(self, console: Console) -> Authorization:
        with translated():
            base = self.profile.setting("github_url")
            answer = self._device_flow(console, f"{base}/login/device/code",
                                       f"{base}/login/oauth/access_token")
            grant = github.grant_from(answer)
            grant.username = self._login_of(grant)
            return Authorization(grant=grant)

    def _exchange(self, grant: Grant) -> Token:
        response = exchange.answer(self.transport, self.profile.setting("api_url"),
                                   grant.access_token)
        return exchange.token_from(response, grant.username)

    def _refresh(self, grant: Grant) -> Grant:
        return github.refresh(self.transport, self.profile.setting("github_url"),
                              self.profile.client_id, grant)

    def _login_of(self, grant: Grant) -> str:
        """The GitHub login name, for ``username=``; empty when GitHub will not say."""
        headers = {"Authorization": f"token {grant.access_token}"}
        try:
            url = f"{self.profile.setting('api_url')}/user"
            response = self.transport.request("GET", url, headers=headers)
            login = response.json_object().get("login") if response.status == 200 else None
        except CredentialError:
            return ""
        return login if isinstance(login, str) and login.isprintable() else ""

    # -- imports and doctor: in their own modules, loaded when asked for -------------------

    def import_sources(self) -> tuple[str, ...]:
        from helper.providers.copilot import imports

        return imports.SOURCES

    def import_login(self, source: str, stdin: BinaryIO) -> Imported:
        from helper.providers.copilot import imports

        return imports.find(source, self.profile, self.env, stdin)

    def servers(self) -> list[str]:
        return [self.profile.setting("github_url"), self.profile.setting("api_url")]

    def diagnose(self, checkup: Checkup) -> list[Diagnostic]:
        from helper.providers.copilot import diagnostics

        return diagnostics.diagnose(self.profile, self.transport, checkup,
                                    self.login_fix(checkup.login_command))

    @classmethod
    def diagnose_environment(cls, env: Mapping[str, str],
                             login_command: str) -> list[Diagnostic]:
        from helper.providers.copilot import diagnostics

        return diagnostics.env_tokens(env, False, login_command)

    def describe_grant(self, grant: Grant) -> str:
        return github.kind_of(grant.secret)[0]


SPEC = ProviderSpec(name="copilot", keys=KEYS, defaults=DEFAULTS, identity=IDENTITY,
                    check=check, login_host=login_host, provider=CopilotProvider)
