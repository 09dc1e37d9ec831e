"""Git's credential-helper protocol: ``key=value`` lines on stdin, an answer on stdout.

Spec: https://git-scm.com/docs/git-credential#IOFMT

Input ends at a blank line or EOF. Lines without ``=`` and unknown keys are ignored;
``key[]`` keys accumulate (an empty value resets the list). Values may not contain LF (the
protocol's separator), NUL (forbidden by the spec) or CR: git refuses CR since the
Clone2Leak fixes (CVE-2024-52006, CVE-2024-50338), because a CR smuggled into a host name
can make a helper answer for a host other than the one asked about. Oversized input is
refused before it can cost memory.
"""

from __future__ import annotations

from collections import namedtuple

from .errors import ProtocolError

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: importing typing costs the cached get ~3 ms
if TYPE_CHECKING:
    from typing import BinaryIO, TextIO

MAX_LINE = 64 * 1024
MAX_INPUT = 1024 * 1024


_SCALARS = ("protocol", "host", "path", "username", "password", "password_expiry_utc")

# A namedtuple, not a dataclass: importing dataclasses costs the cached get ~9 ms.
class Credential(namedtuple(
    "Credential",
    ("protocol", "host", "path", "username", "password", "password_expiry_utc", "arrays"),
    defaults=("", "", "", "", "", "", {}),
)):
    """One credential description. Absent attributes are empty strings."""

    __slots__ = ()

    def __repr__(self) -> str:  # a repr ends up in logs: never the password
        from .errors import mask

        return (f"Credential(protocol={self.protocol!r}, host={self.host!r}, "
                f"username={self.username!r}, password={mask(self.password)!r})")


def read(stream: BinaryIO) -> Credential:
    """Read one description from a binary stream, enforcing the limits above."""
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
    if "url" in values:
        _apply_url(values.pop("url"), values)
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
    if key.endswith("[]"):
        name = key[:-2]
        if value:
            arrays.setdefault(name, []).append(value)
        else:
            arrays.pop(name, None)
        return
    values[key] = value


def _apply_url(url: str, values: dict[str, str]) -> None:
    """Split ``url=`` into its parts the way git does, decoding %-escapes in each part."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise ProtocolError("credential input has a url= value that is not a URL")
    authority, slash, path = rest.partition("/")
    userinfo, at, hostport = authority.rpartition("@")
    parts = {"protocol": scheme, "host": hostport, "path": path if slash else ""}
    if at:
        user, colon, password = userinfo.partition(":")
        parts["username"] = user
        if colon:
            parts["password"] = password
    for name, value in parts.items():
        decoded = _percent_decode(value)
        if any(ch in decoded for ch in "\r\n\0"):
            raise ProtocolError(f"credential input url= has a control character in its {name}")
        values[name] = decoded


def _percent_decode(value: str) -> str:
    from urllib.parse import unquote

    if "%" not in value:
        return value
    try:
        return unquote(value, errors="strict")
    except UnicodeDecodeError as e:
        raise ProtocolError("credential input url= has a %-escape that is not UTF-8") from e


def write(stream: TextIO, pairs: list[tuple[str, str]]) -> None:
    """Write ``key=value`` lines; refuse values that would break the protocol."""
    out = []
    for key, value in pairs:
        if any(ch in value for ch in "\r\n\0"):
            raise ProtocolError(f"refusing to write {key}: value contains a control character")
        out.append(f"{key}={value}\n")
    stream.write("".join(out))
    stream.flush()
