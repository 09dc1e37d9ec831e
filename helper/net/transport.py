"""HTTP for the flows: timeouts, bounded retries with backoff, and our own error types.

Transient failures (429, 5xx, timeouts, a reset connection, a 2xx body that is not JSON)
are retried with exponential backoff and full jitter until a total time budget (20 s by
default) would be exceeded; ``Retry-After`` is honoured when it fits in the budget. Each
attempt has a hard total-time limit (``timeout``), not a per-read one, so a server that
trickles its answer is cut off: a request ends within ``budget + timeout`` whatever the
server does. A host that cannot be reached at all (name resolution, connection refused,
no route, the proxy) gets one quick retry, then one line saying the network, DNS or proxy
is the problem: offline, waiting out the budget helps nobody. Redirects
are not followed: a token endpoint that redirects is misconfigured, and following it could
carry a secret to another host. requests' exceptions never leave this module.

A header value must be printable ASCII (``header_safe``): http.client encodes header values
as latin-1 and raises UnicodeEncodeError on anything else, and RFC 9110 §5.5 asks senders for
US-ASCII. A token holding anything else (from the environment, a file, git, a server) is
refused before any request, in one line that masks it: ``UnsendableError``.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from helper.errors import CredentialError, mask, one_line, remember_fields, remember_secret
from helper.net import jsonsafe

USER_AGENT = "git-credential-copilot"


class ServerError(CredentialError):
    """The server kept failing, or answered with something that is not what it should."""


class UnsendableError(CredentialError):
    """A value we were asked to send cannot travel in HTTP as it is (no request was made)."""


def header_safe(value: str) -> bool:
    """Can ``value`` go into an HTTP header as it is? Printable ASCII only: where a token
    enters (environment, file, git, stdin), refuse one that is not, naming its source."""
    return value.isascii() and value.isprintable()


def unsendable_line(value: str, where: str) -> str:
    """One line for a token that is not ``header_safe``: where it came from, masked, and the
    first character that is wrong (its code point only: it may not even print)."""
    position, char = next(((i, c) for i, c in enumerate(value)
                           if not header_safe(c)), (0, ""))
    what = f"U+{ord(char):04X} at position {position + 1}" if char else "nothing"
    return (f"{where} holds a token with a character no HTTP header can carry ({what}; the "
            f"token is {_masked(value)}): set it to the token alone, in printable ASCII")


def _masked(value: str) -> str:
    """``mask`` with any character that is not printable ASCII shown as ``?``."""
    return "".join(c if header_safe(c) or c == "…" else "?" for c in mask(value))


class Response(NamedTuple):
    """A completed answer. (Not a dataclass: see "The full command line's start" in
    docs/design.md.)"""

    status: int
    headers: Mapping[str, str]
    body: bytes
    url: str

    def json(self) -> Any:
        """The body as JSON within ``jsonsafe``'s bounds; anything else is garbage."""
        try:
            return jsonsafe.loads(self.body)
        except ValueError as e:
            raise ServerError(
                f"{_where(self.url)} sent garbage: HTTP {self.status} with a body that is not "
                f"JSON we accept ({self.snippet()})"
            ) from e

    def json_object(self) -> dict[str, Any]:
        value = self.json()
        if not isinstance(value, dict):
            raise ServerError(
                f"{_where(self.url)} sent garbage: HTTP {self.status} with JSON that is not an "
                "object"
            )
        return value

    def snippet(self) -> str:
        text = self.body.decode("utf-8", "replace")  # whole: one_line masks, then cuts
        return one_line(text, 80) or "empty body"

    @property
    def is_json(self) -> bool:
        try:
            jsonsafe.loads(self.body)
        except ValueError:
            return False
        return True


