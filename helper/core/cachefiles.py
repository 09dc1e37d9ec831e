"""The cached ``get``'s two files: their only encoder, their only decoder, and their upkeep.

A cached ``get`` runs once per LLM request, so it must not parse TOML or JSON. The full path
keeps two small line-based files beside the state files for it:

- The *routes* (``<state_dir>/routes/<hash>``): the ``RouteTable`` built from the config,
  under a key that names the config file's stat (or its absence), the installed code and
  every environment variable the configuration reads (``paths.CONFIG_INPUTS``): any change
  means a different key, and the full path answers and saves a new file. Lines::

      <key>
      override NAME
      profile NAME ISSUER API_BASE HOST...    (the default profile first, then file order)
      remember NAME HOST                      (the API host a profile's state names)

- The *token file* (``<state_dir>/tokens/<profile>``): the state file's token as typed
  ``key=value`` lines, stamped with the state file's stat: it is written after the state
  file and removed before it, so a token file that does not match the state file is stale.

Anything unexpected raises ``Unusable``: the caller falls back to the full path. Of the
standard library, ``time`` only; files through ``osdeps`` (not ``os``: see there).
"""

import time

from helper import osdeps
from helper.core.routes import Route, RouteTable
from helper.errors import StoreError
from helper.net.urls import host_of
from helper.storage import paths, private
from helper.storage.records import Token

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: the cached get imports this module
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from os import stat_result

FORMAT = "git-credential-copilot cache 2"  # the first line of a token file
# A config changed this recently (ns) may change again within the same timestamp tick
# (1 s on HFS+, ext3 and many network filesystems, 2 s on FAT) and go unseen: routes built
# from a config read this soon after its last change are not saved.
RACY = 3_000_000_000


class Unusable(Exception):
    """A cached file that cannot be trusted: the full path answers instead."""


# -- the routes --------------------------------------------------------------------------


class RouteKey:
    """What the routes depend on, taken before the configuration is read: ``text`` names
    the config file's identity and stamp, the installed code and the environment; ``settled``:
    the config file had not changed for ``RACY`` when it was taken (the routes may be saved)."""

    __slots__ = ("text", "settled")

    def __init__(self, text: str, settled: bool):
        self.text = text
        self.settled = settled


def route_key(env: "Mapping[str, str]", stat: "Callable[[str], stat_result]" = osdeps.native.stat,
              now_ns: "Callable[[], int]" = time.time_ns) -> "RouteKey | None":
    """The key for this environment now; None when it cannot be told (nothing is cached).
    ``stat`` and ``now_ns`` are the filesystem's and the clock's (tests pass coarse ones)."""
    config = paths.config_path(env)
    taken = now_ns()
    try:
        code = stat(__file__)
    except (OSError, ValueError):
        return None
    try:
        info = stat(config)
    except FileNotFoundError:
        stamp, settled = "absent", True
    except (OSError, ValueError):
        return None
    else:
        stamp = (f"{info.st_dev}:{info.st_ino}:{info.st_size}:{info.st_mtime_ns}:"
                 f"{info.st_ctime_ns}")
        settled = taken - info.st_mtime_ns >= RACY
    code_stamp = f"{__file__}:{code.st_ino}:{code.st_size}:{code.st_mtime_ns}"
    text = "\x1f".join((FORMAT, config, stamp, code_stamp,
                        *(f"{n}={env.get(n) or ''}" for n in paths.CONFIG_INPUTS)))
    if "\n" in text or "\r" in text:
        return None
    return RouteKey(text, settled)


