"""The command line, in process: a table of (argv, stdin) -> (exit code, stdout, stderr).

``cli.main`` takes its streams and environment as arguments, so these rows need no
subprocess; the subprocess tests cover what needs a real process.
"""

from __future__ import annotations

import io
import random
import re

import pytest

from helper.commands import main as cli
from helper.errors import UsageError

ROWS = [
    # argv, stdin, exit code, stdout pattern, stderr pattern
    (["--version"], "", 0, r"^git-credential-copilot \d+\.\d+\.\d+\n$", r"^$"),
    (["--help"], "", 0, r"usage: git-credential-copilot", r"^$"),
    (["token", "--help"], "", 0, r"usage: git-credential-copilot token .*--min-ttl", r"^$"),
    (["doctor", "--help"], "", 0, r"usage: git-credential-copilot doctor", r"^$"),
    ([], "", 2, r"^$", r"no action given"),
    (["fetch"], "", 2, r"^$", r"invalid choice: 'fetch'"),
    (["get", "extra"], "", 2, r"^$", r"unrecognized arguments: extra"),
    (["--verbose", "get"], "", 2, r"^$", r"unrecognized arguments: --verbose"),
    (["--profile"], "", 2, r"^$", r"--profile: expected one argument"),
    (["get", "--format", "json"], "", 2, r"^$", r"unrecognized arguments: --format json"),
    (["token", "--format", "yaml"], "", 2, r"^$", r"invalid choice: 'yaml'"),
    (["token", "--min-ttl", "\u00b2"], "", 2, r"^$", r"--min-ttl: takes whole seconds"),
    (["token", "--min-ttl", "-5"], "", 2, r"^$", r"--min-ttl"),
    (["login", "--with-token=ghp_" + "s" * 36], "", 2, r"^$",
     r"^git-credential-copilot: --with-token takes no value: the token is read from stdin\n$"),
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


def test_parse_args_takes_the_profile_before_or_after_the_action():
    out = io.StringIO()
    args = cli.parse_args(["token", "--profile", "work", "--format", "json", "--renew"], out)
    assert (args.action, args.profile, args.format, args.renew) == ("token", "work", "json", True)
    assert cli.parse_args(["--profile=work", "get"], out).profile == "work"
    assert cli.parse_args(["get"], out).profile == ""


def test_parse_args_rejects_renew_outside_token():
    with pytest.raises(UsageError):
        cli.parse_args(["get", "--renew"], io.StringIO())


def test_no_usage_error_echoes_a_token():
    secret = "ghp_" + "s" * 36
    for argv in (["login", f"--with-token={secret}"], ["token", f"--bogus={secret}"],
                 ["token", "--min-ttl", secret], [secret]):
        with pytest.raises(UsageError) as caught:
            cli.parse_args(argv, io.StringIO())
        assert secret not in str(caught.value), argv


BEFORE = ([], [], [], ["--profile", "w"], ["--profile=w"], ["--version"], ["--prof", "w"], ["-h"],
          ["--profile", "get"], ["--profile"], ["x"])
AFTER = ("--profile", "w", "--help", "--", "x", "get", "--format", "json", "text", "--renew",
         "--min-ttl", "5", "--system", "--from", "litellm", "--with-token", "codex", "aider",
         "--dry-run", "--default", "-x")


def parsed(argv: list[str]) -> tuple[object, str, str]:
    """What parse_args makes of ``argv``: the namespace (or None), what it printed, the error."""
    out = io.StringIO()
    try:
        args = cli.parse_args(argv, out)
    except UsageError as e:
        return None, out.getvalue(), str(e)
    return (vars(args) if args else None), out.getvalue(), ""


def test_building_only_the_named_action_parses_every_command_line_as_the_whole_parser(
        monkeypatch):
    """parse_args builds the subcommand the command line names, not all twelve. On 100
    command lines (top-level options or noise, an action, then its options, others' options,
    help and values that look like actions) it must answer, print and fail exactly as with
    every subcommand built."""
    rng = random.Random(1)
    actions = sorted(cli.ACTIONS)
    lines = [[*rng.choice(BEFORE), *rng.choices(actions, k=1),
              *rng.choices(AFTER, k=rng.randint(0, 2))] for _ in range(100)]
    lazy = [parsed(argv) for argv in lines]
    monkeypatch.setattr(cli, "named_action", lambda argv: None)
    whole = [parsed(argv) for argv in lines]
    assert sum(1 for args, _, _ in lazy if args) > 8  # some parse; most are mistakes
    assert sum(1 for _, out, _ in lazy if "usage:" in out) > 8  # and some print help
    for argv, got, want in zip(lines, lazy, whole):
        assert got == want, argv
