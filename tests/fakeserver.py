"""A fake GitHub + Copilot server on 127.0.0.1, with its own counters and fault injection.

It implements what the helper talks to - GitHub's device flow (errors as HTTP 200, like
GitHub), ``/user``, GitHub's refresh grant for expiring user tokens, the Copilot token
exchange - and what the LLM tools talk to with the tokens it hands out (``ModelAPI``: the
Responses, Messages and chat completions APIs and ``/models``, which answer 401
``unauthorized: token expired``, or Enterprise's 403, for tokens the server no longer
takes), and counts every request, so tests assert on the server's own numbers. The fake
IdP serves the same model API under ``/v1`` as a company gateway; ``RefusingProxy`` keeps
real tools off the internet.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import socket
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit


@dataclass
class Fault:
    """One scripted answer: an HTTP status and body, or 'hang' / 'reset'."""

    status: int = 500
    body: bytes = b'{"message": "injected"}'
    headers: dict = field(default_factory=dict)
    action: str = ""  # "hang" (sleep past the client's timeout) or "reset" (close the socket)
    hang_seconds: float = 5.0


@dataclass
class DeviceGrant:
    device_code: str
    user_code: str
    client_id: str
    expires_at: float
    approved: bool = False
    denied: bool = False
    used: bool = False


def _parse_body(raw: bytes, content_type: str) -> dict:
    """A form (urlencoded, as OAuth uses) or a JSON object (as chat completions use)."""
    text = raw.decode("utf-8", "replace")
    if content_type.startswith("application/json"):
        try:
            value = json.loads(text)
        except ValueError:
            return {}
        return value if isinstance(value, dict) else {}
    return {k: v[0] for k, v in parse_qs(text).items()}


def _redirect(uri: str, **params: str):
    """A 302 back to the client's redirect URI with the authorization response."""
    return 302, b"", {"Location": f"{uri}?{urlencode(params)}", "Content-Type": "text/html"}


def _user_code() -> str:
    return f"{secrets.randbelow(10**4):04d}-{secrets.randbelow(10**4):04d}"


