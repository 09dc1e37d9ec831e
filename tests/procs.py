"""Watching helper subprocesses: read their stderr as it comes, with bounded waits only."""

from __future__ import annotations

import queue
import re
import subprocess
import threading

USER_CODE = re.compile(r"^  (\d{4}-\d{4})$")


def asking(proc: subprocess.Popen, data: bytes) -> subprocess.Popen:
    """The question written at once (it fits the pipe): the process runs now, not later. A
    crowd asked through ``communicate(data)`` one process after another would run one after
    another, each reading its stdin only when its turn came."""
    assert proc.stdin is not None
    proc.stdin.write(data)
    proc.stdin.flush()
    return proc


class Watched:
    """A running helper whose stderr lines are collected by a thread, and its stdout by
    another (so no read waits on a process that never ends)."""

    def __init__(self, proc: subprocess.Popen, stdin: bytes = b""):
        self.proc = proc
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        if stdin:
            proc.stdin.write(stdin)
        proc.stdin.close()
        self._stdout: list[bytes] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self._out_reader = threading.Thread(target=self._read_stdout, daemon=True)
        self._out_reader.start()

    def _read_stdout(self) -> None:
        self._stdout.append(self.proc.stdout.read() if self.proc.stdout is not None else b"")

    def _read(self) -> None:
        for raw in self.proc.stderr:
            self.lines.put(raw.decode("utf-8", "replace").rstrip("\n"))

    def wait_for_line(self, pattern: re.Pattern[str] | str, timeout: float = 20) -> re.Match[str]:
        """The first stderr line matching ``pattern``; fails after ``timeout`` seconds."""
        regex = re.compile(pattern) if isinstance(pattern, str) else pattern
        while True:
            try:
                line = self.lines.get(timeout=timeout)
            except queue.Empty:
                raise AssertionError(
                    f"no stderr line matching {regex.pattern!r}; saw {self.seen}"
                ) from None
            self.seen.append(line)
            match = regex.search(line)
            if match:
                return match

    def user_code(self, timeout: float = 20) -> str:
        return self.wait_for_line(USER_CODE, timeout).group(1)

    def finish(self, timeout: float = 60) -> tuple[int, str, str]:
        """Exit code, stdout and all stderr, after the process ends; a process still running
        ``timeout`` seconds on is killed and the test fails."""
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
            raise AssertionError(f"the helper was still running after {timeout} s") from None
        self._reader.join(timeout=5)  # stderr: a browser the helper started may keep it open
        self._out_reader.join(timeout=5)
        assert not self._out_reader.is_alive(), "the helper's stdout stayed open after it ended"
        while not self.lines.empty():
            self.seen.append(self.lines.get_nowait())
        return code, self._stdout[0].decode(), "\n".join(self.seen)


def device_login(box, *args: str) -> str:
    """Run ``login`` as a person would: read the user code from stderr, approve it at the
    fake server, and return everything the helper said."""
    watched = Watched(box.start(*args, "login"))
    box.server.approve(watched.user_code())
    code, out, err = watched.finish()
    assert code == 0, err
    assert out == ""
    box.check_no_secret_leaked(err, "stderr")
    return err
