"""URLs and host names: the one copy of each check, for every layer.

Secrets travel only over ``https://``, or plain ``http://`` to a loopback host (that is how
tests point the helper at a local fake server). The credential protocol names a server as
``host[:port]``; these helpers turn URLs into that form and back. Standard library only, and
nothing imported until used: the cached ``get`` calls ``host_of`` and ``transport_ok``.
"""

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: the cached get imports this module
if TYPE_CHECKING:
    import re

_HOST = r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+)(:[0-9]{1,5})?$"
_host_pattern: "list[re.Pattern[str]]" = []


def is_host(text: str) -> bool:
    """``host`` or ``host:port`` as a profile's ``hosts`` lists it (no scheme, no path)."""
    if not _host_pattern:
        import re

        _host_pattern.append(re.compile(_HOST))
    return bool(_host_pattern[0].fullmatch(text))  # $ alone matches before a final "\n"


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
    """``localhost``, ``::1`` or an address in 127.0.0.0/8, in any spelling ``ipaddress``
    accepts; the plain spellings are answered without importing it."""
    host = host.lower().strip("[]")
    if host in ("localhost", "::1"):
        return True
    parts = host.split(".")
    if len(parts) == 4 and all(p.isascii() and p.isdigit() and str(int(p)) == p
                               and int(p) < 256 for p in parts):
        return parts[0] == "127"
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