class FakeServer:
    """Threaded HTTP server base: routing, counters, recorded secrets, faults."""

    # Every secret any fake server issued in this test run, for the secret-hygiene checks.
    ALL_ISSUED: list[str] = []

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.faults: dict[str, list[Fault]] = {}
        self.issued: list[str] = []  # every secret this server handed out
        self.lock = threading.RLock()
        self.requests: list[tuple[str, str, dict]] = []
        self.bodies: list[tuple[str, dict]] = []  # (path, parsed body) of every POST
        self.device_grants: dict[str, DeviceGrant] = {}
        self.clock_offset: float = 0.0  # the server's clock minus ours (Date, expires_at)
        # Requests to hold_path wait for `release` after `arrived` is set (a kill lands there);
        # `served` is set once such a request is handled, its effects (a rotation) in place.
        self.hold_path, self.arrived, self.release = "", threading.Event(), threading.Event()
        self.served = threading.Event()
        # Requests being answered now: counted on arrival, their other counts (refused, a
        # rotation) come with the answer. settle() waits for none.
        self.in_flight = 0
        self.idle = threading.Condition(self.lock)
        handler = self._handler_class()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.host = f"127.0.0.1:{self.port}"
        # A short poll interval: stop() waits up to one interval (0.5 s by default, per test).
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True,
                                       kwargs={"poll_interval": 0.02})

    def start(self) -> FakeServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def settle(self, timeout: float = 30) -> None:
        """Wait until no request is being answered, so counts read after a client was killed
        mid-request are whole (a request counted on arrival is also counted as refused)."""
        with self.idle:
            if not self.idle.wait_for(lambda: self.in_flight == 0, timeout):
                raise AssertionError(f"the fake still answers {self.in_flight} request(s) "
                                     f"{timeout} s on")

    def inject(self, path: str, *faults: Fault) -> None:
        with self.lock:
            self.faults.setdefault(path, []).extend(faults)

    def approve(self, user_code: str) -> None:
        """What a person does in the browser: enter the code and approve."""
        self._grant_for(user_code).approved = True

    def deny(self, user_code: str) -> None:
        self._grant_for(user_code).denied = True

    def _grant_for(self, user_code: str) -> DeviceGrant:
        with self.lock:
            for grant in self.device_grants.values():
                if grant.user_code == user_code:
                    return grant
        raise KeyError(user_code)

    def issue(self, prefix: str) -> str:
        value = prefix + secrets.token_hex(18)
        with self.lock:
            self.issued.append(value)
            FakeServer.ALL_ISSUED.append(value)
        return value

    # -- to be filled by subclasses: {(method, path): handler(request) -> (status, body)} --
    routes: dict = {}

    def _handler_class(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def date_time_string(self, timestamp=None) -> str:
                return super().date_time_string(
                    time.time() + server.clock_offset if timestamp is None else timestamp)

            def do_GET(self) -> None:
                self._dispatch("GET")

            def do_POST(self) -> None:
                self._dispatch("POST")

            def _dispatch(self, method: str) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                form = _parse_body(raw, self.headers.get("Content-Type", ""))
                if method == "GET" and parts.query:  # a browser's request carries its query
                    form = {k: v[0] for k, v in parse_qs(parts.query).items()}
                key = parts.path
                with server.lock:
                    server.counts[key] += 1
                    server.requests.append((method, key, dict(self.headers)))
                    if method == "POST":
                        server.bodies.append((key, form))
                    fault = server.faults.get(key, []).pop(0) if server.faults.get(key) else None
                    server.in_flight += 1
                try:
                    self._held_or_answered(method, key, form, fault)
                finally:
                    with server.idle:
                        server.in_flight -= 1
                        server.idle.notify_all()

            def _held_or_answered(self, method: str, key: str, form: dict,
                                  fault: Fault | None) -> None:
                if key != server.hold_path:
                    return self._answer(method, key, form, fault)
                server.arrived.set()
                server.release.wait(30)
                try:
                    self._answer(method, key, form, fault)
                finally:
                    server.served.set()

            def _answer(self, method: str, key: str, form: dict, fault: Fault | None) -> None:
                if fault is not None and self._fault(fault):
                    return
                route = server.routes.get((method, key))
                if route is None:
                    return self._send(404, {"message": "Not Found"})
                status, body, *headers = route(server, self.headers, form)
                self._send(status, body, headers[0] if headers else {})

            def _fault(self, fault: Fault) -> bool:
                if fault.action == "hang":
                    time.sleep(fault.hang_seconds)
                    self.close_connection = True
                    return True
                if fault.action == "reset":
                    self.connection.setsockopt(
                        socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"
                    )
                    self.close_connection = True
                    return True
                self.send_response(fault.status)
                for k, v in fault.headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(fault.body)))
                self.end_headers()
                self.wfile.write(fault.body)
                return True

            def _send(self, status: int, body, headers: dict | None = None) -> None:
                data = body if isinstance(body, bytes) else json.dumps(body).encode()
                self.send_response(status)
                headers = {"Content-Type": "application/json", **(headers or {})}
                if status in (301, 302, 303):
                    headers.setdefault("Cache-Control", "no-store")
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return Handler


