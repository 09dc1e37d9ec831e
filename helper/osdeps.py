"""What differs by operating system, in one place: how a private file is opened and checked,
where the helper's directories are, how a browser is opened, the command's file name, and
recognising WSL. Everything else in the helper is the same on every OS.

Linux is the reference: its branch runs, and is tested, on every run. The macOS (``darwin``)
and Windows (``win32``) branches are written to those systems' documented behaviour; they are
type-checked for their OS (``mypy --strict --platform darwin|win32 helper``) and their pure
functions are tested by passing ``platform``, but they have not run on those systems (README,
"Platforms"). Every function takes ``platform`` (default ``sys.platform``, read once at
import) so a test can ask for another OS's answer; a call that exists on one OS only sits
behind a ``sys.platform`` test, which mypy understands.

Imports: ``sys`` and the interpreter's built-in OS module only - the cached ``get`` imports
this module, and ``os`` costs it more than a millisecond (``os`` loads ``_collections_abc``,
``stat`` and ``posixpath``; none is loaded by an interpreter started ``-I -S``). Like
``importlib._bootstrap_external``, which cannot import ``os`` either, it calls ``posix`` (or
``nt``) directly, under the name ``native``, and keeps its own few path rules (``join``,
``dirname``, ``basename``, ``isabs``, ``lexists``): ``posixpath``'s, for ``str``. Every module
the cached ``get`` imports goes through them; a test keeps ``os`` out of that path.
"""

import sys

if sys.platform == "win32":
    import nt

    native = nt
else:
    import posix

    native = posix

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: the cached get imports this module
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

PLATFORM = sys.platform
APP = "git-credential-copilot"
WINDOWS = "win32"

# -- private files ---------------------------------------------------------------------------

# Flags every open of ours adds. POSIX: O_NOFOLLOW and O_NONBLOCK refuse a symlink or a FIFO
# planted where a file goes instead of following it or blocking on it; O_CLOEXEC keeps the
# descriptor from children. Windows has none of them (a symlink there needs an administrator
# or developer mode; descriptors are not inherited); it has O_BINARY, without which os.open
# is in text mode: "\n" written as "\r\n", read back as "\n" and stopped at a Ctrl-Z - a file
# of ours would not read back as the bytes written, and ``private.read_private``'s size check
# would refuse every one. EVERY_OPEN is what every open of ours adds.
NOFOLLOW: int = getattr(native, "O_NOFOLLOW", 0)
NONBLOCK: int = getattr(native, "O_NONBLOCK", 0)
EVERY_OPEN: int = getattr(native, "O_CLOEXEC", 0) | getattr(native, "O_BINARY", 0)

STALE_TEMP = 600.0  # seconds: Windows' test for an abandoned temp file (see writer_gone)
REPLACE_TRIES = 20  # Windows: os.replace attempts while a reader holds the target open
REPLACE_PAUSE = 0.025  # seconds between them: 20 tries, about half a second in all


# -- paths and the environment, without ``os`` -------------------------------------------------

if sys.platform == "win32":
    # The command starts with ``site`` there (pip's .exe), so ``os`` is loaded already, and
    # Windows paths (drives, UNC, two separators) are ntpath's to parse.
    import os

    join, dirname, basename = os.path.join, os.path.dirname, os.path.basename
    isabs, lexists = os.path.isabs, os.path.lexists

    def environ() -> "Mapping[str, str]":
        """The process environment, as ``os.environ`` has it."""
        return os.environ
else:
    def join(directory: str, *names: str) -> str:
        """``os.path.join`` (posixpath's rule)."""
        path = directory
        for name in names:
            if name.startswith("/"):
                path = name
            elif not path or path.endswith("/"):
                path += name
            else:
                path += "/" + name
        return path

    def dirname(path: str) -> str:
        """``os.path.dirname`` (posixpath's rule)."""
        head = path[:path.rfind("/") + 1]
        if head and head != "/" * len(head):
            head = head.rstrip("/")
        return head

    def basename(path: str) -> str:
        """``os.path.basename`` (posixpath's rule)."""
        return path[path.rfind("/") + 1:]

    def isabs(path: str) -> bool:
        """``os.path.isabs`` (posixpath's rule)."""
        return path.startswith("/")

    def lexists(path: str) -> bool:
        """``os.path.lexists``: something is there, a dangling symlink included."""
        try:
            native.lstat(path)
        except (OSError, ValueError):
            return False
        return True

    def environ() -> "Mapping[str, str]":
        """The process environment, decoded as ``os.environ`` decodes it (the file system's
        encoding; undecodable bytes as surrogates)."""
        code = sys.getfilesystemencoding()
        return {key.decode(code, "surrogateescape"): value.decode(code, "surrogateescape")
                for key, value in native.environ.items()}


