"""The token life cycle's decisions, in process: state x server answer -> outcome.

A fake provider (scripted answers, counted calls), a dict as secret store, a lock that
records what took it and a fake clock: each row runs in milliseconds and checks what was
minted, stored, dropped and said.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from helper.console import Console
from helper.core import logins as login
from helper.core.lifecycle import RENEW_GRACE, Lifecycle, Parts, Prompt
from helper.errors import CredentialError, LoginRequired
from helper.net.transport import ServerError
from helper.providers.base import GrantRevoked
from helper.storage import records, state
from helper.storage.records import Authorization, Grant, Minted, Token

from conftest import FakeClock

NOW = 1_800_000_000.0
STORED = Grant(access_token="gho_stored", username="octo")


class FakeStore:
    def __init__(self, grant: Grant | None = None):
        self.data: dict[str, dict[str, object]] = {}
        if grant is not None:
            self.data["p"] = grant.to_dict()

    def describe(self) -> str:
        return "fake"

    def read(self, profile: str) -> dict[str, object] | None:
        return self.data.get(profile)

    def write(self, profile: str, value: dict[str, object]) -> None:
        self.data[profile] = value

    def delete(self, profile: str) -> None:
        self.data.pop(profile, None)

    @property
    def grant(self) -> Grant | None:
        raw = self.data.get("p")
        return Grant.from_dict(raw) if raw else None


class Locks:
    def __init__(self) -> None:
        self.taken: list[str] = []

    def __call__(self, action: str) -> Locks:
        self.taken.append(action)
        return self

    def __enter__(self) -> Locks:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


class FakeProvider:
    """Answers each mint with the next scripted answer: "ok", "rotate", "revoked", "down";
    ``accepted``: what the API says of a cached token when ``renew`` asks."""

    env_overrides = ("COPILOT_GITHUB_TOKEN",)
    accepted: bool | None = None

    def accepts(self, token: Token) -> bool:
        self.probes = getattr(self, "probes", 0) + 1
        return self.accepted

    def __init__(self, clock: FakeClock, answers: list[str], env_grants: list[Grant] | None = None,
                 login_token: bool = True):
        self.clock = clock
        self.answers = list(answers)
        self.env_grants = env_grants or []
        self.login_token = login_token
        self.minted: list[Grant] = []
        self.logins = 0

    def sources(self, stored: Grant | None, env: object) -> list[Grant]:
        return [*self.env_grants, *([stored] if stored is not None else [])]

    def token(self, name: str) -> Token:
        now = int(self.clock())
        return Token(f"tok_{name}_{len(self.minted)}", now + 1800, now + 1500, now,
                     "https://api.example.com")

    def mint(self, grant: Grant) -> Minted:
        self.minted.append(grant)
        answer = self.answers.pop(0)
        if answer == "revoked":
            raise GrantRevoked("401: the grant was rejected")
        if answer == "down":
            raise ServerError("HTTP 503")
        rotated = Grant(access_token="gho_rotated") if answer == "rotate" else None
        return Minted(self.token("minted"), rotated)

    def authorize(self, console: Console) -> Authorization:
        self.logins += 1
        grant = Grant(access_token="gho_new_login")
        return Authorization(grant, self.token("login") if self.login_token else None)


class Box:
    """One profile's life cycle over fakes, and what it said."""

    def __init__(self, tmp_path: Path, answers: list[str] = (), grant: Grant | None = STORED,
                 cached: Token | None = None, prompt: bool = False,
                 env_grants: list[Grant] | None = None, login_token: bool = True):
        self.clock = FakeClock(NOW)
        self.store = FakeStore(grant)
        self.locks = Locks()
        self.provider = FakeProvider(self.clock, list(answers), env_grants, login_token)
        self.stderr = io.StringIO()
        self.path = tmp_path / "p.json"
        if cached is not None:
            state.write(self.path, state.State(token=cached), lambda line: None)
        parts = Parts(lambda: self.provider, lambda: self.store, self.locks, self.clock)
        self.lc = Lifecycle("p", self.path, parts, Console(self.stderr), {}, Prompt(prompt))

    @property
    def state(self) -> state.State:
        return state.read(self.path, lambda line: None)


def cached(age: float, lifetime: float = 1800) -> Token:
    minted = int(NOW - age)
    return Token("tok_cached", int(minted + lifetime), int(minted + lifetime), minted)


