"""Full and read-only disks: a tmpfs mounted for the test (skipped where mounting needs a
CAP_SYS_ADMIN the test does not have); a full disk and a read-only state directory are one
clear line each, and the login is untouched."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest


def _mount_tmpfs(path: Path, options: str) -> bool:
    path.mkdir(parents=True, exist_ok=True)
    return subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)],
                          capture_output=True).returncode == 0


@pytest.fixture
def small_disk(tmp_path):
    mounted = []

    def mount(path: Path, options: str) -> None:
        if not _mount_tmpfs(path, options):
            pytest.skip("cannot mount a tmpfs here (needs root with CAP_SYS_ADMIN)")
        mounted.append(path)

    yield mount
    for path in mounted:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


def test_a_full_disk_is_one_clear_line(logged_in, small_disk):
    box = logged_in
    state_root = box.root / "full-state"
    small_disk(state_root, "size=64k")
    (state_root / "filler").write_bytes(b"x" * 60 * 1024)
    with pytest.raises(OSError):
        (state_root / "more").write_bytes(b"x" * 8 * 1024)
    result = box.call("get", input=box.credential(), env={"XDG_STATE_HOME": str(state_root)})
    assert result.returncode == 1 and result.stdout == ""
    assert "No space left on device" in result.stderr.splitlines()[-1]
    assert box.stored()["access_token"]  # the login is untouched


def test_a_read_only_state_dir_is_one_clear_line(logged_in, small_disk):
    box = logged_in
    state_root = box.root / "ro-state"
    small_disk(state_root, "ro,size=64k")
    result = box.call("get", input=box.credential(), env={"XDG_STATE_HOME": str(state_root)})
    assert result.returncode == 1 and result.stdout == ""
    assert "Read-only file system" in result.stderr.splitlines()[-1]
