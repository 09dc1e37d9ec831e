"""contrib/litellm with the real litellm package, against the fake Copilot server."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest

if importlib.util.find_spec("litellm") is None:
    pytest.skip("pip install -e .[integrations]", allow_module_level=True)
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "contrib" / "litellm"))

pytestmark = pytest.mark.integration
litellm: Any = None  # imported when a test here runs: importing litellm takes seconds,
copilot_llm: Any = None  # and `-m "not slow"` collects this file only to deselect it


@pytest.fixture(autouse=True, scope="module")
def _imported() -> None:
    """LiteLLM fetches its price table from GitHub when imported, unless told to use the copy
    it ships: with no network that is seconds of retries (and a thread that keeps trying)."""
    global litellm, copilot_llm
    with pytest.MonkeyPatch.context() as env:
        env.setenv("LITELLM_LOCAL_MODEL_COST_MAP", "True")
        litellm = importlib.import_module("litellm")
    copilot_llm = importlib.import_module("copilot_llm")
MESSAGES = [{"role": "user", "content": "hi"}]


@pytest.fixture
def copilot(logged_in, monkeypatch):
    """The helper's environment in this process, and the provider registered."""
    for key, value in logged_in.env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    saved = list(litellm.custom_provider_map)
    copilot_llm.register()
    yield logged_in
    litellm.custom_provider_map = saved


def chat_headers(box) -> list[dict]:
    return [h for m, p, h in box.server.requests if p == "/chat/completions"]


def test_completion_sends_a_fresh_token_and_copilot_headers(copilot):
    response = litellm.completion(model="copilot/gpt-4o", messages=MESSAGES, temperature=0)
    assert response.choices[0].message.content == "hello"
    headers = chat_headers(copilot)[0]
    assert headers["Authorization"].startswith("Bearer tid=")
    for name in ("Copilot-Integration-Id", "Editor-Version", "Editor-Plugin-Version",
                 "User-Agent", "OpenAI-Intent"):
        assert headers[name], name
    assert copilot.server.exchanges == 1


def test_streaming(copilot):
    stream = litellm.completion(model="copilot/gpt-4o", messages=MESSAGES, stream=True)
    assert "".join(c.choices[0].delta.content or "" for c in stream) == "hello"


def test_async_completion_and_streaming(copilot):
    async def run():
        full = await litellm.acompletion(model="copilot/gpt-4o", messages=MESSAGES)
        stream = await litellm.acompletion(model="copilot/gpt-4o", messages=MESSAGES, stream=True)
        text = "".join([c.choices[0].delta.content or "" async for c in stream])
        return full.choices[0].message.content, text

    assert asyncio.run(run()) == ("hello", "hello")


def test_after_every_copilot_token_is_invalidated_one_new_exchange_recovers(copilot):
    litellm.completion(model="copilot/gpt-4o", messages=MESSAGES)
    copilot.server.invalidate_copilot_tokens()
    response = litellm.completion(model="copilot/gpt-4o", messages=MESSAGES)
    assert response.choices[0].message.content == "hello"
    assert copilot.server.exchanges == 2
    assert len(chat_headers(copilot)) == 3  # ok, 401, ok


def test_streaming_recovers_too(copilot):
    litellm.completion(model="copilot/gpt-4o", messages=MESSAGES)
    copilot.server.invalidate_copilot_tokens()
    stream = litellm.completion(model="copilot/gpt-4o", messages=MESSAGES, stream=True)
    assert "".join(c.choices[0].delta.content or "" for c in stream) == "hello"
    assert copilot.server.exchanges == 2


def test_a_dead_github_login_is_one_clear_error_not_a_loop(copilot):
    litellm.completion(model="copilot/gpt-4o", messages=MESSAGES)
    copilot.server.invalidate_copilot_tokens()
    copilot.server.revoke_github()
    with pytest.raises(litellm.AuthenticationError) as info:
        litellm.completion(model="copilot/gpt-4o", messages=MESSAGES, num_retries=0)
    assert "git-credential-copilot login" in str(info.value)
    assert copilot.server.exchanges == 2  # the first, then one 401; never again
    with pytest.raises(litellm.AuthenticationError):
        litellm.completion(model="copilot/gpt-4o", messages=MESSAGES, num_retries=0)
    assert copilot.server.exchanges == 2


def test_a_persistent_401_is_retried_exactly_once(copilot, monkeypatch):
    from fakeserver import Fault

    litellm.completion(model="copilot/gpt-4o", messages=MESSAGES)
    before = len(chat_headers(copilot))
    copilot.server.inject("/chat/completions", Fault(status=401, body=b"no"),
                          Fault(status=401, body=b"no"))
    with pytest.raises(litellm.AuthenticationError) as info:
        litellm.completion(model="copilot/gpt-4o", messages=MESSAGES, num_retries=0)
    assert "Copilot API" in str(info.value)
    assert len(chat_headers(copilot)) - before == 2


def _enterprise_403() -> object:
    from fakeserver import Fault

    return Fault(status=403, body=b'{"error": {"message": "token expired"}}')