# state x answer -> outcome of ``token()``
@pytest.mark.parametrize("case, cache, answers, want_token, mints, grant_after", [
    ("fresh cache: no mint", cached(60), [], "tok_cached", 0, "gho_stored"),
    ("expired: mint", cached(3600), ["ok"], "tok_minted_1", 1, "gho_stored"),
    ("about to expire: mint", cached(1790), ["ok"], "tok_minted_1", 1, "gho_stored"),
    ("nothing cached: mint", None, ["ok"], "tok_minted_1", 1, "gho_stored"),
    ("rotation: new grant stored", None, ["rotate"], "tok_minted_1", 1, "gho_rotated"),
])
def test_token_outcomes(tmp_path, case, cache, answers, want_token, mints, grant_after):
    box = Box(tmp_path, answers, cached=cache)
    token = box.lc.token()
    assert token.token == want_token, case
    assert len(box.provider.minted) == mints, case
    assert box.store.grant is not None and box.store.grant.access_token == grant_after
    assert box.locks.taken == (["get"] if mints else [])  # the cached path takes no lock
    assert box.state.token == token


def test_a_revoked_grant_is_dropped_and_a_login_is_required(tmp_path):
    box = Box(tmp_path, ["revoked"])
    with pytest.raises(LoginRequired, match="rejected and deleted.*`git-credential-copilot login`"):
        box.lc.token()
    assert box.store.grant is None and box.provider.logins == 0
    assert "is dead" in box.stderr.getvalue()


def test_a_revoked_grant_where_a_person_can_see_runs_the_login(tmp_path):
    box = Box(tmp_path, ["revoked"], prompt=True)
    token = box.lc.token()
    assert token.token.startswith("tok_login") and box.provider.logins == 1
    assert box.store.grant is not None and box.store.grant.access_token == "gho_new_login"


def test_a_login_without_a_first_token_mints_one(tmp_path):
    box = Box(tmp_path, ["ok"], grant=None, prompt=True, login_token=False)
    assert box.lc.token().token.startswith("tok_minted")
    assert box.provider.minted[0].access_token == "gho_new_login"


def test_a_login_rejected_at_once_is_an_error_not_a_loop(tmp_path):
    box = Box(tmp_path, ["revoked"], grant=None, prompt=True, login_token=False)
    with pytest.raises(CredentialError, match="rejected at once"):
        box.lc.token()
    assert box.provider.logins == 1


def test_a_transient_error_keeps_the_grant(tmp_path):
    box = Box(tmp_path, ["down"], cached=cached(3600))
    with pytest.raises(ServerError):
        box.lc.token()
    assert box.store.grant == STORED
    assert box.state.token is not None  # nothing dropped either


def test_no_grant_and_no_prompt_says_not_logged_in(tmp_path):
    box = Box(tmp_path, [], grant=None)
    with pytest.raises(LoginRequired, match="not logged in"):
        box.lc.token()
    assert box.provider.minted == []


def test_a_rejected_environment_token_is_never_sent_again(tmp_path):
    env = Grant(access_token="ghp_env", origin="GH_TOKEN")
    box = Box(tmp_path, ["revoked"], grant=None, env_grants=[env])
    with pytest.raises(LoginRequired, match="GH_TOKEN was rejected"):
        box.lc.token()
    with pytest.raises(LoginRequired, match="GH_TOKEN was rejected"):
        box.lc.token()
    assert len(box.provider.minted) == 1  # the second get skipped it without asking
    assert "ghp_env" not in box.stderr.getvalue()


def test_a_dead_environment_token_falls_through_to_the_stored_login(tmp_path):
    env = Grant(access_token="ghp_env", origin="GH_TOKEN")
    box = Box(tmp_path, ["revoked", "ok"], env_grants=[env])
    assert box.lc.token().token.startswith("tok_minted")
    assert [g.origin for g in box.provider.minted] == ["GH_TOKEN", "store"]
    assert box.store.grant == STORED


@pytest.mark.parametrize("case, password, dropped", [
    ("the current token", "tok_cached", True),
    ("any token (no password given)", "", True),
    ("an older token", "tok_older", False),
])
def test_erase(tmp_path, case, password, dropped):
    box = Box(tmp_path, cached=cached(600))
    box.lc.erase(password)
    assert (box.state.token is None) == dropped, case
    assert box.store.grant == STORED  # an erase of a token never touches the login
    assert box.locks.taken == (["erase"] if dropped else [])


