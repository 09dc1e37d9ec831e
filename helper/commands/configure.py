"""git's side of the set-up: ``configure`` / ``unconfigure``, and which helpers git would ask.

git asks every credential helper configured for a URL, in config order, and an empty
``helper =`` resets the list (see gitcredentials(7), "credential.helper"). A storing helper
configured for all hosts (``store``, ``osxkeychain`` — macOS git's default —, ``manager`` —
Git for Windows' —, ``cache``) would otherwise answer first with a Copilot token it saved
hours ago. So for every host the profiles claim, ``configure`` writes a section of its own::

    [credential "https://api.githubcopilot.com/"]
        copilotConfigured = true
        helper =
        helper = copilot

The trailing slash makes it our own: git matches ``https://api.githubcopilot.com/`` exactly
as it matches ``https://api.githubcopilot.com``, but ``git config`` edits them as two
sections, and it cannot remove one of two equal values in a section (a ``helper = copilot``
of the user's next to ours). The marker says configure wrote the section: ``unconfigure``
removes the marker and our two values from every marked section (the section too, once
empty), and touches no other section, line or comment. A section with our spelling but no
marker is the user's and is left alone.

Each run holds a file lock (concurrent runs would each add the pair) and converges: it reads
the section and writes only what is missing or wrong, so a run killed between two ``git
config`` calls is completed by the next one. The login host (github.com) is never
configured: git's ``approve`` after a push would hand our helper the push credentials.
"""
from __future__ import annotations

import subprocess
import time
from collections import namedtuple
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, NamedTuple
from urllib.parse import urlsplit

from filelock import FileLock, Timeout

from helper import osdeps
from helper.errors import HelperError, LockTimeout
from helper.net.urls import host_of, is_loopback
from helper.storage import files, paths, state

if TYPE_CHECKING:
    from typing import Any

OURS = "copilot"  # git runs `git-credential-copilot` for this
STORING = ("store", "osxkeychain", "manager", "manager-core", "wincred", "cache",
           "libsecret", "gnome-keyring", "netrc")

Helper = namedtuple("Helper", ("value", "origin"))
Notice = Callable[[str], None]


def _quiet(_: str) -> None:
    pass


class GitError(HelperError):
    """git is missing, or refused to read or change a config file."""

    def __init__(self, message: str, detail: str = ""):
        super().__init__(message)
        self.detail = detail  # git's own reason, when git ran and refused


# -- which URLs the profiles claim --------------------------------------------------------


def claimed_urls(cfg: Any, env: Mapping[str, str], console: Any) -> list[str]:
    """``scheme://host`` for every host any profile answers for, in a stable order."""
    urls: list[str] = []
    for profile in cfg.profiles.values():
        for url in profile_urls(cfg, profile, env, console):
            if url not in urls:
                urls.append(url)
    return urls


def profile_urls(cfg: Any, profile: Any, env: Mapping[str, str], console: Any) -> list[str]:
    """The URLs one profile claims: its hosts, the API host the exchange last named, and
    for a GHE.com tenant its Copilot API host."""

    urls = [_url_for(host) for host in profile.hosts]
    api_base = _remembered_api_base(cfg, profile, env, console)
    if api_base:
        urls.append(f"{urlsplit(api_base).scheme}://{host_of(api_base)}")
    login = profile.login_host
    if login.endswith(".ghe.com"):
        urls.append(f"https://copilot-api.{login}")
    return list(dict.fromkeys(urls))


def _url_for(host: str) -> str:
    """Tokens travel over https; plain http only to a loopback test server."""

    name = host[1:].split("]", 1)[0] if host.startswith("[") else host.rsplit(":", 1)[0]
    return f"{'http' if is_loopback(name) else 'https'}://{host}"


def _remembered_api_base(cfg: Any, profile: Any, env: Mapping[str, str],
                         console: Any) -> str:

    try:
        return state.read(state.path_for(paths.state_dir(env), profile.name), files.quiet).api_base
    except HelperError:
        return ""


# -- configure / unconfigure -----------------------------------------------------------------


