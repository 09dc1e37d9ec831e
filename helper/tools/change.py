"""One file's change, shown or made: a unified diff, a backup, an atomic write.

``setup`` and ``teardown`` first work out every change (nothing is touched), then either
print them as a unified diff (``--dry-run``) or make them:

- a backup of a file that existed, ``<file>.bak-<UTC time>`` next to it with its mode
  (timestamped, so a later run never overwrites the copy of the file as it was before);
- the new text written to a temporary file in the same directory, flushed to disk, and
  renamed over the file (a crash leaves the old or the new file, never half of one), with
  the old file's mode, or 0600 for a new one; a symlinked file is written where it points,
  so a dotfile manager's link stays a link;
- directories that do not exist are created 0700 whatever the umask.

A diff can show lines of the person's own file (the context around a change, or a line
that gains a comma in JSON): the value of any key named like a secret (``…KEY``,
``…TOKEN``, ``…SECRET``, ``…PASSWORD``, ``Authorization``, ``…HEADERS``) is masked there
unless it is a value we write ourselves, and every line passes the masking of token-shaped
text that all output gets.
"""

from __future__ import annotations

import errno
import os
import stat
import time
from collections.abc import Collection, Sequence
from pathlib import Path

from helper import osdeps
from helper.errors import StoreError
from helper.storage import private

from .documents import ToolConfigError

MAX_FILE = 1024 * 1024
_NOFOLLOW, _NONBLOCK, _CLOEXEC = osdeps.NOFOLLOW, osdeps.NONBLOCK, osdeps.EVERY_OPEN
SECRET_NAMES = ("KEY", "TOKEN", "SECRET", "PASSWORD", "AUTHORIZATION", "HEADERS", "COOKIE")


class Change:
    """A file's text before (None: it does not exist) and after (None: delete it)."""

    __slots__ = ("path", "old", "new", "mode")

    def __init__(self, path: Path, old: str | None, new: str | None, mode: int = 0o600):
        self.path = path
        self.old = old
        self.new = new
        self.mode = mode

    @property
    def changed(self) -> bool:
        return self.old != self.new

    def diff(self, ours: Collection[str] = ()) -> str:
        """A unified diff of the change, secrets masked (see the module docstring)."""
        import difflib

        lines = difflib.unified_diff(
            _lines(self.old), _lines(self.new),
            fromfile=str(self.path) if self.old is not None else "/dev/null",
            tofile=str(self.path) if self.new is not None else "/dev/null")
        return "".join(redact(line, ours) for line in lines)


def _lines(text: str | None) -> list[str]:
    if text is None:
        return []
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n\\ No newline at end of file\n"
    return lines


def redact(line: str, ours: Collection[str] = ()) -> str:
    """``line`` with the value of a secret-named key masked, unless we wrote it."""
    import re

    from helper.errors import mask, scrub

    names = "|".join(SECRET_NAMES)
    pattern = (r'(?i)("?[\w.-]*(?:' + names + r')"?\s*[:=]\s*)'
               r'("(?:[^"\\]|\\.)*"|\'[^\']*\')')

    def hide(match: re.Match[str]) -> str:
        quoted = match.group(2)
        inner = quoted[1:-1]
        if not inner or inner in ours or _unescaped(inner) in ours:
            return match.group(0)
        return match.group(1) + quoted[0] + mask(inner) + quoted[0]

    return scrub(re.sub(pattern, hide, line))


def _unescaped(inner: str) -> str:
    """A JSON or TOML basic string's text as written (``\\n`` is a newline)."""
    import json

    try:
        value = json.loads(f'"{inner}"')
    except ValueError:
        return inner
    return value if isinstance(value, str) else inner


# -- reading -----------------------------------------------------------------------------


