"""Everything a person reads: one-line notices and the device-code prompt, all on stderr.

stdout belongs to the credential protocol; nothing here ever writes to it. On a terminal the
device-code prompt keeps a live countdown until the code expires. Every write passes through
``errors.scrub``: no secret the process holds reaches stderr, whatever built the line.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import BinaryIO, NamedTuple, Protocol, TextIO


class DeviceCode(Protocol):
    """What the device-code prompt shows (``oauth2.rfc8628.DeviceCode`` is one)."""

    @property
    def verification_uri(self) -> str: ...
    @property
    def verification_uri_complete(self) -> str: ...
    @property
    def user_code(self) -> str: ...
    @property
    def expires_in(self) -> float: ...

PREFIX = "git-credential-copilot: "


class Console:
    def __init__(
        self,
        stream: TextIO,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.stream = stream
        self.sleep = sleep
        self.clock = clock
        self._deadline: float | None = None
        self._said: set[str] = set()

    @property
    def is_terminal(self) -> bool:
        try:
            return bool(self.stream.isatty())
        except (AttributeError, ValueError):
            return False

    def notice(self, line: str) -> None:
        """One line for a person; the same line is said once per process, however often
        the code path that finds it runs (e.g. before and after taking the lock)."""
        if line in self._said:
            return
        self._said.add(line)
        self._write(f"{PREFIX}{line}\n")

    def show_device_code(self, code: DeviceCode, what: str) -> None:
        """Tell the person where to go and what to type; the code on a line of its own."""
        lines = [f"{PREFIX}to sign in to {what}, open this page in a browser:",
                 f"  {code.verification_uri}",
                 "and enter this code:",
                 f"  {code.user_code}"]
        if code.verification_uri_complete:
            lines += ["or open this link, which carries the code:",
                      f"  {code.verification_uri_complete}"]
        self._write("\n".join(lines) + "\n")
        self._deadline = self.clock() + code.expires_in

    def wait(self, seconds: float) -> None:
        """Sleep between polls; on a terminal, count down to the code's expiry meanwhile."""
        if not self.is_terminal or self._deadline is None:
            self.sleep(seconds)
            return
        end = self.clock() + seconds
        while True:
            left = end - self.clock()
            self._write(f"\r  waiting for you to enter the code... {self._remaining()} left \x1b[K")
            if left <= 0:
                return
            self.sleep(min(1.0, left))

    def done_waiting(self) -> None:
        if self.is_terminal and self._deadline is not None:
            self._write("\r\x1b[K")
        self._deadline = None

    def _remaining(self) -> str:
        left = max(0, int((self._deadline or 0) - self.clock()))
        return f"{left // 60}:{left % 60:02d}"

    def _write(self, text: str) -> None:
        from helper.errors import scrub

        try:
            self.stream.write(scrub(text))
            self.stream.flush()
        except (OSError, ValueError):
            pass  # a closed stderr must not turn a working refresh into a failure


class Answer:
    """stdout for the answer: a write or flush that fails (a closed pipe, ``/dev/full``)
    raises OutputError, one line for the person, and points the file descriptor at
    /dev/null so the interpreter's own flush at exit cannot print "Exception ignored"."""

    def __init__(self, stream: TextIO):
        self.stream = stream

    def write(self, text: str) -> int:
        return self._do(lambda: self.stream.write(text))

    def flush(self) -> None:
        self._do(self.stream.flush)

    def _do(self, action: Callable[[], object]) -> int:
        try:
            result = action()
        except UnicodeEncodeError as e:
            from helper.errors import OutputError

            raise OutputError(f"cannot write the answer to stdout: its encoding "
                              f"({e.encoding}) cannot carry it; nothing was delivered") from e
        except (OSError, ValueError) as e:
            self._silence()
            from helper.errors import OutputError

            why = getattr(e, "strerror", None) or "it is closed"
            raise OutputError(f"cannot write the answer to stdout ({why}); nothing was "
                              "delivered") from e
        return result if isinstance(result, int) else 0

    def _silence(self) -> None:
        import os

        try:
            fd = self.stream.fileno()
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, fd)
            os.close(null)
        except (OSError, ValueError, AttributeError):
            pass


class Streams(NamedTuple):
    """A command's streams: git's input, the answer on stdout, the person's stderr."""

    stdin: BinaryIO
    stdout: Answer
    console: Console
