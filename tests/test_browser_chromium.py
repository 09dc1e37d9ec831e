"""End to end with a real browser: headless Chromium as ``$BROWSER`` signs in at the fake
IdP (whose device flow is refused) and follows its redirect to the helper's loopback
listener, by navigation, as a person's browser does.

Chromium is started on the listener's start link, which sets a SameSite=Lax cookie and
redirects to the identity provider; the listener takes the redirect back only with that
cookie. The identity provider is reached as ``localhost``, another site than 127.0.0.1, so
the way back is a cross-site navigation, as with a real identity provider: the test shows a
real browser carries the cookie through it.

Needs Debian's ``chromium`` (``scripts/test`` installs it). Without it the test is skipped
locally and fails under CI, where a skip would hide that the browser sign-in went untested.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from test_browser import CORP, browser_starts

from conftest import require_executable, timeouts, wait_until

WRAPPER = """\
#!/bin/sh
# $BROWSER for tests: a real headless Chromium with a throwaway profile, bounded in time.
echo "$1" >> "{root}/browser.log"
profile=$(mktemp -d)
timeout 60 "{chromium}" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \\
    --disable-background-networking --disable-component-update --disable-sync \\
    --user-data-dir="$profile" --dump-dom "$1" > "{root}/dom.html" 2> "{root}/chromium.err"
echo "$?" > "{root}/chromium.part"
mv "{root}/chromium.part" "{root}/chromium.done"  # whole: the test reads it once it exists
rm -rf "$profile"
"""


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    if os.environ.get("CI"):
        pytest.fail("chromium is not installed; scripts/test installs it with apt-get")
    pytest.skip("chromium is not installed (apt-get install -y chromium); CI runs this test")


def wait_for(path: Path, seconds: float) -> str:
    """The file's text once it exists; fails after ``seconds`` (a bounded wait)."""
    assert wait_until(path.exists, seconds), f"{path.name} did not appear in {seconds} s"
    return path.read_text()


@pytest.mark.integration  # a real third-party client: slow, like the others (conftest)
def test_headless_chromium_signs_in_through_the_loopback_redirect(corp):
    require_executable()
    binary = chromium()
    box = corp
    box.server.device_flow = "refused"
    idp = f"http://localhost:{box.server.port}"  # another site than the listener's 127.0.0.1
    endpoints = (f'authorization_url = "{idp}/authorize"\n'
                 f'token_url = "{box.server.url}/token"\n'
                 'flow = "browser"')
    # Chromium takes both cores for seconds: the fake server's answers get the time a busy
    # machine needs (this test is about the redirect and the cookie, not the deadline).
    config = box.config_path.read_text()
    box.write_config(config.replace(f'issuer = "{box.server.url}"', endpoints))
    timeouts(box, http_timeout=30, retry_budget=2)
    wrapper = box.root / "chromium-browser"
    wrapper.write_text(WRAPPER.format(root=box.root, chromium=binary))
    wrapper.chmod(0o755)
    box.env["BROWSER"] = str(wrapper)

    done = box.run(*CORP, "login", timeout=120)

    assert done.returncode == 0, done.stderr
    assert wait_for(box.root / "chromium.done", 60).strip() == "0", \
        (box.root / "chromium.err").read_text()[-2000:]
    assert "Signed in" in (box.root / "dom.html").read_text()  # the listener's page
    started, = browser_starts(box.root)
    link = urlsplit(started)
    assert (link.hostname, link.path[:7], link.query) == ("127.0.0.1", "/start/", "")
    to_idp = [headers for method, path, headers in box.server.requests if path == "/authorize"]
    assert to_idp[0]["Host"] == f"localhost:{box.server.port}"  # cross-site, there and back
    assert box.server.counts["/authorize"] == 1 and box.server.code_redemptions == 1
    assert box.server.counts["/device"] == 0
    assert box.server.authorizations[0]["code_challenge_method"] == "S256"
    assert box.stored("corp")["refresh_token"] == box.server.families[0].current
    got = box.run(*CORP, "get", input=box.credential())
    assert got.returncode == 0 and got.pairs()["password"] in box.server.access_tokens
