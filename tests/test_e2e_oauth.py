"""End to end: the oauth provider against the fake IdP (discovery, RFC 8628 with HTTP 400
errors, rotating refresh tokens with reuse detection). Counts are the server's own."""

from __future__ import annotations

import json

import pytest

from conftest import expire_access_token, quick_login, seed_oauth_login
from procs import Watched, asking, device_login

CORP = ("--profile", "corp")


def login(box) -> str:
    return device_login(box, *CORP)


@pytest.fixture
def logged_in_corp(corp):
    """What `login` leaves: a refresh token stored, an access token cached (in process, no
    device flow: test_login_shows_the_complete_uri... runs the real one)."""
    seed_oauth_login(corp, cached=True)
    return corp


@pytest.mark.slow  # a real process waits a real poll interval
def test_login_shows_the_complete_uri_and_stores_only_the_refresh_token(corp):
    err = login(corp)
    assert "user_code=" in err  # verification_uri_complete
    stored = corp.stored("corp")
    assert stored["refresh_token"].startswith("rt_") and stored["access_token"] == ""
    got = corp.call(*CORP, "get", input=corp.credential())
    assert got.returncode == 0, got.stderr
    assert got.pairs()["password"] in corp.server.access_tokens
    assert "rt_" not in got.stdout  # the refresh token is never printed
    assert corp.server.refreshes == 0


def test_get_picks_the_profile_claiming_the_host(logged_in_corp):
    box = logged_in_corp
    got = box.call("get", input=box.credential())
    assert got.pairs()["password"] in box.server.access_tokens


def test_expired_access_token_is_refreshed_and_the_rotated_token_stored(logged_in_corp):
    box = logged_in_corp
    old_refresh = box.stored("corp")["refresh_token"]
    expire_access_token(box)
    got = box.call(*CORP, "get", input=box.credential())
    assert got.returncode == 0, got.stderr
    assert box.server.refreshes == 1
    assert box.stored("corp")["refresh_token"] not in ("", old_refresh)
    expire_access_token(box)
    assert box.call(*CORP, "get", input=box.credential()).returncode == 0
    assert (box.server.refreshes, box.server.replays) == (2, 0)


@pytest.mark.slow  # a crowd of processes
def test_twenty_concurrent_gets_refresh_exactly_once_with_no_replay(logged_in_corp):
    box = logged_in_corp
    expire_access_token(box)
    data = box.credential().encode()
    procs = [asking(box.start(*CORP, "get"), data) for _ in range(20)]
    answers = [p.communicate(timeout=60) for p in procs]
    assert all(p.returncode == 0 for p in procs), [err for _, err in answers]
    assert len({out for out, _ in answers}) == 1
    assert box.server.refreshes == 1
    assert box.server.replays == 0


def test_seed_story_revoked_family_then_clean_login(logged_in_corp):
    """Refreshed for weeks, then the server kills the family: fail clearly, forget the dead
    refresh token, and let `login` start clean."""
    box = logged_in_corp
    for _ in range(5):
        expire_access_token(box)
        assert box.call(*CORP, "get", input=box.credential()).returncode == 0
    assert box.server.refreshes == 5
    box.server.revoke_all()
    expire_access_token(box)
    failed = box.call(*CORP, "get", input=box.credential())
    assert failed.returncode == 1 and failed.stdout == ""
    assert "git-credential-copilot --profile corp login" in failed.stderr
    assert box.stored("corp") == {}  # the dead refresh token is gone
    assert box.call(*CORP, "get", input=box.credential()).returncode == 1
    assert box.server.refreshes == 6  # never sent again
    quick_login(box, *CORP)
    got = box.call(*CORP, "get", input=box.credential())
    assert got.returncode == 0 and got.pairs()["password"] in box.server.access_tokens
    assert box.server.replays == 0


def test_login_replaces_valid_tokens_and_never_uses_the_old_refresh_token(logged_in_corp):
    box = logged_in_corp
    old = box.stored("corp")["refresh_token"]
    quick_login(box, *CORP)
    assert box.stored("corp")["refresh_token"] != old
    expire_access_token(box)
    assert box.call(*CORP, "get", input=box.credential()).returncode == 0
    assert box.server.refreshes == 1 and box.server.replays == 0
    assert box.server.families[0].current == old  # the first family was never touched again


