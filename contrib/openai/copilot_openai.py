"""openai-python against GitHub Copilot, with a fresh token per request and one retry on 401/403.

``CopilotAuth`` is an ``httpx.Auth``: it puts the current token from git-credential-copilot
on every request and, when the API answers 401 (or 403: Copilot Enterprise's answer for an
expired token), erases exactly that token and sends the request once more with a new one;
a second refusal reaches the caller.

    from copilot_openai import copilot_client
    client = copilot_client()                     # an openai.OpenAI
    client.chat.completions.create(model="gpt-4o", messages=[...])
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import httpx

import helper

COPILOT_HEADERS = {
    "Copilot-Integration-Id": "vscode-chat",
    "Editor-Version": "vscode/1.99.3",
    "Editor-Plugin-Version": "copilot-chat/0.26.7",
    "User-Agent": "GitHubCopilotChat/0.26.7",
}

# 401 is the usual answer for an expired token; Copilot Enterprise answers 403.
REFUSED = (401, 403)


class CopilotAuth(httpx.Auth):
    """Bearer token from git-credential-copilot; on 401/403, erase it and retry exactly once."""

    def __init__(self, profile: str | None = None) -> None:
        self.profile = profile

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        token = helper.get_token(self.profile)
        self._sign(request, token)
        response = yield request
        if response.status_code in REFUSED:
            helper.erase(token.token, self.profile)
            self._sign(request, helper.get_token(self.profile))
            yield request

    @staticmethod
    def _sign(request: httpx.Request, token: helper.Token) -> None:
        request.headers.update(COPILOT_HEADERS)
        request.headers["Authorization"] = f"Bearer {token.token}"


def copilot_client(profile: str | None = None, **kwargs: Any):
    """An ``openai.OpenAI`` for Copilot. The base URL is the account's Copilot API."""
    import openai

    base = helper.get_token(profile).api_base
    http = httpx.Client(auth=CopilotAuth(profile), timeout=kwargs.pop("timeout", 600))
    return openai.OpenAI(base_url=base, api_key="set-per-request-by-CopilotAuth",
                         http_client=http, max_retries=kwargs.pop("max_retries", 2), **kwargs)
