"""Secret stores: one contract every store passes, then what is special to each.

Like keyring's own ``testing/backend.py``: ``StoreContract`` holds the tests, and each store's
class is a few lines that say how to make one.

Last, ``store = "auto"`` through the command: one login per profile, wherever it was put.
"""

from __future__ import annotations

import json
import stat
import threading

import pytest
from keyring.errors import KeyringError

from helper.errors import StoreError
from helper.storage import secrets as store

from conftest import DEFAULT_CONFIG, MemoryKeyring, uncached


class HungKeyring(MemoryKeyring):
    """A Secret Service that accepts the call and never answers."""

    def __init__(self):
        super().__init__()
        self.release = threading.Event()

    def get_password(self, service, username):
        self.release.wait(30)
        return None

    set_password = delete_password = lambda self, *a: self.release.wait(30)


class BrokenKeyring(MemoryKeyring):
    def get_password(self, service, username):
        raise KeyringError("org.freedesktop.DBus.Error.ServiceUnknown")


class StoreContract:
    """What every store must do."""

    def make(self, tmp_path):
        raise NotImplementedError

    def test_missing_profile_reads_none(self, tmp_path):
        assert self.make(tmp_path).read("copilot") is None

    def test_write_then_read(self, tmp_path):
        s = self.make(tmp_path)
        s.write("copilot", {"access_token": "gho_x", "username": "octocat"})
        assert s.read("copilot") == {"access_token": "gho_x", "username": "octocat"}

    def test_profiles_are_separate(self, tmp_path):
        s = self.make(tmp_path)
        s.write("a", {"access_token": "1"})
        s.write("b", {"access_token": "2"})
        assert s.read("a") == {"access_token": "1"}

    def test_write_replaces(self, tmp_path):
        s = self.make(tmp_path)
        s.write("copilot", {"access_token": "old"})
        s.write("copilot", {"access_token": "new"})
        assert s.read("copilot") == {"access_token": "new"}

    def test_delete_then_read_none_and_delete_again_is_fine(self, tmp_path):
        s = self.make(tmp_path)
        s.write("copilot", {"access_token": "x"})
        s.delete("copilot")
        assert s.read("copilot") is None
        s.delete("copilot")

    def test_describe_names_the_kind(self, tmp_path):
        s = self.make(tmp_path)
        assert s.describe().startswith(s.kind)


class TestFileStore(StoreContract):
    def make(self, tmp_path):
        self.notices: list[str] = []
        return store.FileStore(tmp_path / "secrets", self.notices.append)

    def test_file_and_directory_are_private(self, tmp_path):
        s = self.make(tmp_path)
        s.write("copilot", {"access_token": "x"})
        assert stat.S_IMODE((tmp_path / "secrets").stat().st_mode) == 0o700
        assert stat.S_IMODE((tmp_path / "secrets" / "copilot.json").stat().st_mode) == 0o600

    def test_a_corrupt_file_reads_as_none_with_one_notice(self, tmp_path):
        s = self.make(tmp_path)
        s.write("copilot", {"access_token": "x"})
        (tmp_path / "secrets" / "copilot.json").write_text("{")
        assert s.read("copilot") is None
        assert len(self.notices) == 1 and "not valid JSON" in self.notices[0]

    def test_a_planted_symlink_is_not_followed(self, tmp_path):
        s = self.make(tmp_path)
        (tmp_path / "secrets").mkdir(mode=0o700)
        target = tmp_path / "elsewhere.json"
        target.write_text('{"access_token": "planted"}')
        (tmp_path / "secrets" / "copilot.json").symlink_to(target)
        assert s.read("copilot") is None
        assert "symlink" in self.notices[0]

    def test_a_full_disk_is_a_store_error_and_keeps_the_old_file(self, tmp_path, monkeypatch):
        import errno

        from helper import osdeps

        s = self.make(tmp_path)
        s.write("copilot", {"access_token": "old"})

        def full(fd, data):
            raise OSError(errno.ENOSPC, "No space left on device")

        monkeypatch.setattr(osdeps.native, "write", full)  # the private primitives' write
        with pytest.raises(StoreError, match="No space left on device; nothing was changed"):
            s.write("copilot", {"access_token": "new"})
        monkeypatch.undo()
        assert s.read("copilot") == {"access_token": "old"}
        assert [p.name for p in (tmp_path / "secrets").iterdir()] == ["copilot.json"]


    def test_temp_files_of_dead_writers_are_swept(self, tmp_path):
        s = self.make(tmp_path)
        s.write("copilot", {"access_token": "x"})
        dead = _finished_pid()
        stale = tmp_path / "secrets" / f".copilot.json.{dead}.tmp"
        live = tmp_path / "secrets" / ".copilot.json.1.tmp"  # pid 1 is alive
        stale.write_text('{"half')
        live.write_text('{"being written')
        s.write("copilot", {"access_token": "y"})
        assert not stale.exists() and live.exists()


def _finished_pid() -> int:
    import subprocess

    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


class TestKeyringStore(StoreContract):
    def make(self, tmp_path):
        self.backend = MemoryKeyring()
        return store.KeyringStore(self.backend, timeout=2)

    def test_entries_are_json_under_our_service_name(self, tmp_path):
        s = self.make(tmp_path)
        s.write("copilot", {"access_token": "x"})
        entry = self.backend.entries[("git-credential-copilot", "copilot")]
        assert entry == '{"access_token": "x"}'

    def test_a_foreign_entry_is_a_clear_error(self, tmp_path):
        s = self.make(tmp_path)
        self.backend.entries[("git-credential-copilot", "copilot")] = "hunter2"
        with pytest.raises(StoreError, match="logout"):
            s.read("copilot")


