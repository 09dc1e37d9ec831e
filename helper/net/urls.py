"""URLs and host names: the one copy of each check, for every layer.

Secrets travel only over ``https://``, or plain ``http://`` to a loopback host (that is how
tests point the helper at a local fake server). The credential protocol names a server as
``host[:port]``; these helpers turn URLs into that form and back. Standard library only, and
nothing imported until used: the cached ``get`` calls ``host_of``.
"""

from __future__ import annotations

import re

HOST = re.compile(r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+)(:[0-9]{1,5})?$")


def url_problem(url: str) -> str:
    """Why ``url`` may not be used for secrets; empty when it may."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        return f"{url!r} is not a valid URL"
    if not printable(url):
        return f"{url!r} contains whitespace or control characters"
    if parts.username or parts.password:
        return "URLs with a user name or password are not allowed"
    if parts.scheme == "https" and host:
        return ""
    if parts.scheme == "http" and host and is_loopback(host):
        return ""
    if parts.scheme == "http":
        return f"{url!r}: plain http:// is only allowed for loopback hosts; use https://"
    return f"{url!r} is not an https:// URL"


def printable(text: str) -> bool:
    """No whitespace and no control characters: safe inside a URL or a header."""
    return not any(ch.isspace() or not ch.isprintable() for ch in text)


def is_loopback(host: str) -> bool:
    host = host.lower().strip("[]")
    if host == "localhost":
        return True
    import ipaddress

    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def host_of(url: str) -> str:
    """``host[:port]`` of a URL, lower case; the form the credential protocol uses."""
    rest = url.split("://", 1)[-1]
    return rest.split("/", 1)[0].rsplit("@", 1)[-1].lower()


def hostname(host: str) -> str:
    """``host[:port]`` without the port; IPv6 literals keep their brackets stripped."""
    if host.startswith("["):
        return host[1:].split("]", 1)[0]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def transport_ok(protocol: str, host: str) -> bool:
    """Tokens travel over https only, or plain http to a loopback test server."""
    if protocol in ("", "https"):
        return True
    return protocol == "http" and is_loopback(hostname(host))