class ModelAPI:
    """The model endpoints an LLM gateway serves, as the real ones answer them: the OpenAI
    Responses API (``POST /responses``, streamed as server-sent events or not), the Anthropic
    Messages API (``POST /v1/messages``, streamed), chat completions and ``GET /models``.

    Every call checks its bearer token (``Authorization: Bearer`` and/or Anthropic's
    ``x-api-key``; when both come they must agree) with the server's own ``_live``: a token
    the server did not mint, or revoked, gets ``expired_status`` (401; Copilot Enterprise
    answers 403), counted in ``refused[path]``. Knobs:

    - ``revoke_api_tokens()``: every token minted so far dies now (``on_revoke``, if set,
      is called after, e.g. to age the helper's cached token as the time that passed);
    - ``revoke_after_model_calls = N``: once N model calls have been answered, the next one
      finds every token revoked (N = 0: the first one does), so a tool's next call in the
      same run is refused; it fires once;
    - ``tool_call = (name, arguments)``: a first turn is answered with a call of that tool
      (if the request offers it), so one prompt costs two model calls;
    - ``editor_header_paths``: paths that answer 400 without Copilot's editor headers;
    - ``models``: what ``GET /models`` lists; with ``strict_models`` a model call naming a
      model not listed for its endpoint (``supported_endpoints``) answers 400, as Copilot's
      ``model_not_supported`` does.
    """

    EDITOR_HEADERS = ("Copilot-Integration-Id", "Editor-Version", "Editor-Plugin-Version")

    def _init_model_api(self) -> None:
        self.expired_status = 401
        self.revoke_after_model_calls: int | None = None
        self.on_revoke = None
        self.model_calls = 0  # model calls answered 200
        self.refused: Counter[str] = Counter()  # refused for the token, per path
        self.tool_call: tuple[str, dict] | None = None
        self.editor_header_paths: set[str] = set()
        self.models: list[dict] = [{"id": "gpt-4o", "object": "model"}]
        self.strict_models = False
        self.reply_text = "hello"

    # -- to be filled by subclasses ------------------------------------------------------

    def _live(self, token: str) -> bool:
        raise NotImplementedError

    def _revoke(self) -> None:
        raise NotImplementedError

    def _refusal(self, path: str):
        raise NotImplementedError

    # -- checks ----------------------------------------------------------------------------

    def revoke_api_tokens(self) -> None:
        """Every API token minted so far dies now."""
        self._revoke()
        if self.on_revoke is not None:
            self.on_revoke()

    @staticmethod
    def bearer(headers) -> str:
        """The token a call carries; "" when it carries none or two different ones."""
        auth = headers.get("Authorization", "")
        sent = {auth[len("Bearer "):]} if auth.startswith("Bearer ") else set()
        if headers.get("x-api-key"):
            sent.add(headers["x-api-key"])
        return sent.pop() if len(sent) == 1 else ""

    def _check(self, headers, path: str, model_call: bool = True):
        """None when the call may go on, else the answer that refuses it."""
        if model_call:
            with self.lock:
                due = self.model_calls == self.revoke_after_model_calls
                if due:
                    self.revoke_after_model_calls = None
            if due:
                self.revoke_api_tokens()
        if not self._live(self.bearer(headers)):
            with self.lock:
                self.refused[path] += 1
            return self._refusal(path)
        missing = [h for h in self.EDITOR_HEADERS if not headers.get(h)]
        if path in self.editor_header_paths and missing:
            return 400, {"error": {"message": f"bad request: missing {missing[0]} header"}}
        return None

    def _serves(self, model: object, path: str) -> bool:
        """Is ``model`` listed for the endpoint at ``path`` (always, unless strict)?"""
        if not self.strict_models:
            return True
        return any(m.get("id") == model and path in m.get("supported_endpoints", [path])
                   for m in self.models)

    @staticmethod
    def _unsupported(model: object):
        return 400, {"error": {"message": f"The requested model {model} is not supported.",
                               "code": "model_not_supported"}}

    def _answered(self) -> None:
        """Count one model call answered."""
        with self.lock:
            self.model_calls += 1

    def _wants_tool(self, offered: list[str], answered: bool) -> str:
        """The tool to call on this turn, or "" to answer in text."""
        if self.tool_call is None or answered or self.tool_call[0] not in offered:
            return ""
        return self.tool_call[0]

    # -- routes ----------------------------------------------------------------------------

    def _responses(self, headers, form):
        refused = self._check(headers, "/responses")
        if refused:
            return refused
        if not self._serves(form.get("model"), "/responses"):
            return self._unsupported(form.get("model"))
        items = form.get("input") if isinstance(form.get("input"), list) else []
        answered = any(isinstance(i, dict) and i.get("type") == "function_call_output"
                       for i in items)
        offered = [t.get("name", "") for t in form.get("tools") or [] if isinstance(t, dict)]
        tool = self._wants_tool(offered, answered)
        self._answered()
        if tool:
            output = {"type": "function_call", "id": "fc_1", "call_id": "call_1", "name": tool,
                      "arguments": json.dumps(self.tool_call[1]), "status": "completed"}
        else:
            output = {"type": "message", "id": "msg_1", "role": "assistant",
                      "status": "completed", "content": [
                          {"type": "output_text", "text": self.reply_text, "annotations": []}]}
        response = {"id": "resp_1", "object": "response", "created_at": int(time.time()),
                    "status": "completed", "model": form.get("model", ""), "output": [output],
                    "usage": {"input_tokens": 1, "output_tokens": 1, "total_tokens": 2,
                              "input_tokens_details": {"cached_tokens": 0},
                              "output_tokens_details": {"reasoning_tokens": 0}}}
        if not form.get("stream"):
            return 200, response
        return 200, _responses_sse(response, output), {"Content-Type": "text/event-stream"}

    def _messages(self, headers, form):
        refused = self._check(headers, "/v1/messages")
        if refused:
            return refused
        if not self._serves(form.get("model"), "/v1/messages"):
            return self._unsupported(form.get("model"))
        messages = form.get("messages") if isinstance(form.get("messages"), list) else []
        answered = any(isinstance(block, dict) and block.get("type") == "tool_result"
                       for m in messages if isinstance(m, dict)
                       for block in (m.get("content") if isinstance(m.get("content"), list)
                                     else []))
        offered = [t.get("name", "") for t in form.get("tools") or [] if isinstance(t, dict)]
        tool = self._wants_tool(offered, answered)
        self._answered()
        if tool:
            block = {"type": "tool_use", "id": "toolu_1", "name": tool,
                     "input": self.tool_call[1]}
        else:
            block = {"type": "text", "text": self.reply_text}
        message = {"id": "msg_1", "type": "message", "role": "assistant",
                   "model": form.get("model", ""), "content": [block],
                   "stop_reason": "tool_use" if tool else "end_turn", "stop_sequence": None,
                   "usage": {"input_tokens": 1, "output_tokens": 1}}
        if not form.get("stream"):
            return 200, message
        return 200, _messages_sse(message), {"Content-Type": "text/event-stream"}

    def _chat(self, headers, form):
        refused = self._check(headers, "/chat/completions")
        if refused:
            return refused
        if not self._serves(form.get("model"), "/chat/completions"):
            return self._unsupported(form.get("model"))
        self._answered()
        if form.get("stream"):
            return 200, _sse(["hel", "lo"]), {"Content-Type": "text/event-stream"}
        return 200, {"id": "chatcmpl-1", "object": "chat.completion", "model": "gpt-4o",
                     "choices": [{"index": 0, "finish_reason": "stop",
                                  "message": {"role": "assistant", "content": "hello"}}],
                     "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}

    def _models(self, headers, form):
        refused = self._check(headers, "/models", model_call=False)
        if refused:
            return refused
        return 200, _models_list(self.models)


def model_routes(prefix: str) -> dict:
    """The ModelAPI's routes: the OpenAI ones under ``prefix`` (the base URL OpenAI clients
    are given); Anthropic's at ``/v1/messages`` (its clients are given the bare host)."""
    return {
        ("POST", f"{prefix}/responses"): ModelAPI._responses,
        ("POST", "/v1/messages"): ModelAPI._messages,
        ("POST", f"{prefix}/chat/completions"): ModelAPI._chat,
        ("GET", f"{prefix}/models"): ModelAPI._models,
    }


class FakeGitHub(ModelAPI, FakeServer):
    """GitHub (device flow, /user, refresh) and Copilot (exchange, and the model API at the
    root, as ``endpoints.api`` serves it) in one server."""

    def __init__(self, *, interval: int = 1, copilot_ttl: int = 1800, refresh_in: int = 1500,
                 auto_approve: bool = False, expiring_user_tokens: bool = False) -> None:
        super().__init__()
        self.interval = interval
        self.copilot_ttl = copilot_ttl
        self.refresh_in = refresh_in
        self.auto_approve = auto_approve
        self.expiring_user_tokens = expiring_user_tokens
        self.github_tokens: dict[str, dict] = {}  # token -> {"login", "expires_at"}
        self.refresh_tokens: dict[str, str] = {}  # ghr_ -> login
        self.copilot_tokens: dict[str, float] = {}  # token -> expires_at
        self.no_copilot: set[str] = set()  # logins without a subscription (403)
        self.app_not_accepted: set[str] = set()  # github tokens Copilot answers 404 for
        self.slow_down_polls = 0  # answer slow_down this many times first
        self._init_model_api()
        # The Copilot API refuses the newer endpoints without an editor's headers.
        self.editor_header_paths = {"/responses", "/v1/messages"}

    # -- test controls -------------------------------------------------------------------

    def add_github_token(self, login: str = "octocat") -> str:
        token = self.issue("gho_")
        with self.lock:
            self.github_tokens[token] = {"login": login, "expires_at": None}
        return token

    def revoke_github(self, token: str | None = None) -> None:
        with self.lock:
            if token is None:
                self.github_tokens.clear()
            else:
                self.github_tokens.pop(token, None)

    def invalidate_copilot_tokens(self) -> None:
        with self.lock:
            self.copilot_tokens.clear()

    @property
    def exchanges(self) -> int:
        return self.counts["/copilot_internal/v2/token"]

    @property
    def device_flows(self) -> int:
        return self.counts["/login/device/code"]

    # -- routes ----------------------------------------------------------------------------

    def _device_code(self, headers, form):
        grant = DeviceGrant(
            device_code=secrets.token_hex(10),
            user_code=_user_code(),
            client_id=form.get("client_id", ""),
            expires_at=time.time() + 900,
            approved=self.auto_approve,
        )
        with self.lock:
            self.device_grants[grant.device_code] = grant
        return 200, {
            "device_code": grant.device_code, "user_code": grant.user_code,
            "verification_uri": f"{self.url}/login/device", "expires_in": 900,
            "interval": self.interval,
        }

    def _access_token(self, headers, form):
        if form.get("grant_type") == "refresh_token":
            return self._refresh(form)
        with self.lock:
            grant = self.device_grants.get(form.get("device_code", ""))
            if grant is None:
                return 200, {"error": "incorrect_device_code",
                             "error_description": "The device_code provided is not valid."}
            if grant.denied:
                return 200, {"error": "access_denied"}
            if time.time() > grant.expires_at:
                return 200, {"error": "expired_token"}
            if self.slow_down_polls > 0:
                self.slow_down_polls -= 1
                self.interval += 5
                return 200, {"error": "slow_down", "interval": self.interval}
            if not grant.approved:
                return 200, {"error": "authorization_pending"}
            if grant.used:
                return 200, {"error": "incorrect_device_code"}
            grant.used = True
        return 200, self._new_user_token("octocat")

    def _new_user_token(self, login: str) -> dict:
        token = self.issue("gho_" if not self.expiring_user_tokens else "ghu_")
        answer = {"access_token": token, "token_type": "bearer", "scope": "read:user"}
        expires_at = None
        if self.expiring_user_tokens:
            refresh = self.issue("ghr_")
            expires_at = time.time() + 28800
            answer.update(expires_in=28800, refresh_token=refresh,
                          refresh_token_expires_in=15897600)
            with self.lock:
                self.refresh_tokens[refresh] = login
        with self.lock:
            self.github_tokens[token] = {"login": login, "expires_at": expires_at}
        return answer

    def _refresh(self, form):
        with self.lock:
            login = self.refresh_tokens.pop(form.get("refresh_token", ""), None)
        if login is None:
            return 200, {"error": "bad_refresh_token",
                         "error_description": "The refresh token passed is incorrect or expired."}
        return 200, self._new_user_token(login)

    def _github_login(self, headers):
        auth = headers.get("Authorization", "")
        token = auth.split(" ", 1)[1] if " " in auth else ""
        with self.lock:
            info = self.github_tokens.get(token)
            if info and info["expires_at"] and time.time() > info["expires_at"]:
                return token, None
            return token, (info["login"] if info else None)

    def _user(self, headers, form):
        _, login = self._github_login(headers)
        if login is None:
            return 401, {"message": "Bad credentials"}
        return 200, {"login": login, "id": 1}

    def _exchange(self, headers, form):
        if not headers.get("Editor-Version"):
            return 400, {"message": "missing Editor-Version"}
        token, login = self._github_login(headers)
        if login is None:
            return 401, {"message": "Bad credentials"}
        if token in self.app_not_accepted:
            return 404, {"message": "Not Found"}
        if login in self.no_copilot:
            return 403, {"error_details": {
                "message": "You do not have access to GitHub Copilot.",
                "title": "Not authorized"}, "message": "not authorized"}
        now = int(time.time())
        expires = int(now + self.clock_offset) + self.copilot_ttl  # on the server's clock
        copilot = self.issue(f"tid={secrets.token_hex(4)};exp={expires};sku=x;proxy-ep=x;")
        with self.lock:
            self.copilot_tokens[copilot] = now + self.copilot_ttl
        return 200, {
            "token": copilot, "expires_at": expires, "refresh_in": self.refresh_in,
            "endpoints": {"api": self.url, "proxy": self.url},
            "annotations_enabled": False, "chat_enabled": True,
        }

    def _live(self, token: str) -> bool:
        with self.lock:
            expires = self.copilot_tokens.get(token)
        return expires is not None and expires > time.time()

    def _refusal(self, path: str):
        """What the Copilot API answers for a token it no longer takes (Enterprise: 403)."""
        return self.expired_status, b"unauthorized: token expired\n", \
            {"Content-Type": "text/plain"}

    def _revoke(self) -> None:
        self.invalidate_copilot_tokens()

    routes = {
        ("POST", "/login/device/code"): _device_code,
        ("POST", "/login/oauth/access_token"): _access_token,
        ("GET", "/user"): _user,
        ("GET", "/copilot_internal/v2/token"): _exchange,
        **model_routes(""),
    }


def _sse(pieces: list[str]) -> bytes:
    """A chat completion streamed as server-sent events, the way OpenAI-style APIs do."""
    events = []
    for i, piece in enumerate(pieces):
        last = i == len(pieces) - 1
        chunk = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "model": "gpt-4o",
                 "choices": [{"index": 0, "delta": {"content": piece},
                              "finish_reason": "stop" if last else None}]}
        events.append(f"data: {json.dumps(chunk)}\n\n")
    events.append("data: [DONE]\n\n")
    return "".join(events).encode()



