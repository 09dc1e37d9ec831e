"""The two records (helper.storage.records): a token is served only while fresh and only to
the login and server that minted it; both records keep their fields under fixed names (the
state file, the token file and the secret store all read them back)."""

from __future__ import annotations

import hashlib

import pytest

from helper.storage.records import (
    EXPIRY_MARGIN,
    STORE,
    Grant,
    Token,
    fingerprint,
    is_number,
    number,
    seconds,
)

NOW = 1_800_000_000
FIELDS = {"token": "tid=abc;exp=1", "expires_at": NOW + 1800, "refresh_at": NOW + 1500,
          "minted_at": NOW, "api_base": "https://api.example.com", "username": "octo",
          "origin": "GH_TOKEN", "origin_fp": "f" * 32, "overrides": ("COPILOT_GITHUB_TOKEN",),
          "issuer": "issuer-fp"}


def token(**changes: object) -> Token:
    return Token(**{**FIELDS, **changes})  # type: ignore[arg-type]


# -- equality -------------------------------------------------------------------------------

def test_tokens_are_equal_only_when_every_field_is():
    assert token() == token()
    for name, other in [("token", "tid=other"), ("expires_at", NOW), ("refresh_at", NOW),
                        ("minted_at", NOW - 1), ("api_base", ""), ("username", ""),
                        ("origin", STORE), ("origin_fp", ""), ("overrides", ()),
                        ("issuer", "")]:
        assert token() != token(**{name: other}), name
    assert token() != FIELDS and token() != "tid=abc;exp=1"


def test_grants_are_equal_only_when_every_field_is():
    grant = Grant("gho_a", "r", 1, 2, "octo", STORE)
    assert grant == Grant("gho_a", "r", 1, 2, "octo", STORE)
    for other in [Grant("gho_b", "r", 1, 2, "octo"), Grant("gho_a", "s", 1, 2, "octo"),
                  Grant("gho_a", "r", 3, 2, "octo"), Grant("gho_a", "r", 1, 3, "octo"),
                  Grant("gho_a", "r", 1, 2, "cat"), Grant("gho_a", "r", 1, 2, "octo", "GH_TOKEN")]:
        assert grant != other
    assert grant != grant.to_dict()


def test_records_are_not_dict_keys():
    with pytest.raises(TypeError):
        hash(token())
    with pytest.raises(TypeError):
        hash(Grant("gho_a"))


def test_reprs_never_show_a_secret():
    assert "tid=abc;exp=1" not in repr(token(token="tid=abc;exp=1;sku=long-enough"))
    text = repr(Grant("gho_0123456789abcdefghij", "ghr_0123456789abcdefghij", username="octo"))
    assert "0123456789abcdefghij" not in text and "octo" in text


# -- freshness ------------------------------------------------------------------------------

def test_fresh_until_the_margin_before_expiry():
    t = token(expires_at=NOW + 1000, refresh_at=NOW + 5000)
    assert EXPIRY_MARGIN == 60
    assert t.fresh(NOW + 1000 - 61)
    assert not t.fresh(NOW + 1000 - 60)
    assert not t.fresh(NOW + 1000)


def test_fresh_until_its_refresh_time():
    t = token(expires_at=NOW + 5000, refresh_at=NOW + 1000)
    assert t.fresh(NOW + 999)
    assert not t.fresh(NOW + 1000)


def test_min_ttl_is_met_exactly_or_not_at_all():
    t = token(expires_at=NOW + 1000, refresh_at=NOW + 1000)
    assert t.fresh(NOW, min_ttl=1000)
    assert not t.fresh(NOW, min_ttl=1001)
    assert t.fresh(NOW + 100, min_ttl=900) and not t.fresh(NOW + 100, min_ttl=901)


# -- who it serves --------------------------------------------------------------------------

GH = "gho_" + "e" * 36
COPILOT = "ghu_" + "c" * 36


def stored_token(**changes: object) -> Token:
    return token(origin=STORE, origin_fp="", overrides=("COPILOT_GITHUB_TOKEN", "GH_TOKEN"),
                 **changes)


def test_a_token_is_served_only_for_the_server_that_issued_it():
    assert stored_token().serves({}, "issuer-fp")
    assert not stored_token().serves({}, "another-server")
    assert not stored_token(issuer="").serves({}, "issuer-fp")


def test_a_stored_logins_token_is_not_served_while_an_overriding_variable_is_set():
    t = stored_token()
    assert not t.serves({"GH_TOKEN": GH}, "issuer-fp")
    assert not t.serves({"COPILOT_GITHUB_TOKEN": COPILOT}, "issuer-fp")
    assert t.serves({"GH_TOKEN": ""}, "issuer-fp")  # set but empty: not a login
    assert t.serves({"UNRELATED": GH}, "issuer-fp")


