"""Finding an OAuth server's endpoints from its issuer URL.

Specs: OpenID Connect Discovery 1.0 §4 (``{issuer}/.well-known/openid-configuration``) and
RFC 8414 §3 (``/.well-known/oauth-authorization-server``, inserted between host and path:
https://www.rfc-editor.org/rfc/rfc8414#section-3.1). Tried in that order; the first
document whose ``issuer`` is the configured issuer wins (RFC 8414 §3.3: a mismatch means the
document must not be used). Results are cached for a day in the user cache directory, and a
stale copy is used when the server cannot be reached.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from helper.errors import CredentialError, StoreError
from helper.net.transport import ServerError, Transport
from helper.net.urls import url_problem
from helper.oauth2.errors import OAuth2Error
from helper.storage import files

CACHE_TTL = 24 * 3600


@dataclass(frozen=True)
class Endpoints:
    device_authorization_endpoint: str
    token_endpoint: str
    authorization_endpoint: str = ""  # for browser sign-in


class DiscoveryError(OAuth2Error):
    """No usable metadata document was found for the issuer."""


def well_known_urls(issuer: str) -> list[str]:
    issuer = issuer.rstrip("/")
    scheme, _, rest = issuer.partition("://")
    host, slash, path = rest.partition("/")
    urls = [f"{issuer}/.well-known/openid-configuration",
            f"{scheme}://{host}/.well-known/oauth-authorization-server{slash}{path}"]
    if path:
        urls.append(f"{issuer}/.well-known/oauth-authorization-server")
    return urls


def discover(transport: Transport, issuer: str, cache_path: Path,
             notice: files.Notice) -> Endpoints:
    """The issuer's endpoints: from the cache while fresh, else from the server."""
    cached = _read_cache(cache_path, issuer)
    if cached is not None and time.time() - cached[1] < CACHE_TTL:
        return cached[0]
    try:
        endpoints = fetch(transport, issuer)
    except (CredentialError, OAuth2Error) as e:
        if cached is None:
            raise
        notice(f"using cached endpoints for {issuer}: {e}")
        return cached[0]
    try:
        files.write_json(cache_path, {"issuer": issuer, "fetched_at": time.time(),
                                      "device_authorization_endpoint":
                                          endpoints.device_authorization_endpoint,
                                      "token_endpoint": endpoints.token_endpoint,
                                      "authorization_endpoint":
                                          endpoints.authorization_endpoint}, notice)
    except StoreError:
        pass  # an unwritable cache only costs a fetch next time
    return endpoints


def fetch(transport: Transport, issuer: str) -> Endpoints:
    problems = []
    for url in well_known_urls(issuer):
        response = transport.request("GET", url)
        if response.status != 200:
            problems.append(f"{url}: HTTP {response.status}")
            continue
        try:
            return _endpoints(response.json_object(), issuer, url)
        except ServerError as e:
            problems.append(str(e))
    raise DiscoveryError(f"cannot discover the endpoints of {issuer} ({'; '.join(problems)}); "
                         "set device_authorization_url and token_url in the profile")


def _endpoints(doc: dict[str, Any], issuer: str, url: str) -> Endpoints:
    if str(doc.get("issuer", "")).rstrip("/") != issuer.rstrip("/"):
        raise ServerError(f"{url}: names issuer {str(doc.get('issuer'))[:100]!r}, not {issuer!r}")
    found = {}
    for key in ("device_authorization_endpoint", "token_endpoint", "authorization_endpoint"):
        value = doc.get(key)
        if isinstance(value, str) and not url_problem(value):
            found[key] = value
    # a token endpoint, and a device or an authorization endpoint to sign in at
    for key in ("token_endpoint", "device_authorization_endpoint"):
        if key not in found and (key == "token_endpoint" or "authorization_endpoint" not in found):
            raise ServerError(f"{url}: no usable {key}")
    return Endpoints(found.get("device_authorization_endpoint", ""), found["token_endpoint"],
                     found.get("authorization_endpoint", ""))


def _read_cache(path: Path, issuer: str) -> tuple[Endpoints, float] | None:
    try:
        raw = files.read_json(path)
    except files.UnreadableFile:
        return None
    if not raw or raw.get("issuer") != issuer:
        return None
    try:
        endpoints = Endpoints(str(raw["device_authorization_endpoint"]), str(raw["token_endpoint"]),
                              str(raw.get("authorization_endpoint") or ""))
        fetched_at = float(raw["fetched_at"])
    except (KeyError, TypeError, ValueError):
        return None
    if not endpoints.token_endpoint or any(  # an empty sign-in endpoint is allowed
            url and url_problem(url) for url in endpoints.__dict__.values()):
        return None
    return endpoints, fetched_at
