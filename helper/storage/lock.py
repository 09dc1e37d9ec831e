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
from typing import Any

from helper.errors import LockTimeout, one_line
from helper.storage import files

LOCKS = "locks"  # its own directory: no profile's state file can be a lock or its note
NOTICE_AFTER = 1.0
POLL = 0.5  # how often a waiter re-reads the owner note
LOGIN_WAIT = 15 * 60 + 60  # GitHub device codes live 15 minutes
DEFAULT_WAIT = LOGIN_WAIT


class ProfileLock:
    """Context manager: ``with ProfileLock(dir, "copilot", "get", notice): ...``.

    A waiter gives up after ``wait`` seconds (the longest a holder that is not waiting for
    a person can take) with one line; while the owner note says the holder may be showing a
    person a device code (``may_prompt``), it waits up to ``login_wait`` and says so.

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
        may_prompt: bool = False,
        login_wait: float = LOGIN_WAIT,
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
        self.may_prompt = may_prompt
        self.login_wait = max(login_wait, wait)
        self._lock = FileLock(str(self.path), mode=0o600, thread_local=True)

    def __enter__(self) -> ProfileLock:
        started = time.monotonic()
        said = ""
        while not self._acquire(POLL):
            waited = time.monotonic() - started
            note = self._note()
            person = bool(note and note.get("may_prompt"))
            if waited >= (self.login_wait if person else self.wait):
                raise LockTimeout(
                    f"gave up after {waited:.0f} s waiting for the lock of profile "
                    f"{self.profile!r} ({self._holder(note)}); if no other "
                    "git-credential-copilot is running, retry"
                )
            line = self._waiting_line(note, person)
            if waited >= NOTICE_AFTER and line != said:
                self.notice(line)
                said = line
        self._write_owner()
        return self

    def _acquire(self, timeout: float) -> bool:
        from filelock import Timeout

        try:
            self._lock.acquire(timeout=timeout)
        except Timeout:
            return False
        except OSError as e:
            raise LockTimeout(f"cannot lock {self.path}: {e.strerror}") from e
        return True

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
        note = {"pid": os.getpid(), "action": self.action, "since": time.time(),
                "may_prompt": self.may_prompt}
        try:
            files.write_json(self.owner_path, note, durable=False)  # a note: no fsync
        except Exception:  # a full disk must not stop the refresh itself
            pass

    def _note(self) -> dict[str, Any] | None:
        try:
            return files.read_json(self.owner_path)
        except Exception:  # the note is a courtesy; a bad one is no note
            return None

    def _holder(self, note: dict[str, Any] | None) -> str:
        if not note:
            return "holder unknown"
        try:
            pid = int(note["pid"])
            since = time.strftime("%H:%M:%S", time.localtime(float(note["since"])))
            return f"pid {pid} running `{one_line(str(note['action']), 20)}` since {since}"
        except (KeyError, TypeError, ValueError, OverflowError, OSError):
            return "holder unknown"

    def _waiting_line(self, note: dict[str, Any] | None, person: bool) -> str:
        line = (f"waiting for another git-credential-copilot to finish with profile "
                f"{self.profile!r} ({self._holder(note)})")
        if person:
            return (f"{line}; a person may be signing in there, so waiting up to "
                    f"{self.login_wait / 60:.0f} min")
        return line
