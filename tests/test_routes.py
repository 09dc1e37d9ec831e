"""Which profile answers for a host (helper.core.routes.choose, the one rule both paths call):
a token only ever goes to a host its profile claims, or to the API host its state names."""

from __future__ import annotations

import pytest

from helper.core.routes import Choice, Route, RouteTable, choose

COPILOT = Route("copilot", "fp-c", "", ("api.githubcopilot.com", "api.business.githubcopilot.com"),
                login_host="github.com")
CORP = Route("corp", "fp-o", "https://llm.corp.example/v1", ("llm.corp.example",),
             login_host="idp.corp.example")
SPARE = Route("spare", "fp-s", "", ("spare.example",))
TABLE = RouteTable([COPILOT, CORP, SPARE])


def remembering(**hosts: str):
    return lambda name: hosts.get(name, "")


def chosen(choice: Choice | None) -> tuple[str, bool] | None:
    return None if choice is None else (choice.route.name, choice.by_remembered)


@pytest.mark.parametrize("host, want", [
    ("api.githubcopilot.com", ("copilot", False)),
    ("api.business.githubcopilot.com", ("copilot", False)),
    ("llm.corp.example", ("corp", False)),
    ("spare.example", ("spare", False)),
    ("", ("copilot", False)),  # no host: the default profile (the table's first)
    ("unclaimed.example", None),
    ("github.com", None),  # a login host is no API host for get
    ("api.githubcopilot.com.evil.example", None),
])
def test_each_host_goes_to_the_profile_that_claims_it(host, want):
    assert chosen(choose(TABLE, host, remembering())) == want


def test_the_first_profile_in_order_that_claims_a_host_wins():
    twice = Route("twice", "fp-t", "", ("llm.corp.example",))
    assert chosen(choose(RouteTable([COPILOT, twice, CORP]), "llm.corp.example",
                         remembering())) == ("twice", False)


def test_a_remembered_api_host_routes_only_when_no_profile_claims_it():
    remembered = remembering(copilot="api.enterprise.example", corp="spare.example")
    assert chosen(choose(TABLE, "api.enterprise.example", remembered)) == ("copilot", True)
    assert chosen(choose(TABLE, "spare.example", remembered)) == ("spare", False)
    assert chosen(choose(TABLE, "unclaimed.example", remembered)) is None


def test_remembered_hosts_are_tried_in_profile_order():
    remembered = remembering(corp="api.shared.example", spare="api.shared.example")
    assert chosen(choose(TABLE, "api.shared.example", remembered)) == ("corp", True)


@pytest.mark.parametrize("override, host, want", [
    ("corp", "llm.corp.example", ("corp", False)),
    ("corp", "", ("corp", False)),  # no host: the named profile, not the default
    ("corp", "api.githubcopilot.com", None),  # another profile's host: nothing, not its token
    ("corp", "api.enterprise.example", None),  # copilot remembers it, not corp
    ("copilot", "api.enterprise.example", ("copilot", True)),
    ("spare", "llm.corp.example", None),
])
def test_a_named_profile_answers_only_for_its_own_hosts(override, host, want):
    remembered = remembering(copilot="api.enterprise.example")
    assert chosen(choose(TABLE, host, remembered, override)) == want
    table = RouteTable(TABLE.routes, override=override)  # GIT_CREDENTIAL_COPILOT_PROFILE
    assert chosen(choose(table, host, remembered)) == want


def test_the_command_lines_profile_comes_before_the_environments():
    table = RouteTable(TABLE.routes, override="corp")
    assert chosen(choose(table, "spare.example", remembering(), "spare")) == ("spare", False)
    assert chosen(choose(table, "", remembering(), "spare")) == ("spare", False)


def test_an_unknown_profile_is_a_key_error():
    with pytest.raises(KeyError):
        choose(TABLE, "api.githubcopilot.com", remembering(), "nosuch")
    with pytest.raises(KeyError):
        TABLE.route("nosuch")
    assert TABLE.route("corp") is CORP


def test_store_and_erase_also_address_a_profile_at_its_login_host():
    assert choose(TABLE, "github.com", remembering()) is None
    assert chosen(choose(TABLE, "github.com", remembering(), include_login=True)) == (
        "copilot", False)
    assert chosen(choose(TABLE, "idp.corp.example", remembering(), include_login=True)) == (
        "corp", False)
    assert choose(TABLE, "github.com", remembering(), "corp", include_login=True) is None
    no_login = RouteTable([SPARE])
    assert choose(no_login, "", remembering(), include_login=True).route is SPARE
    assert choose(no_login, "x.example", remembering(), include_login=True) is None