def test_erase_of_a_token_minted_seconds_ago_blames_the_server(tmp_path):
    box = Box(tmp_path, cached=cached(5))
    box.lc.erase("tok_cached")
    assert "a token minted 5 s ago was rejected" in box.stderr.getvalue()


def test_three_quick_erases_raise_the_alarm(tmp_path):
    box = Box(tmp_path, ["ok", "ok", "ok"])
    for _ in range(3):
        box.lc.erase(box.lc.token().token)
        box.clock.now += 10
    assert "3 freshly minted tokens were rejected" in box.stderr.getvalue()


@pytest.mark.parametrize("age, mints", [(RENEW_GRACE - 10, 0), (RENEW_GRACE + 10, 1)])
def test_renew_mints_at_most_once_a_minute(tmp_path, age, mints):
    box = Box(tmp_path, ["ok"], cached=cached(age))
    token = box.lc.renew()
    assert len(box.provider.minted) == mints
    assert (token.token == "tok_cached") == (mints == 0)


@pytest.mark.parametrize("case, password, expiry, kept", [
    ("a timed token", "tok_given", str(int(NOW) + 600), True),
    ("no expiry", "tok_given", "", False),
    ("already expired", "tok_given", str(int(NOW) - 1), False),
    ("no password", "", str(int(NOW) + 600), False),
])
def test_store_caches_only_tokens_it_can_time(tmp_path, case, password, expiry, kept):
    box = Box(tmp_path)
    box.lc.store("oauth2", password, expiry)
    got = box.state.token
    assert (got is not None) == kept, case
    assert box.path.exists() == kept  # nothing written for a token it cannot cache
    if kept:
        assert got is not None and got.token == "tok_given"
        assert got is not None and got.username == ""  # oauth2 is a placeholder, not a person


def test_login_replaces_the_login_and_logout_forgets_it(tmp_path):
    box = Box(tmp_path, cached=cached(60), prompt=True)
    token = login.login(box.lc)
    assert token.token.startswith("tok_login")
    assert box.store.grant is not None and box.store.grant.access_token == "gho_new_login"
    login.logout(box.lc)
    assert box.store.grant is None and not box.path.exists()


@pytest.mark.parametrize("case, password, deleted", [
    ("the stored login", "gho_stored", True),
    ("no password", "", True),
    ("another token", "gho_other", False),
])
def test_erase_at_the_login_host(tmp_path, case, password, deleted):
    box = Box(tmp_path, cached=cached(60))
    login.erase_login(box.lc, password)
    assert (box.store.grant is None) == deleted, case
    assert (box.state.token is None) == deleted, case


def test_store_login_replaces_the_grant_and_caches_the_token_its_check_minted(tmp_path):
    box = Box(tmp_path, ["ok"], cached=cached(60))
    login.store_login(box.lc, "octo", "gho_imported")
    assert box.provider.minted == [Grant(access_token="gho_imported", username="octo")]
    assert box.store.grant == Grant(access_token="gho_imported", username="octo")
    assert box.state.token is not None and box.state.token.token == "tok_minted_1"


# -- the cached token serves only the login that minted it (pure: the fast path calls it) ----

FP = records.fingerprint


@pytest.mark.parametrize("origin, secret, env, serves", [
    ("store", "", {}, True),
    ("store", "", {"GH_TOKEN": "ghu_b"}, True),  # a stored login comes before GH_TOKEN
    ("store", "", {"COPILOT_GITHUB_TOKEN": "ghu_b"}, False),  # ...but not before this one
    ("COPILOT_GITHUB_TOKEN", "ghu_b", {"COPILOT_GITHUB_TOKEN": "ghu_b"}, True),
    ("COPILOT_GITHUB_TOKEN", "ghu_b", {"COPILOT_GITHUB_TOKEN": "ghu_c"}, False),
    ("COPILOT_GITHUB_TOKEN", "ghu_b", {}, False),
    ("GH_TOKEN", "ghu_b", {"GH_TOKEN": "ghu_b"}, True),
    ("GH_TOKEN", "ghu_b", {"GITHUB_TOKEN": "ghu_b"}, False),
    ("GH_TOKEN", "ghu_b", {"GH_TOKEN": "ghu_b", "COPILOT_GITHUB_TOKEN": "ghu_b"}, False),
])
def test_a_token_serves_only_its_login(origin, secret, env, serves):
    token = Token("tok", 2, 2, 1, origin=origin, origin_fp=FP(secret) if secret else "",
                  overrides=("COPILOT_GITHUB_TOKEN",))
    assert token.serves(env, "srv") is False  # another server issued it
    token.issuer = "srv"
    assert token.serves(env, "srv") is serves


