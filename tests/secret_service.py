"""A real Secret Service for tests: a private D-Bus session bus with gnome-keyring on it.

Started with the login keyring unlocked by a password on stdin, stopped at teardown; no
daemon is left behind. Readiness is read from the daemons themselves (the bus prints its
address, gnome-keyring its control line, the bus then reports the secrets name as owned),
with bounded waits only.
"""

from __future__ import annotations

import os
import select
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

AVAILABLE = all(shutil.which(cmd) for cmd in ("dbus-daemon", "dbus-send", "gnome-keyring-daemon"))


@contextmanager
def socket_dir() -> Iterator[Path]:
    """A new private folder for unix sockets, in /tmp rather than under the test's tmp_path: a
    socket's path holds at most 107 bytes, and gnome-keyring's control socket under a pytest
    worker's tmp_path passes that once TMPDIR is a few characters longer than /tmp (the
    daemon then starts but never takes the secrets name)."""
    path = Path(tempfile.mkdtemp(prefix="sock-", dir="/tmp" if os.path.isdir("/tmp") else None))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def _readline(proc: subprocess.Popen, timeout: float) -> str:
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    if not ready:
        raise AssertionError(f"{proc.args[0]} said nothing within {timeout} s")
    return proc.stdout.readline().decode().strip()


def _secrets_owned(env: dict, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        reply = subprocess.run(
            ["dbus-send", "--session", "--print-reply", "--dest=org.freedesktop.DBus",
             "/org/freedesktop/DBus", "org.freedesktop.DBus.NameHasOwner",
             "string:org.freedesktop.secrets"],
            capture_output=True, env=env, timeout=5)
        if b"boolean true" in reply.stdout:
            return
        select.select([], [], [], 0.05)  # a bounded poll of the bus, not a synchronising sleep
    raise AssertionError("gnome-keyring never took org.freedesktop.secrets on the bus")


@contextmanager
def secret_service(root: Path, password: str = "test-password") -> Iterator[dict[str, str]]:
    """Yield the environment variables that point a client at the new Secret Service. The
    keyring's files live under ``root`` (a second service on the same root finds them); its
    sockets in a short folder of their own."""
    home = root / "keyring-home"
    home.mkdir(mode=0o700, parents=True, exist_ok=True)
    with socket_dir() as runtime, _secret_service(home, runtime, password) as env:
        yield env


@contextmanager
def _secret_service(home: Path, runtime: Path, password: str) -> Iterator[dict[str, str]]:
    base = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home),
            "XDG_RUNTIME_DIR": str(runtime), "XDG_DATA_HOME": str(home / "data")}
    bus = subprocess.Popen(
        ["dbus-daemon", "--session", "--nofork", "--print-address=1",
         f"--address=unix:path={runtime}/bus"], stdout=subprocess.PIPE, env=base)
    keyring_daemon = None
    try:
        address = _readline(bus, 10)
        env = {**base, "DBUS_SESSION_BUS_ADDRESS": address}
        keyring_daemon = subprocess.Popen(
            ["gnome-keyring-daemon", "--foreground", "--unlock", "--components=secrets"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
        keyring_daemon.stdin.write(password.encode())
        keyring_daemon.stdin.close()
        _readline(keyring_daemon, 15)
        _secrets_owned(env, 15)
        yield {"DBUS_SESSION_BUS_ADDRESS": address, "XDG_RUNTIME_DIR": str(runtime)}
    finally:
        for proc in (keyring_daemon, bus):
            if proc is not None and proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=5)


@contextmanager
def silent_bus() -> Iterator[str]:
    """A unix socket that accepts D-Bus connections and never answers: a hung bus."""
    with socket_dir() as folder, _silent_bus(folder / "silent-bus") as address:
        yield address


@contextmanager
def _silent_bus(path: Path) -> Iterator[str]:
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"unix:path={path}"
    finally:
        stop.set()
        thread.join(timeout=5)
        for conn in held:
            conn.close()
        server.close()
