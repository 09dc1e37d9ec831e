"""One lock per profile, so a crowd of callers refreshes exactly once.

The lock is an OS file lock (filelock's ``flock``), which the kernel releases when its
holder dies, even by ``kill -9``: a crashed holder never blocks anyone. Locks live in
``<state>/locks/``, apart from the profiles' state files. Whoever takes the lock writes a
small owner note beside it, so a waiter can say who it is waiting for. A
waiter says so once after a second and waits up to the lifetime of a device code, because
the holder may be waiting for a person to type one in.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from . import files
from .errors import LockTimeout

LOCKS = "locks"  # its own directory: no profile's state file can be a lock or its note
NOTICE_AFTER = 1.0
DEFAULT_WAIT = 15 * 60 + 60  # GitHub device codes live 15 minutes


class ProfileLock:
    """Context manager: ``with ProfileLock(dir, "copilot", "get", notice): ...``.

    Take it once per operation: a second ProfileLock for the same profile in the same
    process is a second flock and waits for the first (it is not reentrant across objects).
    """

    def __init__(
        self,
        directory: Path,
        profile: str,
        action: str,
        notice: Callable[[str], None],
        wait: float = DEFAULT_WAIT,
    ):
        from filelock import FileLock

        locks = directory / LOCKS
        files.ensure_private_dir(locks, notice)
        self.path = locks / f"{profile}.lock"
        self.owner_path = locks / f"{profile}.owner.json"
        self.profile = profile
        self.action = action
        self.notice = notice
        self.wait = wait
        self._lock = FileLock(str(self.path), mode=0o600, thread_local=True)

    def __enter__(self) -> ProfileLock:
        from filelock import Timeout

        started = time.monotonic()
        try:
            self._lock.acquire(timeout=min(NOTICE_AFTER, self.wait))
        except Timeout:
            self.notice(self._waiting_line())
            remaining = max(0.0, self.wait - (time.monotonic() - started))
            try:
                self._lock.acquire(timeout=remaining)
            except Timeout as e:
                raise LockTimeout(
                    f"gave up after {self.wait:.0f} s waiting for the lock of profile "
                    f"{self.profile!r} ({self._holder()}); if no other git-credential-copilot "
                    "is running, retry"
                ) from e
        except OSError as e:
            raise LockTimeout(f"cannot lock {self.path}: {e.strerror}") from e
        self._write_owner()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            files.remove(self.owner_path)
        except Exception:  # the lock matters, the note does not
            pass
        self._lock.release()

    def _write_owner(self) -> None:
        note = {"pid": os.getpid(), "action": self.action, "since": time.time()}
        try:
            files.write_json(self.owner_path, note)
        except Exception:  # a full disk must not stop the refresh itself
            pass

    def _holder(self) -> str:
        try:
            note = files.read_json(self.owner_path)
        except Exception:
            note = None
        if not note:
            return "holder unknown"
        try:
            pid = int(note["pid"])
            since = time.strftime("%H:%M:%S", time.localtime(float(note["since"])))
            return f"pid {pid} running `{note['action']}` since {since}"
        except (KeyError, TypeError, ValueError):
            return "holder unknown"

    def _waiting_line(self) -> str:
        return (
            f"waiting for another git-credential-copilot to finish with profile "
            f"{self.profile!r} ({self._holder()})"
        )
