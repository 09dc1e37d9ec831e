"""The cached get's two files (helper.core.cachefiles): what is encoded decodes to the same
routes and token, and anything else - another key, another state file, a cut or edited
line - is ``Unusable``, so the full path answers instead."""

from __future__ import annotations

import os
from types import SimpleNamespace

import pytest

from helper import osdeps
from helper.core import cachefiles
from helper.core.cachefiles import RACY, RouteKey, Unusable
from helper.core.routes import Route, RouteTable
from helper.storage import paths
from helper.storage.records import STORE, Token

NOW_NS = 1_800_000_000 * 1_000_000_000
TABLE = RouteTable([Route("copilot", "fp-c", "", ("api.githubcopilot.com", "x.example")),
                    Route("corp", "fp-o", "https://llm.corp.example/v1", ("llm.corp.example",))],
                   override="corp")
KEY = RouteKey("git-credential-copilot cache 2\x1f/c.toml\x1fabsent\x1fcode\x1fHOME=/h", True)
TOKEN = Token("tid=1;exp=2", 1_800_001_800, 1_800_001_500, 1_800_000_000,
              "https://api.example.com", "octo", "GH_TOKEN", "f" * 32,
              ("COPILOT_GITHUB_TOKEN", "GH_TOKEN"), "fp-c")


def info(mtime_ns: int, ino: int = 7, size: int = 10, dev: int = 3) -> os.stat_result:
    """What the key and the stamp read of a stat result (ctime: a second later)."""
    return SimpleNamespace(st_dev=dev, st_ino=ino, st_size=size, st_mtime_ns=mtime_ns,
                           st_ctime_ns=mtime_ns + 10**9)  # type: ignore[return-value]


def fake_stat(config: os.stat_result | None, code: os.stat_result | None = None):
    def stat(path: str) -> os.stat_result:
        if path == cachefiles.__file__:
            if code is None:
                raise PermissionError(path)
            return code
        if config is None:
            raise FileNotFoundError(path)
        return config
    return stat


ENV = {"HOME": "/home/u", "GIT_CREDENTIAL_COPILOT_CONFIG": "/etc/c.toml"}


# -- the routes key ----------------------------------------------------------------------------

def test_the_key_names_the_config_file_the_code_and_every_input_of_the_configuration():
    key = cachefiles.route_key(ENV, fake_stat(info(NOW_NS - RACY), info(5, ino=9, size=99)),
                               lambda: NOW_NS)
    fields = key.text.split("\x1f")
    assert fields[:3] == [cachefiles.FORMAT, "/etc/c.toml",
                          f"3:7:10:{NOW_NS - RACY}:{NOW_NS - RACY + 10**9}"]
    assert fields[3] == f"{cachefiles.__file__}:9:99:5"
    assert fields[4:] == [f"{name}={ENV.get(name, '')}" for name in paths.CONFIG_INPUTS]


def test_a_config_changed_less_than_3_seconds_ago_may_not_have_its_routes_saved():
    """FAT keeps 2-second stamps: an edit within the same tick could go unseen."""
    three = 3_000_000_000
    assert three == RACY
    assert cachefiles.route_key(ENV, fake_stat(info(NOW_NS - three), info(5)),
                                lambda: NOW_NS).settled
    assert not cachefiles.route_key(ENV, fake_stat(info(NOW_NS - three + 1), info(5)),
                                    lambda: NOW_NS).settled


def test_no_config_file_is_a_settled_key_of_its_own():
    key = cachefiles.route_key(ENV, fake_stat(None, info(5)), lambda: NOW_NS)
    assert key.settled and key.text.split("\x1f")[2] == "absent"


def test_no_key_when_the_code_or_the_config_cannot_be_stated_or_a_value_breaks_lines():
    assert cachefiles.route_key(ENV, fake_stat(info(5), None), lambda: NOW_NS) is None

    def unreadable(path: str) -> os.stat_result:
        if path == cachefiles.__file__:
            return info(5)
        raise PermissionError(path)

    assert cachefiles.route_key(ENV, unreadable, lambda: NOW_NS) is None
    for bad in ("a\nb", "a\rb"):
        assert cachefiles.route_key({**ENV, "HOME": bad}, fake_stat(None, info(5)),
                                    lambda: NOW_NS) is None


