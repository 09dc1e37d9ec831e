"""Where the helper keeps its files, per the XDG Base Directory spec, and the environment
variables that decide it.

Spec: https://specifications.freedesktop.org/basedir-spec/latest/ (Linux and macOS; the
directories on Windows, in ``%APPDATA%`` and ``%LOCALAPPDATA%``: ``osdeps.app_dir``)

- config: ``$XDG_CONFIG_HOME/git-credential-copilot/config.toml`` (or
  ``$GIT_CREDENTIAL_COPILOT_CONFIG``)
- state:  ``$XDG_STATE_HOME/git-credential-copilot/`` - short-lived tokens, locks
- data:   ``$XDG_DATA_HOME/git-credential-copilot/`` - long-lived secrets when no keyring
- cache:  ``$XDG_CACHE_HOME/git-credential-copilot/`` - what may be fetched again (discovery)

The rules are the ``*_path`` string functions (``osdeps`` only: the cached ``get`` calls
them); the ``Path`` functions wrap them for the rest of the helper.
"""

from helper import osdeps

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: the cached get imports this module
if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

APP = osdeps.APP

# The environment variables the configuration reads: where it is, and what overrides it.
CONFIG_VAR = "GIT_CREDENTIAL_COPILOT_CONFIG"
PROFILE_VAR = "GIT_CREDENTIAL_COPILOT_PROFILE"
STORE_VAR = "GIT_CREDENTIAL_COPILOT_STORE"
INTERACTIVE_VAR = "GIT_CREDENTIAL_COPILOT_INTERACTIVE"
# Every variable that can change which profile answers, or where its files are.
CONFIG_INPUTS = (CONFIG_VAR, PROFILE_VAR, STORE_VAR, INTERACTIVE_VAR, *osdeps.DIR_INPUTS)


def config_path(env: "Mapping[str, str]") -> str:
    return env.get(CONFIG_VAR) or osdeps.join(osdeps.app_dir("config", env), "config.toml")


def state_path(env: "Mapping[str, str]") -> str:
    return osdeps.app_dir("state", env)


def profile_state_file(state_dir: str, profile: str) -> str:
    """A profile's state file (its cached token, API base, erase log) in ``state_dir``."""
    return osdeps.join(state_dir, f"{profile}.json")


def profile_of_state_file(state_file: str) -> str:
    """The profile whose state file ``state_file`` is (``profile_state_file`` reversed)."""
    name = osdeps.basename(state_file)
    return name[:-5] if name.endswith(".json") else name


def config_file(env: "Mapping[str, str]") -> "Path":
    from pathlib import Path

    return Path(config_path(env))


def state_dir(env: "Mapping[str, str]") -> "Path":
    from pathlib import Path

    return Path(state_path(env))


def data_dir(env: "Mapping[str, str]") -> "Path":
    from pathlib import Path

    return Path(osdeps.app_dir("data", env))


def cache_dir(env: "Mapping[str, str]") -> "Path":
    from pathlib import Path

    return Path(osdeps.app_dir("cache", env))
