"""The cached ``get`` and ``token``, answered before the rest of the helper is imported.

A cached ``get`` runs once per LLM request, so its cost is the helper's cost. The installed
command calls ``main`` first: it answers only when everything is certain, from two small
files the slow path keeps, and otherwise returns None and the stdin bytes it read, for
``helper.cli.main`` to do the whole job (with its own checks, errors and words).

- The *routes* (``<state_dir>/routes/<hash>``): which profile answers for which host, written
  by the slow path after a successful route. Keyed on the config file's stat (or its absence)
  and every environment variable the configuration reads: any change means a fall-through,
  and the slow path writes a new one. No TOML is parsed here.
- The *token file* (``<state_dir>/tokens/<profile>``): the state file's token as ``key=value``
  lines, written by ``state.write`` after the state file and removed before it, stamped with
  the state file's stat: a token file that does not match the state file is not used.

Standard library ``os`` and ``sys`` only (and ``records``, which imports nothing): ``re``,
``json``, ``pathlib``, ``tomllib`` and the rest would cost the cached ``get`` milliseconds.
"""

from __future__ import annotations

import os
import sys

from helper.storage.records import Token, fingerprint

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: importing typing costs the cached get ~3 ms
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence
    from pathlib import Path
    from typing import BinaryIO, TextIO

    from helper.core.config import Config, Profile
    from helper.storage.state import State

FORMAT = "git-credential-copilot cache 1"  # the first line of both files
APP = "git-credential-copilot"
MAX_LINE = 64 * 1024  # as helper.protocol: the same reads stop at the same byte
MAX_INPUT = 1024 * 1024
MAX_FILE = 1024 * 1024
RACY = 1_000_000_000  # ns: a config changed this recently may change again unseen (same stamp)
# Every variable the configuration (and where it lives) depends on.
ENV = ("GIT_CREDENTIAL_COPILOT_CONFIG", "XDG_CONFIG_HOME", "XDG_STATE_HOME", "HOME",
       "GIT_CREDENTIAL_COPILOT_PROFILE", "GIT_CREDENTIAL_COPILOT_STORE",
       "GIT_CREDENTIAL_COPILOT_INTERACTIVE")
_FLAGS = (os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
          | getattr(os, "O_CLOEXEC", 0))


_ROUTED: list[str] = []  # the profile the routes chose in this process, if they did


class FallThrough(Exception):
    """Not certain: let the full command line answer."""


def main(argv: Sequence[str] | None = None, stdin: BinaryIO | None = None,
         stdout: TextIO | None = None, env: Mapping[str, str] | None = None,
         ) -> tuple[int | None, Replay | None]:
    """(0, None) when the answer is written; else (None, the stdin to read instead, or None
    for the real one): what was read from it, then the rest."""
    _ROUTED.clear()
    args = _parse_args(sys.argv[1:] if argv is None else argv)
    if args is None:
        return None, None
    action, profile = args
    env = os.environ if env is None else env
    out = stdout if stdout is not None else sys.stdout
    source = stdin if stdin is not None else getattr(sys.stdin, "buffer", None)
    chunks: list[bytes] = []
    try:
        if action == "get":
            if source is None:
                return None, None
            text = _answer_get(_read_credential(source, chunks), profile, env)
        else:
            text = _answer_token(profile, env)
        if out is None:
            raise FallThrough
        out.write(text)
        out.flush()
    except Exception:  # anything at all: the slow path answers, or says what went wrong
        return None, Replay(b"".join(chunks), source) if chunks and source else None
    except KeyboardInterrupt:  # as helper.cli.main says it
        from helper.console import Console

        Console(sys.stderr).notice("interrupted")
        return 130, None
    return 0, None


class Replay:
    """stdin for the slow path: the lines already read, then the rest of the real one."""

    def __init__(self, data: bytes, rest: BinaryIO):
        import io  # already loaded by the interpreter's start

        self.head = io.BytesIO(data)
        self.rest = rest

    def readline(self, limit: int = -1) -> bytes:
        return self.head.readline(limit) or self.rest.readline(limit)

    def read(self, size: int = -1) -> bytes:
        head = self.head.read(size)
        if size < 0:
            return head + self.rest.read()
        return head + self.rest.read(size - len(head)) if len(head) < size else head


