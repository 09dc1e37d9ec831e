"""The command line: ``git-credential-copilot [--profile NAME] ACTION [OPTIONS]``.

Every command takes its streams and environment as arguments, so tests call ``main`` in
process; only locks, signals and installation need a real subprocess. stdout carries the
credential protocol (or the token) and nothing else; everything for a person goes to stderr.
Exit codes are chosen here, from the type of error (``EXIT_CODES``): 0 ok, 1 no credential
could be produced, 2 usage or configuration error, 130 interrupted.

A cached ``get`` never gets here (``helper.fast`` answers it); what it read comes in as a
``Handoff``.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, BinaryIO, NoReturn, TextIO

from helper import __version__
from helper.commands import protocol
from helper.console import Answer, Console, Streams
from helper.core import cachefiles, config, routing, wiring
from helper.core import logins as login
from helper.errors import ConfigError, HelperError, UsageError, remember_env, scrub
from helper.net import urls

if TYPE_CHECKING:
    from helper.commands.protocol import Writer
    from helper.core.lifecycle import Lifecycle
    from helper.fast import Handoff
    from helper.storage.records import Token

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
EXIT_CODES: tuple[tuple[type[BaseException], int], ...] = (
    (UsageError, EXIT_USAGE), (ConfigError, EXIT_USAGE), (HelperError, EXIT_FAILED))

DESCRIPTION = ("Hands out fresh GitHub Copilot (or OAuth) tokens and never gets stuck on a "
               "stale one.")
EPILOG = "exit codes: 0 ok, 1 no credential could be produced, 2 usage or configuration error"
FORMATS = ("raw", "json", "env")


class _Parser(argparse.ArgumentParser):
    """argparse that writes to our stdout and raises instead of exiting: one line, exit 2,
    and never a value from the command line in the message (it may be a token)."""

    out: Writer

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{scrub(message)}; see --help")

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        raise _Done(status)

    def print_help(self, file: object = None) -> None:
        self.out.write(self.format_help())


class _Done(Exception):
    """--help was printed."""

    def __init__(self, status: int):
        super().__init__(status)
        self.status = status


def _seconds(value: str) -> int:
    """A whole number of seconds in ASCII digits, 0 to a day (no token lives longer)."""
    if not (value.isascii() and value.isdigit()) or int(value) > 86400:
        raise argparse.ArgumentTypeError("takes whole seconds from 0 to 86400")
    return int(value)


def _login_options(each: _Parser) -> None:
    source = each.add_mutually_exclusive_group()
    source.add_argument("--from", dest="source", default="", metavar="SOURCE",
                        help="take a login another tool already has (copilot: litellm, "
                             "editor); the profile's provider says which it knows")
    source.add_argument("--with-token", dest="source", action="store_const", const="stdin",
                        help="read the login token from stdin (checked with one exchange)")


def _token_options(each: _Parser) -> None:
    each.add_argument("--format", choices=FORMATS, default="raw")
    each.add_argument("--renew", action="store_true",
                      help="the caller's last token may have been rejected: keep the cached "
                           "one if the API still accepts it, else mint one new token")
    each.add_argument("--min-ttl", type=_seconds, default=0, metavar="SECONDS",
                      help="never hand out a token with less time left")


def _git_config_options(each: _Parser) -> None:
    each.add_argument("--system", action="store_true",
                      help="the system git config, not the user's")


def _doctor_options(each: _Parser) -> None:
    each.add_argument("--format", choices=("text", "json"), default="text")


def _tool_options(each: _Parser) -> None:
    from helper.tools import names

    each.add_argument("tool", choices=names())
    each.add_argument("--dry-run", action="store_true",
                      help="print the change as a unified diff; write nothing")


def _setup_options(each: _Parser) -> None:
    _tool_options(each)
    each.add_argument("--default", action="store_true",
                      help="codex: make it Codex's default provider and model")


def _no_options(each: _Parser) -> None:
    pass


# The actions in --help's order: name, one line of help, what it takes beyond --profile.
SUBCOMMANDS = (
    ("get", "git: print a fresh token for the host on stdin", _no_options),
    ("store", "git: import a GitHub token (host github.com) or cache a token", _no_options),
    ("erase", "git: forget a rejected token (only if it is the current one)", _no_options),
    ("login", "sign in afresh, replacing what the profile had", _login_options),
    ("logout", "forget everything stored for the profile", _no_options),
    ("token", "print the profile's token (raw: the token alone)", _token_options),
    ("status", "show the login, the store and the token's expiry (no secrets)", _no_options),
    ("configure", "make git ask only this helper for the hosts the profiles claim",
     _git_config_options),
    ("unconfigure", "remove exactly what configure added", _git_config_options),
    ("doctor", "check each moving part and say what to fix (read-only)", _doctor_options),
    ("setup", "write an LLM tool's own config so it runs this helper for its token (GitHub's "
              "terms govern Copilot use)", _setup_options),
    ("teardown", "remove exactly what setup added to the tool's config", _tool_options),
)
ACTIONS = frozenset(name for name, _, _ in SUBCOMMANDS)


def parser(out: Writer, only: str | None = None) -> _Parser:
    """The command line, one subcommand per action, each with its own --help; with ``only``,
    that action's subcommand alone: building all twelve costs every run that is not a cached
    ``get`` several milliseconds more ("The full command line's start", docs/design.md)."""
    top = _Parser(prog="git-credential-copilot", description=DESCRIPTION, epilog=EPILOG)
    top.out = out
    top.add_argument("--profile", default="", metavar="NAME",
                     help="use this profile (else $GIT_CREDENTIAL_COPILOT_PROFILE, the profile "
                          "claiming the host, or default_profile)")
    top.add_argument("--version", action="store_true", help="print the version")
    sub = top.add_subparsers(dest="action", metavar="ACTION", parser_class=_Parser)
    for name, text, options in SUBCOMMANDS:
        if only is None or name == only:
            each: _Parser = sub.add_parser(name, help=text, description=text)
            each.out = out
            each.add_argument("--profile", default=argparse.SUPPRESS, metavar="NAME",
                              help="use this profile")
            options(each)
    return top


def named_action(argv: Sequence[str]) -> str | None:
    """The action the command line names after nothing but ``--profile NAME`` and
    ``--version``; None for anything else before it (``--help`` lists every action)."""
    words = iter(argv)
    for word in words:
        if word == "--profile":
            next(words, None)
        elif not (word.startswith("--profile=") or word == "--version"):
            return word if word in ACTIONS else None
    return None


def parse_args(argv: Sequence[str], out: Writer) -> argparse.Namespace | None:
    """The parsed command line; None when --help or --version was printed.

    Only the named action's subcommand is built. argparse reads the words before the action
    the same whatever subcommands exist, so a parse that succeeds is the whole command line's
    parse; a mistake is parsed again with every subcommand, for the message the whole
    command line gives."""
    if any(arg.startswith("--with-token=") for arg in argv):
        raise UsageError("--with-token takes no value: the token is read from stdin")
    try:
        action = named_action(argv)
        try:
            args = parser(out, only=action).parse_args(list(argv))
        except UsageError:
            if action is None:
                raise
            args = parser(out).parse_args(list(argv))
    except _Done:
        return None
    if args.version:
        out.write(f"git-credential-copilot {__version__}\n")
        return None
    if not args.action:
        raise UsageError("no action given; see --help")
    for name, default in (("format", "raw"), ("renew", False), ("min_ttl", 0), ("system", False),
                          ("source", "")):
        if not hasattr(args, name):
            setattr(args, name, default)
    return args


def main(
    argv: Sequence[str] | None = None,
    stdin: BinaryIO | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
    env: Mapping[str, str] | None = None,
    handoff: Handoff | None = None,
) -> int:
    # A daemon may start us with fd 0/1/2 closed: Python then sets sys.stdin etc. to None.
    source = stdin if stdin is not None else getattr(sys.stdin, "buffer", None) or io.BytesIO()
    answer = Answer(  # a closed or full stdout: one line, exit 1
        stdout if stdout is not None else sys.stdout or open(os.devnull, "w"))  # noqa: SIM115
    env = env if env is not None else os.environ
    remember_env(env)  # env tokens are masked in every line on stderr
    console = Console(stderr if stderr is not None else sys.stderr or open(os.devnull, "w"))  # noqa: SIM115
    try:
        args = parse_args(sys.argv[1:] if argv is None else argv, answer)
        if args is None:
            answer.flush()
            return EXIT_OK
        code = run(args, Streams(source, answer, console), env, handoff)
        answer.flush()  # now, so a closed or full stdout is an OutputError, not a shutdown mess
        return code
    except HelperError as e:
        console.notice(str(e))
        return next(code for kind, code in EXIT_CODES if isinstance(e, kind))
    except KeyboardInterrupt:
        console.notice("interrupted")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return EXIT_FAILED
    except Exception as e:  # never a traceback for a user; the type says where to look
        if env.get("GIT_CREDENTIAL_COPILOT_DEBUG"):
            raise
        console.notice(
            f"internal error ({type(e).__name__}); please report it, and rerun with "
            "GIT_CREDENTIAL_COPILOT_DEBUG=1 for a traceback"
        )
        return EXIT_FAILED


def run(args: argparse.Namespace, streams: Streams, env: Mapping[str, str],
        handoff: Handoff | None = None) -> int:
    key = cachefiles.route_key(env) if args.action in ("get", "token") else None
    if handoff is not None and handoff.routes_current:
        key = None  # the routes the cached path read are current: nothing to save
    action = CREDENTIAL_ACTIONS.get(args.action)
    if action:
        credential = _credential(streams, handoff)  # git's input comes first
        cfg = _config(args, env)
        code = action(cfg, credential, streams, env)
        routing.save_routes(key, cfg, env, streams.console.notice)
        return code
    if args.action == "doctor":  # doctor reports a broken config, so it loads it itself
        from helper.commands.doctor import cmd_doctor

        return cmd_doctor(args, streams, env)
    if args.action in ("setup", "teardown"):  # they load the config themselves
        from helper.commands import setup

        return (setup.cmd_setup if args.action == "setup" else setup.cmd_teardown)(
            args, streams, env)
    if args.action == "unconfigure":  # needs no config: it works with a broken one
        from helper.commands.configure import cmd_unconfigure

        return cmd_unconfigure(args, None, streams, env)
    cfg = _config(args, env)
    if args.action == "configure":
        from helper.commands.configure import cmd_configure

        return cmd_configure(args, cfg, streams, env)
    profile = cfg.profile(cfg.profile_override or cfg.default_profile)
    prompt = False if args.action == "status" else None  # status answers, it never asks
    lc = wiring.lifecycle(cfg, profile, env, streams.console, prompt)
    code = COMMANDS[args.action](args, lc, profile, streams)
    if not args.renew:
        routing.save_routes(key, cfg, env, streams.console.notice)
    return code


def _credential(streams: Streams, handoff: Handoff | None) -> protocol.Credential:
    """git's input: as the cached path read it (or failed to), else from stdin."""
    if handoff is not None and handoff.error is not None:
        raise handoff.error
    if handoff is not None and handoff.credential is not None:
        return handoff.credential
    return protocol.read(streams.stdin)


