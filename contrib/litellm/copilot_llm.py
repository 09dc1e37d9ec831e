"""A LiteLLM custom provider for GitHub Copilot that recovers from 401 (and 403) for real.

LiteLLM's own ``github_copilot`` provider keeps a cached GitHub token, retries it when the
token exchange answers 401 and never recovers (litellm#25312); it also ignores an
``api_key`` you pass. This provider gets the Copilot token and API base in process from
``helper.get_token()`` - the same store, cache and lock as the ``git-credential-copilot``
command - and on a 401 from the Copilot API (or a 403, Copilot Enterprise's answer for an
expired token) calls ``helper.erase(token)`` and retries exactly once; a second refusal
reaches the caller. A dead GitHub login is one clear error (``run git-credential-copilot login``),
never a loop.

Use (SDK)::

    import litellm
    from copilot_llm import register
    register()                       # model names "copilot/<model>"
    litellm.completion(model="copilot/gpt-4o", messages=[...])

Use (proxy): see ``config.yaml`` beside this file.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import litellm
from litellm import CustomLLM
from litellm.llms.custom_llm import CustomLLMError
from litellm.types.utils import GenericStreamingChunk, ModelResponse

import helper

try:  # the helper's own masking: every secret it handled, and anything token-shaped
    from helper.errors import mask as _mask
    from helper.errors import one_line as _one_line
except ImportError:  # a helper whose modules moved: the conservative fallback below
    _mask = _one_line = None

PROVIDER = "copilot"
# What the Copilot API expects from an editor integration.
COPILOT_HEADERS = {
    "Copilot-Integration-Id": "vscode-chat",
    "Editor-Version": "vscode/1.99.3",
    "Editor-Plugin-Version": "copilot-chat/0.26.7",
    "User-Agent": "GitHubCopilotChat/0.26.7",
    "OpenAI-Intent": "conversation-panel",
}
DEFAULT_TIMEOUT = 600.0
# 401 is the usual answer for an expired token; Copilot Enterprise answers 403.
REFUSED = (401, 403)
# How much of an upstream error body an exception may quote (after masking).
ERROR_TEXT_MAX = 300
# Without the helper's masking: any unbroken run this long could be a credential.
_LONG_WORD = re.compile(r"[^\s\"'<>(){}\[\],]{20,}")


class CopilotLLM(CustomLLM):
    """``copilot/<model>``: an OpenAI-compatible call to the Copilot API with a fresh token."""

    def __init__(self, profile: str | None = None) -> None:
        super().__init__()
        self.profile = profile

    # -- LiteLLM's interface ----------------------------------------------------------------

    def completion(self, model: str, messages: list, api_base: str, custom_prompt_dict: dict,
                   model_response: ModelResponse, print_verbose: Any, encoding: Any,
                   api_key: Any, logging_obj: Any, optional_params: dict, acompletion: Any = None,
                   litellm_params: Any = None, logger_fn: Any = None, headers: dict | None = None,
                   timeout: Any = None, client: Any = None) -> ModelResponse:
        body = _body(model, messages, optional_params, stream=False)
        with httpx.Client(timeout=_timeout(timeout)) as http:
            response = self._send(lambda req: http.send(req), body, headers)
            return _model_response(response.read())

    def streaming(self, model: str, messages: list, api_base: str, custom_prompt_dict: dict,
                  model_response: ModelResponse, print_verbose: Any, encoding: Any, api_key: Any,
                  logging_obj: Any, optional_params: dict, acompletion: Any = None,
                  litellm_params: Any = None, logger_fn: Any = None, headers: dict | None = None,
                  timeout: Any = None, client: Any = None) -> Iterator[GenericStreamingChunk]:
        body = _body(model, messages, optional_params, stream=True)
        with httpx.Client(timeout=_timeout(timeout)) as http:
            response = self._send(lambda req: http.send(req, stream=True), body, headers)
            try:
                yield from _chunks(response.iter_lines())
            finally:
                response.close()

    async def acompletion(self, model: str, messages: list, api_base: str,
                          custom_prompt_dict: dict, model_response: ModelResponse,
                          print_verbose: Any, encoding: Any, api_key: Any, logging_obj: Any,
                          optional_params: dict, acompletion: Any = None,
                          litellm_params: Any = None, logger_fn: Any = None,
                          headers: dict | None = None, timeout: Any = None,
                          client: Any = None) -> ModelResponse:
        body = _body(model, messages, optional_params, stream=False)
        async with httpx.AsyncClient(timeout=_timeout(timeout)) as http:
            response = await self._asend(lambda req: http.send(req), body, headers)
            return _model_response(await response.aread())

    async def astreaming(self, model: str, messages: list, api_base: str,
                         custom_prompt_dict: dict, model_response: ModelResponse,
                         print_verbose: Any, encoding: Any, api_key: Any, logging_obj: Any,
                         optional_params: dict, acompletion: Any = None,
                         litellm_params: Any = None, logger_fn: Any = None,
                         headers: dict | None = None, timeout: Any = None,
                         client: Any = None) -> AsyncIterator[GenericStreamingChunk]:
        body = _body(model, messages, optional_params, stream=True)
        async with httpx.AsyncClient(timeout=_timeout(timeout)) as http:
            response = await self._asend(lambda req: http.send(req, stream=True), body, headers)
            try:
                lines = [line async for line in response.aiter_lines()]
            finally:
                await response.aclose()
            for chunk in _chunks(iter(lines)):
                yield chunk

    # -- one request, and exactly one retry after erase on 401/403 --------------------------

    def _send(self, send: Any, body: dict, extra: dict | None) -> httpx.Response:
        for attempt in (1, 2):
            token = self._token()
            response = send(_request(token, body, extra))
            if response.status_code in REFUSED and attempt == 1:
                response.close()
                helper.erase(token.token, self.profile)
                continue
            return _checked(response, token.token)
        raise AssertionError("unreachable")

    async def _asend(self, send: Any, body: dict, extra: dict | None) -> httpx.Response:
        for attempt in (1, 2):
            token = await asyncio.to_thread(self._token)
            response = await send(_request(token, body, extra))
            if response.status_code in REFUSED and attempt == 1:
                await response.aclose()
                await asyncio.to_thread(helper.erase, token.token, self.profile)
                continue
            if response.status_code >= 400:
                await response.aread()
            return _checked(response, token.token)
        raise AssertionError("unreachable")

    def _token(self) -> helper.Token:
        try:
            return helper.get_token(self.profile)
        except helper.HelperError as e:
            raise CustomLLMError(status_code=401, message=f"git-credential-copilot: {e}") from e


def register(profile: str | None = None, provider: str = PROVIDER) -> CopilotLLM:
    """Make ``<provider>/<model>`` names use Copilot through git-credential-copilot."""
    handler = CopilotLLM(profile)
    others = [p for p in litellm.custom_provider_map if p.get("provider") != provider]
    litellm.custom_provider_map = [*others, {"provider": provider, "custom_handler": handler}]
    return handler


# The proxy's config.yaml names an instance: custom_handler: copilot_llm.copilot
copilot = CopilotLLM()


def _body(model: str, messages: list, optional_params: dict, stream: bool) -> dict:
    params = {k: v for k, v in optional_params.items() if k not in ("stream", "extra_headers")}
    return {"model": model, "messages": messages, **params, "stream": stream}


def _request(token: helper.Token, body: dict, extra: dict | None) -> httpx.Request:
    headers = {**COPILOT_HEADERS, **(extra or {}), "Authorization": f"Bearer {token.token}"}
    return httpx.Request("POST", f"{token.api_base}/chat/completions", json=body,
                         headers=headers)


def _checked(response: httpx.Response, token: str) -> httpx.Response:
    if response.status_code >= 400:
        if not response.is_stream_consumed:
            response.read()
        text = _error_text(response.text, token) or response.reason_phrase
        raise CustomLLMError(status_code=response.status_code, message=f"Copilot API: {text}")
    return response


def _error_text(text: str, token: str) -> str:
    """An upstream error body fit for an exception, which callers log and show: the token we
    sent and anything shaped like a credential masked first (a secret cut in two would no
    longer be recognised), then one line of at most ERROR_TEXT_MAX characters."""
    text = text[:ERROR_TEXT_MAX * 20]  # bound the work on a huge body; the cut comes after
    if _one_line is not None and _mask is not None:
        return _one_line(text.replace(token, _mask(token)) if token else text, ERROR_TEXT_MAX)
    flat = _LONG_WORD.sub(lambda m: f"{m.group()[:4]}…", " ".join(text.split()))
    flat = "".join(ch if ch.isprintable() else "?" for ch in flat)
    return flat if len(flat) <= ERROR_TEXT_MAX else flat[:ERROR_TEXT_MAX - 1] + "…"


def _timeout(timeout: Any) -> Any:
    return timeout if timeout is not None else DEFAULT_TIMEOUT


def _model_response(raw: bytes) -> ModelResponse:
    try:
        return ModelResponse(**json.loads(raw))
    except (ValueError, TypeError) as e:
        raise CustomLLMError(status_code=502, message="Copilot API answered non-JSON") from e


def _chunks(lines: Iterator[str]) -> Iterator[GenericStreamingChunk]:
    """OpenAI-style server-sent events -> LiteLLM's generic chunks."""
    for line in lines:
        if not line.startswith("data:"):
            continue
        data = line[5:].strip()
        if data == "[DONE]":
            return
        event = json.loads(data)
        for choice in event.get("choices") or []:
            delta = choice.get("delta") or {}
            tool_calls = delta.get("tool_calls") or []
            finish = choice.get("finish_reason")
            yield GenericStreamingChunk(
                text=delta.get("content") or "", tool_use=tool_calls[0] if tool_calls else None,
                is_finished=finish is not None, finish_reason=finish or "",
                usage=event.get("usage"), index=choice.get("index", 0),
            )
