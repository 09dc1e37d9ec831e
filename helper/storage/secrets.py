"""Where long-lived secrets live: the OS keyring, or a private file.

A long-lived secret is what a login produced: the GitHub OAuth token (copilot provider) or
the refresh token (oauth provider), kept as one small JSON object per profile.

Stores are chosen like keyring chooses its backends: each candidate says whether it is
viable, and ``auto`` takes the keyring when a real backend answers, else the file (saying
so once) - except on Windows, where Credential Manager is always there and the file is used
only when asked for (``osdeps.file_fallback``). Every keyring call runs with a time limit,
because a hung Secret Service would otherwise hang every tool that asks us for a token.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from helper import osdeps
from helper.errors import StoreError, one_line, remember_fields, remember_secret
from helper.net.deadline import call_with_timeout
from helper.storage import files, paths

SERVICE = "git-credential-copilot"
KEYRING_TIMEOUT = 10.0
T = TypeVar("T")


class FileStore:
    """Secrets in ``$XDG_DATA_HOME/git-credential-copilot/<profile>.json``, mode 0600
    (Windows: ``%LOCALAPPDATA%\\git-credential-copilot\\data``, the profile's ACL)."""

    kind = "file"

    def __init__(self, directory: Path, notice: files.Notice):
        self.directory = directory
        self.notice = notice

    def describe(self) -> str:
        return f"file {self.directory}{osdeps.file_store_note()}"

    def _path(self, profile: str) -> Path:
        return self.directory / f"{profile}.json"

    def read(self, profile: str) -> dict[str, Any] | None:
        try:
            value = files.read_json(self._path(profile), self.notice)
        except files.UnreadableFile as e:
            self.notice(f"ignoring {e}; log in again to replace it")
            return None
        remember_fields(value)
        return value

    def write(self, profile: str, value: dict[str, Any]) -> None:
        remember_fields(value)
        files.write_json(self._path(profile), value, self.notice)

    def delete(self, profile: str) -> None:
        files.remove(self._path(profile))


class KeyringStore:
    """Secrets in the OS keyring (Secret Service, macOS Keychain, Windows Credential Locker)."""

    kind = "keyring"

    def __init__(self, backend: Any, timeout: float):
        self.backend = backend
        self.timeout = timeout

    def describe(self) -> str:
        return f"keyring {type(self.backend).__module__}.{type(self.backend).__name__}"

    def read(self, profile: str) -> dict[str, Any] | None:
        raw = self._call("read", lambda: self.backend.get_password(SERVICE, profile))
        if raw is None:
            return None
        from helper.net import jsonsafe

        try:
            value = jsonsafe.loads(raw)
        except ValueError:
            value = None
        if not isinstance(value, dict):
            raise StoreError(
                f"the keyring entry {SERVICE}/{profile} is not ours or is damaged; "
                f"run `git-credential-copilot --profile {profile} logout`, then log in"
            )
        remember_fields(value)
        return value

    def write(self, profile: str, value: dict[str, Any]) -> None:
        remember_fields(value)
        data = json.dumps(value, sort_keys=True)
        remember_secret(data)  # a backend's exception may quote the value it failed to write
        self._call("write", lambda: self.backend.set_password(SERVICE, profile, data))

    def delete(self, profile: str) -> None:
        from keyring.errors import PasswordDeleteError

        def delete() -> None:
            try:
                self.backend.delete_password(SERVICE, profile)
            except PasswordDeleteError:
                pass  # nothing stored: deleting is done

        self._call("delete from", delete)

    def _call(self, verb: str, fn: Callable[[], T]) -> T:
        from keyring.errors import KeyringError, KeyringLocked

        try:
            return call_with_timeout(fn, self.timeout)
        except TimeoutError as e:
            raise StoreError(
                f"the keyring did not answer within {self.timeout:g} s ({verb}); is it locked "
                "or hung? Set store = \"file\" in the config to bypass it"
            ) from e
        except KeyringLocked as e:
            raise StoreError(
                f"the keyring is locked ({one_line(str(e))}); unlock it (log in to the "
                'desktop session) or set store = "file" in the config'
            ) from e
        except KeyringError as e:
            raise StoreError(
                f"cannot {verb} the keyring: {type(e).__name__}: {one_line(str(e))}"
            ) from e
        except Exception as e:  # backends raise D-Bus and OS errors of their own
            raise StoreError(f"cannot {verb} the keyring: {type(e).__name__}") from e


class AutoStore:
    """``store = "auto"`` with a keyring that answers: one login, wherever it was made.

    A login made while no keyring answered sits in the file; one made later in the keyring.
    Reads take the keyring's, else the file's (so neither is lost); a write goes to the
    keyring and removes the file's copy; a delete clears both, so ``logout`` and dropping a
    dead login leave nothing behind. ``where`` says which one holds the login."""

    kind = "keyring"  # the store in use; the file only keeps what was made without it

    def __init__(self, keyring: KeyringStore, file: FileStore):
        self.keyring = keyring
        self.file = file
        self.where: dict[str, str] = {}

    def describe(self) -> str:
        return self.keyring.describe() + f" (and {self.file.describe()} for logins made " \
            "while it did not answer)"

    def holder(self, profile: str) -> str:
        """Where the profile's login was found by the last read."""
        return self.where.get(profile, "")

    def read(self, profile: str) -> dict[str, Any] | None:
        value = self.keyring.read(profile)
        if value:
            self.where[profile] = self.keyring.describe()
            return value
        value = self.file.read(profile)
        self.where[profile] = self.file.describe() if value else ""
        return value

    def write(self, profile: str, value: dict[str, Any]) -> None:
        self.keyring.write(profile, value)
        self.file.delete(profile)
        self.where[profile] = self.keyring.describe()

    def delete(self, profile: str) -> None:
        self.file.delete(profile)
        self.keyring.delete(profile)
        self.where[profile] = ""


def viable_keyring(timeout: float) -> tuple[Any | None, str]:
    """The keyring backend to use, or None and why not."""
    try:
        backend = call_with_timeout(_detect_backend, timeout)
    except TimeoutError:
        return None, f"the keyring did not answer within {timeout:g} s"
    except Exception as e:  # any failure to load a backend means "not viable"
        return None, f"the keyring failed to load ({type(e).__name__})"
    name = type(backend).__name__
    module = type(backend).__module__
    if module.startswith(("keyring.backends.fail", "keyring.backends.null")):
        return None, "no keyring backend is available (no Secret Service / D-Bus?)"
    if getattr(backend, "priority", 0) <= 0:
        return None, f"the keyring backend {name} is not usable here"
    if module.startswith("keyring.backends.chainer") and not getattr(backend, "backends", None):
        return None, "no keyring backend is available (no Secret Service / D-Bus?)"
    return backend, ""


def _detect_backend() -> Any:
    import keyring

    return keyring.get_keyring()


def choose(
    mode: str, env: Mapping[str, str], notice: files.Notice, timeout: float = KEYRING_TIMEOUT,
    platform: str = osdeps.PLATFORM,
) -> FileStore | KeyringStore | AutoStore:
    """The store for ``mode`` (auto | keyring | file)."""
    file_store = FileStore(paths.data_dir(env), notice)
    if mode == "file":
        return file_store
    backend, why = viable_keyring(timeout)
    if backend is not None:
        keyring = KeyringStore(backend, timeout)
        return keyring if mode == "keyring" else AutoStore(keyring, file_store)
    if mode == "keyring":
        raise StoreError(f"store = \"keyring\" but {why}; set store = \"auto\" or \"file\"")
    if not osdeps.file_fallback(platform):
        raise StoreError(f"Windows Credential Manager is not usable: {why}; set store = "
                         "\"file\" to keep logins in a file protected only by your user "
                         "profile's access control list")
    _notice_fallback_once(paths.state_dir(env), file_store, why, notice)
    return file_store


def _notice_fallback_once(
    state_dir: Path, store: FileStore, why: str, notice: files.Notice
) -> None:
    marker = state_dir / "store-fallback-noticed.json"
    try:
        if files.read_json(marker) is not None:
            return
    except files.UnreadableFile:
        return
    notice(f"{why}; keeping secrets in a private file instead ({store.directory}, mode 0600)")
    try:
        files.write_json(marker, {"why": why})
    except StoreError:
        pass