def _config(args: argparse.Namespace, env: Mapping[str, str]) -> config.Config:
    cfg = config.load(env)
    if args.profile:
        cfg.profile(args.profile)  # raises for an unknown profile
        cfg = cfg.but(profile_override=args.profile)
    return cfg


# -- git's credential-helper actions ----------------------------------------------------


def cmd_get(cfg: config.Config, cred: protocol.Credential, streams: Streams,
            env: Mapping[str, str]) -> int:
    profile = routing.choose_profile(cfg, cred.host, env)
    if profile is None or not routing.transport_ok(cred.protocol, cred.host):
        return EXIT_OK  # not ours: git moves on to its next helper
    token = wiring.lifecycle(cfg, profile, env, streams.console).token()
    api_base = token.api_base or profile.api_base
    api_host = urls.host_of(api_base) if api_base else ""
    protocol.write(streams.stdout, protocol.answer(cred, token, api_host))
    return EXIT_OK


def cmd_store(cfg: config.Config, cred: protocol.Credential, streams: Streams,
              env: Mapping[str, str]) -> int:
    profile = routing.choose_profile(cfg, cred.host, env, include_login=True)
    if profile is None or not cred.host or not routing.transport_ok(cred.protocol, cred.host):
        return EXIT_OK
    lc = wiring.lifecycle(cfg, profile, env, streams.console, prompt_allowed=False)
    if not cred.password:
        return EXIT_OK
    if routing.at_login_host(profile, cred.host):
        login.store_login(lc, cred.username, cred.password)
    else:
        lc.store(cred.username, cred.password, cred.password_expiry_utc)
    return EXIT_OK