def test_a_403_is_treated_like_a_401_erase_and_retry_once(copilot):
    litellm.completion(model="copilot/gpt-4o", messages=MESSAGES)
    first = chat_headers(copilot)[-1]["Authorization"]
    copilot.server.inject("/chat/completions", _enterprise_403())
    response = litellm.completion(model="copilot/gpt-4o", messages=MESSAGES, num_retries=0)
    assert response.choices[0].message.content == "hello"
    assert copilot.server.exchanges == 2  # the refused token was erased, a new one minted
    assert chat_headers(copilot)[-1]["Authorization"] != first


def test_a_persistent_403_reaches_the_caller_after_one_retry(copilot):
    litellm.completion(model="copilot/gpt-4o", messages=MESSAGES)
    before = len(chat_headers(copilot))
    copilot.server.inject("/chat/completions", _enterprise_403(), _enterprise_403())
    with pytest.raises(litellm.PermissionDeniedError) as info:
        asyncio.run(litellm.acompletion(model="copilot/gpt-4o", messages=MESSAGES,
                                        num_retries=0))
    assert "token expired" in str(info.value)
    assert len(chat_headers(copilot)) - before == 2 and copilot.server.exchanges == 2


def test_the_proxy_config_names_an_existing_handler():
    import yaml

    config = yaml.safe_load((Path(copilot_llm.__file__).parent / "config.yaml").read_text())
    handler = config["litellm_settings"]["custom_provider_map"][0]["custom_handler"]
    module, name = handler.split(".")
    assert module == "copilot_llm"
    assert isinstance(getattr(copilot_llm, name), copilot_llm.CopilotLLM)
    assert all(m["litellm_params"]["model"].startswith("copilot/") for m in config["model_list"])
    assert os.path.exists(Path(copilot_llm.__file__).parent / "README.md")


@pytest.fixture
def proxy(logged_in):
    """The real LiteLLM proxy, started with contrib/litellm/config.yaml."""
    import shutil
    import socket
    import subprocess

    from procs import Watched

    litellm_cli = shutil.which("litellm", path=str(Path(sys.executable).parent))
    if litellm_cli is None:
        pytest.skip("the litellm proxy is not installed (pip install -e .[integrations])")
    pytest.importorskip("fastapi", reason="pip install 'litellm[proxy]'")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    here = Path(copilot_llm.__file__).parent
    env = {**logged_in.env, "PYTHONPATH": str(here), "LITELLM_MASTER_KEY": "sk-test-master",
           "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    proc = subprocess.Popen([litellm_cli, "--config", str(here / "config.yaml"),
                             "--host", "127.0.0.1", "--port", str(port)],
                            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, env=env)
    watched = Watched(proc)
    try:
        watched.wait_for_line(r"Uvicorn running on", timeout=90)  # after the bind
        yield f"http://127.0.0.1:{port}", logged_in
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_the_real_proxy_serves_copilot_and_recovers(proxy):
    import requests

    url, box = proxy
    auth = {"Authorization": "Bearer sk-test-master"}
    body = {"model": "gpt-4o", "messages": MESSAGES}
    first = requests.post(f"{url}/chat/completions", json=body, headers=auth, timeout=60)
    assert first.status_code == 200, first.text
    assert first.json()["choices"][0]["message"]["content"] == "hello"
    streamed = requests.post(f"{url}/chat/completions", json={**body, "stream": True},
                             headers=auth, timeout=60)
    assert streamed.status_code == 200 and '"hel"' in streamed.text
    box.server.invalidate_copilot_tokens()
    again = requests.post(f"{url}/chat/completions", json=body, headers=auth, timeout=60)
    assert again.status_code == 200, again.text
    assert box.server.exchanges == 2
    headers = chat_headers(box)[-1]
    assert "sk-test-master" not in headers["Authorization"]


def _echoing_fault(status: int, *secrets: str) -> object:
    """An upstream error that quotes secrets back, inside a body far over the quoted length."""
    from fakeserver import Fault

    said = " ".join(f"bad credential {s};" for s in secrets)
    return Fault(status=status, body=json.dumps({"error": said + " x" * 5000}).encode())


@pytest.mark.parametrize("own_masking", [True, False], ids=["helper-masking", "fallback"])
def test_an_upstream_error_quoting_secrets_is_masked_and_capped(copilot, monkeypatch,
                                                               own_masking):
    litellm.completion(model="copilot/gpt-4o", messages=MESSAGES)
    (sent,) = copilot.server.copilot_tokens  # the cached token the next call sends
    github = "gho_" + "Q" * 36  # a GitHub token the provider never held
    if not own_masking:  # a helper whose masking moved: the provider's own fallback
        monkeypatch.setattr(copilot_llm, "_one_line", None)
    copilot.server.inject("/chat/completions", _echoing_fault(400, sent, github))
    with pytest.raises(litellm.BadRequestError) as info:
        litellm.completion(model="copilot/gpt-4o", messages=MESSAGES, num_retries=0)
    text = str(info.value)
    assert "bad credential" in text  # the upstream reason still reaches the caller
    for secret in (sent, github):
        assert secret not in text and secret[8:28] not in text
    quoted = text.split("Copilot API: ", 1)[1]
    assert len(quoted) <= copilot_llm.ERROR_TEXT_MAX and quoted.endswith("…"), text