def routes_file(state_dir: str, key: "RouteKey") -> str:
    """One file per config path and environment (not per stamp of the config or the code:
    an edit or an upgrade replaces it)."""
    fields = key.text.split("\x1f")
    del fields[2:4]
    digest = 0xCBF29CE484222325  # FNV-1a, without importing hashlib
    for byte in "\x1f".join(fields).encode("utf-8", "surrogateescape"):
        digest = ((digest ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return osdeps.join(state_dir, "routes", f"{digest:016x}")


def encode_routes(key: "RouteKey", table: "RouteTable", remembered: dict[str, str]) -> str | None:
    """The routes file for ``table``; None when a name or value cannot be written plainly
    (such a configuration is always answered by the full path)."""
    lines = [key.text, f"override {table.override}"]
    for route in table.routes:
        lines.append(" ".join(("profile", route.name, route.issuer or "-",
                               route.api_base or "-", *route.hosts)))
    for name, host in remembered.items():
        if host:
            lines.append(f"remember {name} {host}")
    words = [w for r in table.routes for w in (r.name, r.issuer, r.api_base, *r.hosts)]
    words += [w for item in remembered.items() for w in item]
    if any(" " in w or not w.isprintable() for w in words):
        return None
    return "\n".join(lines) + "\n"


def decode_routes(text: str, key: "RouteKey") -> "tuple[RouteTable, dict[str, str]]":
    """The table and the remembered API hosts in a routes file saved under ``key``."""
    lines = text.split("\n")
    if len(lines) < 3 or lines[0] != key.text or lines[-1] != "":
        raise Unusable("another key with the same hash, or cut short")
    label, _, override = lines[1].partition(" ")
    if label != "override":
        raise Unusable("no override line")
    routes: list[Route] = []
    remembered: dict[str, str] = {}
    for line in lines[2:-1]:
        words = line.split(" ")
        if words[0] == "profile" and len(words) >= 4:
            routes.append(Route(words[1], _dash(words[2]), _dash(words[3]), tuple(words[4:])))
        elif words[0] == "remember" and len(words) == 3:
            remembered[words[1]] = words[2]
        else:
            raise Unusable("unexpected line")
    if not routes:
        raise Unusable("no profile")
    return RouteTable(routes, override), remembered


def _dash(word: str) -> str:
    return "" if word == "-" else word


# -- the token file ------------------------------------------------------------------------


def token_file(state_dir: str, profile: str) -> str:
    return osdeps.join(state_dir, "tokens", profile)


def stamp(info: "stat_result") -> str:
    """The state file's identity and stamp, as the token file names it."""
    return f"{info.st_dev}:{info.st_ino}:{info.st_size}:{info.st_mtime_ns}"


def encode_token(state_stamp: str, api_base: str, dead: tuple[str, ...], token: "Token") -> str:
    """The token file for ``token``, cached in the state file whose stamp is given; ``dead``:
    the fingerprints of rejected environment tokens (they no longer override)."""
    lines = [FORMAT, f"state {state_stamp}", f"api_base={api_base}", f"dead={','.join(dead)}"]
    lines += [f"token.{name}={_encode(value)}" for name, value in token.to_dict().items()]
    if any("\n" in line or "\r" in line or "\0" in line for line in lines):
        raise ValueError("a value with a line break cannot be cached")
    return "\n".join(lines) + "\n"


def decode_token(text: str, state_stamp: str) -> "tuple[Token, str, tuple[str, ...]]":
    """The token, the state's API base and its dead fingerprints, from a token file that
    names ``state_stamp``; Unusable for anything else."""
    lines = text.split("\n")
    if len(lines) < 5 or lines[0] != FORMAT or lines[-1] != "":
        raise Unusable("not a token file")
    if lines[1] != f"state {state_stamp}":
        raise Unusable("the state file was written since")
    values: dict[str, str] = {}
    for line in lines[2:-1]:
        key, sep, value = line.partition("=")
        if not sep or key in values:
            raise Unusable("a malformed or repeated line")
        values[key] = value
    api_base, dead = values.pop("api_base", None), values.pop("dead", None)
    if api_base is None or dead is None:
        raise Unusable("no api_base or dead line")
    fields = {}
    for key, value in values.items():
        if not key.startswith("token."):
            raise Unusable("an unknown line")
        fields[key[6:]] = _decode(value)
    try:
        token = Token.from_dict(fields)
    except ValueError as e:
        raise Unusable(str(e)) from None
    return token, api_base, tuple(dead.split(",")) if dead else ()


def _encode(value: object) -> str:
    if isinstance(value, bool):
        raise ValueError("no token field is a bool")
    if isinstance(value, int):
        return f"i:{value}"
    if isinstance(value, str):
        return f"s:{value}"
    if isinstance(value, tuple) and all(isinstance(v, str) and v and "," not in v
                                        for v in value):
        return "t:" + ",".join(value)
    raise ValueError(f"cannot cache a {type(value).__name__}")


def _decode(value: str) -> object:
    kind, value = value[:2], value[2:]
    if kind == "s:":
        return value
    if kind == "i:" and value.lstrip("-").isdigit() and value.isascii():
        return int(value)
    if kind == "t:":  # a tuple of names (environment variables)
        return tuple(value.split(",")) if value else ()
    raise Unusable(f"a value of unknown kind {kind!r}")


# -- upkeep (the full path) ------------------------------------------------------------------


def drop_routes_remembering(state_dir: str, profile: str, host: str) -> None:
    """Remove the routes that name another remembered API host for ``profile`` than ``host``
    (its state's now): routing tries remembered hosts in profile order, so a profile that
    starts remembering a host can change which profile answers for it."""
    now = f"remember {profile} {host}" if host else ""
    directory = osdeps.join(state_dir, "routes")
    try:
        names = osdeps.native.listdir(directory)
    except OSError:
        return
    for name in names:
        path = osdeps.join(directory, name)
        try:
            lines = (private.read_private(path) or b"").decode("utf-8").split("\n")
        except (StoreError, UnicodeDecodeError):
            continue  # a temporary file, or unreadable: never used either
        if not any(line.startswith(f"profile {profile} ") for line in lines):
            continue
        before = next((line for line in lines if line.startswith(f"remember {profile} ")), "")
        if before != now:
            try:
                osdeps.native.unlink(path)
            except OSError:
                pass


def forget_token(state_path: str) -> None:
    """Remove the profile's token file, before its state file is written or removed. Best
    effort: one that cannot be removed (something planted in its place) is harmless, since
    it names a state file that is about to be replaced."""
    try:
        profile = paths.profile_of_state_file(state_path)
        private.remove(token_file(osdeps.dirname(state_path), profile))
    except StoreError:
        pass


def keep_token(state_path: str, api_base: str, dead: tuple[str, ...], token: "Token | None",
               notice: "Callable[[str], None]") -> None:
    """After the state file at ``state_path`` was written: drop the routes its API base
    changes, and write the token file stamped with it (none without a token). Not fsynced: a
    crash leaves none, or one whose stamp no longer matches. A token that cannot be cached
    here is served by the full path."""
    directory, profile = osdeps.dirname(state_path), paths.profile_of_state_file(state_path)
    drop_routes_remembering(directory, profile, host_of(api_base) if api_base else "")
    if token is None:
        return
    try:
        text = encode_token(stamp(osdeps.native.lstat(state_path)), api_base, dead, token)
        private.write_private(token_file(directory, profile), text.encode("utf-8"), notice,
                              durable=False)
    except (OSError, ValueError, StoreError):
        pass

