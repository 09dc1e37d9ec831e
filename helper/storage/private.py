"""Private files, by path string and the interpreter's built-in OS module alone
(``osdeps.native``: the cached ``get`` reads its two small files here, and must not pay for
``os``): the primitives every file of the helper goes through.

Every file the helper writes may hold a secret: it is created 0600 inside a 0700 directory,
written to a temporary file and renamed over the target (a crash leaves the old or the new
file, never half of one), and read with ``O_NOFOLLOW`` and ``O_NONBLOCK`` (a symlink or a
FIFO planted where a file goes is refused at once instead of followed or blocking on).
What differs on Windows (no uid or mode bits, text-mode opens, no signal 0, renames over an
open file) is answered by ``helper.osdeps``.
"""

import time

from helper import osdeps
from helper.errors import StoreError
from helper.osdeps import native

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: the cached get imports this module
if TYPE_CHECKING:
    from collections.abc import Callable
    from os import stat_result

    Notice = Callable[[str], None]

MAX_FILE = 1024 * 1024
NOFOLLOW, NONBLOCK, CLOEXEC = osdeps.NOFOLLOW, osdeps.NONBLOCK, osdeps.EVERY_OPEN
_REGULAR, _DIRECTORY, _LINK, _KIND = 0o100000, 0o040000, 0o120000, 0o170000


class UnreadableFile(StoreError):
    """The file exists but cannot be used; callers treat it as absent."""


def quiet(_: str) -> None:
    """A Notice that says nothing, for reads whose problems another read will report."""


def open_regular(path: str, follow: bool = False) -> "tuple[int, stat_result] | None":
    """An open descriptor of the regular file ``path`` and its stat; None when absent."""
    flags = native.O_RDONLY | NONBLOCK | CLOEXEC | (0 if follow else NOFOLLOW)
    try:
        fd = native.open(path, flags)
    except FileNotFoundError:
        return None
    except OSError as e:
        import errno

        if e.errno == errno.ELOOP and not follow:
            raise UnreadableFile(f"{path} is a symlink; not following it") from e
        raise UnreadableFile(f"cannot read {path}: {e.strerror}") from e
    try:
        info = native.fstat(fd)
        if info.st_mode & _KIND != _REGULAR:
            raise UnreadableFile(f"{path} is not a regular file")
    except BaseException:
        native.close(fd)
        raise
    return fd, info


def check_owner(path: str, info: "stat_result") -> None:
    if not osdeps.owned(info.st_uid):
        raise UnreadableFile(f"{path} belongs to another user (uid {info.st_uid})")


def read_fd(fd: int, path: str, limit: int = MAX_FILE) -> bytes:
    """Everything left in ``fd``, at most ``limit`` bytes."""
    chunks: list[bytes] = []
    size = 0
    while True:
        try:
            chunk = native.read(fd, 65536)
        except OSError as e:
            raise UnreadableFile(f"cannot read {path}: {e.strerror}") from e
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > limit:
            raise UnreadableFile(f"{path} is larger than {limit // 1024} KiB")
        chunks.append(chunk)


def read_private(path: str, limit: int = MAX_FILE) -> bytes | None:
    """The bytes of a file of ours that no one else may read; None when absent. A file with
    group or other bits, another owner, or that changed while read is refused."""
    opened = open_regular(path)
    if opened is None:
        return None
    fd, info = opened
    try:
        check_owner(path, info)
        if osdeps.exposed(info.st_mode):
            raise UnreadableFile(f"{path} is readable by others")
        data = read_fd(fd, path, limit)
    finally:
        native.close(fd)
    if len(data) != info.st_size:
        raise UnreadableFile(f"{path} changed while it was read")
    return data