def section_for(url: str) -> str:
    """Our own section for ``url``: the URL with a trailing slash. git matches it exactly as
    it matches ``url`` (both normalise to ``url/``), but ``git config`` sees another section,
    so nothing we write or remove ever shares a section with an entry of the user's."""
    return f"{url}/"


def key_for(url: str) -> str:
    return f"credential.{section_for(url)}.helper"


def configure(urls: Sequence[str], scope: str, env: Mapping[str, str],
              notice: Notice = _quiet) -> list[str]:
    """Make our section of each URL exactly the marker, the reset and ours (writing,
    completing or repairing only our entries); the lines to report."""
    with _one_at_a_time(env, notice):
        sections = read_sections(scope, env, "configure")
        return [_configure_one(url, sections.get(section_for(url), EMPTY), scope, env)
                for url in urls]


def _configure_one(url: str, section: Section, scope: str, env: Mapping[str, str]) -> str:
    key, marker = key_for(url), f"credential.{section_for(url)}.{MARKER}"
    if not section.marked and (section.helpers or section.others):
        return (f"credential.{section_for(url)} holds entries configure did not write: left "
                f"alone; move them to credential.{url} and run configure again")
    ours = section.ours()
    if section.marked == 1 and ours == PAIR:
        return f"{key}: already set"
    before = _others_asked(url, env)
    if not section.marked:  # first, so an interrupted run leaves a section known to be ours
        _set(env, scope, "--add", marker, "true")
    if ours:
        _set(env, scope, "--unset-all", key, OURS_PATTERN)
    _set(env, scope, "--add", key, "")
    _set(env, scope, "--add", key, OURS)
    if section.marked > 1:
        _set(env, scope, "--replace-all", marker, "true")
    if ours or section.marked:
        return f"{key}: repaired ({_show(ours)} before, now \"\" then {OURS})"
    after = _others_asked(url, env)
    gone = [value for value in before if value not in after]
    return (f"{key} = \"\" then {OURS}"
            + (f" (git no longer asks {', '.join(gone)} for this host)" if gone else "")
            + (f" (git still asks {', '.join(after)} after it: see doctor)" if after else ""))


def unconfigure(scope: str, env: Mapping[str, str], notice: Notice = _quiet) -> list[str]:
    """Remove our entries from every section that carries our marker (for hosts no profile
    claims any more too), and the section once nothing else is in it; the lines to report.
    Entries of the user's, wherever they are, stay."""
    with _one_at_a_time(env, notice):
        sections = read_sections(scope, env, "unconfigure")
        done = []
        for name, section in sections.items():
            if section.marked:
                done.append(_unconfigure_one(name, section, scope, env))
            elif _old_pair(section):
                done.append(f"left credential.{name}: its `helper =` then `helper = {OURS}` "
                            "lack configure's marker (yours, or an older configure's); remove "
                            f"them with `git config --{scope} --unset-all "
                            f"'credential.{name}.helper'` if you do not want them")
        return done


def _unconfigure_one(name: str, section: Section, scope: str, env: Mapping[str, str]) -> str:
    """A section holding only ours goes in one git call; beside entries of the user's, ours
    go first and the marker last, so an interrupted run leaves a marked section that the
    next run finishes."""
    theirs = len(section.helpers) - len(section.ours()) + len(section.others)
    if not theirs:
        _set(env, scope, "--remove-section", f"credential.{name}")
        return f"removed credential.{name} (helper = \"\" then {OURS})"
    if section.ours():
        _set(env, scope, "--unset-all", f"credential.{name}.helper", OURS_PATTERN)
    _set(env, scope, "--unset-all", f"credential.{name}.{MARKER}")
    entries = "1 entry" if theirs == 1 else f"{theirs} entries"
    return f"removed helper = \"\" then {OURS} from credential.{name}; kept your {entries} there"


# -- the sections, as git config reads them ----------------------------------------------------

MARKER = "copilotConfigured"  # in our section: configure wrote it (git ignores unknown keys)
PAIR = ["", OURS]  # the reset, then ours
OURS_PATTERN = f"^({OURS})?$"  # git's value pattern for our two values, and only them