def _events(pairs: list[tuple[str, dict]]) -> bytes:
    """Server-sent events with an ``event:`` name, as the Responses and Messages APIs send."""
    return "".join(f"event: {name}\ndata: {json.dumps(data)}\n\n" for name, data in pairs).encode()


def _responses_sse(response: dict, output: dict) -> bytes:
    """A Responses API answer streamed: created, the item (text in deltas), completed."""
    created = {**response, "status": "in_progress", "output": []}
    events = [("response.created", {"type": "response.created", "response": created}),
              ("response.output_item.added",
               {"type": "response.output_item.added", "output_index": 0,
                "item": {**output, "status": "in_progress"}})]
    if output["type"] == "message":
        text = output["content"][0]["text"]
        for piece in (text[: len(text) // 2], text[len(text) // 2:]):
            events.append(("response.output_text.delta",
                           {"type": "response.output_text.delta", "item_id": output["id"],
                            "output_index": 0, "content_index": 0, "delta": piece}))
    events += [("response.output_item.done",
                {"type": "response.output_item.done", "output_index": 0, "item": output}),
               ("response.completed", {"type": "response.completed", "response": response})]
    return _events(events)


def _messages_sse(message: dict) -> bytes:
    """An Anthropic Messages answer streamed: message_start, one content block, the stop."""
    block = message["content"][0]
    start = {**message, "content": [], "stop_reason": None}
    if block["type"] == "text":
        opened = {"type": "text", "text": ""}
        delta = {"type": "text_delta", "text": block["text"]}
    else:
        opened = {**block, "input": {}}
        delta = {"type": "input_json_delta", "partial_json": json.dumps(block["input"])}
    return _events([
        ("message_start", {"type": "message_start", "message": start}),
        ("content_block_start", {"type": "content_block_start", "index": 0,
                                 "content_block": opened}),
        ("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": delta}),
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        ("message_delta", {"type": "message_delta",
                           "delta": {"stop_reason": message["stop_reason"],
                                     "stop_sequence": None},
                           "usage": {"output_tokens": 1}}),
        ("message_stop", {"type": "message_stop"}),
    ])


def _models_list(models: list[dict]) -> dict:
    """The model list in the shape the Copilot API answers (``data``), plus the ``models``
    key Codex decodes (empty: Codex then uses its built-in model metadata)."""
    return {"object": "list", "data": models, "models": []}

@dataclass
class Family:
    """A chain of rotated refresh tokens from one login; replaying an old one kills it."""

    current: str
    used: set = field(default_factory=set)
    revoked: bool = False
    user: str = "alice"  # whose login it is (FakeIdP.USER unless signed in as another)


@dataclass
class CodeGrant:
    """An authorization code handed out at /authorize, with what it was bound to."""

    client_id: str
    redirect_uri: str
    challenge: str
    user: str = "alice"
    used: bool = False


def _s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii", "replace")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


class FakeIdP(ModelAPI, FakeServer):
    """An OAuth 2.0 server: discovery, RFC 8628 (errors as HTTP 400), the authorization code
    grant with PKCE S256 and a consent knob, rotating refresh tokens with reuse detection,
    and an LLM gateway under ``/v1`` (the ModelAPI) that takes its access tokens.

    ``consent``: what the person at /authorize does - "approve" (redirect with a code at
    once), "deny" (redirect with access_denied) or "hold" (a page that never redirects).
    ``device_flow``: "on", "refused" (/device answers unauthorized_client, as identity
    providers that block it do) or "absent" (not in the discovery document either).

    Who is signed in at the IdP: ``USER`` (the person the tests play), unless the browser
    carries an ``idp_user`` cookie from ``GET /login?user=NAME`` - how a test plays another
    person, an attacker, with an account of their own. ``authorized_by`` and
    ``redemptions_by`` count codes issued and redeemed per user.
    """

    USER = "alice"

    def __init__(self, *, interval: int = 1, access_ttl: int = 3600, rotate: bool = True,
                 oidc: bool = True, client_secret: str = "", auto_approve: bool = False) -> None:
        super().__init__()
        self.consent = "approve"
        self.device_flow = "on"
        self.authorizations: list[dict] = []  # every /authorize request's parameters
        self.code_grants: dict[str, CodeGrant] = {}
        self.code_redemptions = 0  # authorization_code grants that produced tokens
        self.authorized_by: Counter[str] = Counter()  # codes issued at /authorize, per user
        self.redemptions_by: Counter[str] = Counter()  # codes redeemed at /token, per user
        self.interval = interval
        self.access_ttl = access_ttl
        self.rotate = rotate
        self.oidc = oidc
        self.client_secret = client_secret
        self.auto_approve = auto_approve
        self.families: list[Family] = []
        self.access_tokens: dict[str, float] = {}
        self.replays = 0
        self.refreshes = 0
        self._init_model_api()

    def revoke_all(self) -> None:
        with self.lock:
            for family in self.families:
                family.revoked = True
            self.access_tokens.clear()

    def _metadata(self, headers, form):
        doc = {"issuer": self.url, "device_authorization_endpoint": f"{self.url}/device",
               "authorization_endpoint": f"{self.url}/authorize",
               "token_endpoint": f"{self.url}/token", "code_challenge_methods_supported": ["S256"],
               "grant_types_supported": ["authorization_code", "refresh_token",
                                         "urn:ietf:params:oauth:grant-type:device_code"]}
        if self.device_flow == "absent":
            del doc["device_authorization_endpoint"]
            doc["grant_types_supported"].pop()
        return 200, doc

    def _login(self, headers, form):
        """Sign in at the IdP as ``user``: a session cookie, as a real IdP sets."""
        user = form.get("user", "")
        if not user.isalnum():
            return 400, {"error": "invalid_request"}
        return 200, b"<html><body>Signed in</body></html>", {
            "Content-Type": "text/html", "Set-Cookie": f"idp_user={user}; Path=/"}

    def _user_of(self, headers) -> str:
        for pair in headers.get("Cookie", "").split(";"):
            name, _, value = pair.strip().partition("=")
            if name == "idp_user" and value:
                return value
        return self.USER

    def _authorize(self, headers, form):
        with self.lock:
            self.authorizations.append(dict(form))
        redirect = form.get("redirect_uri", "")
        target = urlsplit(redirect)
        if target.scheme != "http" or target.hostname != "127.0.0.1" or not target.port:
            return 400, b"<html><body>redirect_uri is not a loopback URI</body></html>", \
                {"Content-Type": "text/html"}
        state = form.get("state", "")
        if (form.get("response_type") != "code" or form.get("code_challenge_method") != "S256"
                or not form.get("code_challenge") or not form.get("client_id")):
            return _redirect(redirect, error="invalid_request", state=state)
        if self.consent == "hold":
            return 200, b"<html><body>Waiting for you to sign in...</body></html>", \
                {"Content-Type": "text/html"}
        if self.consent == "deny":
            return _redirect(redirect, error="access_denied",
                             error_description="The user declined", state=state)
        code, user = self.issue("ac_"), self._user_of(headers)
        with self.lock:
            self.authorized_by[user] += 1
            self.code_grants[code] = CodeGrant(form["client_id"], redirect, form["code_challenge"],
                                               user)
        return _redirect(redirect, code=code, state=state)

    def _code_token(self, form):
        with self.lock:
            grant = self.code_grants.get(form.get("code", ""))
            if grant is None or grant.used:
                return 400, {"error": "invalid_grant", "error_description": "unknown code"}
            grant.used = True  # one try: a wrong verifier burns the code too
            if form.get("redirect_uri") != grant.redirect_uri:
                return 400, {"error": "invalid_grant", "error_description": "redirect_uri differs"}
            if form.get("client_id") != grant.client_id:
                return 400, {"error": "invalid_grant", "error_description": "client_id differs"}
            if _s256(form.get("code_verifier", "")) != grant.challenge:
                return 400, {"error": "invalid_grant",
                             "error_description": "PKCE verification failed"}
            self.code_redemptions += 1
            self.redemptions_by[grant.user] += 1
            family = Family(current="", user=grant.user)
            self.families.append(family)
            return 200, self._tokens(family)

    def _oidc(self, headers, form):
        if not self.oidc:
            return 404, b"<html><body>Not Found</body></html>", {"Content-Type": "text/html"}
        return self._metadata(headers, form)

    def _device(self, headers, form):
        if self.device_flow != "on":
            return 400, {"error": "unauthorized_client",
                         "error_description": "the device flow is disabled for this client"}
        grant = DeviceGrant(device_code=secrets.token_hex(10), user_code=_user_code(),
                            client_id=form.get("client_id", ""), expires_at=time.time() + 600,
                            approved=self.auto_approve)
        with self.lock:
            self.device_grants[grant.device_code] = grant
        return 200, {"device_code": grant.device_code, "user_code": grant.user_code,
                     "verification_uri": f"{self.url}/activate",
                     "verification_uri_complete":
                         f"{self.url}/activate?user_code={grant.user_code}",
                     "expires_in": 600, "interval": self.interval}

    def _token(self, headers, form):
        if self.client_secret and form.get("client_secret") != self.client_secret:
            return 401, {"error": "invalid_client"}
        kind = form.get("grant_type")
        if kind == "urn:ietf:params:oauth:grant-type:device_code":
            return self._device_token(form)
        if kind == "refresh_token":
            return self._refresh(form)
        if kind == "authorization_code":
            return self._code_token(form)
        return 400, {"error": "unsupported_grant_type"}

    def _device_token(self, form):
        with self.lock:
            grant = self.device_grants.get(form.get("device_code", ""))
            if grant is None or grant.used:
                return 400, {"error": "invalid_grant"}
            if grant.denied:
                return 400, {"error": "access_denied"}
            if not grant.approved:
                return 400, {"error": "authorization_pending"}
            grant.used = True
            family = Family(current="")
            self.families.append(family)
            return 200, self._tokens(family)

    def _tokens(self, family: Family) -> dict:
        access = self.issue("at_")
        refresh = self.issue("rt_")
        family.current = refresh
        self.access_tokens[access] = time.time() + self.access_ttl
        return {"access_token": access, "token_type": "Bearer", "expires_in": self.access_ttl,
                "refresh_token": refresh, "scope": "openid offline_access"}

    def _refresh(self, form):
        token = form.get("refresh_token", "")
        with self.lock:
            self.refreshes += 1
            for family in self.families:
                if token == family.current and not family.revoked:
                    if not self.rotate:
                        answer = self._tokens(family)
                        family.current = token
                        answer.pop("refresh_token")
                        return 200, answer
                    family.used.add(token)
                    return 200, self._tokens(family)
                if token in family.used:
                    self.replays += 1
                    family.revoked = True  # reuse detection: the whole family dies
                    return 400, {"error": "invalid_grant",
                                 "error_description": "refresh token reuse detected"}
            return 400, {"error": "invalid_grant", "error_description": "unknown refresh token"}

    def _live(self, token: str) -> bool:
        with self.lock:
            return self.access_tokens.get(token, 0) > time.time()

    def _refusal(self, path: str):
        return self.expired_status, {"error": "invalid_token"}, \
            {"WWW-Authenticate": 'Bearer error="invalid_token"'}

    def _revoke(self) -> None:
        """Every access token dies; the refresh tokens live on."""
        with self.lock:
            self.access_tokens.clear()

    routes = {
        ("GET", "/.well-known/openid-configuration"): _oidc,
        ("GET", "/.well-known/oauth-authorization-server"): _metadata,
        ("POST", "/device"): _device,
        ("GET", "/login"): _login,
        ("GET", "/authorize"): _authorize,
        ("POST", "/token"): _token,
        **model_routes("/v1"),
    }


class RefusingProxy:
    """An HTTP proxy on 127.0.0.1 that forwards nothing: it records where each request
    wanted to go (``CONNECT host:port``, or the absolute URL of a plain request) and answers
    403. A tool run with ``HTTPS_PROXY`` pointing here cannot reach the internet, fails
    fast instead of hanging on a lookup, and the test can say where it tried to go."""

    def __init__(self) -> None:
        self.attempts: list[str] = []
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def _refuse(self) -> None:
                proxy.attempts.append(f"{self.command} {self.path}")
                self.send_response(403)
                self.send_header("Content-Length", "0")
                self.send_header("Connection", "close")
                self.end_headers()
                self.close_connection = True

            do_CONNECT = do_GET = do_POST = do_HEAD = do_PUT = do_DELETE = do_OPTIONS = _refuse

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True,
                                       kwargs={"poll_interval": 0.02})

    def start(self) -> RefusingProxy:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
