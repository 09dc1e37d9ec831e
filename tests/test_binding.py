"""A cached token only goes to the login that minted it: the state file records where the
token's login came from (the store, or an environment variable by name with a one-way
fingerprint of its value, never the value), and a caller with another login gets its own."""

from __future__ import annotations

from conftest import call_token


def test_a_cached_token_is_never_handed_to_a_caller_with_another_login(logged_in):
    box = logged_in
    a = call_token(box).stdout.strip()
    assert box.server.exchanges == 1
    other = box.server.add_github_token("mallory")
    b = call_token(box, {"COPILOT_GITHUB_TOKEN": other})
    assert b.returncode == 0 and b.stdout.strip() not in ("", a)
    assert box.server.exchanges == 2  # an exchange with B, not A's cached token
    again = call_token(box).stdout.strip()  # back without B: never B's token
    assert again != b.stdout.strip() and box.server.exchanges == 3
    assert call_token(box).stdout.strip() == again and box.server.exchanges == 3  # cached again


def test_a_token_minted_from_an_env_var_is_not_handed_to_a_caller_without_it(sandbox):
    box = sandbox
    first = box.server.add_github_token("octocat")
    minted = call_token(box, {"GH_TOKEN": first})
    assert minted.returncode == 0 and box.server.exchanges == 1
    assert call_token(box, {"GH_TOKEN": first}).stdout == minted.stdout  # same login: cached
    without = call_token(box)
    assert without.returncode == 1 and without.stdout == ""
    second = box.server.add_github_token("other")
    another = call_token(box, {"GH_TOKEN": second})
    assert another.stdout not in ("", minted.stdout) and box.server.exchanges == 2


def test_the_state_file_keeps_no_secret_of_the_login(sandbox):
    box = sandbox
    secret = box.server.add_github_token("octocat")
    assert call_token(box, {"COPILOT_GITHUB_TOKEN": secret}).returncode == 0
    text = (box.state_dir / "copilot.json").read_text()
    assert secret not in text and '"origin": "COPILOT_GITHUB_TOKEN"' in text