class Section(NamedTuple):
    """One ``credential.<url>`` section of a config file: how many markers it holds, its
    helper values in order, and the names of its other entries."""

    marked: int
    helpers: list[str]
    others: list[str]

    def ours(self) -> list[str]:
        """The helper values configure writes: in a marked section, they are ours."""
        return [value for value in self.helpers if value in PAIR]


EMPTY = Section(0, [], [])


def read_sections(scope: str, env: Mapping[str, str], action: str) -> dict[str, Section]:
    """Every ``credential.<url>`` section in ``scope``'s file, by ``<url>`` as spelled there.
    A file git cannot parse is one line: what, and what to run."""
    out = _read(scope, env, action)
    sections: dict[str, Section] = {}
    for entry in out.split("\0")[:-1]:
        key, _, value = entry.partition("\n")
        name, dot, variable = key[len("credential."):].rpartition(".")
        if not dot:
            continue  # credential.helper itself: no URL
        marked, helpers, others = sections.get(name, EMPTY)
        if variable == MARKER.lower():  # git lowercases variable names
            sections[name] = Section(marked + 1, helpers, others)
        elif variable == "helper":
            sections[name] = Section(marked, [*helpers, value], others)
        else:
            sections[name] = Section(marked, helpers, [*others, variable])
    return sections


def _read(scope: str, env: Mapping[str, str], action: str) -> str:
    try:
        return _git(env, "config", f"--{scope}", "-z", "--get-regexp", r"^credential\.",
                    ok=(0, 1))
    except GitError as e:
        if not e.detail:
            raise
        raise GitError(
            f"cannot read the {scope} git config ({e.detail}); fix that line in a text "
            f"editor (git itself refuses to open a config it cannot parse), then run "
            f"`git-credential-copilot {action}` again; nothing was changed") from None


def _old_pair(section: Section) -> bool:
    return bool(section.helpers[-2:] == PAIR)


def _show(values: Sequence[str]) -> str:
    return ", ".join(v or '""' for v in values) or "nothing"


def _others_asked(url: str, env: Mapping[str, str]) -> list[str]:
    return [h.value for h in effective_helpers(url, env) if not is_ours(h.value)]


def _set(env: Mapping[str, str], scope: str, *args: str, ok: Sequence[int] = (0, 5)) -> None:
    """One change to ``scope``'s file. Exit 5 (nothing to unset) is fine: an earlier,
    interrupted run may have done it. Another git holding the file's lock: wait a little."""
    for _ in range(GIT_LOCK_TRIES - 1):
        try:
            _git(env, "config", f"--{scope}", *args, ok=ok)
            return
        except GitError as e:
            if not ("could not lock config file" in e.detail and "File exists" in e.detail):
                raise
        time.sleep(GIT_LOCK_RETRY)
    _git(env, "config", f"--{scope}", *args, ok=ok)


GIT_LOCK_TRIES = 50
GIT_LOCK_RETRY = 0.1
LOCK_WAIT = 120.0  # configure takes well under a second; a hung git call is cut at 30 s
LOCK_NAME = "@git-config.lock"  # '@' is no profile name's: no profile's lock is this one


@contextmanager
def _one_at_a_time(env: Mapping[str, str], notice: Notice) -> Iterator[None]:
    """configure and unconfigure read the sections, then write: one run at a time, or two
    runs would each add the pair. An OS lock, released even when its holder is killed."""


    directory = paths.state_dir(env) / "locks"
    files.ensure_private_dir(directory, notice)
    lock = FileLock(str(directory / LOCK_NAME), mode=0o600)
    try:
        lock.acquire(timeout=LOCK_WAIT)
    except Timeout:
        raise LockTimeout(
            f"gave up after {LOCK_WAIT:.0f} s waiting for another git-credential-copilot "
            f"configure or unconfigure (lock {lock.lock_file}); retry") from None
    except OSError as e:
        raise LockTimeout(f"cannot lock {lock.lock_file}: {e.strerror}") from e
    try:
        yield
    finally:
        lock.release()


