"""git's side of the set-up: ``configure`` / ``unconfigure``, and which helpers git would ask.

git asks every credential helper configured for a URL, in config order, and an empty
``helper =`` resets the list (see gitcredentials(7), "credential.helper"). A storing helper
configured for all hosts (``store``, ``osxkeychain``, ``manager``, ``cache``) would otherwise
answer first with a Copilot token it saved hours ago. So for every host the profiles claim,
``configure`` writes::

    [credential "https://api.githubcopilot.com"]
        helper =
        helper = copilot

and ``unconfigure`` removes exactly that pair, nothing else. The login host (github.com)
is never configured: git's ``approve`` after a push would hand our helper the push
credentials.
"""

from __future__ import annotations

import subprocess
from collections import namedtuple
from collections.abc import Mapping, Sequence
from urllib.parse import urlsplit

from helper.errors import HelperError

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: kept out of the cached path's imports
if TYPE_CHECKING:
    from typing import Any

OURS = "copilot"  # git runs `git-credential-copilot` for this
STORING = ("store", "osxkeychain", "manager", "manager-core", "wincred", "cache",
           "libsecret", "gnome-keyring", "netrc")

Helper = namedtuple("Helper", ("value", "origin"))


class GitError(HelperError):
    """git is missing or refused a config change."""


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
    from helper.net.urls import host_of

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
    from helper.net.urls import is_loopback

    name = host[1:].split("]", 1)[0] if host.startswith("[") else host.rsplit(":", 1)[0]
    return f"{'http' if is_loopback(name) else 'https'}://{host}"


def _remembered_api_base(cfg: Any, profile: Any, env: Mapping[str, str],
                         console: Any) -> str:
    from helper.storage import files
    from helper.storage import paths
    from helper.storage import state

    try:
        return state.read(state.path_for(paths.state_dir(env), profile.name), files.quiet).api_base
    except HelperError:
        return ""


# -- configure / unconfigure -----------------------------------------------------------------


def key_for(url: str) -> str:
    return f"credential.{url}.helper"


def configure(urls: Sequence[str], scope: str, env: Mapping[str, str]) -> list[str]:
    """Write the empty entry + ours for each URL that lacks them; the lines to report."""
    done = []
    for url in urls:
        key = key_for(url)
        values = _values(key, scope, env)
        if values[-2:] == ["", OURS]:
            done.append(f"{key}: already set")
            continue
        _git(env, "config", f"--{scope}", "--add", key, "")
        _git(env, "config", f"--{scope}", "--add", key, OURS)
        kept = f" (after {len(values)} entries of yours, which it now overrides)" if values else ""
        done.append(f"{key} = \"\" then {OURS}{kept}")
    return done


def unconfigure(urls: Sequence[str], scope: str, env: Mapping[str, str]) -> list[str]:
    """Remove the pair configure wrote, and only it; the lines to report."""
    done = []
    for url in urls:
        key = key_for(url)
        values = _values(key, scope, env)
        if OURS not in values:
            continue
        _git(env, "config", f"--{scope}", "--fixed-value", "--unset-all", key, OURS)
        if values.count("") == 1:
            _git(env, "config", f"--{scope}", "--fixed-value", "--unset", key, "")
            note = ""
        else:
            note = (" (kept the empty entries: more than one, some are yours)"
                    if "" in values else "")
        _remove_empty_section(url, scope, env)
        done.append(f"removed {key} = {OURS}{note}")
    return done


def configured_urls(scope: str, env: Mapping[str, str]) -> list[str]:
    """URLs in ``scope`` holding our pair, also for hosts no profile claims any more."""
    out = _git(env, "config", f"--{scope}", "-z", "--get-regexp", r"^credential\..+\.helper$",
               ok=(0, 1))
    values: dict[str, list[str]] = {}
    for entry in out.split("\0")[:-1]:
        name, _, value = entry.partition("\n")
        values.setdefault(name[len("credential."):-len(".helper")], []).append(value)
    return [url for url, vals in values.items()
            if any(vals[i:i + 2] == ["", OURS] for i in range(len(vals) - 1))]


def _values(key: str, scope: str, env: Mapping[str, str]) -> list[str]:
    out = _git(env, "config", f"--{scope}", "-z", "--get-all", key, ok=(0, 1))
    return out.split("\0")[:-1] if out else []


def _remove_empty_section(url: str, scope: str, env: Mapping[str, str]) -> None:
    listing = _git(env, "config", f"--{scope}", "-z", "--name-only", "--list", ok=(0, 1))
    prefix = f"credential.{url}.".lower()
    if not any(name.lower().startswith(prefix) for name in listing.split("\0")):
        _git(env, "config", f"--{scope}", "--remove-section", f"credential.{url}", ok=(0, 1, 128))


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
    return first == OURS or first.endswith("git-credential-copilot")


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
        why = result.stderr.decode("utf-8", "replace").strip().splitlines()
        raise GitError(f"git {' '.join(args[:3])} failed: {why[-1] if why else result.returncode}")
    return result.stdout.decode("utf-8", "replace")


# -- the commands ----------------------------------------------------------------------------


def cmd_configure(args: Any, cfg: Any, streams: Any, env: Mapping[str, str]) -> int:
    """``configure [--system]``: make our helper the only one git asks for our hosts."""
    scope = "system" if args.system else "global"
    for line in configure(claimed_urls(cfg, env, streams.console), scope, env):
        streams.stdout.write(line + "\n")
    return 0


def cmd_unconfigure(args: Any, cfg: Any, streams: Any, env: Mapping[str, str]) -> int:
    """``unconfigure [--system]``: remove what ``configure`` wrote, nothing else."""
    scope = "system" if args.system else "global"
    urls = list(dict.fromkeys(claimed_urls(cfg, env, streams.console)
                              + configured_urls(scope, env)))
    lines = unconfigure(urls, scope, env)
    streams.stdout.write("\n".join(lines or [f"nothing of ours in the {scope} git config"]) + "\n")
    return 0