def cmd_erase(cfg: config.Config, cred: protocol.Credential, streams: Streams,
              env: Mapping[str, str]) -> int:
    profile = routing.choose_profile(cfg, cred.host, env, include_login=True)
    if profile is None:
        return EXIT_OK
    lc = wiring.lifecycle(cfg, profile, env, streams.console, prompt_allowed=False)
    if routing.at_login_host(profile, cred.host):
        login.erase_login(lc, cred.password)
    else:
        lc.erase(cred.password)
    return EXIT_OK


CREDENTIAL_ACTIONS = {"get": cmd_get, "store": cmd_store, "erase": cmd_erase}


# -- commands for people and scripts ----------------------------------------------------


def cmd_login(args: argparse.Namespace, lc: Lifecycle, profile: config.Profile,
              streams: Streams) -> int:
    if args.source:  # an existing login: LiteLLM's file, an editor's, or stdin
        from helper.commands.login_from import cmd_login_from

        return cmd_login_from(args.source, lc, profile, streams)
    token = login.login(lc)
    who = f" as {token.username}" if token.username else ""
    streams.console.notice(
        f"logged in{who} (profile {profile.name!r}); token valid for "
        f"{(token.expires_at - lc.now()) / 60:.0f} min and renewed automatically"
    )
    return EXIT_OK


