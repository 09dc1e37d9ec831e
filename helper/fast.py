"""The cached ``get`` and ``token``, answered before the rest of the helper is imported.

A cached ``get`` runs once per LLM request, so its cost is the helper's cost. The installed
command calls ``main`` first: it answers only when everything is certain, from the two small
files the full path keeps (``helper.core.cachefiles``), with the full path's own rules —
the same input reader (``commands.protocol``), the same route choice (``core.routes``), the
same token checks (``storage.records``), the same answer. Anything uncertain returns a
``Handoff`` to ``helper.commands.main``, which does the whole job with what was read.

Imports: ``sys``, ``time`` and those stdlib-only modules; never ``os`` (``osdeps`` says
why), ``re``, ``json``, ``pathlib``, ``typing`` or the network and secret-store libraries (a
test checks).
"""

import sys
import time

from helper import osdeps
from helper.commands import protocol
from helper.core import cachefiles, routes
from helper.errors import ProtocolError
from helper.net.urls import host_of, transport_ok
from helper.storage import paths, private

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: importing typing costs milliseconds here
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence
    from os import stat_result
    from typing import BinaryIO, TextIO

    from helper.storage.records import Token


class Handoff:
    """What the cached path leaves to the full one: the credential it read (or the error
    reading it raised), and whether the routes it read are current (no need to save them)."""

    __slots__ = ("credential", "error", "routes_current")

    def __init__(self) -> None:
        self.credential: protocol.Credential | None = None
        self.error: Exception | None = None
        self.routes_current = False


class _Uncertain(Exception):
    """Not certain: the full path answers."""


def main(argv: "Sequence[str] | None" = None, stdin: "BinaryIO | None" = None,
         stdout: "TextIO | None" = None, env: "Mapping[str, str] | None" = None,
         stat: "Callable[[str], stat_result]" = osdeps.native.stat) -> "tuple[int | None, Handoff]":
    """(0, handoff) when the answer is written; (None, handoff) for the full path."""
    handoff = Handoff()
    args = recognise(sys.argv[1:] if argv is None else argv)
    if args is None:
        return None, handoff
    action, profile = args
    env = osdeps.environ() if env is None else env
    out = stdout if stdout is not None else sys.stdout
    try:
        if action == "get":
            source = stdin if stdin is not None else getattr(sys.stdin, "buffer", None)
            if source is None:
                return None, handoff
            handoff.credential = protocol.read(source)
            text = _answer_get(handoff.credential, profile, env, stat, handoff)
        else:
            text = _answer_token(profile, env, stat, handoff)
        if out is None:
            return None, handoff
        out.write(text)
        out.flush()
    except ProtocolError as e:  # the full path says it, in its words
        handoff.error = e
        return None, handoff
    except KeyboardInterrupt:
        raise
    except Exception:  # anything at all: the full path answers, or says what went wrong
        return None, handoff
    return 0, handoff


def recognise(argv: "Sequence[str]") -> tuple[str, str] | None:
    """(action, --profile) when ``argv`` is a plain ``get`` or ``token [--format raw]`` the
    cached path may answer; None for anything else (the full parser then reads it)."""
    action = profile = fmt = None
    items = list(argv)
    while items:
        item = items.pop(0)
        name, eq, value = item.partition("=")
        if name in ("--profile", "--format"):
            if not eq:
                if not items:
                    return None
                value = items.pop(0)
            if name == "--profile" and profile is None:
                profile = value
            elif name == "--format" and fmt is None:
                fmt = value
            else:
                return None
        elif item in ("get", "token") and action is None:
            action = item
        else:
            return None
    if action is None or profile == "" or (fmt is not None and (action, fmt) != ("token", "raw")):
        return None
    return action, profile or ""


def _answer_get(asked: "protocol.Credential", override: str, env: "Mapping[str, str]",
                stat: "Callable[[str], stat_result]", handoff: "Handoff") -> str:
    host = asked.host.lower()
    if not transport_ok(asked.protocol, asked.host):
        raise _Uncertain
    state_dir = paths.state_path(env)
    choice = _choose(state_dir, host, override, env, stat, handoff)
    if choice is None:
        return ""  # no profile claims it: git moves on to its next helper, as the full path says
    route, by_remembered = choice.route, choice.by_remembered
    token, api_base = _fresh_token(state_dir, route, env)
    if by_remembered and host_of(api_base) != host:
        raise _Uncertain  # the state no longer names that API host
    base = token.api_base or route.api_base
    return protocol.encode(protocol.answer(asked, token, host_of(base) if base else ""))


def _answer_token(override: str, env: "Mapping[str, str]", stat: "Callable[[str], stat_result]",
                  handoff: "Handoff") -> str:
    state_dir = paths.state_path(env)
    choice = _choose(state_dir, "", override, env, stat, handoff)
    if choice is None:
        raise _Uncertain
    token, _ = _fresh_token(state_dir, choice.route, env)
    return token.token + "\n"


def _choose(state_dir: str, host: str, override: str, env: "Mapping[str, str]",
            stat: "Callable[[str], stat_result]", handoff: "Handoff") -> "routes.Choice | None":
    """The route the saved routes choose (None: no profile claims the host); _Uncertain
    unless they are current."""
    key = cachefiles.route_key(env, stat)
    data = private.read_private(cachefiles.routes_file(state_dir, key)) if key else None
    if key is None or data is None:
        raise _Uncertain
    table, remembered = cachefiles.decode_routes(data.decode("utf-8"), key)
    choice = routes.choose(table, host, lambda name: remembered.get(name, ""), override)
    handoff.routes_current = True
    return choice


def _fresh_token(state_dir: str, route: "routes.Route", env: "Mapping[str, str]",
                 ) -> "tuple[Token, str]":
    """The profile's token and its state's API base, if fresh and this caller's; else
    _Uncertain."""
    data = private.read_private(cachefiles.token_file(state_dir, route.name))
    if data is None:
        raise _Uncertain
    state = osdeps.native.lstat(paths.profile_state_file(state_dir, route.name))
    token, api_base, dead = cachefiles.decode_token(data.decode("utf-8"), cachefiles.stamp(state))
    if not (token.fresh(time.time()) and token.serves(env, route.issuer, dead)):
        raise _Uncertain
    return token, api_base