def _parse_args(argv: Sequence[str]) -> tuple[str, str] | None:
    """(action, --profile) for ``get``/``token [--format raw]``; None for anything else."""
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


# -- git's input ---------------------------------------------------------------------------


def _read_credential(stream: BinaryIO, chunks: list[bytes]) -> dict[str, str]:
    """The values of git's input, read exactly as helper.protocol.read reads it (each read
    appended to ``chunks``); FallThrough for anything but plain ``key=value`` lines."""
    values: dict[str, str] = {}
    total = 0
    while True:
        raw = stream.readline(MAX_LINE + 2)
        chunks.append(raw)
        total += len(raw)
        if total > MAX_INPUT or len(raw) > MAX_LINE:
            raise FallThrough
        line = raw[:-1] if raw.endswith(b"\n") else raw
        if not line:
            break
        if b"\0" in line or b"\r" in line:
            raise FallThrough
        key, sep, value = line.decode("utf-8").partition("=")
        if key == "url":
            raise FallThrough
        if sep and key and not key.endswith("[]"):
            values[key] = value
        if not raw.endswith(b"\n"):
            break
    if values.get("host") == "":
        raise FallThrough
    return values


def _answer_get(values: dict[str, str], override: str, env: Mapping[str, str]) -> str:
    host, proto = values.get("host", ""), values.get("protocol", "")
    if not _transport_ok(proto, host):
        raise FallThrough
    state_dir = _state_dir(env)
    routes = _Routes(state_dir, env)
    name, remembered = routes.choose(host.lower(), override)
    token, api_base = _read_token(state_dir, name)
    if remembered and _host_of(api_base) != host.lower():
        raise FallThrough  # the state no longer names that API host
    _ROUTED.append(name)
    _check_usable(token, env)
    base = token.api_base or routes.api_base(name)
    pairs = (("protocol", proto or "https"), ("host", host or (_host_of(base) if base else "")),
             ("username", token.username or "oauth2"), ("password", token.token),
             ("password_expiry_utc", str(token.expires_at)))
    out = []
    for key, value in pairs:
        if "\r" in value or "\n" in value or "\0" in value:
            raise FallThrough
        out.append(f"{key}={value}\n")
    return "".join(out)


def _answer_token(override: str, env: Mapping[str, str]) -> str:
    state_dir = _state_dir(env)
    name, _ = _Routes(state_dir, env).choose("", override)
    _ROUTED.append(name)
    token, _ = _read_token(state_dir, name)
    _check_usable(token, env)
    return token.token + "\n"


def _transport_ok(proto: str, host: str) -> bool:
    """helper.net.urls.transport_ok, for certain cases only: https, or http to a loopback host
    spelled plainly (anything else falls through to the full check)."""
    if proto in ("", "https"):
        return True
    if proto != "http":
        return False
    host = host.lower()
    if host.startswith("["):
        return host.split("]", 1)[0] == "[::1"
    name = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    if name == "localhost":
        return True
    parts = name.split(".")
    return (len(parts) == 4 and parts[0] == "127"
            and all(p.isdigit() and p.isascii() and str(int(p)) == p and int(p) < 256
                    for p in parts))


def _host_of(url: str) -> str:
    """helper.net.urls.host_of."""
    rest = url.split("://", 1)[-1]
    return rest.split("/", 1)[0].rsplit("@", 1)[-1].lower()


# -- where things are ------------------------------------------------------------------------


def _base(env: Mapping[str, str], var: str, fallback: str) -> str:
    """helper.storage.paths._base, as a string."""
    value = env.get(var, "")
    if value and os.path.isabs(value):
        return value
    return os.path.join(env.get("HOME") or os.path.expanduser("~"), fallback)


def _state_dir(env: Mapping[str, str]) -> str:
    return os.path.join(_base(env, "XDG_STATE_HOME", ".local/state"), APP)


def _config_file(env: Mapping[str, str]) -> str:
    return env.get("GIT_CREDENTIAL_COPILOT_CONFIG") or os.path.join(
        _base(env, "XDG_CONFIG_HOME", ".config"), APP, "config.toml")


