"""`status` always prints what it knows: a locked or hung keyring becomes one
`secrets: unavailable: …` line, and the profile, the login's source and the cached token
still print. (That status shows no secret: test_e2e_copilot.)"""

from __future__ import annotations


def test_status_with_a_locked_keyring_prints_every_line(logged_in, monkeypatch):
    from helper.errors import StoreError
    from helper.storage import secrets as storemod

    box = logged_in
    assert box.call("get", input=box.credential()).returncode == 0

    def locked(*args, **kwargs):
        raise StoreError("the keyring is locked (test); unlock it")

    monkeypatch.setattr(storemod, "choose", locked)
    result = box.call("status")
    lines = result.stdout.splitlines()
    assert lines[0].startswith("profile: copilot")
    assert any(line.startswith("secrets: unavailable: the keyring is locked") for line in lines)
    assert any(line.startswith("token: valid until") for line in lines)  # the cache still answers
