"""The state file: one small JSON file per profile in the state directory.

A cached ``get`` does not read it: it reads the token file the life cycle writes beside it
in ``<state_dir>/tokens/`` (``helper.core.cachefiles``), stamped with this file's stat.
Every other command reads this file first, so this module imports only the helper's file
primitives.

The file holds the current short-lived token (a Copilot token or an OAuth access token)
with its timing, the times recent tokens were erased (to tell a stale token from a policy
problem), and fingerprints of environment tokens the server rejected (so a dead
``GH_TOKEN`` is never sent again).
"""

from __future__ import annotations

from pathlib import Path

from helper.storage import files, paths
from helper.storage.records import Token, fingerprint, seconds

ERASE_WINDOW = 300  # "freshly minted tokens keep being erased": 3 erases within 5 minutes
ERASE_ALARM = 3


class State:
    """What the state file holds: ``token`` (a Token or None); ``api_base``, the last API
    base the provider named, kept after an erase so its host stays claimed; ``erased``,
    when recent tokens were erased; ``dead``, fingerprints of rejected environment tokens."""

    __slots__ = ("token", "api_base", "erased", "dead")

    def __init__(self, token: Token | None = None, api_base: str = "",
                 erased: tuple[float, ...] = (), dead: tuple[str, ...] = ()):
        self.token = token
        self.api_base = api_base
        self.erased = erased
        self.dead = dead

    def __repr__(self) -> str:
        return (f"State(token={self.token!r}, api_base={self.api_base!r}, "
                f"erased={len(self.erased)}, dead={len(self.dead)})")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, State) and (self.token, self.api_base, self.erased,
                                             self.dead) == (other.token, other.api_base,
                                                            other.erased, other.dead)

    __hash__ = None  # type: ignore[assignment]

    def cleared(self) -> State:
        """Only what outlives a login: the API base (its host stays claimed) and the
        fingerprints of rejected environment tokens (they stay rejected)."""
        return State(api_base=self.api_base, dead=self.dead)

    def with_token(self, token: Token) -> State:
        return State(token, token.api_base or self.api_base, self.erased, self.dead)

    def recent_erases(self, now: float) -> int:
        return sum(1 for t in self.erased if now - t < ERASE_WINDOW)

    def after_erase(self, now: float) -> State:
        recent = tuple(t for t in self.erased if now - t < ERASE_WINDOW)
        return State(None, self.api_base, (*recent, now)[-10:], self.dead)

    def is_dead(self, secret: str) -> bool:
        return fingerprint(secret) in self.dead

    def mark_dead(self, secret: str) -> State:
        return State(self.token, self.api_base, self.erased,
                     (*self.dead, fingerprint(secret))[-20:])


def path_for(state_dir: Path, profile: str) -> Path:
    return Path(paths.profile_state_file(str(state_dir), profile))


def read(path: Path, notice: files.Notice) -> State:
    """The state in ``path``; an empty state when it is missing or unusable."""
    try:
        raw = files.read_json(path, notice)
    except files.UnreadableFile as e:
        notice(f"ignoring {e}; it will be rewritten")
        return State()
    if raw is None:
        return State()
    try:
        return _decode(raw)
    except (KeyError, TypeError, ValueError):
        notice(f"ignoring {path}: unexpected content; it will be rewritten")
        return State()


def write(path: Path, state: State, notice: files.Notice) -> None:
    files.write_json(path, _encode(state), notice, durable=False)  # a cache: no fsync


def remove(path: Path) -> None:
    files.remove(path)


def _decode(raw: dict[str, object]) -> State:
    token = raw.get("token")
    cached = None
    if token is not None:
        if not isinstance(token, dict):
            raise TypeError("token is not an object")
        try:
            cached = Token.from_dict(token)
        except ValueError:
            cached = None  # cached by an older version, or damaged: mint one
    erased = tuple(_float(t) for t in _list(raw.get("erased", ())))
    dead = tuple(_str(d) for d in _list(raw.get("dead", ())))
    api_base = _str(raw.get("api_base", ""))
    return State(token=cached, api_base=api_base, erased=erased, dead=dead)


def _encode(state: State) -> dict[str, object]:
    out: dict[str, object] = {"version": 1, "api_base": state.api_base,
                              "erased": list(state.erased), "dead": list(state.dead)}
    if state.token is not None:
        out["token"] = {name: list(value) if isinstance(value, tuple) else value
                        for name, value in state.token.to_dict().items()}
    return out


def _str(value: object) -> str:
    if not isinstance(value, str) or any(ch in value for ch in "\r\n\0"):
        raise TypeError("expected a single-line string")
    return value


def _float(value: object) -> float:
    found = seconds(value)
    if found is None:
        raise TypeError("expected a number")
    return float(found)


def _list(value: object) -> list[object] | tuple[object, ...]:
    if not isinstance(value, (list, tuple)):
        raise TypeError("expected a list")
    return value