def test_a_hung_keyring_times_out_with_one_clear_line():
    backend = HungKeyring()
    s = store.KeyringStore(backend, timeout=0.05)
    try:
        for call in (lambda: s.read("p"), lambda: s.write("p", {}), lambda: s.delete("p")):
            with pytest.raises(StoreError, match="did not answer within 0.05 s"):
                call()
    finally:
        backend.release.set()


def test_keyring_errors_are_translated():
    with pytest.raises(StoreError, match="ServiceUnknown"):
        store.KeyringStore(BrokenKeyring(), timeout=2).read("p")


def test_choose_file_never_touches_the_keyring(tmp_path, monkeypatch):
    monkeypatch.setattr(store, "viable_keyring", lambda t: pytest.fail("keyring probed"))
    assert store.choose("file", {"HOME": str(tmp_path)}, print).kind == "file"


def test_auto_without_a_keyring_falls_back_to_a_file_and_says_so_once(tmp_path, monkeypatch):
    monkeypatch.setattr(store, "viable_keyring", lambda t: (None, "no keyring here"))
    notices: list[str] = []
    env = {"HOME": str(tmp_path)}
    assert store.choose("auto", env, notices.append).kind == "file"
    assert store.choose("auto", env, notices.append).kind == "file"
    assert len(notices) == 1 and "no keyring here" in notices[0]


def test_keyring_mode_without_a_keyring_is_an_error(tmp_path, monkeypatch):
    monkeypatch.setattr(store, "viable_keyring", lambda t: (None, "no keyring here"))
    with pytest.raises(StoreError, match="no keyring here"):
        store.choose("keyring", {"HOME": str(tmp_path)}, print)


def test_auto_with_a_keyring_uses_it(tmp_path, monkeypatch):
    monkeypatch.setattr(store, "viable_keyring", lambda t: (MemoryKeyring(), ""))
    assert store.choose("auto", {"HOME": str(tmp_path)}, print).kind == "keyring"


def test_viable_keyring_rejects_the_fail_backend(monkeypatch):
    import keyring
    import keyring.backends.fail

    monkeypatch.setattr(keyring, "get_keyring", lambda: keyring.backends.fail.Keyring())
    backend, why = store.viable_keyring(1)
    assert backend is None and "no keyring backend" in why


# -- one login per profile, wherever store = "auto" put it ---------------------------------


def _auto_logged_in_to_file(box, monkeypatch):
    """A login made while no keyring answered (in the file); now a keyring answers."""
    from helper.storage import secrets as storemod

    box.write_config(_AUTO_CONFIG)
    token = box.server.add_github_token()
    monkeypatch.setattr(storemod, "viable_keyring", lambda timeout: (None, "no keyring here"))
    assert box.call("store", input=box.credential(host=box.login_host, username="octocat",
                                                  password=token)).returncode == 0
    assert box.stored()["access_token"] == token
    keyring = MemoryKeyring()
    monkeypatch.setattr(storemod, "viable_keyring", lambda timeout: (keyring, ""))
    return token, keyring


_AUTO_CONFIG = DEFAULT_CONFIG.replace('store = "file"', 'store = "auto"')


def test_auto_finds_a_login_made_while_the_keyring_did_not_answer(sandbox, monkeypatch):
    box = sandbox
    token, keyring = _auto_logged_in_to_file(box, monkeypatch)
    assert box.call("get", input=box.credential()).returncode == 0  # the file's login is used
    status = box.call("status").stdout
    assert f"login kept in: file {box.data_dir}" in status, status


def test_logout_clears_the_login_wherever_it_is(sandbox, monkeypatch):
    box = sandbox
    token, keyring = _auto_logged_in_to_file(box, monkeypatch)
    keyring.set_password("git-credential-copilot", box.login_key(),
                         json.dumps({"access_token": box.server.add_github_token()}))
    assert box.call("logout").returncode == 0
    assert box.stored() == {} and keyring.entries == {}


def test_a_dead_login_is_dropped_from_every_store(sandbox, monkeypatch):
    box = sandbox
    token, keyring = _auto_logged_in_to_file(box, monkeypatch)
    uncached(box)
    box.server.revoke_github(token)
    result = box.call("get", input=box.credential())
    assert result.returncode == 1 and "deleted it" in result.stderr
    assert box.stored() == {} and keyring.entries == {}
    assert box.call("get", input=box.credential()).returncode == 1
    assert box.server.exchanges == 2  # the store's check, one refusal: never sent again


def test_a_new_login_moves_to_the_keyring_and_leaves_no_copy(sandbox, monkeypatch):
    box = sandbox
    token, keyring = _auto_logged_in_to_file(box, monkeypatch)
    fresh = box.server.add_github_token()
    assert box.call("store", input=box.credential(host=box.login_host, username="octocat",
                                                  password=fresh)).returncode == 0
    assert box.stored() == {}
    entry = keyring.entries[("git-credential-copilot", box.login_key())]
    assert json.loads(entry)["access_token"] == fresh
