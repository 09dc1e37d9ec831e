"""One deadline: every request attempt has a total-time limit (http_timeout), not a per-read
one, so a server trickling its headers or its body is cut off; a caller waiting for another
process's profile lock gives up within retry_budget + http_timeout + keyring_timeout, and
keeps waiting, saying so, while a person may be signing in. (The retry budget itself:
test_transport.)"""

from __future__ import annotations

import subprocess

import pytest

from helper.storage.lock import ProfileLock

from conftest import point_exchange_at, uncached


class Trickle:
    """A server that answers one byte every ``every`` seconds: in the headers or the body.
    Each byte arrives well within any read timeout, so only a total deadline stops it."""

    def __init__(self, where: str = "body", every: float = 0.4):
        import socket
        import threading

        self.where, self.every = where, every
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.stopped = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        import threading

        while not self.stopped.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn) -> None:
        head = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                b"Content-Length: 100000\r\n\r\n")
        try:
            conn.recv(65536)
            if self.where == "body":
                conn.sendall(head)
            for byte in (head if self.where == "headers" else b" " * 100000):
                if self.stopped.wait(self.every):
                    break
                conn.sendall(bytes([byte]) if isinstance(byte, int) else byte)
        except OSError:
            pass
        finally:
            conn.close()

    def stop(self) -> None:
        self.stopped.set()
        self.sock.close()


@pytest.mark.parametrize("where", ["headers", "body"])
def test_a_trickling_server_is_cut_off_at_the_deadline(logged_in, where):
    import time

    uncached(logged_in)
    server = Trickle(where, every=0.05)  # each byte well within the 0.3 s read timeout
    try:
        point_exchange_at(logged_in, server.url, budget=0.3, timeout=0.3)
        started = time.monotonic()
        result = logged_in.run("get", input=logged_in.credential(), timeout=40)
        took = time.monotonic() - started
    finally:
        server.stop()
    assert result.returncode == 1 and "password=" not in result.stdout
    assert "within 0.3 s" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert took < 0.3 + 0.3 + 3, took  # retry_budget + http_timeout, and process start-up


# -- a lock waiter gives up in time, unless a person may be signing in ---------------------


def test_a_lock_waiter_gives_up_within_the_bound_with_one_line(logged_in):
    import time

    box = uncached(logged_in)
    point_exchange_at(box, box.server.url, budget=0.1, timeout=0.1, keyring=0.1)
    with ProfileLock(box.state_dir, "copilot", "get", lambda line: None):
        started = time.monotonic()
        result = box.run("get", input=box.credential(), timeout=60)
        took = time.monotonic() - started
    assert result.returncode == 1 and "gave up after" in result.stderr, result.stderr
    assert "gave up" in result.stderr.strip().splitlines()[-1]
    assert took < 0.1 + 0.1 + 0.1 + 3, took  # retry_budget + http_timeout + keyring_timeout


@pytest.mark.slow  # waits past the lock's bound on purpose
def test_a_lock_waiter_keeps_waiting_while_a_person_signs_in_and_says_so(logged_in):
    from procs import Watched

    box = uncached(logged_in)
    # a bound of 5.2 s: the exchange after the wait keeps 5 s, as a crowd of helpers in
    # another test can slow even a local answer (1 s missed there in 18 runs of 25)
    point_exchange_at(box, box.server.url, budget=0.1, timeout=5, keyring=0.1)
    lock = ProfileLock(box.state_dir, "copilot", "login", lambda line: None, may_prompt=True)
    with lock:
        watched = Watched(box.start("get"), box.credential().encode())
        watched.wait_for_line("a person may be signing in", timeout=20)
        with pytest.raises(subprocess.TimeoutExpired):
            # the bound again after the notice, which came a second after the start
            watched.proc.wait(timeout=0.1 + 5 + 0.1)  # so past the bound without a person
    code, out, err = watched.finish(timeout=30)
    assert code == 0 and "password=" in out, err