def test_an_overriding_variable_that_was_rejected_no_longer_overrides():
    t = stored_token()
    assert t.serves({"GH_TOKEN": GH}, "issuer-fp", dead=(fingerprint(GH),))
    assert not t.serves({"GH_TOKEN": GH}, "issuer-fp", dead=(fingerprint(COPILOT),))
    assert not t.serves({"GH_TOKEN": GH, "COPILOT_GITHUB_TOKEN": COPILOT}, "issuer-fp",
                        dead=(fingerprint(GH),))


def test_a_token_minted_from_a_variable_is_served_only_to_a_caller_holding_the_same_value():
    t = token(origin="GH_TOKEN", origin_fp=fingerprint(GH), overrides=("GH_TOKEN",))
    assert t.serves({"GH_TOKEN": GH}, "issuer-fp")  # its own origin does not override it
    assert not t.serves({"GH_TOKEN": "gho_" + "f" * 36}, "issuer-fp")
    assert not t.serves({}, "issuer-fp")
    assert not t.serves({"GH_TOKEN": ""}, "issuer-fp")
    assert not token(origin="GH_TOKEN", origin_fp=fingerprint("")).serves(
        {"GH_TOKEN": ""}, "issuer-fp")  # an empty variable is no login, whatever was recorded


# -- the field names every file keeps -----------------------------------------------------------

def test_a_tokens_fields_by_name():
    assert token().to_dict() == FIELDS
    assert Token.from_dict(FIELDS) == token()


def test_reading_a_token_fills_the_optional_fields_and_converts_lists_and_whole_floats():
    raw = {"token": "t", "expires_at": 2.0, "refresh_at": 1, "minted_at": 0, "origin": STORE,
           "issuer": "i", "overrides": ["GH_TOKEN"]}
    got = Token.from_dict(raw)
    assert got == Token("t", 2, 1, 0, "", "", STORE, "", ("GH_TOKEN",), "i")
    assert isinstance(got.expires_at, int) and got.overrides == ("GH_TOKEN",)
    del raw["overrides"]
    assert Token.from_dict(raw).overrides == ()


@pytest.mark.parametrize("change", [
    {"token": ""}, {"token": None}, {"expires_at": True}, {"expires_at": "1"},
    {"refresh_at": None}, {"minted_at": [1]}, {"origin": 1}, {"issuer": None},
    {"overrides": ("GH_TOKEN", 1)}, {"overrides": "GH_TOKEN"}, {"api_base": "https://a\n"},
    {"username": "a\rb"}, {"token": "t\0"},
])
def test_a_token_field_missing_or_of_the_wrong_kind_is_refused(change):
    with pytest.raises(ValueError):
        Token.from_dict({**FIELDS, **change})


@pytest.mark.parametrize("name", ["token", "expires_at", "refresh_at", "minted_at", "origin",
                                  "issuer"])
def test_a_required_token_field_cannot_be_left_out(name):
    raw = dict(FIELDS)
    del raw[name]
    with pytest.raises(ValueError, match=name if name != "token" else "token"):
        Token.from_dict(raw)


STORED = {"version": 1, "access_token": "gho_a", "refresh_token": "ghr_r", "expires_at": 10,
          "refresh_expires_at": 20, "username": "octo"}


def test_a_grant_as_the_secret_store_keeps_it():
    grant = Grant("gho_a", "ghr_r", 10, 20, "octo")
    assert grant.to_dict() == STORED
    assert Grant.from_dict(STORED) == grant
    assert Grant.from_dict(STORED).origin == STORE  # what the store holds is the store's


def test_reading_a_grant_keeps_only_what_is_usable():
    assert Grant.from_dict({"access_token": "gho_a"}) == Grant("gho_a")
    assert Grant.from_dict({"refresh_token": "r"}) == Grant(refresh_token="r")
    assert Grant.from_dict({"access_token": "gho_a", "expires_at": 5.7,
                            "refresh_expires_at": True, "username": "a\nb"}) == Grant(
        "gho_a", expires_at=5)
    for raw in ({}, {"access_token": ""}, {"access_token": 5}, {"access_token": "gho\x1b"},
                {"username": "octo"}):
        assert Grant.from_dict(raw) is None, raw


def test_a_grants_origin_and_secret():
    assert not Grant("gho_a").from_env and Grant("gho_a", origin="GH_TOKEN").from_env
    assert Grant("gho_a", "r").secret == "gho_a"
    assert Grant(refresh_token="r").secret == "r"


# -- numbers and fingerprints ----------------------------------------------------------------

def test_numbers_are_ints_and_floats_but_never_bools():
    assert is_number(1) and is_number(1.5) and is_number(0)
    assert not is_number(True) and not is_number("1") and not is_number(None)
    assert seconds(1.5) == 1.5 and seconds(0) == 0 and seconds(False) is None
    assert seconds("1") is None
    assert number(1.9) == 1 and number(7) == 7 and number(True) is None and number(None) is None


def test_a_fingerprint_is_a_stable_one_way_tag():
    assert fingerprint("gho_x") == hashlib.sha256(b"gho_x").hexdigest()[:32]
    assert fingerprint("gho_x") != fingerprint("gho_y")
    assert len(fingerprint("")) == 32
