"""A hard time limit on a call that may block in a place we cannot interrupt.

A hung Secret Service, or a server that sends its answer one byte every few seconds (each
socket read is within the read timeout, so requests' own timeouts never trip), would
otherwise hold the profile lock without end. The call runs in a daemon thread; past the
limit the caller gets TimeoutError and moves on, and the thread dies with the process.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


def call_with_timeout(fn: Callable[[], T], timeout: float) -> T:
    """Run ``fn`` in a daemon thread; raise TimeoutError if it has not returned in time."""
    result: dict[str, Any] = {}

    def run() -> None:
        try:
            result["value"] = fn()
        except BaseException as e:  # handed to the caller below
            result["error"] = e

    worker = threading.Thread(target=run, name="deadline-call", daemon=True)
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        raise TimeoutError
    if "error" in result:
        raise result["error"]
    value: T = result["value"]
    return value