def test_a_rejected_override_no_longer_overrides():
    token = Token("tok", 2, 2, 1, overrides=("COPILOT_GITHUB_TOKEN",))
    env = {"COPILOT_GITHUB_TOKEN": "ghu_dead"}
    assert token.serves(env, "") is False
    assert token.serves(env, "", dead=(FP("ghu_dead"),)) is True


def test_a_token_from_the_store_never_hashes_anything(monkeypatch):
    def boom(secret: str) -> str:
        raise AssertionError("hashed on the cached path")

    monkeypatch.setattr(records, "fingerprint", boom)
    assert Token("tok", 2, 2, 1, overrides=("COPILOT_GITHUB_TOKEN",)).serves({}, "")


def test_a_minted_token_names_its_login(tmp_path):
    env_grant = Grant(access_token="ghu_env", origin="GH_TOKEN")
    box = Box(tmp_path, ["ok"], grant=None, env_grants=[env_grant])
    box.lc.env = {"GH_TOKEN": "ghu_env"}
    token = box.lc.token()
    assert (token.origin, token.origin_fp) == ("GH_TOKEN", FP("ghu_env"))
    assert box.state.token == token  # kept in the state file as minted
    box.lc.env = {}
    box.provider.env_grants = []
    with pytest.raises(LoginRequired):
        box.lc.token()  # not handed to a caller without GH_TOKEN


# -- --min-ttl, renew before the lock, a person's erase ------------------------------------


def test_min_ttl_mints_when_the_cached_token_has_less_left(tmp_path):
    box = Box(tmp_path, ["ok"], cached=cached(1000))  # 800 s left
    assert box.lc.token(min_ttl=600).token == "tok_cached"
    assert box.lc.token(min_ttl=900).token == "tok_minted_1"



def test_a_min_ttl_the_server_cannot_meet_mints_once_then_fails_at_once(tmp_path):
    box = Box(tmp_path, ["ok", "ok", "ok"], grant=Grant(access_token="gho_stored"))
    for _ in range(3):  # tokens live 1800 s: 3600 can never be met
        with pytest.raises(CredentialError, match="longest --min-ttl it allows is 1425 s"):
            box.lc.token(min_ttl=3600)
    assert len(box.provider.minted) == 1  # one token to learn the lifetime, then none
    assert box.lc.token(min_ttl=1425).token == "tok_minted_1"  # the longest allowed works
    assert len(box.provider.minted) == 1


def test_renew_of_a_just_minted_token_takes_no_lock(tmp_path):
    box = Box(tmp_path, cached=cached(10))
    assert box.lc.renew().token == "tok_cached"
    assert box.locks.taken == []


def test_a_persons_erase_says_what_it_dropped_and_is_not_counted(tmp_path):
    box = Box(tmp_path, ["ok", "ok", "ok"])
    for _ in range(3):
        box.lc.token()
        box.lc.erase("")
    said = box.stderr.getvalue()
    assert "dropped the cached token of profile 'p'" in said  # (the console says it once)
    assert "rejected" not in said and box.state.erased == ()


# -- logins are kept per server --------------------------------------------------------------


@pytest.mark.parametrize("legacy, adopted", [(True, True), (False, False)])
def test_a_login_stored_by_an_older_version_is_adopted_only_on_the_default_server(
        tmp_path, legacy, adopted):
    box = Box(tmp_path, ["ok"])  # the login sits under the bare profile name, "p"
    parts = Parts(lambda: box.provider, lambda: box.store, box.locks, box.clock)
    lc = Lifecycle("p", box.path, parts, Console(box.stderr), {}, Prompt(False),
                   issuer="srv", login_key="p@srv", legacy_login=legacy)
    if adopted:
        assert lc.token().token == "tok_minted_1"
        assert set(box.store.data) == {"p@srv"}  # moved, not copied
    else:
        with pytest.raises(LoginRequired):
            lc.token()
        assert set(box.store.data) == {"p"} and box.provider.minted == []  # never sent


