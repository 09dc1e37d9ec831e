"""Running the real LLM tools (OpenAI Codex, Claude Code, aider) against the fake servers.

``scripts/install-tools`` installs pinned versions into ``.tools/bin``. A test that needs a
tool that is not there is skipped with the command to run, except in CI (``CI=true``),
where it fails: CI must not pass by testing nothing.

A ``ToolBox`` runs a tool in the sandbox's throwaway HOME with:

- a shim in front of the helper on PATH that records every time the tool asks for a token
  (the tool's config names the helper by its bare name, as a person's would);
- every proxy variable pointing at a ``RefusingProxy`` (``NO_PROXY`` for 127.0.0.1 and
  localhost): nothing reaches the internet, a tool that tries fails at once instead of
  waiting on a lookup, and ``offline()`` says where it tried to go;
- the helper's secret hygiene held to the tool's output too.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from requests.structures import CaseInsensitiveDict

from conftest import EXE, Sandbox
from fakeserver import RefusingProxy

ROOT = Path(__file__).resolve().parent.parent
TOOLS_BIN = Path(os.environ.get("TOOLS_DIR", ROOT / ".tools")) / "bin"
HELPER = "git-credential-copilot"
CTRL_C_BOUND = 30  # seconds: a tool ends a second or two after Ctrl-C (aider's retries: a minute)
# What the Copilot API wants to see from an editor (the same values the contrib pieces send).
COPILOT_HEADERS = {
    "Copilot-Integration-Id": "vscode-chat",
    "Editor-Version": "vscode/1.99.3",
    "Editor-Plugin-Version": "copilot-chat/0.26.7",
}
# A Copilot account's model list, each model with the endpoints it answers at (the fake
# refuses a model at an endpoint it does not list, as Copilot does).
COPILOT_MODELS = [
    {"id": "gpt-4o", "object": "model", "supported_endpoints": ["/chat/completions"]},
    {"id": "gpt-5.1-codex", "object": "model", "supported_endpoints": ["/responses"]},
    {"id": "claude-sonnet-4.6", "object": "model",
     "supported_endpoints": ["/chat/completions", "/v1/messages"]},
]


def tool(name: str) -> Path:
    """The installed tool, or a skip (a failure in CI) saying how to install it."""
    path = TOOLS_BIN / name
    if path.exists() and os.access(path, os.X_OK):
        return path
    message = f"{path} is not installed: run scripts/install-tools"
    if os.environ.get("CI", "").lower() in ("true", "1"):
        pytest.fail(message)
    pytest.skip(message)


@dataclass
class ToolRun:
    returncode: int
    stdout: str
    stderr: str
    seconds: float
    stopped: bool = False  # killed by the test: what it was waiting for could not come


class ToolBox:
    """A sandbox (fake server, throwaway HOME, helper config) set up for running a tool."""

    def __init__(self, box: Sandbox, proxy: RefusingProxy) -> None:
        self.box = box
        self.proxy = proxy
        self.work = box.root / "work"  # the tool's working directory, an empty project
        self.work.mkdir(exist_ok=True)
        self.calls_log = box.root / "helper-calls.log"
        tmp = box.root / "tmp"  # the tools' temporary files go away with the sandbox
        tmp.mkdir(exist_ok=True)
        shims = box.root / "shims"
        shims.mkdir(exist_ok=True)
        shim = shims / HELPER
        shim.write_text(f'#!/bin/sh\nprintf "%s\\n" "$*" >> "{self.calls_log}"\n'
                        f'exec "{EXE}" "$@"\n')
        shim.chmod(0o755)
        self.env = {
            **box.env,
            "PATH": f"{shims}{os.pathsep}{box.env['PATH']}",
            "GIT_TERMINAL_PROMPT": "0",
            "TMPDIR": str(tmp),
            "BROWSER": "true",  # a tool that offers to open a URL opens nothing
            **{name: proxy.url for name in ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY",
                                            "https_proxy", "http_proxy", "all_proxy")},
            "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost",
        }

    @property
    def server(self):
        return self.box.server

    @property
    def home(self) -> Path:
        return Path(self.box.env["HOME"])

    def run(self, argv: list[str], env: dict | None = None, timeout: float = 120,
            stop_when: Callable[[], bool] | None = None,
            stop_with: signal.Signals = signal.SIGKILL) -> ToolRun:
        """Run a tool to its end, non-interactively (stdin from /dev/null). ``stop_when``:
        a condition on the fake's counters that makes waiting for the end pointless (a tool
        retrying a dead token for a minute); the tool's process group is then sent
        ``stop_with`` and ``stopped`` set: SIGKILL, or SIGINT for a person's Ctrl-C, after
        which the tool must end within CTRL_C_BOUND.

        The tool starts as a terminal's foreground job: in a process group of its own (so
        stopping it stops what it started too; a child that kept the output pipes open would
        hold communicate() until it ended), and with SIGINT at its default. A test run can
        have SIGINT ignored (a shell starts its background jobs so: ``scripts/test &``), the
        ignore is inherited across exec, and a Python tool then never sees a Ctrl-C;
        ``env --default-signal`` undoes it."""
        started = time.monotonic()
        proc = subprocess.Popen(["env", "--default-signal=INT", *argv], stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=self.work,
                                env={**self.env, **(env or {})}, start_new_session=True)
        stopped = interrupted = False
        try:
            while stop_when is not None and proc.poll() is None:
                if stop_when():
                    os.killpg(proc.pid, stop_with)
                    stopped, interrupted = True, stop_with == signal.SIGINT
                    break
                if time.monotonic() - started > timeout:
                    break
                time.sleep(0.05)  # polling the fake's counters, bounded by the timeout
            left = max(1.0, timeout - (time.monotonic() - started))
            out, err = proc.communicate(timeout=CTRL_C_BOUND if interrupted else left)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            if interrupted:
                pytest.fail(f"{Path(argv[0]).name} went on after Ctrl-C: was SIGINT ignored?")
            raise
        self.server.settle()  # a request the tool sent as it was stopped is counted whole
        result = ToolRun(proc.returncode, out.decode("utf-8", "replace"),
                         err.decode("utf-8", "replace"), time.monotonic() - started, stopped)
        self.box.check_no_secret_leaked(result.stderr, "the tool's stderr")
        self.box.check_no_secret_leaked(result.stdout, "the tool's stdout")
        return result

    def setup(self, name: str, *args: str, profile: str = "") -> str:
        """``git-credential-copilot setup NAME`` in the throwaway HOME, as a person runs it.
        The command PATH finds first is the shim, so the tool's config names the shim (and
        the shim does not count this run: the helper runs itself)."""
        argv = [str(EXE), *(["--profile", profile] if profile else []), "setup", name, *args]
        proc = subprocess.run(argv, capture_output=True, env=self.env, timeout=60)
        err = proc.stderr.decode("utf-8", "replace")
        self.box.check_no_secret_leaked(err, "setup's stderr")
        assert proc.returncode == 0, err
        return err

    def helper_calls(self) -> list[str]:
        """The arguments of every helper run the tool started, in order."""
        return self.calls_log.read_text().splitlines() if self.calls_log.exists() else []

    def offline(self) -> list[str]:
        """Where the tools tried to go besides 127.0.0.1 (should be nowhere)."""
        return list(self.proxy.attempts)

    def cached_token(self, profile: str = "copilot") -> str:
        """The token the helper holds for the profile now."""
        return self.box.state(profile)["token"]["token"]

    def age_cached_token(self, seconds: int = 120, profile: str = "copilot") -> None:
        """Move the cached token's minting back in time, as the minutes between two runs
        would (``token --renew`` treats a token minted in the last minute as just renewed)."""
        path = self.box.state_dir / f"{profile}.json"
        state = json.loads(path.read_text())
        state["token"]["minted_at"] -= seconds
        path.write_text(json.dumps(state))
        (self.box.state_dir / "tokens" / profile).unlink(missing_ok=True)

    def mark(self) -> int:
        """A point in the fake's request log, for ``since=``."""
        return len(self.server.requests)

    def sent_tokens(self, path: str, since: int = 0) -> list[str]:
        """The bearer token of every request to ``path``, in order."""
        return [self.server.bearer(headers) for headers in self.sent_headers(path, since)]

    def sent_headers(self, path: str, since: int = 0) -> list[CaseInsensitiveDict]:
        """The headers of every request to ``path`` (from the ``since`` mark on), in order,
        their names compared as HTTP compares them: without regard to case."""
        return [CaseInsensitiveDict(headers)
                for method, p, headers in self.server.requests[since:] if p == path]
