"""The command line, in process: a table of (argv, stdin) -> (exit code, stdout, stderr).

``cli.main`` takes its streams and environment as arguments, so these rows need no
subprocess; the subprocess tests cover what needs a real process.
"""

from __future__ import annotations

import re

import pytest

from helper.commands import main as cli
from helper.errors import UsageError

ROWS = [
    # argv, stdin, exit code, stdout pattern, stderr pattern
    (["--version"], "", 0, r"^git-credential-copilot \d+\.\d+\.\d+\n$", r"^$"),
    (["--help"], "", 0, r"usage: git-credential-copilot", r"^$"),
    ([], "", 2, r"^$", r"no action given"),
    (["fetch"], "", 2, r"^$", r"unknown action 'fetch'"),
    (["get", "extra"], "", 2, r"^$", r"unexpected argument 'extra'"),
    (["--verbose", "get"], "", 2, r"^$", r"unknown option '--verbose'"),
    (["--profile"], "", 2, r"^$", r"--profile needs a value"),
    (["get", "--format", "json"], "", 2, r"^$", r"go with the token command"),
    (["token", "--format", "yaml"], "", 2, r"^$", r"--format must be one of raw, json, env"),
    (["--profile", "nope", "get"], "host=x\n", 2, r"^$", r"no profile named 'nope'"),
    (["get"], "protocol=https\nhost=evil.example.com\n\n", 0, r"^$", r"^$"),
    (["get"], "protocol=https\nhost=a\rb\n\n", 1, r"^$", r"carriage return"),
    (["store"], "protocol=https\nhost=evil.example.com\npassword=x\n\n", 0, r"^$", r"^$"),
    (["erase"], "protocol=https\nhost=evil.example.com\n\n", 0, r"^$", r"^$"),
    (["erase"], "{host}password=not-the-cached-token\n\n", 0, r"^$", r"^$"),
    (["get"], "{host}\n", 0, r"^protocol=http\nhost=.+\nusername=octocat\npassword=tid=.+\n"
                             r"password_expiry_utc=\d+\n$", r"^$"),
    (["--profile=copilot", "get"], "{host}\n", 0, r"password=tid=", r"^$"),
    (["token"], "", 0, r"^tid=[^\n]+\n$", r"^$"),
    (["token", "--format=json"], "", 0, r'^\{"token": "tid=.*"profile": "copilot"', r"^$"),
]


@pytest.mark.parametrize("argv, stdin, code, want_out, want_err", ROWS,
                         ids=[" ".join(r[0]) or "(none)" for r in ROWS])
def test_cli_table(logged_in, argv, stdin, code, want_out, want_err):
    box = logged_in
    box.call("get", input=box.credential())  # a cached token, so no row needs the network
    exchanges = box.server.exchanges
    question = f"protocol=http\nhost={box.server.host}\n"
    result = box.call(*argv, input=stdin.replace("{host}", question))
    assert result.returncode == code, result.stderr
    assert re.search(want_out, result.stdout, re.S), result.stdout
    assert re.search(want_err, result.stderr, re.S), result.stderr
    assert box.server.exchanges == exchanges
    assert "\n" not in result.stderr.rstrip("\n")  # at most one line, always


def test_parse_args_accepts_options_anywhere():
    args = cli.parse_args(["token", "--profile", "work", "--format", "json", "--renew"])
    assert args == cli.Args(action="token", profile="work", format="json", renew=True)
    assert cli.parse_args(["--profile=work", "get"]).profile == "work"


def test_parse_args_rejects_renew_outside_token():
    with pytest.raises(UsageError):
        cli.parse_args(["get", "--renew"])