def ensure_private_dir(path: str, notice: "Notice" = quiet) -> None:
    """Create ``path`` and any missing parents 0700 whatever the umask, or check that the
    existing one is a directory of ours."""
    try:
        _make_dirs(path)
        info = native.lstat(path)
    except OSError as e:
        raise StoreError(f"cannot create {path}: {e.strerror}") from e
    if info.st_mode & _KIND != _DIRECTORY:
        raise StoreError(f"{path} is not a directory (a symlink?); remove it and retry")
    if not osdeps.owned(info.st_uid):
        raise StoreError(f"{path} belongs to another user (uid {info.st_uid}); refusing to use it")
    if osdeps.exposed(info.st_mode):
        try:
            native.chmod(path, 0o700)
        except OSError as e:
            raise StoreError(f"cannot make {path} private: {e.strerror}") from e
        notice(f"{path} was readable by others; made it private (0700)")


def _make_dirs(path: str) -> None:
    """mkdir -p where each directory we create (XDG parents too) is 0700: the umask may
    take bits away from ``mkdir``'s mode (or leave 0777 parents), so chmod what we made."""
    missing = []
    while not osdeps.lexists(path) and path != osdeps.dirname(path):
        missing.append(path)
        path = osdeps.dirname(path)
    for directory in reversed(missing):
        try:
            native.mkdir(directory, 0o700)
        except FileExistsError:
            continue  # another process made it at the same moment
        native.chmod(directory, 0o700)


def write_private(path: str, data: bytes, notice: "Notice" = quiet, durable: bool = True) -> None:
    """Replace ``path`` atomically with ``data``, mode 0600 in a 0700 directory; ``durable``:
    on disk before returning (a login must survive a power cut; a cache need not: losing one
    costs a re-mint, and a torn one reads as absent)."""
    directory = osdeps.dirname(path)
    ensure_private_dir(directory, notice)
    tmp = osdeps.join(directory, f".{osdeps.basename(path)}.{native.getpid()}.tmp")
    try:
        flags = native.O_WRONLY | native.O_CREAT | native.O_TRUNC | NOFOLLOW | CLOEXEC
        fd = native.open(tmp, flags, 0o600)
        try:
            view = memoryview(data)
            while view:
                view = view[native.write(fd, view):]
            if durable:
                native.fsync(fd)
        finally:
            native.close(fd)
        osdeps.replace(tmp, path)
        if durable:
            fsync_dir(directory)
    except OSError as e:
        _unlink_quietly(tmp)
        raise StoreError(f"cannot write {path}: {e.strerror}; nothing was changed") from e
    _sweep_stale_temps(path)


def remove(path: str) -> None:
    try:
        native.unlink(path)
    except FileNotFoundError:
        pass
    except OSError as e:
        raise StoreError(f"cannot remove {path}: {e.strerror}") from e


def _sweep_stale_temps(path: str) -> None:
    """Remove temp files of ``path`` left by writers that died (kill -9) mid-write."""
    directory, prefix = osdeps.dirname(path), f".{osdeps.basename(path)}."
    try:
        names = native.listdir(directory)
    except OSError:
        return
    for name in names:
        if not (name.startswith(prefix) and name.endswith(".tmp")):
            continue
        pid = name[len(prefix):-len(".tmp")]
        temp = osdeps.join(directory, name)
        if pid.isdigit() and int(pid) != native.getpid() and osdeps.writer_gone(int(pid),
                                                                            _age(temp)):
            _unlink_quietly(temp)


def _age(path: str) -> float:
    try:
        return time.time() - native.lstat(path).st_mtime
    except OSError:
        return 0.0


def fsync_dir(path: str) -> None:
    """Make a rename in ``path`` durable; best effort (some filesystems refuse)."""
    try:
        fd = native.open(path, native.O_RDONLY | CLOEXEC)
    except OSError:
        return
    try:
        native.fsync(fd)
    except OSError:
        pass
    finally:
        native.close(fd)


def _unlink_quietly(path: str) -> None:
    try:
        native.unlink(path)
    except OSError:
        pass
