"""``setup codex|claude-code|aider`` and ``teardown codex|claude-code|aider``.

``git-credential-copilot [--profile NAME] setup TOOL [--dry-run] [--default]`` writes the
tool's own config so the tool runs our command for its token; ``teardown TOOL [--dry-run]``
removes exactly what setup added. First the facts are measured (one token of the profile:
its API base and lifetime; for Copilot the account's model list), then every change is
worked out before anything is written: ``--dry-run`` prints them as a unified diff on
stdout and writes nothing. Everything else for a person goes to stderr.
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from helper.core import config, wiring
from helper.errors import HelperError, UsageError
from helper.tools import module, plan, record
from helper.tools.change import Change, apply, remove_dirs
from helper.tools.target import COPILOT, TERMS_LINE, Target, round_lifetime

EXIT_OK = 0

COMMAND = "git-credential-copilot"


@dataclass(frozen=True)
class Options:
    tool: str
    profile: str = ""
    dry_run: bool = False
    default: bool = False


def parse_options(args: argparse.Namespace) -> Options:
    """What the command line asked for (``commands.main`` parses it)."""
    if getattr(args, "default", False) and args.tool != "codex":
        raise UsageError("--default goes with setup codex (the other tools have no default "
                         "provider to switch)")
    return Options(args.tool, args.profile, args.dry_run, getattr(args, "default", False))


# -- setup -------------------------------------------------------------------------------


def cmd_setup(args: Any, streams: Any, env: Mapping[str, str]) -> int:
    """Write the tool's config so it takes its tokens from us."""
    options = parse_options(args)
    say = streams.console.notice
    target, notes = measure(options.profile, env, streams.console)
    tool = module(options.tool)
    wanted, tool_notes = tool.wanted(target, env, options.default)
    rec = record.load(env, options.tool, target.profile) or record.Record(
        options.tool, target.profile)
    rec.command = target.command
    changes = plan.setup(wanted, rec)
    ours = set().union(*(w.ours() for w in wanted), {w.content for w in wanted})
    if not any(c.changed for c in changes):
        say(f"{options.tool}: already set up (profile {target.profile}); nothing changed in "
            + ", ".join(str(c.path) for c in changes))
        return EXIT_OK
    if options.dry_run:
        return _show(changes, streams, ours, say)
    _make_recorded(changes, rec, env, options.tool, say)
    for line in notes + tool_notes:
        say(f"{options.tool}: {line}")
    if target.provider == COPILOT:
        say(TERMS_LINE)
    return EXIT_OK


def measure(profile_name: str, env: Mapping[str, str], console: Any) -> tuple[Target, list[str]]:
    """The facts the tools' settings are made from: one token of the profile (its API and
    lifetime), our command's path, and for Copilot the account's model list."""
    cfg = config.load(env)
    profile = cfg.profile(profile_name or cfg.profile_override or cfg.default_profile)
    command = our_command(env)
    lc = wiring.lifecycle(cfg, profile, env, console)
    token = lc.token()
    api_base = (token.api_base or profile.api_base).rstrip("/")
    if not api_base:
        raise UsageError(f"profile {profile.name!r} names no API: add api_base = \"https://…\" "
                         f"to [profiles.{profile.name}] in {cfg.path or 'the config file'}")
    lifetime = round_lifetime(token.expires_at - (token.minted_at or lc.now()))
    provider = lc.provider()
    headers = provider.api_headers()
    notes = [f"tokens of profile {profile.name} live about {_duration(lifetime)} (measured)"]
    models, why = provider.models(api_base, token.token)
    if why:
        notes.append(f"could not read the account's model list ({why}); using the "
                     "documented default models")
    # The longest a token call can take: waiting for another process's refresh, then its own.
    timeout = math.ceil(2 * (cfg.retry_budget + cfg.http_timeout + cfg.keyring_timeout))
    return Target(profile.name, profile.provider, api_base, lifetime, command, timeout,
                  models, headers), notes


