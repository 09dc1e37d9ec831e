"""Git's credential-helper protocol: ``key=value`` lines on stdin, an answer on stdout.

Spec: https://git-scm.com/docs/git-credential#IOFMT

Input ends at a blank line or EOF. Lines without ``=`` and unknown keys are ignored;
``key[]`` keys accumulate (an empty value resets the list). Values may not contain LF (the
protocol's separator), NUL (forbidden by the spec) or CR: git refuses CR since the
Clone2Leak fixes (CVE-2024-52006, CVE-2024-50338), because a CR smuggled into a host name
can make a helper answer for a host other than the one asked about. Oversized input is
refused before it can cost memory.
"""

from helper.errors import ProtocolError, remember_secret

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: importing typing costs the cached get ~3 ms
if TYPE_CHECKING:
    from typing import BinaryIO, Protocol

    from helper.storage.records import Token

    class Writer(Protocol):
        """stdout, or what stands for it (``console.Answer``)."""

        def write(self, text: str, /) -> int: ...
        def flush(self) -> None: ...

MAX_LINE = 64 * 1024
MAX_INPUT = 1024 * 1024


_SCALARS = ("protocol", "host", "path", "username", "password", "password_expiry_utc")


class Credential:
    """One credential description. Absent attributes are empty strings; ``arrays`` holds the
    ``key[]`` lists. A plain class: the cached ``get`` reads its input with this module."""

    __slots__ = (*_SCALARS, "arrays")

    def __init__(self, protocol: str = "", host: str = "", path: str = "", username: str = "",
                 password: str = "", password_expiry_utc: str = "",
                 arrays: dict[str, tuple[str, ...]] | None = None):
        self.protocol = protocol
        self.host = host
        self.path = path
        self.username = username
        self.password = password
        self.password_expiry_utc = password_expiry_utc
        self.arrays = arrays if arrays is not None else {}

    def __repr__(self) -> str:  # a repr ends up in logs: never the password
        from helper.errors import mask

        return (f"Credential(protocol={self.protocol!r}, host={self.host!r}, "
                f"username={self.username!r}, password={mask(self.password)!r})")


def read(stream: "BinaryIO") -> "Credential":
    """Read one description from a binary stream, enforcing the limits above.

    Lines apply in order, as in git's ``credential_read``: ``url=`` starts the description
    afresh with the URL's parts, and later lines override them. A host that was given but is
    empty (``host=``, ``url=https:///x``) is refused: it is not "no host at all".
    """
    values: dict[str, str] = {}
    arrays: dict[str, list[str]] = {}
    total = 0
    while True:
        raw = stream.readline(MAX_LINE + 2)
        total += len(raw)
        if total > MAX_INPUT:
            raise ProtocolError("credential input is larger than 1 MiB; refusing it")
        if len(raw) > MAX_LINE + 1 or (len(raw) == MAX_LINE + 1 and not raw.endswith(b"\n")):
            raise ProtocolError("a credential input line is longer than 64 KiB; refusing it")
        line = raw[:-1] if raw.endswith(b"\n") else raw
        if not line:
            break
        _parse_line(line, values, arrays)
        if not raw.endswith(b"\n"):
            break
    if values.get("host") == "":
        raise ProtocolError("credential input names an empty host; refusing it")
    remember_secret(values.get("password"))  # a token given to store/erase is one too
    return Credential(
        **{name: values.get(name, "") for name in _SCALARS},
        arrays={key: tuple(items) for key, items in arrays.items()},
    )


def _parse_line(line: bytes, values: dict[str, str], arrays: dict[str, list[str]]) -> None:
    if b"\0" in line:
        raise ProtocolError("credential input contains a NUL byte; refusing it")
    if b"\r" in line:
        raise ProtocolError(
            "credential input contains a carriage return (CR); refusing it "
            "(see CVE-2024-52006): send LF line endings only"
        )
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ProtocolError("credential input is not valid UTF-8; refusing it") from e
    key, sep, value = text.partition("=")
    if not sep or not key:
        return
    if key == "url":
        values.clear()  # git's credential_from_url starts from an empty credential
        arrays.clear()
        _apply_url(value, values)
        return
    if key.endswith("[]"):
        name = key[:-2]
        if value:
            arrays.setdefault(name, []).append(value)
        else:
            arrays.pop(name, None)
        return
    values[key] = value