def test_a_token_from_another_server_is_not_served_and_its_login_is_not_used(tmp_path):
    box = Box(tmp_path, ["ok"], cached=cached(60))  # issuer "" : minted for another server
    parts = Parts(lambda: box.provider, lambda: box.store, box.locks, box.clock)
    lc = Lifecycle("p", box.path, parts, Console(box.stderr), {}, Prompt(False),
                   issuer="srv", login_key="p@srv")
    with pytest.raises(LoginRequired, match="now names another server or client"):
        lc.token()
    assert box.provider.minted == [] and "p" in box.store.data  # first login intact

# -- found by mutation testing (scripts/mutation): each fails with its rule broken -------------


def lifecycle(box: Box, **kwargs: object) -> Lifecycle:
    """Another life cycle over the same fakes (another issuer, login key or environment)."""
    return Lifecycle("p", box.path, box.lc.parts, box.lc.console, kwargs.pop("env", {}),
                     Prompt(bool(kwargs.pop("prompt", False))), **kwargs)  # type: ignore[arg-type]


def test_renew_drops_the_rejected_token_even_when_no_new_one_can_be_minted(tmp_path):
    box = Box(tmp_path, ["down", "ok"], cached=cached(600))
    box.provider.accepted = False  # the API refuses it
    with pytest.raises(ServerError):
        box.lc.renew()
    assert box.provider.probes == 1 and box.locks.taken == ["renew"]
    assert box.state.token is None  # never handed out again, by any path
    assert box.lc.token().token == "tok_minted_2"
    assert box.state.erased == ()  # a renew is not counted as a rejection


def test_renew_keeps_a_token_the_api_still_accepts(tmp_path):
    box = Box(tmp_path, [], cached=cached(600))
    box.provider.accepted = True
    assert box.lc.renew().token == "tok_cached"
    assert box.provider.probes == 1 and box.provider.minted == [] and box.locks.taken == []


def test_renew_never_probes_or_keeps_a_token_that_is_not_fresh(tmp_path):
    box = Box(tmp_path, ["ok"], cached=cached(1790))
    box.provider.accepted = True
    assert box.lc.renew().token == "tok_minted_1"
    assert getattr(box.provider, "probes", 0) == 0


def test_a_login_whose_first_mint_rotates_the_grant_stores_the_rotated_grant(tmp_path):
    box = Box(tmp_path, ["rotate"], grant=None, prompt=True, login_token=False)
    token = box.lc.token()
    assert box.store.grant == Grant(access_token="gho_rotated")
    assert box.provider.minted == [Grant(access_token="gho_new_login")]
    assert box.state.token == token and token.token == "tok_minted_1"


def test_a_rotation_of_an_environment_grant_is_never_written_to_the_store(tmp_path):
    env = Grant(access_token="ghu_env", origin="GH_TOKEN")
    box = Box(tmp_path, ["rotate"], env_grants=[env])
    box.lc.env = {"GH_TOKEN": "ghu_env"}
    box.lc.token()
    assert box.provider.minted == [env] and box.store.grant == STORED


def test_a_minted_token_names_the_server_and_the_variables_that_override_it(tmp_path):
    box = Box(tmp_path, ["ok"])
    lc = lifecycle(box, issuer="srv-fp")
    token = lc.token()
    assert (token.issuer, token.overrides, token.origin, token.origin_fp) == (
        "srv-fp", ("COPILOT_GITHUB_TOKEN",), "store", "")
    assert lc.token() == token and len(box.provider.minted) == 1  # served from the cache


def test_a_cached_token_of_another_server_is_never_served(tmp_path):
    box = Box(tmp_path, ["ok"], cached=cached(60))  # issued under issuer ""
    assert lifecycle(box, issuer="another-server").token().token == "tok_minted_1"


def test_a_token_git_hands_over_is_stamped_like_a_minted_one(tmp_path):
    box = Box(tmp_path)
    lc = lifecycle(box, issuer="srv-fp")
    lc.store("octo", "tok_given", str(int(NOW) + 600))
    got = box.state.token
    assert got == Token("tok_given", int(NOW) + 600, int(NOW) + 600, int(NOW), "", "octo",
                        "store", "", ("COPILOT_GITHUB_TOKEN",), "srv-fp")
    assert box.locks.taken == ["store"]