def _duration(seconds: int) -> str:
    return f"{seconds // 60} min" if seconds % 60 == 0 else f"{seconds} s"


def our_command(env: Mapping[str, str]) -> str:
    """The absolute path of our executable as the PATH finds it (not resolved: an upgrade
    swaps what ``~/.local/bin/git-credential-copilot`` points to, and the tools must follow)."""
    found = shutil.which(COMMAND, path=env.get("PATH", os.defpath))
    if found:
        return os.path.abspath(found)
    argv0 = sys.argv[0] if sys.argv else ""
    if os.path.basename(argv0) == COMMAND and os.access(argv0, os.X_OK):
        return os.path.abspath(argv0)
    raise HelperError(f"cannot find {COMMAND} on PATH, and the tools need its full path: "
                      "install it (./install.sh) or add its directory to PATH, then run this "
                      "again")


# -- teardown ----------------------------------------------------------------------------


def cmd_teardown(args: Any, streams: Any, env: Mapping[str, str]) -> int:
    """Remove what setup added to the tool's config, and nothing else."""
    options = parse_options(args)
    say = streams.console.notice
    rec = _record_to_undo(options, env)
    if rec is None:
        say(f"{options.tool}: nothing of ours to remove"
            + (f" for profile {options.profile}" if options.profile else ""))
        return EXIT_OK
    changes, notes = plan.teardown(rec)
    if options.dry_run:
        for line in notes:
            say(f"{options.tool}: {line}")
        return _show([c for c in changes if c.changed], streams, set(), say)
    for change in changes:
        if change.changed:
            _make(change, options.tool, say)
            if change.new is None:
                remove_dirs(rec.files[str(change.path)].dirs)
    for line in notes:
        say(f"{options.tool}: {line}")
    if not any(c.changed for c in changes):
        say(f"{options.tool}: nothing of ours was left to remove (profile {rec.profile})")
    record.remove(env, rec)
    return EXIT_OK


def _record_to_undo(options: Options, env: Mapping[str, str]) -> record.Record | None:
    """The record of the profile named, else the only one there is, else the default
    profile's (several set up and none named: ask which)."""
    if options.profile:
        return record.load(env, options.tool, options.profile)
    found = record.all_for(env, options.tool)
    if len(found) <= 1:
        return found[0] if found else None
    default = config.load(env).default_profile
    chosen = next((r for r in found if r.profile == default), None)
    if chosen is None:
        raise UsageError(f"{options.tool} is set up for profiles "
                         f"{', '.join(r.profile for r in found)}: pass --profile NAME")
    return chosen


# -- showing and making changes ----------------------------------------------------------


def _show(changes: Sequence[Change], streams: Any, ours: set[str], say: Any) -> int:
    for change in changes:
        if change.changed:
            streams.stdout.write(change.diff(ours))
    streams.stdout.flush()
    say("dry run: nothing was written")
    return EXIT_OK


def _make_recorded(changes: Sequence[Change], rec: record.Record, env: Mapping[str, str],
                   tool: str, say: Any) -> None:
    """Record, then make the changes: a teardown after a failed write still finds what was
    done. When the first write fails nothing was changed, and the record is put back."""
    before = record.load(env, rec.tool, rec.profile)
    record.save(env, rec)
    made = False
    try:
        for change in changes:
            _make(change, tool, say)
            made = made or change.changed
    except HelperError:
        if not made:
            if before:
                record.save(env, before)
            else:
                record.remove(env, rec)
        raise


def _make(change: Change, tool: str, say: Any) -> None:
    if not change.changed:
        return
    saved = apply(change)
    if change.new is None:
        say(f"{tool}: removed {change.path}")
    elif change.old is None:
        say(f"{tool}: created {change.path}")
    else:
        say(f"{tool}: updated {change.path} (the old one is saved as {saved})")
