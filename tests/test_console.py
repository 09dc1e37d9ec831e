"""What a person reads: the device-code prompt and its countdown, on stderr only, and no
terminal escape a server's text carries."""

from __future__ import annotations

import io
import os
import re
import select
import subprocess

import pytest

from helper.console import Console
from helper.oauth2.rfc8628 import DeviceCode

from conftest import EXE, FakeClock, require_executable
from fakeserver import Fault
from procs import Watched

INTERACTIVE = {"GIT_CREDENTIAL_COPILOT_INTERACTIVE": "always"}
CODE = DeviceCode("dev", "WDJB-MJHT", "https://example.com/device", expires_in=900, interval=5,
                  verification_uri_complete="https://example.com/device?code=WDJB-MJHT")


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_prompt_puts_url_and_code_on_lines_of_their_own():
    out = io.StringIO()
    Console(out).show_device_code(CODE, "GitHub (github.com)")
    lines = out.getvalue().splitlines()
    assert "  https://example.com/device" in lines
    assert "  WDJB-MJHT" in lines
    assert "  https://example.com/device?code=WDJB-MJHT" in lines


def test_countdown_on_a_terminal():
    clock, out = FakeClock(1000.0), Terminal()
    console = Console(out, sleep=clock.sleep, clock=clock)
    console.show_device_code(CODE, "GitHub")
    console.wait(5)
    tick = r"\r  waiting for you to enter the code\.\.\. (\d+:\d\d) left"
    ticks = re.findall(tick, out.getvalue())
    assert ticks[0] == "15:00" and ticks[-1] == "14:55" and len(ticks) == 6
    console.done_waiting()
    assert out.getvalue().endswith("\r\x1b[K")


def test_no_countdown_when_not_a_terminal():
    clock, out = FakeClock(1000.0), io.StringIO()
    console = Console(out, sleep=clock.sleep, clock=clock)
    console.show_device_code(CODE, "GitHub")
    before = out.getvalue()
    console.wait(5)
    assert out.getvalue() == before and clock.now == 1005.0


def test_the_same_notice_is_said_once():
    out = io.StringIO()
    console = Console(out)
    console.notice("a")
    console.notice("a")
    console.notice("b")
    assert out.getvalue() == "git-credential-copilot: a\ngit-credential-copilot: b\n"


def test_a_closed_stderr_does_not_break_anything():
    out = io.StringIO()
    out.close()
    console = Console(out)
    console.notice("nobody hears this")  # must not raise ValueError on the closed stream
    console.show_device_code(CODE, "GitHub")
    assert out.closed


@pytest.mark.slow  # a real process waits a real poll interval
def test_live_countdown_on_a_real_pseudo_terminal(sandbox):
    """`get` with stderr on a pty: interactive by itself (auto), with a ticking countdown."""
    require_executable()
    sandbox.server.interval = 1  # the countdown shows at once, then ticks each second
    primary, secondary = os.openpty()
    env = {**sandbox.env, "GIT_CREDENTIAL_COPILOT_INTERACTIVE": "auto"}
    proc = subprocess.Popen([str(EXE), "get"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=secondary, env=env)
    os.close(secondary)
    proc.stdin.write(sandbox.credential().encode())
    proc.stdin.close()
    seen = b""
    approved = False
    while b"left" not in seen or not approved:
        ready, _, _ = select.select([primary], [], [], 20)
        assert ready, f"no terminal output; saw {seen!r}"
        seen += os.read(primary, 4096)
        code = re.search(rb"\n  (\d{4}-\d{4})\r?\n", seen)
        if code and not approved:
            sandbox.server.approve(code.group(1).decode())
            approved = True
    out = proc.stdout.read()
    assert proc.wait(timeout=30) == 0
    os.close(primary)
    assert re.search(rb"waiting for you to enter the code\.\.\. 1[45]:\d\d left", seen)
    assert b"password=" in out and b"WDJB" not in out


# -- stderr only, and nothing a server says can drive the terminal -------------------------


@pytest.mark.slow  # a real process waits a real poll interval
def test_interactive_prompt_goes_to_stderr_never_stdout(sandbox):
    watched = Watched(sandbox.start("get", env=INTERACTIVE), stdin=sandbox.credential().encode())
    code = watched.user_code()
    sandbox.server.approve(code)
    status, out, err = watched.finish()
    assert status == 0
    assert code not in out and "/login/device" not in out
    assert out.startswith("protocol=")


def test_server_text_cannot_inject_terminal_escapes(sandbox):
    hostile = b'"\\u001b[2J\\u001b]0;owned\\u0007 go to evil.com"'
    sandbox.server.inject("/login/device/code", Fault(
        status=400, body=b'{"error": "invalid_client", "error_description": ' + hostile + b"}"))
    result = sandbox.call("get", input=sandbox.credential(), env=INTERACTIVE)
    assert result.returncode == 1
    assert "\x1b" not in result.stderr and "\x07" not in result.stderr
    assert "invalid_client" in result.stderr
