"""Private files and directories: nothing planted where a file goes (a FIFO, a symlink,
another user's directory) can block or fool the helper; every directory it creates is 0700
whatever the umask, and a file others can read is repaired; lock files and state files never
share a name. docs/security.md states each promise."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from helper.storage import files, state
from helper.storage.lock import ProfileLock

from conftest import EXE, require_executable, uncached

# -- no FIFO, device or symlink where a file goes can block or fool the helper -------------


def _fifo(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        path.unlink()
    os.mkfifo(path, 0o600)


def test_fifo_as_state_file_does_not_block(logged_in):
    _fifo(logged_in.state_dir / "copilot.json")
    result = logged_in.run("get", input=logged_in.credential(), timeout=15)
    assert result.returncode == 0 and "not a regular file" in result.stderr
    assert stat.S_ISREG(os.lstat(logged_in.state_dir / "copilot.json").st_mode)


def test_fifo_as_store_file_does_not_block(logged_in):
    uncached(logged_in)
    _fifo(logged_in.stored_path())
    result = logged_in.run("get", input=logged_in.credential(), timeout=15)
    assert result.returncode == 1 and "not a regular file" in result.stderr


def test_fifo_as_config_file_does_not_block(sandbox):
    _fifo(sandbox.config_path)
    result = sandbox.run("get", input=sandbox.credential(), timeout=15)
    assert result.returncode == 2 and "not a regular file" in result.stderr


def test_read_regular_refuses_what_is_not_a_regular_file(tmp_path):
    _fifo(tmp_path / "fifo")
    (tmp_path / "dir").mkdir()
    (tmp_path / "real").write_text("x")
    (tmp_path / "link").symlink_to(tmp_path / "real")
    for name in ("fifo", "dir", "link"):
        with pytest.raises(files.UnreadableFile):
            files.read_regular(tmp_path / name)
    assert files.read_regular(tmp_path / "link", follow=True) == b"x"
    assert files.read_regular(tmp_path / "absent") is None


def test_a_planted_symlink_at_the_cache_path_is_not_followed(logged_in):
    box = logged_in
    box.call("get", input=box.credential())
    victim = box.root / "victim.txt"
    victim.write_text("do not touch\n")
    cache_file = box.state_dir / "copilot.json"
    cache_file.unlink()
    cache_file.symlink_to(victim)
    result = box.call("get", input=box.credential())
    assert result.returncode == 0
    assert "symlink" in result.stderr
    assert victim.read_text() == "do not touch\n"
    assert not cache_file.is_symlink()  # replaced by a real file of ours


def test_a_state_dir_that_is_a_symlink_to_another_users_dir_is_refused(logged_in):
    box = logged_in
    foreign = box.root / "foreign"
    foreign.mkdir()
    (foreign / "copilot.json").write_text('{"token": {"token": "planted", "expires_at": '
                                          '9999999999, "refresh_at": 9999999999, '
                                          '"minted_at": 0}}')
    os.chown(foreign, 65534, 65534)
    os.chown(foreign / "copilot.json", 65534, 65534)
    shutil.rmtree(box.state_dir, ignore_errors=True)
    box.state_dir.parent.mkdir(parents=True, exist_ok=True)
    box.state_dir.symlink_to(foreign)
    result = box.call("get", input=box.credential())
    assert "planted" not in result.stdout
    assert result.returncode == 1
    assert "symlink" in result.stderr or "another user" in result.stderr


# -- private whatever the umask, and repaired when not -------------------------------------


def test_directories_created_under_umask_000_are_private(sandbox):
    require_executable()
    box = sandbox
    fresh = box.root / "fresh"
    env = {**box.env, "XDG_STATE_HOME": str(fresh / "a" / "state"),
           "XDG_DATA_HOME": str(fresh / "b" / "data")}
    token = box.server.add_github_token()
    stdin = box.credential(host=box.login_host, password=token)
    subprocess.run(["sh", "-c", f'umask 000; exec "{EXE}" store'], input=stdin.encode(),
                   env=env, check=True, timeout=30)
    subprocess.run(["sh", "-c", f'umask 000; exec "{EXE}" get'],
                   input=box.credential().encode(), env=env, check=True, timeout=30,
                   capture_output=True)
    made = [p for p in fresh.rglob("*") if p.is_dir()] + [fresh]
    assert len(made) >= 6
    for path in made:
        assert stat.S_IMODE(path.stat().st_mode) == 0o700, path


def test_ensure_private_dir_ignores_a_umask_that_takes_owner_bits(tmp_path):
    old = os.umask(0o277)
    try:
        files.ensure_private_dir(tmp_path / "x" / "y")
    finally:
        os.umask(old)
    for path in (tmp_path / "x", tmp_path / "x" / "y"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o700, path


def test_a_group_readable_state_file_is_repaired(logged_in):
    box = logged_in
    box.call("get", input=box.credential())
    os.chmod(box.state_dir / "copilot.json", 0o640)
    result = box.call("get", input=box.credential())
    assert result.returncode == 0 and "readable by others" in result.stderr
    assert (box.state_dir / "copilot.json").stat().st_mode & 0o077 == 0


# -- lock files and state files live in separate namespaces --------------------------------


def test_a_lock_note_is_never_another_profiles_state_file(tmp_path):
    with ProfileLock(tmp_path, "a", "get", lambda line: None) as lock:
        assert lock.owner_path.exists()
        for name in ("a.lock", "a.lock.owner", "a.owner", "locks"):
            assert not state.path_for(tmp_path, name).exists(), name
        assert lock.path.parent == lock.owner_path.parent == tmp_path / "locks"