def test_store_of_a_token_expiring_now_or_of_the_cached_one_changes_nothing(tmp_path):
    box = Box(tmp_path, cached=cached(60))
    box.lc.store("oauth2", "tok_other", str(int(NOW)))
    box.lc.store("oauth2", "tok_cached", str(int(NOW) + 9999))  # git approving our answer
    assert box.state.token == cached(60) and box.locks.taken == []


@pytest.mark.parametrize("age, counted", [(59, True), (60, False)])
def test_only_a_token_rejected_within_a_minute_of_minting_counts(tmp_path, age, counted):
    box = Box(tmp_path, cached=cached(age))
    box.lc.erase("tok_cached")
    assert box.state.token is None
    assert box.state.erased == ((NOW,) if counted else ())
    assert ("rejected" in box.stderr.getvalue()) == counted


def test_three_quick_rejections_raise_the_alarm_two_do_not(tmp_path):
    box = Box(tmp_path, ["ok", "ok", "ok"])
    for n in range(1, 4):
        box.lc.erase(box.lc.token().token)
        assert ("freshly minted tokens were rejected" in box.stderr.getvalue()) == (n == 3)
        box.clock.now += 10


def test_a_rejected_environment_token_is_marked_dead_and_masked(tmp_path):
    secret = "ghu_" + "d" * 36
    env = Grant(access_token=secret, origin="GH_TOKEN")
    box = Box(tmp_path, ["revoked", "ok"], env_grants=[env])
    box.lc.env = {"GH_TOKEN": secret}
    assert box.lc.token().origin == "store"
    assert box.state.is_dead(secret) and box.store.grant == STORED  # the login untouched
    said = box.stderr.getvalue()
    assert "GH_TOKEN (ghu_…dddd) was rejected" in said and secret not in said


@pytest.mark.parametrize("origins, message", [
    (["GH_TOKEN", "store"], "the login for profile 'p' was rejected and deleted"),
    (["GH_TOKEN", "COPILOT_GITHUB_TOKEN"], "GH_TOKEN and COPILOT_GITHUB_TOKEN was rejected"),
])
def test_what_no_login_says_names_what_was_rejected(tmp_path, origins, message):
    envs = [Grant(access_token=f"ghu_{o}", origin=o) for o in origins if o != "store"]
    box = Box(tmp_path, ["revoked"] * len(origins), env_grants=envs,
              grant=STORED if "store" in origins else None)
    with pytest.raises(LoginRequired) as e:
        box.lc.token()
    assert str(e.value).startswith(message) and "git-credential-copilot login" in str(e.value)


def test_a_login_an_older_version_stored_moves_under_its_servers_key(tmp_path):
    """Stored under the bare profile name before logins were bound to their server: adopted
    once by a profile on the default server - and gone with ``logout``, not resurrected."""
    box = Box(tmp_path, ["ok"], grant=STORED)  # under "p", as an older version kept it
    lc = lifecycle(box, issuer="srv", login_key="p@srv", legacy_login=True)
    assert lc.token().token == "tok_minted_1"
    assert set(box.store.data) == {"p@srv"}
    assert Grant.from_dict(box.store.data["p@srv"]) == STORED
    login.logout(lc)
    assert box.store.data == {}
    with pytest.raises(LoginRequired, match="not logged in"):
        lc.token()


def test_a_profile_on_another_server_never_adopts_a_bare_login(tmp_path):
    box = Box(tmp_path, ["ok"], grant=STORED)
    lc = lifecycle(box, issuer="other", login_key="p@other")
    with pytest.raises(LoginRequired, match="not logged in"):
        lc.token()
    assert set(box.store.data) == {"p"} and box.provider.minted == []


@pytest.mark.parametrize("lifetime, refresh_in, longest", [
    (1800, 1500, 1425),  # Copilot: the useful life ends at refresh_at; a quarter of it
    (3600, 3600, 2715),  # OAuth: expiry less the margin; a quarter of it
    (200, 200, 140),  # a short-lived token: at least a minute between mints
    (30, 30, 0),
])
def test_the_longest_min_ttl_a_server_allows(lifetime, refresh_in, longest):
    from helper.core.lifecycle import longest_min_ttl

    token = Token("t", int(NOW) + lifetime, int(NOW) + refresh_in, int(NOW))
    assert longest_min_ttl(token) == longest