def owned(uid: int, platform: str = PLATFORM) -> bool:
    """Does a file (or a socket) whose owner is ``uid`` belong to this account?

    POSIX: its owner is the effective uid. Windows has no uid (``st_uid`` is always 0): a file
    under the user's profile (``%LOCALAPPDATA%``, ``%APPDATA%``) is protected by the profile's
    ACL, which lets only that user, SYSTEM and administrators in - there is nothing to check.
    """
    if platform == WINDOWS:
        return True
    return uid == _euid()


def exposed(mode: int, platform: str = PLATFORM) -> bool:
    """Can other accounts read a file or directory of this ``st_mode``?

    POSIX: any group or other permission bit. Windows makes its mode bits up (0o666, 0o444
    when read-only, 0o777 for a directory): they say nothing, the profile's ACL decides.
    """
    return platform != WINDOWS and bool(mode & 0o077)


def writer_gone(pid: int, age: float, platform: str = PLATFORM) -> bool:
    """Is the writer of a temp file gone (so the file may be swept)? ``pid`` wrote it, ``age``
    seconds ago.

    POSIX: signal 0 asks the kernel whether the process exists. Windows has no signal 0:
    ``os.kill`` there terminates the process, or with 0 (``CTRL_C_EVENT``) sends Ctrl-C to a
    console group. So on Windows a temp file older than ``STALE_TEMP`` is abandoned: writing
    one of our files takes milliseconds.
    """
    if platform == WINDOWS:
        return age > STALE_TEMP
    try:
        native.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False  # it exists, but is not ours to signal
    return False


def replace(source: str, target: str, platform: str = PLATFORM,
            rename: "Callable[[str, str], None]" = native.replace,
            pause: "Callable[[float], None] | None" = None) -> None:
    """``os.replace``, atomic on every OS. On Windows a file another process has open (a
    cached ``get`` reading it) cannot be replaced - Python opens files without
    ``FILE_SHARE_DELETE`` - and the rename fails with PermissionError until it is closed:
    there it is retried for about half a second."""
    tries = REPLACE_TRIES if platform == WINDOWS else 1
    for attempt in range(1, tries + 1):
        try:
            rename(source, target)
            return
        except PermissionError:
            if attempt == tries:
                raise
        if pause is None:
            import time

            pause = time.sleep
        pause(REPLACE_PAUSE)


if sys.platform == "win32":
    def _euid() -> int:
        raise OSError("Windows has no uid")  # not reached: owned() answers first there

    def chmod_fd(fd: int, mode: int) -> None:
        """Windows: nothing - its mode bits are made up; the profile's ACL decides (owned)."""
else:
    def _euid() -> int:
        return native.geteuid()

    def chmod_fd(fd: int, mode: int) -> None:
        """Set the open file ``fd``'s permission bits (the umask may have taken some away)."""
        native.fchmod(fd, mode)


def file_store_note(platform: str = PLATFORM) -> str:
    """What protects the file store, for where it is described (``status``, ``doctor``)."""
    if platform == WINDOWS:
        return " (protected only by your Windows user profile's access control list)"
    return ""


def file_fallback(platform: str = PLATFORM) -> bool:
    """May ``store = "auto"`` fall back to the file store when the keyring does not answer?

    POSIX: yes - a Linux machine without a desktop session has no Secret Service, and a 0600
    file in a 0700 directory is the usual place (like ``gh``'s and git's own files). Windows:
    no - Credential Manager is always there, so a failure is worth an error, and a file
    protected only by the profile's ACL is used only when asked for (``store = "file"``).
    """
    return platform != WINDOWS


