"""The command line: ``git-credential-copilot [--profile NAME] ACTION``.

Every command takes its streams and environment as arguments, so tests call ``main`` in
process; only locks, signals and installation need a real subprocess. stdout carries the
credential protocol (or the token) and nothing else; everything for a person goes to stderr.
The argument parser is hand-written because argparse would cost the cached ``get`` a few
milliseconds on every LLM request.
"""

from __future__ import annotations

import os
import sys
from collections import namedtuple
from collections.abc import Callable, Mapping, Sequence

from . import __version__, cached, config, login, paths, protocol, routing, urls, wiring
from .console import Answer, Console
from .errors import EXIT_OK, HelperError, UsageError, remember_env

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: importing typing costs the cached get ~3 ms
if TYPE_CHECKING:
    from typing import BinaryIO, TextIO

    from .lifecycle import Lifecycle
    from .records import Token

USAGE = """\
usage: git-credential-copilot [--profile NAME] ACTION

Hands out fresh GitHub Copilot (or OAuth) tokens and never gets stuck on a stale one.

git credential-helper actions (key=value lines on stdin):
  get                 print a fresh token for the host on stdin
  store               import a GitHub token (host github.com) or cache a token
  erase               forget a rejected token (only if it is the current one)

commands:
  login               run a fresh device-flow login, replacing what the profile had
  logout              forget everything stored for the profile
  token [--format raw|json|env] [--renew] [--min-ttl SECONDS]
                      print the profile's token (raw: the token alone); --renew when
                      the caller's last token was rejected (a new one unless the
                      cached one is under a minute old); --min-ttl: never one with
                      less time left (a new one is minted if needed)
  status              show the login, the store and the token's expiry (no secrets)
  login --from litellm|editor, login --with-token
                      take the GitHub login LiteLLM or an editor plugin already has, or
                      one on stdin (checked with one exchange; the source is not changed)
  configure [--system], unconfigure [--system]
                      make git ask only this helper for the hosts the profiles claim
                      (an empty helper entry, then ours); unconfigure removes just that
  doctor [--format text|json]
                      check each moving part and say what to fix (read-only, no secrets)
  setup codex|claude-code|aider [--dry-run] [--default]
                      write the tool's config so it runs this helper for its token
                      (--dry-run: show the diff, write nothing); teardown undoes it

options:
  --profile NAME      use this profile (else $GIT_CREDENTIAL_COPILOT_PROFILE, the profile
                      claiming the host, or default_profile)
  --version, --help

exit codes: 0 ok, 1 no credential could be produced, 2 usage or configuration error
"""

ACTIONS = ("get", "store", "erase", "login", "logout", "token", "status",
           "configure", "unconfigure", "doctor", "setup", "teardown")
FORMATS = ("raw", "json", "env")


# namedtuples, not dataclasses: importing dataclasses costs the cached get ~9 ms.
Args = namedtuple("Args", ("action", "profile", "format", "renew", "system", "source",
                           "min_ttl", "extra"),
                  defaults=("", "raw", False, False, "", 0, ()))
Streams = namedtuple("Streams", ("stdin", "stdout", "console"))


def parse_args(argv: Sequence[str]) -> Args | str:
    """The parsed command line, or the text to print for --help/--version."""
    action, profile, fmt, renew = "", "", "", False
    system, source = False, ""
    min_ttl = ""
    items = list(argv)
    while items:
        item = items.pop(0)
        if item in ("-h", "--help", "help"):
            return USAGE
        if item == "--version":
            return f"git-credential-copilot {__version__}\n"
        name, eq, value = item.partition("=")
        if name in ("--profile", "--format", "--from", "--min-ttl"):
            if not eq:
                if not items:
                    raise UsageError(f"{name} needs a value")
                value = items.pop(0)
            if name == "--profile":
                profile = value
            elif name == "--from":
                source = value
            elif name == "--min-ttl":
                min_ttl = value
            else:
                fmt = value
        elif item == "--renew":
            renew = True
        elif item == "--system":
            system = True
        elif item == "--with-token":
            source = "stdin"
        elif item.startswith("-"):
            raise UsageError(f"unknown option {item!r}; see --help")
        elif not action:
            action = item
            if action in ("setup", "teardown"):  # the rest is theirs (commands/setup.py)
                help_asked = {"-h", "--help"} & set(items)
                return USAGE if help_asked else Args(action, profile, extra=tuple(items))
        else:
            raise UsageError(f"unexpected argument {item!r}; see --help")
    if action not in ACTIONS:
        raise UsageError(f"unknown action {action!r}; see --help" if action
                         else "no action given; see --help")
    if action == "doctor":
        return _doctor_args(profile, fmt, renew or system or source or min_ttl)
    if (fmt or renew or min_ttl) and action != "token":
        raise UsageError("--format, --renew and --min-ttl go with the token command")
    if fmt and fmt not in FORMATS:
        raise UsageError(f"--format must be one of {', '.join(FORMATS)}")
    if system and action not in ("configure", "unconfigure"):
        raise UsageError("--system goes with configure and unconfigure")
    if source and action != "login":
        raise UsageError("--from and --with-token go with the login command")
    if source not in ("", "stdin", "litellm", "editor"):
        raise UsageError("--from must be litellm or editor")
    return Args(action=action, profile=profile, format=fmt or "raw", renew=renew,
                system=system, source=source, min_ttl=_seconds("--min-ttl", min_ttl))


def _seconds(flag: str, value: str) -> int:
    """A whole number of seconds, 0 to a day (no token lives longer)."""
    if not value:
        return 0
    if not value.isdigit() or int(value) > 86400:
        raise UsageError(f"{flag} takes whole seconds from 0 to 86400, not {value[:20]!r}")
    return int(value)


