"""The two credentials, one record each: the long-lived *grant* and the short-lived *token*.

The *grant* comes from a login and lives in the secret store (the GitHub OAuth token for
Copilot, the refresh token for OAuth) or in an environment variable. The *token* is what
callers get (a Copilot token, an OAuth access token) and lives in the state file. The RFC
modules keep their own wire formats; providers translate those into these records.

Plain classes with ``__slots__``: a type checker sees every field, and the cached ``get``
imports neither ``typing`` nor ``dataclasses`` (each costs it milliseconds).
"""

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: the cached get imports this module
if TYPE_CHECKING:
    from collections.abc import Mapping

STORE = "store"  # the origin of a grant kept in the secret store (else: an env var's name)
EXPIRY_MARGIN = 60  # a token this close to expiry is treated as expired


class Token:
    """A short-lived token with its timing (Unix seconds, on the local clock) and the API
    base it is for, and which login minted it: ``origin`` (``STORE`` or an environment
    variable's name), ``origin_fp`` (a one-way fingerprint of that login's secret),
    ``overrides`` (environment variables that, when set, come before that login) and
    ``issuer`` (the fingerprint of the server and client that issued it: a token is never
    served once the profile names another)."""

    __slots__ = ("token", "expires_at", "refresh_at", "minted_at", "api_base", "username",
                 "origin", "origin_fp", "overrides", "issuer")

    def __init__(self, token: str, expires_at: int, refresh_at: int, minted_at: int,
                 api_base: str = "", username: str = "", origin: str = STORE,
                 origin_fp: str = "", overrides: tuple[str, ...] = (), issuer: str = ""):
        self.token = token
        self.expires_at = expires_at
        self.refresh_at = refresh_at
        self.minted_at = minted_at
        self.api_base = api_base
        self.username = username
        self.origin = origin
        self.origin_fp = origin_fp
        self.overrides = overrides
        self.issuer = issuer

    def __repr__(self) -> str:  # a repr ends up in logs: never the secret
        from helper.errors import mask

        return f"Token(token={mask(self.token)!r}, expires_at={self.expires_at})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Token) and _fields(self) == _fields(other)

    __hash__ = None  # type: ignore[assignment]  # mutable slots: not a dict key

    def fresh(self, now: float, min_ttl: float = 0) -> bool:
        """Good to hand out at ``now`` with at least ``min_ttl`` seconds left."""
        return (now < self.expires_at - EXPIRY_MARGIN and now < self.refresh_at
                and self.expires_at - now >= min_ttl)

    def serves(self, env: "Mapping[str, str]", issuer: str, dead: tuple[str, ...] = ()) -> bool:
        """May a caller with environment ``env``, whose profile now names ``issuer``, have
        this token? Only when the same server issued it and the caller's login is the one
        that minted it: no overriding variable set (unless it minted the token, or it was
        rejected: its fingerprint is in ``dead``), and a token from an environment variable
        only to a caller holding the same value."""
        if self.issuer != issuer:
            return False
        for name in self.overrides:
            value = env.get(name)
            if name != self.origin and value and fingerprint(value) not in dead:
                return False
        if self.origin == STORE:
            return True
        value = env.get(self.origin)
        return value is not None and value != "" and fingerprint(value) == self.origin_fp

    def to_dict(self) -> dict[str, object]:
        """The fields by name: the one encoding every file that keeps a token starts from."""
        return {name: getattr(self, name) for name in self.__slots__}

    @classmethod
    def from_dict(cls, raw: "Mapping[str, object]") -> "Token":
        """The token in ``raw`` (as ``to_dict`` made it); ValueError when a field is missing
        or of the wrong kind."""
        token = object.__new__(cls)
        for name, kind in _TOKEN_KINDS.items():
            value = raw.get(name, _TOKEN_DEFAULTS.get(name, _MISSING))
            if kind is tuple and isinstance(value, list):
                value = tuple(value)
            if not _is_kind(value, kind):
                raise ValueError(f"token field {name} is missing or not a {kind.__name__}")
            if kind is str and any(ch in value for ch in "\r\n\0"):  # type: ignore[operator]
                raise ValueError(f"token field {name} has a control character")
            setattr(token, name, int(value) if kind is int else value)  # type: ignore[call-overload]
        if not token.token:
            raise ValueError("empty token")
        return token


