"""`token --min-ttl`, through the command: never a token with less time left than asked, one
exchange for a longer-lived one, whole seconds only, and one line when the server's
lifetime cannot meet it. The decision itself, in process: test_lifecycle."""

from __future__ import annotations

import json

from conftest import call_token


def test_min_ttl_never_hands_out_a_token_with_less_left(logged_in):
    box = logged_in
    first = json.loads(call_token(box, None, "--format", "json").stdout)
    state_path = box.state_dir / "copilot.json"
    aged = json.loads(state_path.read_text())
    aged["token"]["expires_at"] -= 1000  # as if handed out 1000 s ago
    aged["token"]["minted_at"] -= 1000
    state_path.write_text(json.dumps(aged))
    for fmt in ("raw", "json", "env"):
        assert call_token(box, None, "--format", fmt).returncode == 0
    assert box.server.exchanges == 1  # ~800 s left: fine without --min-ttl
    fresh = call_token(box, None, "--format", "json", "--min-ttl", "1200")
    assert json.loads(fresh.stdout)["token"] != first["token"] and box.server.exchanges == 2
    for fmt in ("raw", "json", "env"):
        assert call_token(box, None, "--format", fmt, "--min-ttl", "1200").returncode == 0
    assert box.server.exchanges == 2
    refused = call_token(box, None, "--min-ttl", "7200")
    assert refused.returncode == 1 and refused.stdout == ""
    assert "cannot be met" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1


def test_min_ttl_takes_whole_seconds(logged_in):
    result = call_token(logged_in, None, "--min-ttl", "soon")
    assert result.returncode == 2 and "--min-ttl" in result.stderr