def _apply_url(url: str, values: dict[str, str]) -> None:
    """Split ``url=`` exactly as git's ``credential_from_url`` does (credential.c), decoding
    %-escapes in each part; refuse a URL whose host another reader would see differently."""
    scheme, sep, rest = url.partition("://")
    if not sep or not scheme:
        raise ProtocolError("credential input has a url= value that is not a URL")
    end = _authority_end(rest, "/?#")
    at, colon = rest.find("@"), rest.find(":")
    parts = {"protocol": scheme}
    if at < 0 or end <= at:
        host_start = 0
    elif colon < 0 or at <= colon:
        parts["username"] = rest[:at]
        host_start = at + 1
    else:
        parts["username"], parts["password"] = rest[:colon], rest[colon + 1:at]
        host_start = at + 1
    parts["host"] = rest[host_start:end]
    _check_same_host(url, rest, parts["host"])
    path = rest[end:].lstrip("/")
    if path:
        parts["path"] = path[:1] + path[1:].rstrip("/")
    for name, value in parts.items():
        decoded = _percent_decode(value)
        if any(ch in decoded for ch in "\r\n\0"):
            raise ProtocolError(f"credential input url= has a control character in its {name}")
        values[name] = decoded


def _authority_end(rest: str, stops: str) -> int:
    return min((i for i in (rest.find(ch) for ch in stops) if i >= 0), default=len(rest))


def _check_same_host(url: str, rest: str, host: str) -> None:
    """git before 2.26.1 ended the authority at ``/`` only; urllib, curl and browsers split
    user from host at the last ``@``, git at the first; browsers read ``\\`` as ``/``. A
    URL on which any of them disagree names two hosts, and gets no token for either."""
    from urllib.parse import urlsplit

    authority = rest[:_authority_end(rest, "/?#")]
    old_git = rest[:_authority_end(rest, "/")]
    try:
        netloc = urlsplit(url).netloc
    except ValueError:
        netloc = None
    if (netloc != authority or old_git != authority or authority.count("@") > 1
            or "\\" in authority or host != authority.rpartition("@")[2]):
        raise ProtocolError(
            "credential input url= names its host ambiguously (git, curl and browsers would "
            "not agree on it); refusing it: send protocol= and host= instead"
        )


def _percent_decode(value: str) -> str:
    from urllib.parse import unquote

    if "%" not in value:
        return value
    try:
        return unquote(value, errors="strict")
    except UnicodeDecodeError as e:
        raise ProtocolError("credential input url= has a %-escape that is not UTF-8") from e


def answer(asked: "Credential", token: "Token", api_host: str) -> list[tuple[str, str]]:
    """The answer to ``get``: the token as the password, for the host asked about (or the
    token's API host when none was), and its expiry, which git 2.40+ honours."""
    return [
        ("protocol", asked.protocol or "https"),
        ("host", asked.host or api_host),
        ("username", token.username or "oauth2"),
        ("password", token.token),
        ("password_expiry_utc", str(token.expires_at)),
    ]


def encode(pairs: list[tuple[str, str]]) -> str:
    """``key=value`` lines; refuse values that would break the protocol."""
    out = []
    for key, value in pairs:
        if any(ch in value for ch in "\r\n\0"):
            raise ProtocolError(f"refusing to write {key}: value contains a control character")
        out.append(f"{key}={value}\n")
    return "".join(out)


def write(stream: "Writer", pairs: list[tuple[str, str]]) -> None:
    stream.write(encode(pairs))
    stream.flush()
