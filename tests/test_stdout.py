"""A closed or full stdout: the installed command exits 1 with one line on stderr ("cannot
write the answer to stdout …") and no "Exception ignored" noise."""

from __future__ import annotations

import os
import subprocess

import pytest

from conftest import EXE, require_executable


def _run_with_stdout(box, args, stdin: str, stdout) -> subprocess.CompletedProcess:
    return subprocess.run([str(EXE), *args], input=stdin.encode(), stdout=stdout,
                          stderr=subprocess.PIPE, env=box.env, timeout=30)


@pytest.mark.parametrize("args", [("get",), ("token",), ("--version",)])
def test_a_full_stdout_is_one_line_and_exit_1(logged_in, args):
    require_executable()
    with open("/dev/full", "w") as full:
        proc = _run_with_stdout(logged_in, args, logged_in.credential(), full)
    err = proc.stderr.decode()
    assert proc.returncode == 1, err
    assert len(err.strip().splitlines()) == 1 and "stdout" in err, err
    assert "Exception ignored" not in err and "Traceback" not in err
    logged_in.check_no_secret_leaked(err, "stderr")


@pytest.mark.parametrize("args", [("get",), ("token",)])
def test_a_closed_stdout_is_one_line_and_exit_1(logged_in, args):
    require_executable()
    read_end, write_end = os.pipe()
    os.close(read_end)  # nobody will ever read: every write is EPIPE
    try:
        proc = _run_with_stdout(logged_in, args, logged_in.credential(), write_end)
    finally:
        os.close(write_end)
    err = proc.stderr.decode()
    assert proc.returncode == 1, err
    assert len(err.strip().splitlines()) == 1 and "Broken pipe" in err, err
