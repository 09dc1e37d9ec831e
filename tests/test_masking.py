"""No secret reaches stderr: one masking pass over every line written to stderr and every
error message, whatever produced the text (a server echoing the Authorization header, an
error_description quoting the refresh token or the client secret, a keyring exception); no
record's repr shows a secret; and the suite's own hygiene net (conftest's secret_hygiene and
Sandbox.run/call) still catches a leak when the masks are broken on purpose."""

from __future__ import annotations

import io
import json

import pytest
import responses

from helper.net.transport import Transport

from conftest import uncached
from fakeserver import Fault

EXCHANGE = "/copilot_internal/v2/token"


# -- one masking pass over every line written to stderr ------------------------------------


def test_a_403_echoing_the_authorization_header_is_masked(logged_in):
    box = uncached(logged_in)
    github_token = box.stored()["access_token"]
    echo = json.dumps({"message": f"Bad credentials for Authorization: token {github_token}"})
    box.server.inject(EXCHANGE, Fault(status=403, body=echo.encode()))
    result = box.run("get", input=box.credential())  # run() fails on any issued secret
    assert result.returncode == 1 and github_token[-4:] in result.stderr  # masked, not gone


def test_an_error_description_echoing_the_refresh_token_is_masked(corp):
    from conftest import seed_oauth_login

    refresh_token = seed_oauth_login(corp, cached=True)  # no device flow's one-second poll
    assert json.loads(corp.stored_path("corp").read_text())["refresh_token"] == refresh_token
    state = json.loads((corp.state_dir / "corp.json").read_text())
    state["token"]["expires_at"] = state["token"]["refresh_at"] = 1
    (corp.state_dir / "corp.json").write_text(json.dumps(state))
    corp.server.inject("/token", Fault(status=400, body=json.dumps({
        "error": "invalid_request",
        "error_description": f"refresh_token={refresh_token} is malformed"}).encode()))
    result = corp.run("--profile", "corp", "token")
    assert result.returncode == 1 and refresh_token not in result.stderr
    assert "malformed" in result.stderr


@responses.activate
def test_an_error_description_echoing_the_client_secret_is_masked():
    from helper.oauth2.rfc6749 import OAuthError

    secret = "cs-very-secret-0123456789"
    responses.post("https://idp.example.com/token", status=401, json={
        "error": "invalid_client", "error_description": f"client_secret '{secret}' is wrong"})
    response = Transport().request("POST", "https://idp.example.com/token",
                                   data={"client_id": "c", "client_secret": secret})
    from helper.oauth2.rfc6749 import parse_token_response

    with pytest.raises(OAuthError) as e:
        parse_token_response(response)
    assert secret not in str(e.value) and "is wrong" in str(e.value)


def test_a_keyring_exception_holding_the_secret_is_masked():
    from keyring.errors import PasswordSetError

    from helper.errors import StoreError
    from helper.storage.secrets import KeyringStore

    class Backend:
        def set_password(self, service, name, value):
            raise PasswordSetError(f"D-Bus said no to {value}")

    secret = "gho_" + "k" * 36
    with pytest.raises(StoreError) as e:
        KeyringStore(Backend(), 5).write("copilot", {"access_token": secret})
    assert secret not in str(e.value)


def test_every_console_line_is_scrubbed_of_known_and_token_shaped_secrets():
    from helper.console import Console
    from helper.errors import remember_env

    env_token = "env-token-value-0123456789"
    remember_env({"GH_TOKEN": env_token})
    stream = io.StringIO()
    console = Console(stream)
    never_seen = ["ghp_" + "a" * 36, "github_pat_11AAAA_" + "b" * 40, "gho_" + "c" * 36,
                  "tid=abc;exp=1;sku=x:" + "d" * 20]
    console.notice(f"{env_token} " + " ".join(never_seen) + " Bearer eeeeeeeeeeeeeeeeeeee")
    written = stream.getvalue()
    for secret in [env_token, *never_seen, "eeeeeeeeeeeeeeeeeeee"]:
        assert secret not in written, secret
    assert written.count("…") == 6


# -- no record shows a secret; the net catches what the masks miss -------------------------


def test_no_record_type_shows_a_secret_in_its_repr():
    """A repr ends up in logs, tracebacks and debug prints: none may carry a secret."""
    from helper import api
    from helper.commands import protocol
    from helper.core import config
    from helper.oauth2 import rfc6749, rfc8628
    from helper.storage import records, state

    secret = "gho_" + "s" * 36
    records = [
        protocol.Credential(host="h", password=secret),
        config.Profile(name="corp", provider="oauth", client_secret=secret),
        rfc8628.DeviceCode(device_code=secret, user_code="U", verification_uri="https://x",
                           expires_in=1),
        records.Token(token=secret, expires_at=1, refresh_at=1, minted_at=1),
        state.State(token=records.Token(secret, 1, 1, 1)),
        records.Grant(access_token=secret, refresh_token=secret),
        records.Grant(access_token=secret, origin="GH_TOKEN"),
        records.Minted(records.Token(secret, 1, 1, 1), records.Grant(refresh_token=secret)),
        rfc6749.TokenResponse(access_token=secret, refresh_token=secret),
        api.Token(token=secret, expires_at=1, api_base="", profile="p"),
    ]
    for record in records:
        assert secret not in repr(record), type(record).__name__
        assert secret not in str(record), type(record).__name__


def test_the_hygiene_check_catches_an_unmasked_token(sandbox, monkeypatch):
    """Break masking on purpose: the suite's own check must notice the leak."""
    from helper import errors
    from helper.core import lifecycle

    dead = sandbox.server.add_github_token()
    sandbox.server.revoke_github(dead)
    monkeypatch.setattr(lifecycle, "mask", lambda secret: secret)
    monkeypatch.setattr(errors, "scrub", lambda text: text)  # and the masking pass behind it
    with pytest.raises(AssertionError, match="secret the server issued appeared"):
        sandbox.call("get", input=sandbox.credential(), env={"GH_TOKEN": dead})
