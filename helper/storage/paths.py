"""Where the helper keeps its files, per the XDG Base Directory spec.

Spec: https://specifications.freedesktop.org/basedir-spec/latest/

- config: ``$XDG_CONFIG_HOME/git-credential-copilot/config.toml`` (or
  ``$GIT_CREDENTIAL_COPILOT_CONFIG``)
- state:  ``$XDG_STATE_HOME/git-credential-copilot/`` - short-lived tokens, locks
- data:   ``$XDG_DATA_HOME/git-credential-copilot/`` - long-lived secrets when no keyring
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

APP = "git-credential-copilot"


def _base(env: Mapping[str, str], var: str, fallback: str) -> Path:
    value = env.get(var, "")
    # The spec says relative paths are invalid and must be ignored.
    if value and os.path.isabs(value):
        return Path(value)
    home = env.get("HOME") or os.path.expanduser("~")
    return Path(home) / fallback


def config_file(env: Mapping[str, str]) -> Path:
    explicit = env.get("GIT_CREDENTIAL_COPILOT_CONFIG")
    if explicit:
        return Path(explicit)
    return _base(env, "XDG_CONFIG_HOME", ".config") / APP / "config.toml"


def state_dir(env: Mapping[str, str]) -> Path:
    return _base(env, "XDG_STATE_HOME", ".local/state") / APP


def data_dir(env: Mapping[str, str]) -> Path:
    return _base(env, "XDG_DATA_HOME", ".local/share") / APP


def cache_dir(env: Mapping[str, str]) -> Path:
    return _base(env, "XDG_CACHE_HOME", ".cache") / APP