def test_the_routes_file_is_one_per_config_path_and_environment():
    other_stamp = RouteKey(KEY.text.replace("absent", "1:2:3:4:5").replace("code", "c2"), True)
    assert cachefiles.routes_file("/s", KEY) == cachefiles.routes_file("/s", other_stamp)
    other_env = RouteKey(KEY.text.replace("HOME=/h", "HOME=/g"), True)
    assert cachefiles.routes_file("/s", KEY) != cachefiles.routes_file("/s", other_env)
    path = cachefiles.routes_file("/s", KEY)
    assert os.path.dirname(path) == "/s/routes" and len(os.path.basename(path)) == 16
    digest = 0xCBF29CE484222325  # FNV-1a (64 bit) of the key without the two stamps
    for byte in "\x1f".join(KEY.text.split("\x1f")[:2] + KEY.text.split("\x1f")[4:]).encode():
        digest = ((digest ^ byte) * 0x100000001B3) % 2**64
    assert path == os.path.join("/s", "routes", f"{digest:016x}")


# -- the routes ------------------------------------------------------------------------------

def test_a_profile_without_issuer_api_base_or_hosts_is_kept_as_such():
    table = RouteTable([Route("bare", "", "", ())])
    text = cachefiles.encode_routes(KEY, table, {})
    assert text.split("\n")[2] == "profile bare - -"
    table, _ = cachefiles.decode_routes(text, KEY)
    (route,) = table.routes
    assert (route.name, route.issuer, route.api_base, route.hosts) == ("bare", "", "", ())


def test_routes_decode_to_what_was_encoded():
    text = cachefiles.encode_routes(KEY, TABLE, {"copilot": "api.enterprise.example", "corp": ""})
    assert text.split("\n") == [
        KEY.text, "override corp", "profile copilot fp-c - api.githubcopilot.com x.example",
        "profile corp fp-o https://llm.corp.example/v1 llm.corp.example",
        "remember copilot api.enterprise.example", ""]
    table, remembered = cachefiles.decode_routes(text, KEY)
    assert remembered == {"copilot": "api.enterprise.example"}
    assert table.override == "corp"
    assert [(r.name, r.issuer, r.api_base, r.hosts) for r in table.routes] == [
        (r.name, r.issuer, r.api_base, r.hosts) for r in TABLE.routes]


@pytest.mark.parametrize("route, remembered", [
    (Route("a b", "fp", "", ("h",)), {}), (Route("a", "fp", "", ("h x",)), {}),
    (Route("a", "f p", "", ("h",)), {}), (Route("a", "fp", "https://x/\u2028", ("h",)), {}),
    (Route("a", "fp", "", ("h",)), {"a": "h x"}), (Route("a", "fp", "", ("h",)), {"a\x01": "h"}),
])
def test_routes_that_cannot_be_written_plainly_are_not_written(route, remembered):
    assert cachefiles.encode_routes(KEY, RouteTable([route]), remembered) is None


GOOD = cachefiles.encode_routes(KEY, TABLE, {"copilot": "api.enterprise.example"})


@pytest.mark.parametrize("text", [
    GOOD.replace(KEY.text, KEY.text + "x"),  # another key with the same hash
    GOOD[:-1],  # cut short
    KEY.text + "\noverride \n",  # no profile
    KEY.text + "\n",
    GOOD.replace("override corp", "overide corp"),
    GOOD.replace("profile corp fp-o https://llm.corp.example/v1 llm.corp.example",
                 "profile corp fp-o"),
    GOOD.replace("remember copilot api.enterprise.example", "remember copilot"),
    GOOD.replace("remember copilot", "remember copilot a"),
    GOOD.replace("remember copilot", "forget copilot"),
])
def test_routes_that_are_not_as_written_are_unusable(text):
    with pytest.raises(Unusable):
        cachefiles.decode_routes(text, KEY)


# -- the token file ----------------------------------------------------------------------------

STAMP = cachefiles.stamp(info(NOW_NS, ino=11, size=222, dev=4))


def test_the_token_file_of_a_profile():
    assert cachefiles.token_file("/s", "copilot") == os.path.join("/s", "tokens", "copilot")


def test_the_state_stamp_is_device_inode_size_and_mtime():
    assert f"4:11:222:{NOW_NS}" == STAMP