_MISSING = object()
_TOKEN_KINDS: dict[str, type] = {
    "token": str, "expires_at": int, "refresh_at": int, "minted_at": int, "api_base": str,
    "username": str, "origin": str, "origin_fp": str, "overrides": tuple, "issuer": str}
_TOKEN_DEFAULTS: dict[str, object] = {"api_base": "", "username": "", "origin_fp": "",
                                      "overrides": ()}


def _is_kind(value: object, kind: type) -> bool:
    if kind is int:
        return is_number(value)
    if kind is tuple:
        return isinstance(value, tuple) and all(isinstance(v, str) for v in value)
    return isinstance(value, kind)


class Grant:
    """What a login produced, and where it came from: ``STORE`` or an environment variable."""

    __slots__ = ("access_token", "refresh_token", "expires_at", "refresh_expires_at",
                 "username", "origin")

    def __init__(self, access_token: str = "", refresh_token: str = "",
                 expires_at: int | None = None, refresh_expires_at: int | None = None,
                 username: str = "", origin: str = STORE):
        self.access_token = access_token
        self.refresh_token = refresh_token
        self.expires_at = expires_at
        self.refresh_expires_at = refresh_expires_at
        self.username = username
        self.origin = origin

    def __repr__(self) -> str:
        from helper.errors import mask

        return (
            f"Grant(access_token={mask(self.access_token)!r}, "
            f"refresh_token={mask(self.refresh_token)!r}, username={self.username!r}, "
            f"origin={self.origin!r})"
        )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Grant) and _fields(self) == _fields(other)

    __hash__ = None  # type: ignore[assignment]

    @property
    def from_env(self) -> bool:
        return self.origin != STORE

    @property
    def secret(self) -> str:
        """The secret that identifies the login (for masks and fingerprints)."""
        return self.access_token or self.refresh_token

    def to_dict(self) -> dict[str, object]:
        """What the secret store keeps (never the origin: it is always the store)."""
        return {"version": 1, "access_token": self.access_token,
                "refresh_token": self.refresh_token, "expires_at": self.expires_at,
                "refresh_expires_at": self.refresh_expires_at, "username": self.username}

    @classmethod
    def from_dict(cls, raw: dict[str, object]) -> "Grant | None":
        """The grant in a stored object; None when it holds nothing usable."""
        grant = cls(
            access_token=_text(raw.get("access_token")),
            refresh_token=_text(raw.get("refresh_token")),
            expires_at=_number(raw.get("expires_at")),
            refresh_expires_at=_number(raw.get("refresh_expires_at")),
            username=_text(raw.get("username")),
        )
        return grant if grant.access_token or grant.refresh_token else None


class Minted:
    """A fresh token, and the grant to store when minting changed it (rotation)."""

    __slots__ = ("token", "grant")

    def __init__(self, token: "Token", grant: "Grant | None" = None):
        self.token = token
        self.grant = grant


class Authorization:
    """What a login produced: a grant, and a first token when the flow hands one out."""

    __slots__ = ("grant", "token")

    def __init__(self, grant: "Grant", token: "Token | None" = None):
        self.grant = grant
        self.token = token


def _fields(record: "Token | Grant") -> tuple[object, ...]:
    return tuple(getattr(record, name) for name in record.__slots__)


def _text(value: object) -> str:
    return value if isinstance(value, str) and value.isprintable() else ""


def is_number(value: object) -> bool:
    """An int or a float, and not a bool (JSON and TOML ``true`` is an int to Python)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def seconds(value: object) -> float | None:
    """``value`` when it is a number (and not a bool); else None."""
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def number(value: object) -> int | None:
    """``value`` as whole seconds when it is a number (and not a bool); else None."""
    found = seconds(value)
    return None if found is None else int(found)


_number = number


def fingerprint(secret: str) -> str:
    """A one-way tag for a secret; the secret itself is never written to the state file."""
    try:  # the builtin module, not hashlib: hashlib costs the cached path ~9 ms
        from _sha256 import sha256  # type: ignore[import-not-found]  # Python < 3.12
    except ImportError:
        try:
            from _sha2 import sha256  # type: ignore[import-not-found]  # Python >= 3.12
        except ImportError:
            from hashlib import sha256

    return str(sha256(secret.encode("utf-8")).hexdigest()[:32])