class Transport:
    """Requests within a per-attempt ``timeout`` and a total ``budget`` (seconds); the
    sleep, clock and jitter are the tests' to replace."""

    def __init__(self, timeout: float = 10.0, budget: float = 20.0,
                 sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic,
                 jitter: Callable[[], float] = random.random, base_delay: float = 0.5):
        self.timeout, self.budget, self.base_delay = timeout, budget, base_delay
        self.sleep, self.clock, self.jitter = sleep, clock, jitter

    def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        data: Mapping[str, str] | None = None,
        retry_statuses: Callable[[Response], bool] | None = None,
    ) -> Response:
        """One request, retried while the answer is transient and the budget allows.

        ``retry_statuses`` decides whether a completed response is transient; by default
        429, 5xx, and any 2xx whose body is not JSON are.
        """
        transient = retry_statuses or default_transient
        _check_headers(url, headers or {})
        # Before the clock starts: the bounds are the server's, and importing requests takes
        # about 100 ms, seconds on a crowded machine (a crowd of helpers starting at once).
        import requests  # noqa: F401
        started = self.clock()
        attempt = 0
        while True:
            attempt += 1
            failure: str
            wait_hint: float | None = None
            try:
                response = self._send(method, url, headers, data)
            except _Unreachable as e:
                if attempt >= UNREACHABLE_TRIES:
                    raise ServerError(_unreachable_line(url, str(e))) from None
                self.sleep(UNREACHABLE_RETRY_DELAY)
                continue
            except _Transient as e:
                failure = str(e)
            else:
                if not transient(response):
                    return response
                failure = f"HTTP {response.status}" + (
                    "" if response.status >= 300 else ": the server sent garbage, not JSON"
                )
                wait_hint = _retry_after(response.headers.get("Retry-After"))
            delay = self.base_delay * (2 ** (attempt - 1)) * (0.5 + self.jitter())
            if wait_hint is not None:
                delay = max(delay, wait_hint)
            elapsed = self.clock() - started
            if elapsed + delay > self.budget:
                tries = (f"kept failing ({failure}) after {attempt} attempts" if attempt > 1
                         else f"failed ({failure})")
                raise ServerError(
                    f"{_where(url)} {tries} in {elapsed:.0f} s; try again later"
                    + (f" (the server asked to wait {wait_hint:.0f} s)" if wait_hint else "")
                )
            self.sleep(delay)

    def _send(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str] | None,
        data: Mapping[str, str] | None,
    ) -> Response:
        """One attempt, cut off ``timeout`` seconds after it started, whatever the server
        does (requests' own timeouts are per read, so a trickle never trips them)."""
        from helper.net.deadline import call_with_timeout

        try:
            return call_with_timeout(lambda: self._attempt(method, url, headers, data),
                                     self.timeout)
        except TimeoutError:
            raise _Transient(f"no complete answer within {self.timeout:g} s") from None

    def _attempt(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str] | None,
        data: Mapping[str, str] | None,
    ) -> Response:
        import requests

        all_headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        all_headers.update(headers or {})
        _remember_sent(all_headers, data)
        try:
            with requests.request(
                method,
                url,
                headers=all_headers,
                data=data,
                timeout=(min(self.timeout, 10.0), self.timeout),
                allow_redirects=False,
                stream=True,
            ) as r:
                body = _read_limited(r)
                response = Response(r.status_code, dict(r.headers), body, url)
                _remember_received(response)
                return response
        except UnicodeError as e:  # a value _check_headers did not see (the URL, the body)
            raise UnsendableError(
                f"cannot send the request to {_where(url)}: {type(e).__name__} in a value "
                "that must be ASCII; check the URL and the token in the configuration"
            ) from None
        except requests.Timeout as e:
            raise _Transient(f"no answer within {self.timeout:g} s") from e
        except requests.ConnectionError as e:
            if _never_connected(e):
                raise _Unreachable(_reason(e)) from e
            raise _Transient(f"cannot connect: {_reason(e)}") from e
        except requests.RequestException as e:
            raise _Transient(f"request failed: {type(e).__name__}") from e


class _Transient(Exception):
    pass


def _check_headers(url: str, headers: Mapping[str, str]) -> None:
    """Refuse, before any attempt, a header http.client could not encode: one line naming
    the header, the value masked when it is a credential."""
    for name, value in headers.items():
        if header_safe(value):
            continue
        if name.lower() == "authorization":
            scheme, _, secret = value.partition(" ")
            raise UnsendableError(unsendable_line(secret or scheme,
                                                  f"the {name} header for {_where(url)}"))
        raise UnsendableError(f"cannot send the {name} header to {_where(url)}: it holds a "
                              "character that is not printable ASCII; check the configuration")


class _Unreachable(Exception):
    """No connection could be opened: DNS, refused, no route, or the proxy."""


UNREACHABLE_TRIES = 2
UNREACHABLE_RETRY_DELAY = 0.3


def _never_connected(e: Exception) -> bool:
    """Did the request fail before any byte reached the server (so retrying for the whole
    budget would only make an offline person wait)?"""
    import requests
    from urllib3.exceptions import NewConnectionError, ProxyError

    if isinstance(e, requests.exceptions.ProxyError):
        return True
    seen: set[int] = set()
    cause: BaseException | None = e
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        if isinstance(cause, (NewConnectionError, ProxyError)):
            return True
        cause = getattr(cause, "reason", None) or cause.__context__
    return False


def _unreachable_line(url: str, reason: str) -> str:
    from urllib.parse import urlsplit

    from requests.utils import get_environ_proxies  # honours NO_PROXY

    parts = urlsplit(url)
    proxies = get_environ_proxies(url)
    proxy = proxies.get(parts.scheme) or proxies.get("all")
    if proxy:
        import os

        var = next((v for v in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy",
                                "ALL_PROXY", "all_proxy") if os.environ.get(v) == proxy),
                   "HTTPS_PROXY")
        where = f"the network or the proxy ({urlsplit(proxy).hostname}, from {var})"
    else:
        where = "the network or DNS"
    return (f"cannot reach {parts.hostname or url} ({reason}): {where} is the problem, not "
            "the login; check the connection and retry")


def _remember_sent(headers: Mapping[str, str], data: Mapping[str, str] | None) -> None:
    """Every credential we send is a secret a server might echo back into a message."""
    for name, value in headers.items():
        if name.lower() == "authorization":
            remember_secret(value)
            remember_secret(value.partition(" ")[2])
    remember_fields(dict(data or {}))


def _remember_received(response: Response) -> None:
    if b"token" in response.body or b"secret" in response.body or b"code" in response.body:
        try:
            remember_fields(response.json())
        except ServerError:
            pass


MAX_BODY = 1024 * 1024


def _read_limited(r: Any) -> bytes:
    chunks, size = [], 0
    for chunk in r.iter_content(65536):
        size += len(chunk)
        if size > MAX_BODY:
            raise _Transient("answer larger than 1 MiB")
        chunks.append(chunk)
    return b"".join(chunks)


def default_transient(response: Response) -> bool:
    if response.status == 429 or response.status >= 500:
        return True
    return 200 <= response.status < 300 and not response.is_json


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None  # HTTP-date form: fall back to our own backoff
    return seconds if 0 <= seconds < 24 * 3600 else None


def _where(url: str) -> str:
    return url.split("?", 1)[0]


def _reason(e: Exception) -> str:
    text = str(e)
    for marker in ("Connection refused", "Name or service not known", "timed out",
                   "Connection reset", "Temporary failure in name resolution",
                   "No address associated with hostname", "No route to host",
                   "Network is unreachable", "Remote end closed connection"):
        if marker in text:
            return marker.lower()
    return type(e).__name__