def route_key(env: Mapping[str, str]) -> str:
    """What the routes depend on: the config file's identity and stamp (or its absence), the
    installed code (built-in profiles and defaults live there: an upgrade must not keep routes
    an older version made) and the environment. Empty when it cannot be told (then nothing is
    cached)."""
    path = _config_file(env)
    try:
        code = os.stat(__file__)
    except (OSError, ValueError):
        return ""
    try:
        info = os.stat(path)
        stamp = (f"{info.st_dev}:{info.st_ino}:{info.st_size}:{info.st_mtime_ns}:"
                 f"{info.st_ctime_ns}")
    except FileNotFoundError:
        stamp = "absent"
    except (OSError, ValueError):
        return ""
    code_stamp = f"{__file__}:{code.st_ino}:{code.st_size}:{code.st_mtime_ns}"
    key = "\x1f".join((FORMAT, path, stamp, code_stamp,
                       *(f"{n}={env.get(n) or ''}" for n in ENV)))
    return "" if "\n" in key or "\r" in key else key


def _routes_path(state_dir: str, key: str) -> str:
    """One file per config path and environment (not per stamp of the config or the code: an
    edit or an upgrade replaces it)."""
    fields = key.split("\x1f")
    del fields[2:4]
    digest = 0xCBF29CE484222325  # FNV-1a, without importing hashlib
    for byte in "\x1f".join(fields).encode("utf-8", "surrogateescape"):
        digest = ((digest ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return os.path.join(state_dir, "routes", f"{digest:016x}")


def _token_path(state_dir: str, profile: str) -> str:
    return os.path.join(state_dir, "tokens", profile)


def _read_private(path: str) -> str:
    """The text of a regular file of ours that no one else may read; else FallThrough."""
    try:
        fd = os.open(path, _FLAGS)
    except OSError:
        raise FallThrough from None
    try:
        info = os.fstat(fd)
        if (not (info.st_mode & 0o170000 == 0o100000) or info.st_uid != os.geteuid()
                or info.st_mode & 0o077 or info.st_size > MAX_FILE):
            raise FallThrough
        data = os.read(fd, MAX_FILE + 1)
    finally:
        os.close(fd)
    if len(data) != info.st_size:
        raise FallThrough  # a short read, or a file changed under us
    return data.decode("utf-8")


# -- reading the two files ------------------------------------------------------------------


class _Routes:
    """The routes for this environment and config file: raises FallThrough unless valid.

    Lines after the key: ``default NAME``, ``override NAME``, then one ``profile NAME
    API_BASE HOST...`` per profile (the default first, then file order: the order routing
    tries them) and ``remember NAME HOST`` for each API host a state file named."""

    def __init__(self, state_dir: str, env: Mapping[str, str]):
        key = route_key(env)
        if not key:
            raise FallThrough
        lines = _read_private(_routes_path(state_dir, key)).split("\n")
        if len(lines) < 4 or lines[0] != key or lines[-1] != "":
            raise FallThrough  # another key with the same hash, or cut short
        self.default = _field(lines[1], "default")
        self.override = _field(lines[2], "override")
        self.lines = lines[3:-1]

    def choose(self, host: str, argv_override: str) -> tuple[str, bool]:
        """The profile routing.choose_profile picks, and whether it was by a remembered API
        host (to be checked against the token file)."""
        chosen = argv_override or self.override
        if chosen:
            hosts = self.hosts(chosen)  # FallThrough for a profile the config does not name
            if not host or host in hosts:
                return chosen, False
            if self.remembered(chosen) == host:
                return chosen, True
            raise FallThrough
        if not host:
            return self.default, False
        needle = " " + host
        for line in self.lines:  # a substring test first: this runs once per profile
            if needle in line and line.startswith("profile ") and host in line.split(" ")[3:]:
                return line.split(" ")[1], False
        for line in self.lines:
            if line.startswith("remember ") and line.endswith(needle):
                return line.split(" ")[1], True
        raise FallThrough

    def _profile(self, name: str) -> list[str]:
        prefix = f"profile {name} "
        for line in self.lines:
            if line.startswith(prefix):
                return line.split(" ")
        raise FallThrough  # an unknown profile: the slow path says so

    def hosts(self, name: str) -> list[str]:
        return self._profile(name)[3:]

    def api_base(self, name: str) -> str:
        base = self._profile(name)[2]
        return "" if base == "-" else base

    def remembered(self, name: str) -> str:
        prefix = f"remember {name} "
        for line in self.lines:
            if line.startswith(prefix):
                return line[len(prefix):]
        return ""


def _field(line: str, name: str) -> str:
    label, _, value = line.partition(" ")
    if label != name:
        raise FallThrough
    return value


def _read_token(state_dir: str, profile: str) -> tuple[Token, str]:
    """The profile's token and the state's API base, from the token file; FallThrough
    unless it is stamped with the state file's current stamp."""
    lines = _read_private(_token_path(state_dir, profile)).split("\n")
    if len(lines) < 3 or lines[0] != FORMAT or lines[-1] != "":
        raise FallThrough
    try:
        info = os.stat(os.path.join(state_dir, f"{profile}.json"), follow_symlinks=False)
    except OSError:
        raise FallThrough from None
    if _field(lines[1], "state") != _stamp(info):
        raise FallThrough  # the state file was written since, by something else
    fields: dict[str, object] = {}
    api_base = None
    for line in lines[2:-1]:
        key, sep, value = line.partition("=")
        if not sep:
            raise FallThrough
        if key == "api_base":
            api_base = value
        elif key.startswith("token.") and key[6:] not in fields:
            fields[key[6:]] = _decode(value)
        else:
            raise FallThrough
    if api_base is None or set(fields) != set(Token.__slots__):
        raise FallThrough
    token = object.__new__(Token)
    for name, field in fields.items():
        setattr(token, name, field)
    return token, api_base


def _check_usable(token: Token, env: Mapping[str, str]) -> None:
    """FallThrough unless the token is fresh and belongs to this caller's login: the full
    path's own rules, from the record itself."""
    import time  # built in

    if not isinstance(token.token, str) or not token.token or not token.fresh(time.time()):
        raise FallThrough
    if not token.serves(env, fingerprint):
        raise FallThrough


def _stamp(info: os.stat_result) -> str:
    return f"{info.st_dev}:{info.st_ino}:{info.st_size}:{info.st_mtime_ns}"


def _decode(value: str) -> object:
    kind, value = value[:2], value[2:]
    if kind == "s:":
        return value
    if kind == "i:":
        return int(value)
    if kind == "f:":
        return float(value)
    if kind == "b:" and value in ("True", "False"):
        return value == "True"
    if kind == "n:" and not value:
        return None
    if kind == "t:":  # a tuple of names (environment variables)
        return tuple(value.split(",")) if value else ()
    raise FallThrough


def _encode(value: object) -> str:
    if isinstance(value, bool):
        return f"b:{value}"
    if isinstance(value, int):
        return f"i:{value}"
    if isinstance(value, float):
        return f"f:{value!r}"
    if isinstance(value, str):
        return f"s:{value}"
    if value is None:
        return "n:"
    if isinstance(value, (tuple, list)) and all(
            isinstance(v, str) and v and "," not in v for v in value):
        return "t:" + ",".join(value)
    raise TypeError(type(value).__name__)


# -- writing them (the slow path) -------------------------------------------------------------


def forget_token(state_path: Path) -> None:
    """Remove the profile's token file; called before its state file is written. Best effort:
    a token file that cannot be removed (something planted in its place) is harmless, since
    it is stamped for a state file that the write is about to replace."""
    from pathlib import Path

    from helper.storage import files
    from helper.errors import StoreError

    try:
        files.remove(Path(_token_file_for(state_path)))
    except StoreError:
        pass


def keep_token(state_path: Path, state: State, notice: Callable[[str], None]) -> None:
    """Write the token file from ``state`` just written to ``state_path`` (none without a
    token). Not fsynced: a crash leaves it absent or matching an older state file, which
    the stamp check then refuses. A token that cannot be written here is served slowly."""
    _drop_stale_routes(str(state_path.parent), _token_file_for(state_path), state.api_base)
    if state.token is None:
        return
    try:
        lines = [FORMAT, f"state {_stamp(os.stat(state_path, follow_symlinks=False))}",
                 f"api_base={state.api_base}"]
        lines += [f"token.{name}={_encode(getattr(state.token, name))}"
                  for name in Token.__slots__]
    except (OSError, TypeError):
        return
    if any("\n" in line or "\r" in line for line in lines):
        return
    _write_private(_token_file_for(state_path), "\n".join(lines) + "\n", notice)


def _drop_stale_routes(state_dir: str, token_file: str, api_base: str) -> None:
    """Remove the routes that name another remembered API host for this profile than its
    state now does: routing tries remembered hosts in profile order, so a profile that
    starts remembering a host can change which profile answers for it."""
    profile = os.path.basename(token_file)
    host = _host_of(api_base) if api_base else ""
    now = f"remember {profile} {host}" if host else ""
    directory = os.path.join(state_dir, "routes")
    try:
        names = os.listdir(directory)
    except OSError:
        return
    for name in names:
        path = os.path.join(directory, name)
        try:
            lines = _read_private(path).split("\n")
        except (FallThrough, UnicodeDecodeError):
            continue  # not routes (a temporary file), or unreadable: never used either
        if not any(line.startswith(f"profile {profile} ") for line in lines):
            continue
        before = next((line for line in lines if line.startswith(f"remember {profile} ")), "")
        if before != now:
            try:
                os.unlink(path)
            except OSError:
                pass


def _token_file_for(state_path: Path) -> str:
    name = state_path.name
    return os.path.join(str(state_path.parent), "tokens", name[:-5] if name.endswith(".json")
                        else name)


def save_routes(key: str, config: Config, env: Mapping[str, str],
                api_host: Callable[[Profile], str], notice: Callable[[str], None]) -> None:
    """Write the routes for ``key`` (taken before the config was read) after a successful
    route, unless the config file changed so recently that a change could go unseen.
    ``api_host(profile)``: the API host the profile's state remembers (routing's rule)."""
    import time

    if _ROUTED:  # the routes this process read were current (it fell through for another
        _ROUTED.clear()  # reason, such as a token due for renewal): no need to rewrite them
        return
    if not key:
        return
    stamp = key.split("\x1f")[2]
    # A write in the same timestamp tick as the last one leaves the stamp as it was; a
    # later write moves the mtime to its own time, so only a recent mtime is a risk.
    if stamp != "absent" and time.time_ns() - int(stamp.split(":")[3]) < RACY:
        return
    state_dir = _state_dir(env)
    override = env.get("GIT_CREDENTIAL_COPILOT_PROFILE") or ""
    default = config.profile(config.default_profile)
    order = [default, *(p for p in config.profiles.values() if p is not default)]
    lines = [key, f"default {config.default_profile}", f"override {override}"]
    for profile in order:
        lines.append(" ".join(("profile", profile.name, profile.api_base or "-", *profile.hosts)))
    for profile in order:
        host = api_host(profile)
        if host and host.isprintable() and " " not in host:
            lines.append(f"remember {profile.name} {host}")
    text = "\n".join(lines) + "\n"
    if any(" " in w or not w.isprintable() for p in order for w in (p.name, *p.hosts)) or (
            any(not line.isprintable() for line in lines[1:])):
        return
    path = _routes_path(state_dir, key)
    try:
        if _read_private(path) == text:
            return
    except (FallThrough, UnicodeDecodeError):
        pass
    _write_private(path, text, notice)


def _write_private(path: str, text: str, notice: Callable[[str], None]) -> None:
    """Replace ``path`` with ``text`` atomically, 0600 in a 0700 directory; not fsynced (the
    file is derived and checked on every read). A failure only costs speed."""
    from pathlib import Path

    from helper.storage import files
    from helper.errors import StoreError

    directory = os.path.dirname(path)
    tmp = os.path.join(directory, f".{os.path.basename(path)}.{os.getpid()}.tmp")
    try:
        files.ensure_private_dir(Path(directory), notice)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0)
                     | getattr(os, "O_CLOEXEC", 0), 0o600)
        try:
            data = memoryview(text.encode("utf-8"))
            while data:
                data = data[os.write(fd, data):]
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except (OSError, StoreError):
        try:
            os.unlink(tmp)
        except OSError:
            pass