def test_a_min_ttl_at_the_limit_is_asked_of_the_server_one_above_is_refused(tmp_path):
    box = Box(tmp_path, ["ok"], cached=cached(1790))  # expired; its server allows 1365
    with pytest.raises(CredentialError, match="tokens live 1800 s, so the longest --min-ttl "
                                              "it allows is 1365 s"):
        box.lc.token(min_ttl=1366)
    assert box.provider.minted == []
    assert box.lc.token(min_ttl=1365).token == "tok_minted_1"


def test_a_min_ttl_learnt_from_another_servers_token_does_not_refuse(tmp_path):
    box = Box(tmp_path, ["ok"], cached=cached(1790))
    lc = lifecycle(box, issuer="another-server")
    with pytest.raises(CredentialError, match="valid|allows"):
        lc.token(min_ttl=1500)  # the new token is too short: said after one mint
    assert len(box.provider.minted) == 1


class Racer(Locks):
    """A lock another process held until it had written ``token``: the state read under the
    lock is not the one read before it."""

    def __init__(self, box: Box, token: Token | None):
        super().__init__()
        self.box, self.token = box, token

    def __enter__(self) -> Locks:
        state.write(self.box.path, state.State(token=self.token), lambda line: None)
        return self


def racing(box: Box, token: Token) -> Racer:
    racer = Racer(box, token)
    box.lc.parts.lock = racer
    return racer


def test_a_token_another_process_minted_while_this_one_waited_is_taken_not_minted_again(
        tmp_path):
    box = Box(tmp_path, ["ok"], cached=cached(3600))
    theirs = Token("tok_theirs", int(NOW) + 1800, int(NOW) + 1500, int(NOW))
    racing(box, theirs)
    assert box.lc.token() == theirs
    assert box.provider.minted == [] and box.lc.parts.lock.taken == ["get"]


def test_a_min_ttl_the_new_token_of_another_process_cannot_meet_fails_without_a_mint(tmp_path):
    box = Box(tmp_path, ["ok"], cached=cached(5000, lifetime=7200))  # its server allowed 5415
    racing(box, Token("tok_theirs", int(NOW) + 1800, int(NOW) + 1500, int(NOW)))
    with pytest.raises(CredentialError, match="allows is 1425 s"):
        box.lc.token(min_ttl=3000)
    assert box.provider.minted == []


def test_a_min_ttl_that_cannot_be_met_fails_before_taking_the_lock(tmp_path):
    box = Box(tmp_path, ["ok"], cached=cached(1790))
    with pytest.raises(CredentialError):
        box.lc.token(min_ttl=1366)
    assert box.locks.taken == [] and box.provider.minted == []


def test_a_server_with_very_short_lived_tokens_still_serves_get(tmp_path):
    box = Box(tmp_path, ["ok"], cached=cached(100, lifetime=30))  # allows no --min-ttl at all
    assert box.lc.token().token == "tok_minted_1"


@pytest.mark.parametrize("age, mints", [(RENEW_GRACE - 1, 0), (RENEW_GRACE, 1)])
def test_where_the_api_cannot_say_a_token_minted_within_the_minute_is_kept(tmp_path, age, mints):
    assert RENEW_GRACE == 60
    box = Box(tmp_path, ["ok"], cached=cached(age))
    box.provider.accepted = None  # the provider has no cheap authenticated request
    box.lc.renew()
    assert len(box.provider.minted) == mints


def test_a_login_under_the_servers_key_comes_before_one_an_older_version_left(tmp_path):
    box = Box(tmp_path, ["ok"], grant=STORED)  # the older one, under "p"
    newer = Grant(access_token="gho_newer")
    box.store.data["p@srv"] = newer.to_dict()
    lc = lifecycle(box, issuer="srv", login_key="p@srv", legacy_login=True)
    lc.token()
    assert box.provider.minted == [newer]
    assert Grant.from_dict(box.store.data["p@srv"]) == newer


def test_renew_with_nothing_cached_mints(tmp_path):
    box = Box(tmp_path, ["ok"])
    assert box.lc.renew().token == "tok_minted_1" and box.locks.taken == ["renew"]


def test_renew_with_short_lived_tokens_and_no_min_ttl_mints(tmp_path):
    box = Box(tmp_path, ["ok"], cached=cached(100, lifetime=30))
    assert box.lc.renew().token == "tok_minted_1"


def test_a_just_minted_token_of_another_server_is_not_kept_by_renew(tmp_path):
    box = Box(tmp_path, ["ok"], cached=cached(10))  # issuer ""
    assert lifecycle(box, issuer="srv").renew().token == "tok_minted_1"


