"""The helper against a real Secret Service (gnome-keyring on a private D-Bus)."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from conftest import require_executable, uncached
from secret_service import AVAILABLE, secret_service, silent_bus, socket_dir

pytestmark = [
    pytest.mark.skipif(not AVAILABLE, reason="dbus-daemon/gnome-keyring not installed "
                                             "(scripts/test installs them)"),
    pytest.mark.slow,  # a real Secret Service (dbus and gnome-keyring) started per test
]


@pytest.fixture
def keyring_box(sandbox, tmp_path):
    require_executable()
    with secret_service(tmp_path) as bus_env:
        sandbox.env.update(bus_env)
        yield sandbox


def use_store(box, mode: str, extra: str = "") -> None:
    text = box.config_path.read_text().replace('store = "file"', f'store = "{mode}"{extra}')
    box.config_path.write_text(text)


def keyring_entry(box) -> str | None:
    """Read our entry back through the keyring library, as another client would."""
    import subprocess
    import sys

    code = (f"import keyring; v = keyring.get_password('git-credential-copilot', "
            f"{box.login_key()!r}); "
            "print('NONE' if v is None else v)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, env=box.env,
                         timeout=30, check=True).stdout.decode().strip()
    return None if out == "NONE" else out


def test_login_lives_in_the_keyring_not_in_a_file(keyring_box):
    box = keyring_box
    use_store(box, "keyring")
    token = box.server.add_github_token()
    imported = box.run("store", input=box.credential(host=box.login_host, password=token))
    assert imported.returncode == 0
    assert json.loads(keyring_entry(box))["access_token"] == token
    assert not box.data_dir.exists()
    got = box.run("get", input=box.credential())
    assert got.returncode == 0, got.stderr
    assert box.run("logout").returncode == 0
    assert keyring_entry(box) is None


def test_auto_picks_the_secret_service_silently(keyring_box):
    box = keyring_box
    use_store(box, "auto")
    status = box.run("status")
    assert "secrets: keyring keyring.backends.SecretService.Keyring" in status.stdout
    assert status.stderr == ""


def test_a_revoked_login_is_deleted_from_the_keyring(keyring_box):
    box = keyring_box
    use_store(box, "keyring")
    token = box.server.add_github_token()
    box.run("store", input=box.credential(host=box.login_host, password=token))
    uncached(box)
    box.server.revoke_github()
    assert box.run("get", input=box.credential()).returncode == 1
    assert keyring_entry(box) is None


@pytest.fixture
def no_bus():
    """A bus address where no bus is (a short path: a long one fails for its length)."""
    with socket_dir() as folder:
        yield f"unix:path={folder}/no-such-bus"


def test_no_dbus_falls_back_to_a_file_with_one_notice(sandbox, no_bus):
    require_executable()
    use_store(sandbox, "auto")
    env = {"DBUS_SESSION_BUS_ADDRESS": no_bus}
    token = sandbox.server.add_github_token()
    first = sandbox.run("store", input=sandbox.credential(host=sandbox.login_host, password=token),
                        env=env)
    assert first.returncode == 0
    assert first.stderr.count("\n") == 1 and "private file" in first.stderr
    assert sandbox.stored()["access_token"] == token
    second = sandbox.run("get", input=sandbox.credential(), env=env)
    assert second.returncode == 0 and second.stderr == ""


def test_store_keyring_without_dbus_is_one_clear_line(sandbox, no_bus):
    require_executable()
    use_store(sandbox, "keyring")
    result = sandbox.run("get", input=sandbox.credential(),
                         env={"DBUS_SESSION_BUS_ADDRESS": no_bus})
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and 'store = "keyring"' in result.stderr


def test_a_bus_that_never_answers_costs_bounded_time(sandbox):
    require_executable()
    use_store(sandbox, "keyring", "\nkeyring_timeout = 0.3")
    with silent_bus() as address:
        started = time.monotonic()
        result = sandbox.run("get", input=sandbox.credential(),
                             env={"DBUS_SESSION_BUS_ADDRESS": address}, timeout=30)
        elapsed = time.monotonic() - started
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1
    assert elapsed < 8, elapsed


def test_a_locked_keyring_is_one_clear_line_within_the_timeout(sandbox, tmp_path):
    from secret_service import AVAILABLE, secret_service

    if not AVAILABLE:
        pytest.skip("dbus-daemon/gnome-keyring not installed (scripts/test installs them)")
    with secret_service(tmp_path / "kr", "right-password") as bus:
        keyring_env = {**sandbox.env, **bus}
        create = "import keyring; keyring.set_password('x', 'y', 'z')"
        subprocess.run([sys.executable, "-c", create], env=keyring_env, check=True, timeout=30,
                       capture_output=True)
    with secret_service(tmp_path / "kr", "wrong-password") as bus:
        sandbox.config_path.write_text(sandbox.config_path.read_text().replace(
            'store = "file"', 'store = "keyring"\nkeyring_timeout = 3'))
        started = time.monotonic()
        result = sandbox.run("get", input=sandbox.credential(), env=bus)
        elapsed = time.monotonic() - started
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "locked" in result.stderr
    assert elapsed < 10
