"""JSON files of the helper's own (the state file, the file store, notes), on the private
file primitives of ``helper.storage.private``.

A file that is not ours, not regular, or not JSON we accept (``jsonsafe``) is reported as
``UnreadableFile``, which callers treat as absent after one line on stderr; the next write
replaces it. A file of ours that others may read is made private again, with a line saying so.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from helper import osdeps
from helper.net import jsonsafe
from helper.storage import private
from helper.storage.private import MAX_FILE, UnreadableFile, quiet

__all__ = ["MAX_FILE", "Notice", "UnreadableFile", "ensure_private_dir", "quiet", "read_json",
           "read_regular", "remove", "write_json"]

Notice = Callable[[str], None]


def ensure_private_dir(path: Path, notice: Notice = quiet) -> None:
    private.ensure_private_dir(os.fspath(path), notice)


def remove(path: Path) -> None:
    private.remove(os.fspath(path))


def read_regular(path: Path, limit: int = MAX_FILE, follow: bool = False,
                 mine: bool = False) -> bytes | None:
    """The bytes of the regular file ``path``; None when it does not exist. ``follow``: a
    symlink is followed; ``mine``: a file of another user is refused. Its mode is left."""
    opened = private.open_regular(os.fspath(path), follow)
    if opened is None:
        return None
    fd, info = opened
    try:
        if mine:
            private.check_owner(os.fspath(path), info)
        return private.read_fd(fd, os.fspath(path), limit)
    finally:
        os.close(fd)


def read_json(path: Path, notice: Notice = quiet) -> dict[str, Any] | None:
    """The JSON object in ``path``; None when it does not exist."""
    opened = private.open_regular(os.fspath(path))
    if opened is None:
        return None
    fd, info = opened
    try:
        private.check_owner(os.fspath(path), info)
        if osdeps.exposed(info.st_mode):
            osdeps.chmod_fd(fd, 0o600)
            notice(f"{path} was readable by others; made it private (0600)")
        data = private.read_fd(fd, os.fspath(path), MAX_FILE)
    finally:
        os.close(fd)
    try:
        value = jsonsafe.loads(data)
    except ValueError as e:
        raise UnreadableFile(f"{path} is not valid JSON ({e})") from e
    if not isinstance(value, dict):
        raise UnreadableFile(f"{path} does not hold a JSON object")
    return value


def write_json(path: Path, value: dict[str, Any], notice: Notice = quiet,
               durable: bool = True) -> None:
    """Replace ``path`` atomically with ``value`` as JSON, mode 0600 (see private)."""
    data = json.dumps(value, indent=1, sort_keys=True).encode("utf-8") + b"\n"
    private.write_private(os.fspath(path), data, notice, durable)