def test_renew_fails_before_the_lock_for_a_min_ttl_the_server_cannot_meet(tmp_path):
    box = Box(tmp_path, ["ok"], cached=cached(1790))
    with pytest.raises(CredentialError, match="allows is 1365 s"):
        box.lc.renew(min_ttl=1366)
    assert box.locks.taken == [] and box.provider.minted == []


def test_renew_says_so_when_the_new_token_is_shorter_than_asked(tmp_path):
    box = Box(tmp_path, ["ok"], cached=cached(5000, lifetime=7200))  # its server allowed 5415
    with pytest.raises(CredentialError, match="allows is 1425 s"):
        box.lc.renew(min_ttl=3000)  # the new one lives 1800 s
    assert len(box.provider.minted) == 1


def test_renew_takes_the_token_another_renewer_minted_while_it_waited(tmp_path):
    box = Box(tmp_path, ["ok"], cached=cached(600))
    theirs = Token("tok_theirs", int(NOW) + 1800, int(NOW) + 1500, int(NOW))
    racing(box, theirs)
    assert box.lc.renew() == theirs and box.provider.minted == []


def test_an_erase_of_a_token_another_process_replaced_meanwhile_keeps_the_new_one(tmp_path):
    box = Box(tmp_path, cached=cached(600))
    theirs = Token("tok_theirs", int(NOW) + 1800, int(NOW) + 1500, int(NOW))
    racing(box, theirs)
    box.lc.erase("tok_cached")
    assert box.state.token == theirs and box.state.erased == ()


def test_an_erase_another_process_made_meanwhile_is_not_made_again(tmp_path):
    box = Box(tmp_path, cached=cached(5))
    box.lc.parts.lock = Racer(box, None)  # it erased the token
    box.lc.erase("tok_cached")
    assert box.state.token is None and box.stderr.getvalue() == ""


def test_an_erase_with_nothing_cached_takes_no_lock(tmp_path):
    box = Box(tmp_path)
    box.lc.erase("tok_any")
    box.lc.erase("")
    assert box.locks.taken == [] and box.stderr.getvalue() == ""


def test_a_timed_token_git_hands_over_replaces_the_cached_one(tmp_path):
    box = Box(tmp_path, cached=cached(60))
    box.lc.store("oauth2", "tok_given", str(int(NOW) + 600))
    assert box.state.token is not None and box.state.token.token == "tok_given"


def test_a_stored_login_is_tried_even_when_an_environment_variable_with_it_was_rejected(
        tmp_path):
    """The dead list is about variables: the same token kept by ``login`` is asked again."""
    box = Box(tmp_path, ["ok"], grant=STORED)
    state.write(box.path, state.State().mark_dead("gho_stored"), lambda line: None)
    assert box.lc.token().token == "tok_minted_1"
    assert box.provider.minted == [STORED]


def test_renew_replaces_a_token_rejected_just_after_it_was_minted(tmp_path):
    box = Box(tmp_path, ["ok"], cached=cached(5))  # minted 5 s ago, revoked since
    box.provider.accepted = False
    assert box.lc.renew().token == "tok_minted_1"
    assert len(box.provider.minted) == 1


def test_renewers_that_saw_the_same_rejected_token_get_one_new_token(tmp_path):
    box = Box(tmp_path, ["ok", "ok"], cached=cached(600))
    first: list[Token] = []

    def rejected_while_another_renews(token: Token) -> bool:
        if not first:  # the other caller renews between this probe and this lock
            box.provider.accepts = lambda token: False
            first.append(box.lc.renew())
        return False

    box.provider.accepts = rejected_while_another_renews
    late = lifecycle(box)
    assert late.renew().token == first[0].token == "tok_minted_1"
    assert len(box.provider.minted) == 1


def test_fresh_tokens_the_api_keeps_rejecting_stop_being_minted_at_the_alarm(tmp_path):
    box = Box(tmp_path, ["ok"] * 10, cached=cached(5))
    box.provider.accepted = False  # every token, however new
    minted = []
    for _ in range(6):
        try:
            minted.append(box.lc.renew().token)
        except CredentialError as e:
            assert "not minting another" in str(e)
        box.clock.now += 1
    assert len(box.provider.minted) == 2  # then the third rejection raises the alarm
    assert "freshly minted tokens were rejected" in box.stderr.getvalue()
