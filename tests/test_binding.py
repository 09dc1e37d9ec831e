"""A cached token only goes to the login that minted it: the state file records where the
token's login came from (the store, or an environment variable by name with a one-way
fingerprint of its value, never the value), and a caller with another login gets its own."""

from __future__ import annotations

from conftest import call_token, uncached


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


def test_a_dead_override_variable_costs_one_exchange_then_the_stored_logins_token_serves(
        logged_in):
    """COPILOT_GITHUB_TOKEN comes before the stored login. Once the exchange rejected it, the
    token minted from the stored login is cached and served, on both paths, while the
    variable stays as it is: one refusal and one mint in all, however many gets follow."""
    box = uncached(logged_in)
    dead = "ghu_" + "d" * 36
    env = {"COPILOT_GITHUB_TOKEN": dead}
    before = box.server.exchanges
    first = box.run("get", input=box.credential(), env=env)
    assert first.returncode == 0 and "COPILOT_GITHUB_TOKEN" in first.stderr
    assert box.server.exchanges == before + 2  # the variable's refusal, the stored login's mint
    for _ in range(5):
        again = box.run("get", input=box.credential(), env=env)
        assert again.returncode == 0 and again.pairs()["password"] == first.pairs()["password"]
        assert "COPILOT_GITHUB_TOKEN" not in again.stderr  # said once, when it changed
    assert box.server.exchanges == before + 2
    fresh = box.server.add_github_token()  # a new value is tried again
    assert box.run("get", input=box.credential(),
                   env={"COPILOT_GITHUB_TOKEN": fresh}).returncode == 0
    assert box.server.exchanges == before + 3