# -- where the files go ------------------------------------------------------------------------

# The XDG Base Directory spec (https://specifications.freedesktop.org/basedir-spec/latest/):
# each kind's variable and its default under HOME.
XDG = {"config": ("XDG_CONFIG_HOME", ".config"), "state": ("XDG_STATE_HOME", ".local/state"),
       "data": ("XDG_DATA_HOME", ".local/share"), "cache": ("XDG_CACHE_HOME", ".cache")}
# Every variable app_dir reads, on some OS.
DIR_INPUTS = ("XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "HOME",
              "APPDATA", "LOCALAPPDATA", "USERPROFILE")


def app_dir(kind: str, env: "Mapping[str, str]", platform: str = PLATFORM) -> str:
    """The helper's directory of ``kind``: ``config`` (settings), ``state`` (short-lived
    tokens, locks), ``data`` (the file store's logins), ``cache`` (what may be fetched again).

    Linux and macOS: XDG - ``$XDG_CONFIG_HOME/git-credential-copilot`` etc., by default under
    ``~/.config``, ``~/.local/state``, ``~/.local/share``, ``~/.cache``. On macOS that is a
    choice, not the OS's convention (``~/Library/Application Support``): it is where git
    (``~/.config/git``) and gh keep theirs, and one set of paths serves both systems.

    Windows: an XDG variable set explicitly still wins; otherwise settings in ``%APPDATA%``
    (the roaming profile: they follow the user), the rest in ``%LOCALAPPDATA%`` (logins,
    tokens and locks stay on this machine), one folder each under ``git-credential-copilot``.
    """
    var, default = XDG[kind]
    value = env.get(var, "")
    if value and isabs(value):  # the spec: a relative path is invalid, ignore it
        return join(value, APP)
    if platform == WINDOWS:
        profile = env.get("USERPROFILE") or _home()
        if kind == "config":
            return join(_absolute(env, "APPDATA", profile, "Roaming"), APP)
        return join(_absolute(env, "LOCALAPPDATA", profile, "Local"), APP, kind)
    return join(env.get("HOME") or _home(), default, APP)


def _absolute(env: "Mapping[str, str]", var: str, profile: str, under: str) -> str:
    value = env.get(var, "")
    return value if value and isabs(value) else join(profile, "AppData", under)


def _home() -> str:
    """The home directory without HOME (USERPROFILE): the password database's, as ``~``."""
    import os

    return os.path.expanduser("~")


# -- the installed command ---------------------------------------------------------------------


def command_file(platform: str = PLATFORM) -> str:
    """The installed command's file name. git runs ``git-credential-copilot`` for
    ``credential.helper = copilot``; on Windows it (like every program there) finds only a
    file with an executable extension: pip's console-script launcher, ``.exe``."""
    return f"{APP}.exe" if platform == WINDOWS else APP


def newlines_as_written(stream: object, platform: str = PLATFORM) -> None:
    """Windows: write "\\n" as it is, not as "\\r\\n" (what text streams do there), so git's
    protocol and ``token``'s output are the same bytes on every OS, and a shell's ``$(...)``
    does not keep a "\\r" at the end of the token."""
    reconfigure = getattr(stream, "reconfigure", None)
    if platform == WINDOWS and reconfigure is not None:
        reconfigure(newline="\n")


def exit_now(code: int) -> None:
    """End the process at once with ``code`` when nothing is left to run at exit; else return.

    The interpreter's teardown frees every module and object one by one: about 2 ms, a fifth
    of a cached ``get``, for a process whose answer is already written (compare
    ``python -I -S -c pass`` with ``python -I -S -c "import posix; posix._exit(0)"``). It is
    skipped only when nothing needs it: no ``atexit`` hook is registered (coverage, for one,
    saves its data from one), and stdout and stderr flush here without an error (else the
    usual exit reports it). An interpreter without ``atexit._ncallbacks`` (not CPython)
    exits the usual way.
    """
    import atexit

    hooks = getattr(atexit, "_ncallbacks", None)
    if hooks is None or hooks():
        return
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):  # a closed or broken stream: the usual exit reports it
        return
    if sys.platform == "win32":
        import os  # loaded already there (osdeps' paths); nt's stub lacks _exit

        os._exit(code)
    else:
        native._exit(code)