def test_a_token_decodes_to_what_was_encoded():
    text = cachefiles.encode_token(STAMP, "https://api.example.com", ("d1", "d2"), TOKEN)
    assert text.split("\n")[:4] == [cachefiles.FORMAT, f"state {STAMP}",
                                    "api_base=https://api.example.com", "dead=d1,d2"]
    assert "token.expires_at=i:1800001800" in text.split("\n")
    assert "token.overrides=t:COPILOT_GITHUB_TOKEN,GH_TOKEN" in text.split("\n")
    assert cachefiles.decode_token(text, STAMP) == (TOKEN, "https://api.example.com",
                                                   ("d1", "d2"))
    plain = Token("t", 2, 1, 0, origin=STORE)
    text = cachefiles.encode_token(STAMP, "", (), plain)
    assert cachefiles.decode_token(text, STAMP) == (plain, "", ())


def test_a_token_file_for_another_state_file_is_unusable():
    text = cachefiles.encode_token(STAMP, "", (), TOKEN)
    with pytest.raises(Unusable, match="written since"):
        cachefiles.decode_token(text, cachefiles.stamp(info(NOW_NS + 1, ino=11, size=222, dev=4)))


@pytest.mark.parametrize("value", ["a\nb", "a\rb", "a\0b"])
def test_a_value_with_a_line_break_is_never_cached(value):
    with pytest.raises(ValueError):
        cachefiles.encode_token(STAMP, value, (), TOKEN)


def test_only_ints_strs_and_tuples_of_plain_names_are_cached():
    for bad in (Token("t", True, 1, 0), Token("t", 2, 1, 0, overrides=("A,B",)),
                Token("t", 2, 1, 0, overrides=("",)), Token("t", 2.5, 1, 0),
                Token("t", 2, 1, 0, overrides=(1,))):  # type: ignore[arg-type]
        with pytest.raises(ValueError):
            cachefiles.encode_token(STAMP, "", (), bad)


GOOD_TOKEN = cachefiles.encode_token(STAMP, "https://a", ("d1",), TOKEN)


@pytest.mark.parametrize("text", [
    GOOD_TOKEN.replace(cachefiles.FORMAT, "git-credential-copilot cache 1"),
    GOOD_TOKEN[:-1],
    GOOD_TOKEN[:-2],  # cut inside its last line
    GOOD_TOKEN + "token.issuer=s:another",  # a line appended without its newline
    GOOD_TOKEN.replace("api_base=https://a\n", "api_base\n"),
    GOOD_TOKEN.replace("dead=d1\n", "dead=d1\nunknown=s:x\n"),
    "\n".join(GOOD_TOKEN.split("\n")[:4]) + "\n",  # no token fields
    GOOD_TOKEN.replace("api_base=https://a\n", ""),
    GOOD_TOKEN.replace("dead=d1\n", ""),
    GOOD_TOKEN.replace("dead=d1\n", "dead=d1\ndead=d2\n"),  # repeated
    GOOD_TOKEN.replace("dead=d1\n", "dead=d1\nnoequals\n"),
    GOOD_TOKEN.replace("dead=d1\n", "dead=d1\nother=x\n"),
    GOOD_TOKEN.replace("token.expires_at=i:", "token.expires_at=f:"),
    GOOD_TOKEN.replace("token.expires_at=i:1800001800", "token.expires_at=i:18e8"),
    GOOD_TOKEN.replace("token.expires_at=i:1800001800", "token.expires_at=i:１８"),
    GOOD_TOKEN.replace("token.expires_at=i:1800001800", "token.expires_at=s:1800001800"),
    GOOD_TOKEN.replace("token.token=s:tid=1;exp=2", "token.token=s:"),
    GOOD_TOKEN.replace("token.issuer=s:fp-c\n", ""),
])
def test_a_token_file_that_is_not_as_written_is_unusable(text):
    with pytest.raises(Unusable):
        cachefiles.decode_token(text, STAMP)


def test_negative_numbers_and_empty_tuples_decode():
    token = Token("t", 2, 1, -5, overrides=())
    text = cachefiles.encode_token(STAMP, "", (), token)
    assert "token.minted_at=i:-5" in text and "token.overrides=t:" in text.split("\n")
    assert cachefiles.decode_token(text, STAMP)[0] == token


# -- upkeep ------------------------------------------------------------------------------------