def _doctor_args(profile: str, fmt: str, other: object) -> Args:
    if other or fmt not in ("", "text", "json"):
        raise UsageError("doctor takes --profile NAME and --format text|json")
    return Args(action="doctor", profile=profile, format=fmt or "text")


def main(
    argv: Sequence[str] | None = None,
    stdin: BinaryIO | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
    env: Mapping[str, str] | None = None,
) -> int:
    # A daemon may start us with fd 0/1/2 closed: Python then sets sys.stdin etc. to None.
    source = stdin if stdin is not None else getattr(sys.stdin, "buffer", None) or _Empty()
    answer = Answer(  # a closed or full stdout: one line, exit 1
        stdout if stdout is not None else sys.stdout or open(os.devnull, "w"))  # noqa: SIM115
    env = env if env is not None else os.environ
    remember_env(env)  # env tokens are masked in every line on stderr
    console = Console(stderr if stderr is not None else sys.stderr or open(os.devnull, "w"))  # noqa: SIM115
    try:
        parsed = parse_args(sys.argv[1:] if argv is None else argv)
        if isinstance(parsed, str):
            answer.write(parsed)
            answer.flush()
            return EXIT_OK
        code = run(parsed, Streams(source, answer, console), env)
        answer.flush()  # now, so a closed or full stdout is an OutputError, not a shutdown mess
        return code
    except HelperError as e:
        console.notice(str(e))
        return e.exit_code
    except KeyboardInterrupt:
        console.notice("interrupted")
        return 130
    except BrokenPipeError:
        return 1
    except Exception as e:  # never a traceback for a user; the type says where to look
        if env.get("GIT_CREDENTIAL_COPILOT_DEBUG"):
            raise
        console.notice(
            f"internal error ({type(e).__name__}); please report it, and rerun with "
            "GIT_CREDENTIAL_COPILOT_DEBUG=1 for a traceback"
        )
        return 1


class _Empty:
    """stdin when there is none: reads as EOF."""

    def readline(self, limit: int = -1) -> bytes:
        return b""


def run(args: Args, streams: Streams, env: Mapping[str, str]) -> int:
    action = CREDENTIAL_ACTIONS.get(args.action)
    key = cached.route_key(env) if args.action in ("get", "token") else ""
    if action:
        credential = protocol.read(streams.stdin)  # git's input comes first
        cfg = _config(args, env)
        code = action(cfg, credential, streams, env)
        if key:  # the routes the cached get reads next time
            cached.save_routes(key, cfg, env, _remembered(env), streams.console.notice)
        return code
    if args.action == "doctor":  # doctor reports a broken config, so it loads it itself
        from .doctor import cmd_doctor

        return cmd_doctor(args, streams, env)
    if args.action in ("setup", "teardown"):
        from .commands import setup

        return (setup.cmd_setup if args.action == "setup" else setup.cmd_teardown)(
            args, streams, env)
    cfg = _config(args, env)
    if args.action in ("configure", "unconfigure"):
        from .gitconfig import cmd_configure, cmd_unconfigure

        command = cmd_configure if args.action == "configure" else cmd_unconfigure
        return command(args, cfg, streams, env)
    profile = cfg.profile(cfg.profile_override or cfg.default_profile)
    prompt = False if args.action == "status" else None  # status answers, it never asks
    lc = wiring.lifecycle(cfg, profile, env, streams.console, prompt)
    code = COMMANDS[args.action](args, lc, profile, streams)
    if key and not args.renew:
        cached.save_routes(key, cfg, env, _remembered(env), streams.console.notice)
    return code


def _remembered(env: Mapping[str, str]) -> Callable[[config.Profile], str]:
    """The API host a profile's state remembers, as routing reads it (for the routes)."""
    state_dir = paths.state_dir(env)
    return lambda profile: routing.api_host(profile, state_dir)


def _config(args: Args, env: Mapping[str, str]) -> config.Config:
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
    protocol.write(streams.stdout, [
        ("protocol", cred.protocol or "https"),
        ("host", cred.host or api_host),
        ("username", token.username or "oauth2"),
        ("password", token.token),
        ("password_expiry_utc", str(token.expires_at)),
    ])
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


def cmd_login(args: Args, lc: Lifecycle, profile: config.Profile, streams: Streams) -> int:
    if args.source:  # an existing login: LiteLLM's file, an editor's, or stdin
        from .imports import cmd_login_from

        return cmd_login_from(args.source, lc, profile, streams)
    token = login.login(lc)
    who = f" as {token.username}" if token.username else ""
    streams.console.notice(
        f"logged in{who} (profile {profile.name!r}); token valid for "
        f"{(token.expires_at - lc.now()) / 60:.0f} min and renewed automatically"
    )
    return EXIT_OK


def cmd_logout(args: Args, lc: Lifecycle, profile: config.Profile, streams: Streams) -> int:
    login.logout(lc)
    streams.console.notice(f"logged out of profile {profile.name!r}; nothing of it is stored")
    return EXIT_OK


def cmd_token(args: Args, lc: Lifecycle, profile: config.Profile, streams: Streams) -> int:
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


def cmd_status(args: Args, lc: Lifecycle, profile: config.Profile, streams: Streams) -> int:
    from .status import status

    lines, ok = status(lc, profile)
    streams.stdout.write("\n".join(lines) + "\n")
    return EXIT_OK if ok else 1


COMMANDS = {
    "login": cmd_login, "logout": cmd_logout, "token": cmd_token, "status": cmd_status,
}
