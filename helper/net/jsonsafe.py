"""JSON from places we do not control (servers, files, the keyring), bounded before parsing.

Python's ``json`` accepts ``NaN``, ``Infinity`` and ``1e400`` (read as ``inf``) and recurses
once per nesting level, so a hostile answer or a planted file could make arithmetic on a
timestamp overflow or the parser hit the recursion limit. ``loads`` refuses all of that with
``UnsafeJSON`` (a ValueError), which every caller already treats as "not JSON".
"""

from __future__ import annotations

import json
import re

MAX_SIZE = 1024 * 1024
MAX_DEPTH = 32
MAX_DIGITS = 20  # an integer beyond 10**20 is no timestamp, lifetime or count of ours

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKET = re.compile(r"[\[\]{}]")


class UnsafeJSON(ValueError):
    """The text is not JSON we accept."""


def loads(data: bytes | str) -> object:
    """Parse ``data`` as JSON: at most 1 MiB, 32 levels deep, finite numbers only."""
    if len(data) > MAX_SIZE:
        raise UnsafeJSON("larger than 1 MiB")
    # A UnicodeDecodeError is a ValueError too.
    text = data.decode("utf-8") if isinstance(data, bytes) else data
    if _depth(text) > MAX_DEPTH:
        raise UnsafeJSON(f"nested deeper than {MAX_DEPTH} levels")
    try:
        return json.loads(text, parse_constant=_constant, parse_float=_float, parse_int=_int)
    except RecursionError as e:  # not reachable after _depth, kept as a last line
        raise UnsafeJSON("nested too deeply") from e


def _depth(text: str) -> int:
    depth = deepest = 0
    for match in _BRACKET.finditer(_STRING.sub("", text) if '"' in text else text):
        if match.group() in "[{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def _constant(name: str) -> object:
    raise UnsafeJSON(f"{name} is not a number JSON allows")


def _float(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise UnsafeJSON("a number out of range")
    return value


def _int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_DIGITS:
        raise UnsafeJSON("a number out of range")
    return int(text)
