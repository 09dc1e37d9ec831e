"""Private files: read without following planted symlinks, write atomically, 0600/0700.

Every file the helper writes may hold a secret, so each is created 0600 inside a 0700
directory, written to a temporary file that is fsynced and renamed over the target (a crash
leaves the old or the new file, never half of one), and read with ``O_NOFOLLOW`` and
``O_NONBLOCK`` (a FIFO planted where a file goes must not block us). A file that is not
ours, not regular, or not JSON we accept (``jsonsafe``) is reported as ``UnreadableFile``,
which callers treat as absent after one line on stderr; the next write replaces it.
"""

from __future__ import annotations

import errno
import json
import os
import stat
from collections.abc import Callable
from pathlib import Path

from helper.net import jsonsafe
from helper.errors import StoreError

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: importing typing costs the cached get ~3 ms
if TYPE_CHECKING:
    from typing import Any

MAX_FILE = 1024 * 1024
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)

Notice = Callable[[str], None]


class UnreadableFile(StoreError):
    """The file exists but cannot be used; callers treat it as absent."""


def quiet(_: str) -> None:
    """A Notice that says nothing, for reads whose problems another read will report."""


def ensure_private_dir(path: Path, notice: Notice = quiet) -> None:
    """Create ``path`` and any missing parents 0700 whatever the umask, or check that the
    existing one is a directory of ours."""
    try:
        _make_dirs(path)
        info = os.lstat(path)
    except OSError as e:
        raise StoreError(f"cannot create {path}: {e.strerror}") from e
    if stat.S_ISLNK(info.st_mode) or not stat.S_ISDIR(info.st_mode):
        raise StoreError(f"{path} is not a directory (a symlink?); remove it and retry")
    if info.st_uid != os.geteuid():
        raise StoreError(f"{path} belongs to another user (uid {info.st_uid}); refusing to use it")
    if info.st_mode & 0o077:
        try:
            os.chmod(path, 0o700)
        except OSError as e:
            raise StoreError(f"cannot make {path} private: {e.strerror}") from e
        notice(f"{path} was readable by others; made it private (0700)")


def _make_dirs(path: Path) -> None:
    """mkdir -p where each directory we create (XDG parents too) is 0700: the umask may
    take bits away from ``mkdir``'s mode (or leave 0777 parents), so chmod what we made."""
    missing = []
    while not os.path.lexists(path) and path != path.parent:
        missing.append(path)
        path = path.parent
    for directory in reversed(missing):
        try:
            os.mkdir(directory, 0o700)
        except FileExistsError:
            continue  # another process made it at the same moment
        os.chmod(directory, 0o700)


def read_regular(path: Path, limit: int = MAX_FILE, follow: bool = False,
                 mine: bool = False) -> bytes | None:
    """The bytes of the regular file ``path``; None when it does not exist.

    Opened with ``O_NONBLOCK`` (and ``O_NOFOLLOW`` unless ``follow``): a FIFO, a device or a
    symlink where a file should be is refused at once instead of blocking or being followed.
    ``mine``: refuse a file that belongs to another user. Its mode is left as it is.
    """
    fd, info = _open_regular(path, follow)
    if fd is None or info is None:
        return None
    try:
        if mine:
            _check_owner(path, info)
        return _read_all(fd, path, limit)
    finally:
        os.close(fd)


def _check_owner(path: Path, info: os.stat_result) -> None:
    if info.st_uid != os.geteuid():
        raise UnreadableFile(f"{path} belongs to another user (uid {info.st_uid})")


def _open_regular(path: Path, follow: bool) -> tuple[int | None, os.stat_result | None]:
    flags = os.O_RDONLY | _NONBLOCK | _CLOEXEC | (0 if follow else _NOFOLLOW)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        return None, None
    except OSError as e:
        if e.errno == errno.ELOOP and not follow:
            raise UnreadableFile(f"{path} is a symlink; not following it") from e
        raise UnreadableFile(f"cannot read {path}: {e.strerror}") from e
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise UnreadableFile(f"{path} is not a regular file")
    except BaseException:
        os.close(fd)
        raise
    return fd, info


def read_json(path: Path, notice: Notice = quiet) -> dict[str, Any] | None:
    """The JSON object in ``path``; None when it does not exist."""
    fd, info = _open_regular(path, follow=False)
    if fd is None or info is None:
        return None
    try:
        _check_owner(path, info)
        if info.st_mode & 0o077:
            os.fchmod(fd, 0o600)
            notice(f"{path} was readable by others; made it private (0600)")
        data = _read_all(fd, path, MAX_FILE)
    finally:
        os.close(fd)
    try:
        value = jsonsafe.loads(data)
    except ValueError as e:
        raise UnreadableFile(f"{path} is not valid JSON ({e})") from e
    if not isinstance(value, dict):
        raise UnreadableFile(f"{path} does not hold a JSON object")
    return value


def _read_all(fd: int, path: Path, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError as e:
            raise UnreadableFile(f"cannot read {path}: {e.strerror}") from e
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > limit:
            raise UnreadableFile(f"{path} is larger than {limit // 1024} KiB")
        chunks.append(chunk)


def write_json(path: Path, value: dict[str, Any], notice: Notice = quiet,
               durable: bool = True) -> None:
    """Replace ``path`` atomically with ``value`` as JSON, mode 0600; ``durable``: on disk
    before returning (a login must survive a power cut; a cache or a note need not: losing
    one costs a re-mint, and a torn one reads as absent)."""
    ensure_private_dir(path.parent, notice)
    data = json.dumps(value, indent=1, sort_keys=True).encode("utf-8") + b"\n"
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | _NOFOLLOW | _CLOEXEC, 0o600)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            if durable:
                os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
        if durable:
            _fsync_dir(path.parent)
    except OSError as e:
        _unlink_quietly(tmp)
        raise StoreError(f"cannot write {path}: {e.strerror}; nothing was changed") from e
    _sweep_stale_temps(path)


def _sweep_stale_temps(path: Path) -> None:
    """Remove temp files of ``path`` left by writers that died (kill -9) mid-write."""
    prefix = f".{path.name}."
    try:
        names = os.listdir(path.parent)
    except OSError:
        return
    for name in names:
        if not (name.startswith(prefix) and name.endswith(".tmp")):
            continue
        pid = name[len(prefix):-len(".tmp")]
        if pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid)):
            _unlink_quietly(path.parent / name)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # exists, but not ours to signal
    return True


def remove(path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        pass
    except OSError as e:
        raise StoreError(f"cannot remove {path}: {e.strerror}") from e


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY | _CLOEXEC)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _unlink_quietly(path: Path) -> None:
    try:
        path.unlink()
    except OSError:
        pass