# -- the browser -------------------------------------------------------------------------------


NO_BROWSER = ("no browser can be opened here (no DISPLAY, WAYLAND_DISPLAY or BROWSER; under "
              "WSL, no wslview)")


def browser_command(env: "Mapping[str, str]", platform: str = PLATFORM,
                    osrelease: str = "/proc/sys/kernel/osrelease") -> list[str] | None:
    """The command that opens a link (the link is its last argument), or None when no browser
    can open here (``auto`` then signs in with a device code).

    macOS and Windows: Python's ``webbrowser`` (``open`` on macOS, the default browser through
    ``os.startfile`` on Windows). Linux with ``$BROWSER``, a display or Wayland: ``webbrowser``
    too (it honours ``$BROWSER``; without a display it would start a text browser on the
    terminal). WSL without those: ``wslview`` (from wslu), which opens Windows' default
    browser; the loopback redirect reaches this side through WSL's localhost forwarding.
    """
    webbrowser = [sys.executable, "-I", "-m", "webbrowser", "-t"]
    if platform == "darwin" or platform.startswith(("win", "cygwin")):
        return webbrowser
    if any(env.get(name) for name in ("BROWSER", "DISPLAY", "WAYLAND_DISPLAY")):
        return webbrowser
    wslview = find_command("wslview", env) if is_wsl(env, platform, osrelease) else None
    return [wslview] if wslview else None


def find_command(name: str, env: "Mapping[str, str]") -> str | None:
    """The executable ``name`` on ``env``'s PATH (``shutil.which``, without its imports)."""
    import os

    for folder in env.get("PATH", "").split(os.pathsep):
        candidate = os.path.join(folder, name)
        if folder and os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return None


# -- WSL ---------------------------------------------------------------------------------------


def is_wsl(env: "Mapping[str, str]", platform: str = PLATFORM,
           osrelease: str = "/proc/sys/kernel/osrelease") -> bool:
    """Linux inside Windows (WSL 1 or 2): ``WSL_DISTRO_NAME`` is set in its shells, and its
    kernel's release names Microsoft (``5.15.153.1-microsoft-standard-WSL2``)."""
    if not platform.startswith("linux"):
        return False
    if env.get("WSL_DISTRO_NAME"):
        return True
    try:
        with open(osrelease, encoding="ascii", errors="replace") as f:
            return "microsoft" in f.read(256).lower()
    except OSError:
        return False


class Finding:
    """One line for ``doctor``: what was found here; with a ``fix``, a caveat worth a warning
    (it works, but could work better)."""

    __slots__ = ("name", "detail", "fix")

    def __init__(self, name: str, detail: str, fix: str = ""):
        self.name = name
        self.detail = detail
        self.fix = fix


def wsl_findings(env: "Mapping[str, str]", platform: str = PLATFORM,
                 osrelease: str = "/proc/sys/kernel/osrelease") -> "list[Finding]":
    """Under WSL: where the login is kept and how a browser sign-in opens; nothing elsewhere."""
    if not is_wsl(env, platform, osrelease):
        return []
    distro = env.get("WSL_DISTRO_NAME") or "WSL"
    kept = Finding("wsl", f"{distro}: logins are kept on the Linux side - the Secret Service if "
                   "one runs in this distribution, else files in "
                   f"{app_dir('data', env, platform)} - not in Windows' Credential Manager; "
                   "Windows' git and this one do not share them")
    command = browser_command(env, platform, osrelease)
    if command is None:
        opens = Finding("wsl browser", "no browser opener (no wslview, BROWSER or display): "
                        "sign-ins show a device code", "install wslu for wslview (`sudo apt "
                        "install wslu`), or set BROWSER, to sign in with Windows' browser")
    elif command[0] == sys.executable:
        how = f"$BROWSER ({env['BROWSER']})" if env.get("BROWSER") else "the display's browser"
        opens = Finding("wsl browser", f"browser sign-ins open through {how}")
    else:
        opens = Finding("wsl browser", f"browser sign-ins open Windows' browser through "
                        f"{command[0]}")
    return [kept, opens]