# -- what git would ask ----------------------------------------------------------------------


def effective_helpers(url: str, env: Mapping[str, str]) -> list[Helper]:
    """The helpers git asks for ``url``, in order, as git builds the list (an empty
    value resets it), with the file each comes from."""
    out = _git(env, "config", "-z", "--show-origin", "--get-regexp", r"^credential\..*helper$",
               ok=(0, 1))
    helpers: list[Helper] = []
    items = out.split("\0")
    for origin, entry in zip(items[0::2], items[1::2], strict=False):
        name, _, value = entry.partition("\n")
        pattern = name[len("credential."):-len(".helper")] if name.count(".") > 1 else ""
        if pattern and not url_matches(pattern, url):
            continue
        helpers = [] if value == "" else [*helpers, Helper(value, origin)]
    return helpers


def url_matches(pattern: str, url: str) -> bool:
    """git's urlmatch for credential.<url>.*: same scheme, host (``*`` per label), port,
    and the pattern's path a prefix of the URL's."""
    p, u = urlsplit(pattern), urlsplit(url)
    if p.scheme.lower() != u.scheme.lower():
        return False
    if p.username and p.username != u.username:
        return False
    p_labels, u_labels = (p.hostname or "").split("."), (u.hostname or "").split(".")
    if len(p_labels) != len(u_labels) or not all(
            a in ("*", b) for a, b in zip(p_labels, u_labels, strict=True)):
        return False
    if (p.port or _default_port(p.scheme)) != (u.port or _default_port(u.scheme)):
        return False
    path = p.path.rstrip("/")
    return not path or u.path == path or u.path.startswith(path + "/")


def _default_port(scheme: str) -> int | None:
    return {"https": 443, "http": 80}.get(scheme.lower())


def is_ours(value: str) -> bool:
    first = value.split()[0] if value.split() else ""
    return first == OURS or first.endswith((osdeps.APP, osdeps.command_file()))


def storing(value: str) -> bool:
    """Does this helper keep what git approves (and so can serve a stale Copilot token)?"""
    first = value.split()[0] if value.split() else ""
    name = first.rsplit("/", 1)[-1].removeprefix("git-credential-")
    return name in STORING


def _git(env: Mapping[str, str], *args: str, ok: Sequence[int] = (0,)) -> str:
    try:
        result = subprocess.run(["git", *args], capture_output=True, env=dict(env),
                                timeout=30, check=False)
    except FileNotFoundError:
        raise GitError("git is not installed (or not on PATH)") from None
    except (OSError, subprocess.TimeoutExpired) as e:
        raise GitError(f"could not run git: {e}") from e
    if result.returncode not in ok:
        lines = result.stderr.decode("utf-8", "replace").strip().splitlines()
        why = lines[-1].removeprefix("fatal: ").removeprefix("error: ") if lines else ""
        why = why or f"exit {result.returncode}"
        raise GitError(f"git {' '.join(args[:3])} failed: {why}", why)
    return result.stdout.decode("utf-8", "replace")


# -- the commands ----------------------------------------------------------------------------


def cmd_configure(args: Any, cfg: Any, streams: Any, env: Mapping[str, str]) -> int:
    """``configure [--system]``: make our helper the only one git asks for our hosts."""
    scope = "system" if args.system else "global"
    lines = configure(claimed_urls(cfg, env, streams.console), scope, env,
                      streams.console.notice)
    streams.stdout.write("".join(line + "\n" for line in lines))
    return 0


def cmd_unconfigure(args: Any, cfg: Any, streams: Any, env: Mapping[str, str]) -> int:
    """``unconfigure [--system]``: remove what ``configure`` wrote, nothing else. It needs
    no configuration (``cfg`` may be None): what is ours is marked in git's own file."""
    scope = "system" if args.system else "global"
    lines = unconfigure(scope, env, streams.console.notice)
    streams.stdout.write("\n".join(lines or [f"nothing of ours in the {scope} git config"]) + "\n")
    return 0