def test_erase_drops_the_access_token_only(logged_in_corp):
    box = logged_in_corp
    token = box.call(*CORP, "get", input=box.credential()).pairs()["password"]
    erased = box.call(*CORP, "erase", input=box.credential(password=token))
    assert "s ago was rejected; dropped it" in erased.stderr  # minted seconds ago
    assert box.stored("corp")["refresh_token"]
    again = box.call(*CORP, "get", input=box.credential()).pairs()["password"]
    assert again != token and box.server.refreshes == 1


@pytest.mark.slow  # a real process waits a real poll interval
def test_interactive_get_after_revocation_runs_one_device_flow(logged_in_corp):
    box = logged_in_corp
    box.server.revoke_all()
    expire_access_token(box)
    watched = Watched(box.start(*CORP, "get", env={"GIT_CREDENTIAL_COPILOT_INTERACTIVE": "always"}),
                      stdin=box.credential().encode())
    box.server.approve(watched.user_code())
    code, out, err = watched.finish()
    assert code == 0, err
    assert box.server.counts["/device"] == 1  # the get's own (the login was seeded)


def test_discovery_falls_back_to_rfc8414_and_is_cached(corp):
    corp.server.oidc = False
    quick_login(corp, *CORP)
    assert corp.server.counts["/.well-known/openid-configuration"] == 1
    assert corp.server.counts["/.well-known/oauth-authorization-server"] == 1
    quick_login(corp, *CORP)
    assert corp.server.counts["/.well-known/oauth-authorization-server"] == 1
    assert (corp.root / "cache" / "git-credential-copilot" / "discovery-corp.json").exists()


def test_explicit_urls_win_over_discovery(corp):
    corp.write_config(corp.config_path.read_text().replace(
        f'issuer = "{corp.server.url}"',
        f'device_authorization_url = "{corp.server.url}/device"\n'
        f'token_url = "{corp.server.url}/token"'))
    quick_login(corp, *CORP)
    assert corp.server.counts["/.well-known/openid-configuration"] == 0


def test_token_json_for_oauth(logged_in_corp):
    box = logged_in_corp
    data = json.loads(box.call(*CORP, "token", "--format", "json").stdout)
    assert set(data) == {"token", "expires_at", "profile", "api_base"}
    assert data["api_base"] == f"{box.server.url}/v1" and data["profile"] == "corp"


def test_token_json_without_api_base_has_no_such_key(logged_in_corp):
    box = logged_in_corp
    box.write_config(box.config_path.read_text().replace(f'api_base = "{box.server.url}/v1"\n', ""))
    data = json.loads(box.call(*CORP, "token", "--format", "json").stdout)
    assert set(data) == {"token", "expires_at", "profile"}


def test_confidential_client_sends_its_secret(corp):
    corp.server.client_secret = "s3cret"
    corp.write_config(corp.config_path.read_text() + 'client_secret = "s3cret"\n')
    quick_login(corp, *CORP)
    expire_access_token(corp)
    assert corp.call(*CORP, "get", input=corp.credential()).returncode == 0
    assert corp.server.refreshes == 1


def test_a_server_that_does_not_rotate_keeps_the_refresh_token(logged_in_corp):
    box = logged_in_corp
    box.server.rotate = False
    old = box.stored("corp")["refresh_token"]
    expire_access_token(box)
    assert box.call(*CORP, "get", input=box.credential()).returncode == 0
    assert box.stored("corp")["refresh_token"] == old


def test_the_gateway_accepts_what_get_hands_out(logged_in_corp):
    import requests

    box = logged_in_corp
    token = box.call(*CORP, "token").stdout.strip()
    assert requests.get(f"{box.server.url}/v1/models",
                        headers={"Authorization": f"Bearer {token}"}, timeout=5).ok


def test_github_expiring_user_tokens_are_refreshed_not_re_logged(sandbox):
    """The copilot provider with a GitHub App that expires user tokens (ghu_/ghr_)."""
    box = sandbox
    box.server.expiring_user_tokens = True
    quick_login(box)
    stored = box.stored()
    assert stored["refresh_token"].startswith("ghr_")
    # Time passes: the GitHub user token expires on both sides.
    box.server.github_tokens[stored["access_token"]]["expires_at"] = 1
    stored["expires_at"] = 1
    box.stored_path().write_text(json.dumps(stored))
    box.call("erase", input=box.credential())
    got = box.call("get", input=box.credential())
    assert got.returncode == 0, got.stderr
    assert box.server.device_flows == 1
    assert box.server.counts["/login/oauth/access_token"] == 2  # the device poll + 1 refresh
    assert box.stored()["refresh_token"] != stored["refresh_token"]