def test_routes_remembering_another_host_for_a_profile_are_dropped(tmp_path):
    state_dir = str(tmp_path)
    routes = tmp_path / "routes"
    routes.mkdir(mode=0o700)

    def keep(name: str, table: RouteTable, remembered: dict[str, str]) -> None:
        path = routes / name
        path.write_text(cachefiles.encode_routes(KEY, table, remembered))
        path.chmod(0o600)

    keep("same", TABLE, {"copilot": "api.enterprise.example"})
    keep("other", TABLE, {"copilot": "api.elsewhere.example"})
    keep("none", TABLE, {"corp": "x"})  # made before copilot remembered a host
    keep("corp-only", RouteTable([TABLE.route("corp")]), {})  # names no copilot profile
    (routes / "junk").write_bytes(b"\xff\xfe")
    (routes / "junk").chmod(0o600)
    cachefiles.drop_routes_remembering(state_dir, "copilot", "api.enterprise.example")
    assert sorted(os.listdir(routes)) == ["corp-only", "junk", "same"]
    cachefiles.drop_routes_remembering(state_dir, "copilot", "")
    assert sorted(os.listdir(routes)) == ["corp-only", "junk"]
    cachefiles.drop_routes_remembering(str(tmp_path / "nowhere"), "copilot", "")


def test_a_routes_file_that_vanishes_while_listed_is_skipped(tmp_path, monkeypatch):
    """A writer's temporary file is renamed away between listing and reading."""
    (tmp_path / "routes").mkdir(mode=0o700)
    real = osdeps.native.listdir
    monkeypatch.setattr(osdeps.native, "listdir", lambda path: ["vanished.tmp", *real(path)])
    cachefiles.drop_routes_remembering(str(tmp_path), "copilot", "h")


# -- the token file beside the state file --------------------------------------------------------

def state_file(directory, name: str = "copilot.json"):
    path = directory / name
    path.write_text("{}")
    path.chmod(0o600)
    return path


def test_the_token_file_is_kept_beside_the_state_file_stamped_with_it_and_forgotten(tmp_path):
    path = state_file(tmp_path)
    cachefiles.keep_token(str(path), "https://a", ("d1",), TOKEN, print)
    kept = tmp_path / "tokens" / "copilot"
    assert kept.stat().st_mode & 0o777 == 0o600
    assert cachefiles.decode_token(kept.read_text(), cachefiles.stamp(os.lstat(path))) == (
        TOKEN, "https://a", ("d1",))
    cachefiles.forget_token(str(path))
    assert not kept.exists()
    cachefiles.forget_token(str(path))  # nothing to forget: fine


def test_a_state_file_not_named_json_keeps_its_whole_name(tmp_path):
    cachefiles.keep_token(str(state_file(tmp_path, "corp")), "", (), TOKEN, print)
    assert os.listdir(tmp_path / "tokens") == ["corp"]


def test_no_token_no_token_file_and_a_token_that_cannot_be_cached_is_not(tmp_path):
    path = state_file(tmp_path)
    cachefiles.keep_token(str(path), "", (), None, print)
    assert not (tmp_path / "tokens").exists()
    cachefiles.keep_token(str(path), "https://a\nb", (), TOKEN, print)
    assert not (tmp_path / "tokens" / "copilot").exists()


def test_the_token_file_is_not_fsynced(tmp_path, monkeypatch):
    """It is derived and checked on every read: a crash costs speed, not correctness."""
    synced = []
    for module in (os, osdeps.native):
        monkeypatch.setattr(module, "fsync", lambda fd: synced.append(fd))
    cachefiles.keep_token(str(state_file(tmp_path)), "", (), TOKEN, print)
    assert (tmp_path / "tokens" / "copilot").exists() and synced == []


def test_keeping_a_token_drops_the_routes_that_remember_another_api_host(tmp_path):
    routes = tmp_path / "routes"
    routes.mkdir(mode=0o700)
    saved = routes / "saved"
    for api_base, kept in [("https://api.enterprise.example/v1", True),
                           ("https://api.elsewhere.example", False)]:
        saved.write_text(cachefiles.encode_routes(
            KEY, TABLE, {"copilot": "api.enterprise.example"}))
        saved.chmod(0o600)
        cachefiles.keep_token(str(state_file(tmp_path)), api_base, (), None, print)
        assert saved.exists() == kept, api_base
    saved.write_text(cachefiles.encode_routes(KEY, TABLE, {"copilot": "api.enterprise.example"}))
    saved.chmod(0o600)
    cachefiles.keep_token(str(state_file(tmp_path)), "", (), None, print)  # remembers none now
    assert not saved.exists()
