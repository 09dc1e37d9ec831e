"""The providers by name: the ``provider`` key of a profile -> that provider's spec.

Adding a provider is one module declaring a ``ProviderSpec`` (see base.py) and one entry
here. The specs are plain values the configuration reads on every ``get``, so each provider
module keeps its top-level imports light.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from helper.errors import ConfigError
from helper.providers import copilot, oauth
from helper.providers.base import Provider, ProviderSpec

if TYPE_CHECKING:
    from pathlib import Path

    from helper.net.transport import Transport
    from helper.providers.profile import Profile

SPECS: Mapping[str, ProviderSpec] = {spec.name: spec for spec in (copilot.SPEC, oauth.SPEC)}


def names() -> tuple[str, ...]:
    return tuple(SPECS)


def spec(name: str) -> ProviderSpec:
    """The spec of provider ``name``."""
    try:
        return SPECS[name]
    except KeyError:
        raise ConfigError(f"no provider named {name!r} (known: {', '.join(SPECS)})") from None


def build(profile: Profile, transport: Transport, cache_dir: Path,
          env: Mapping[str, str] | None = None) -> Provider:
    """The provider a profile names, making its requests through ``transport``."""
    return spec(profile.provider).provider(profile, transport, cache_dir, env)