def cmd_logout(args: argparse.Namespace, lc: Lifecycle, profile: config.Profile,
              streams: Streams) -> int:
    login.logout(lc)
    streams.console.notice(f"logged out of profile {profile.name!r}; nothing of it is stored")
    return EXIT_OK


def cmd_token(args: argparse.Namespace, lc: Lifecycle, profile: config.Profile,
              streams: Streams) -> int:
    token = lc.renew(args.min_ttl) if args.renew else lc.token(args.min_ttl)
    streams.stdout.write(format_token(args.format, token, profile))
    streams.stdout.flush()
    return EXIT_OK


def format_token(fmt: str, token: Token, profile: config.Profile) -> str:
    if fmt == "raw":
        return token.token + "\n"
    api_base = token.api_base or profile.api_base
    if fmt == "json":
        import json

        out = {"token": token.token, "expires_at": token.expires_at, "profile": profile.name}
        if api_base:
            out["api_base"] = api_base
        return json.dumps(out) + "\n"
    import shlex

    lines = [f"export OPENAI_API_KEY={shlex.quote(token.token)}"]
    if api_base:
        lines.insert(0, f"export OPENAI_API_BASE={shlex.quote(api_base)}")
    return "\n".join(lines) + "\n"


def cmd_status(args: argparse.Namespace, lc: Lifecycle, profile: config.Profile,
              streams: Streams) -> int:
    from helper.commands.status import status

    lines, ok = status(lc, profile)
    streams.stdout.write("\n".join(lines) + "\n")
    return EXIT_OK if ok else 1


COMMANDS = {
    "login": cmd_login, "logout": cmd_logout, "token": cmd_token, "status": cmd_status,
}