def read_text(path: Path) -> tuple[str | None, int]:
    """The text of ``path`` (None when it does not exist) and its mode bits.

    A FIFO or device where the file should be is refused at once (``O_NONBLOCK``), as is a
    file over 1 MiB or one that is not UTF-8: we never rewrite what we cannot read whole.
    """
    try:
        fd = os.open(path, os.O_RDONLY | _NONBLOCK | _CLOEXEC)
    except FileNotFoundError:
        return None, 0o600
    except OSError as e:
        raise ToolConfigError(f"cannot read {path}: {e.strerror} (nothing was changed)") from e
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ToolConfigError(f"{path} is not a regular file; it is left as it is")
        data = os.read(fd, MAX_FILE + 1)
        while len(data) <= MAX_FILE:
            more = os.read(fd, MAX_FILE + 1 - len(data))
            if not more:
                break
            data += more
    except OSError as e:
        raise ToolConfigError(f"cannot read {path}: {e.strerror} (nothing was changed)") from e
    finally:
        os.close(fd)
    if len(data) > MAX_FILE:
        raise ToolConfigError(f"{path} is larger than 1 MiB; it is left as it is")
    try:
        return data.decode("utf-8"), stat.S_IMODE(info.st_mode)
    except UnicodeDecodeError as e:
        raise ToolConfigError(f"{path} is not UTF-8 text; it is left as it is") from e


# -- writing -----------------------------------------------------------------------------


def missing_dirs(path: Path) -> list[Path]:
    """The directories ``make_dirs(path)`` would create, outermost first."""
    missing = []
    while not os.path.lexists(path) and path != path.parent:
        missing.append(path)
        path = path.parent
    return missing[::-1]


def make_dirs(path: Path) -> list[Path]:
    """mkdir -p, each directory we create 0700 whatever the umask; the ones created."""
    made = []
    for directory in missing_dirs(path):
        try:
            os.mkdir(directory, 0o700)
        except FileExistsError:
            continue
        except OSError as e:
            raise StoreError(f"cannot create {directory}: {e.strerror}") from e
        os.chmod(directory, 0o700)
        made.append(directory)
    return made


def backup(path: Path, text: str, mode: int, now: float | None = None) -> Path:
    """A copy of ``text`` (the file as it was) at ``<file>.bak-<UTC time>``, never
    overwriting an earlier backup."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now))
    for n in range(100):
        target = path.with_name(f"{path.name}.bak-{stamp}" + (f"-{n}" if n else ""))
        try:
            _write_new(target, text, mode)
        except FileExistsError:
            continue
        return target
    raise StoreError(f"cannot find a free backup name next to {path}")


def _write_new(path: Path, text: str, mode: int) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC, mode)
    try:
        osdeps.chmod_fd(fd, mode)  # the umask may have taken bits away
        _write_all(fd, text.encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def write_atomic(path: Path, text: str, mode: int) -> None:
    """Replace ``path`` (or where its symlink points) with ``text``, all or nothing."""
    target = Path(os.path.realpath(path)) if path.is_symlink() else path
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        try:
            os.unlink(tmp)  # a leftover of a writer with our pid that died
        except FileNotFoundError:
            pass
        _write_new(tmp, text, mode)
        os.replace(tmp, target)
        private.fsync_dir(str(target.parent))
    except OSError as e:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise StoreError(f"cannot write {path}: {e.strerror}; it is left as it was") from e


def remove(path: Path) -> None:
    private.remove(str(path))


def remove_dirs(dirs: Sequence[str]) -> None:
    """Remove the directories we created, deepest first, where they are empty now."""
    for directory in sorted(dirs, key=len, reverse=True):
        try:
            os.rmdir(directory)
        except OSError as e:
            if e.errno not in (errno.ENOENT, errno.ENOTEMPTY, errno.EEXIST):
                raise StoreError(f"cannot remove {directory}: {e.strerror}") from e


def apply(change: Change, now: float | None = None) -> Path | None:
    """Make ``change``: back up a file we modify, then write it (or delete a file that held
    only what we wrote); the backup's path."""
    if change.new is None:
        remove(change.path)
        return None
    saved = backup(change.path, change.old, change.mode, now) if change.old is not None else None
    make_dirs(change.path.parent)
    write_atomic(change.path, change.new, change.mode)
    return saved
