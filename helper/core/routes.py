"""Which profile answers for a host: one rule, on a plain value both paths build.

The full path builds a ``RouteTable`` from the configuration; the cached ``get`` decodes the
same table from the routes file the full path saved (``helper.core.cachefiles``). Both
call ``choose``. Standard library only, nothing imported: the cached ``get`` runs this.

The rule: ``--profile`` (or ``GIT_CREDENTIAL_COPILOT_PROFILE``) wins, and must claim the
host; else the default profile, then the others in file order, each by a host it claims;
then by the API host its provider last named (``endpoints.api``, remembered in its state).
With no host at all, the chosen or default profile answers. A token only ever goes to a host
its profile claims.
"""

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: the cached get imports this module
if TYPE_CHECKING:
    from collections.abc import Callable


class Route:
    """One profile as routing sees it: its name, the server and client that issue its tokens
    (a fingerprint), its API base, the hosts it claims and its login host."""

    __slots__ = ("name", "issuer", "api_base", "hosts", "login_host")

    def __init__(self, name: str, issuer: str, api_base: str, hosts: tuple[str, ...],
                 login_host: str = ""):
        self.name = name
        self.issuer = issuer
        self.api_base = api_base
        self.hosts = hosts
        self.login_host = login_host


class RouteTable:
    """The profiles in the order routing tries them (the default first), and the override."""

    __slots__ = ("routes", "override")

    def __init__(self, routes: "list[Route]", override: str = ""):
        self.routes = routes
        self.override = override

    def route(self, name: str) -> "Route":
        for route in self.routes:
            if route.name == name:
                return route
        raise KeyError(name)


class Choice:
    """The route chosen, and whether by the API host its state remembers (which the cached
    path checks against the token file before trusting it)."""

    __slots__ = ("route", "by_remembered")

    def __init__(self, route: "Route", by_remembered: bool = False):
        self.route = route
        self.by_remembered = by_remembered


def choose(table: "RouteTable", host: str, remembered: "Callable[[str], str]",
           override: str = "", include_login: bool = False) -> "Choice | None":
    """The route that answers for ``host`` (lower case), or None when none may have a token.
    ``remembered(name)``: the API host that profile's state remembers ("" for none).
    ``override``: ``--profile`` (else the table's). ``include_login``: ``store`` and
    ``erase`` also address a profile at its login host. KeyError for an unknown override."""
    chosen = override or table.override
    candidates = [table.route(chosen)] if chosen else table.routes
    if not host:
        return Choice(candidates[0])
    for route in candidates:
        if host in route.hosts or (include_login and host == route.login_host):
            return Choice(route)
    for route in candidates:
        if remembered(route.name) == host:
            return Choice(route, by_remembered=True)
    return None
