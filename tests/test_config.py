"""Configuration: defaults, overrides, and an error naming file and key for every mistake."""

from __future__ import annotations

import pytest

from helper.core import config
from helper.errors import ConfigError
from helper.net import urls
from helper.providers import base, registry


def load(tmp_path, text: str | None) -> config.Config:
    """The configuration with ``text`` as config file (None: no file at all)."""
    if text is None:
        return config.load({"HOME": str(tmp_path)})
    path = tmp_path / "config.toml"
    path.write_text(text)
    return config.load({"HOME": str(tmp_path), "GIT_CREDENTIAL_COPILOT_CONFIG": str(path)})


def test_no_file_gives_the_builtin_copilot_profile(tmp_path):
    cfg = load(tmp_path, None)
    profile = cfg.profile("copilot")
    assert profile.setting("github_url") == "https://github.com"
    assert profile.setting("api_url") == "https://api.github.com"
    assert profile.client_id == "Iv1.b507a08c87ecfe98"
    assert "api.githubcopilot.com" in profile.hosts
    assert profile.login_host == "github.com"
    assert (cfg.store, cfg.interactive, cfg.default_profile) == ("auto", "auto", "copilot")


def test_explicit_config_path_that_is_missing_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        config.load({"GIT_CREDENTIAL_COPILOT_CONFIG": str(tmp_path / "nope.toml")})


def test_xdg_config_home_is_honoured(tmp_path):
    path = tmp_path / "xdg" / "git-credential-copilot" / "config.toml"
    path.parent.mkdir(parents=True)
    path.write_text('store = "file"\n')
    cfg = config.load({"HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / "xdg")})
    assert cfg.store == "file"


def test_keys_override_the_builtin_profile(tmp_path):
    cfg = load(tmp_path, '[profiles.copilot]\ngithub_url = "https://ghe.example.com/"\n')
    profile = cfg.profile("copilot")
    assert profile.setting("github_url") == "https://ghe.example.com"
    assert profile.client_id == "Iv1.b507a08c87ecfe98"


def test_a_second_copilot_profile_starts_from_the_defaults(tmp_path):
    cfg = load(tmp_path, '[profiles.work]\n'
                         'api_url = "https://ghe.example.com/api/v3"\n'
                         'github_url = "https://ghe.example.com"\n'
                         'hosts = ["copilot.example.com"]\n')
    work = cfg.profile("work")
    assert work.provider == "copilot" and work.scope == "read:user"
    assert work.hosts == ("copilot.example.com",)


@pytest.mark.parametrize("text, key", [
    ('stor = "file"\n', "stor"),
    ('store = "cloud"\n', "store"),
    ('interactive = true\n', "interactive"),
    ('http_timeout = -1\n', "http_timeout"),
    ('default_profile = "nope"\n', "default_profile"),
    ('[profiles.copilot]\nhosts = "api.githubcopilot.com"\n', "profiles.copilot.hosts"),
    ('[profiles.copilot]\nhosts = ["https://api.githubcopilot.com"]\n', "profiles.copilot.hosts"),
    ('[profiles.copilot]\nissuer = "https://x"\n', "profiles.copilot.issuer"),
    ('[profiles.copilot]\napi_url = "http://api.github.com"\n', "profiles.copilot.api_url"),
    ('[profiles.copilot]\napi_url = "ftp://api.github.com"\n', "profiles.copilot.api_url"),
    ('[profiles.copilot]\napi_url = "https://u:p@api.github.com"\n', "profiles.copilot.api_url"),
    ('[profiles.copilot]\nclient_id = 5\n', "profiles.copilot.client_id"),
    ('[profiles."../etc"]\n', "profiles.../etc"),
    ('[profiles.x]\nprovider = "saml"\n', "profiles.x.provider"),
    ('[profiles.x]\nprovider = "oauth"\nissuer = "https://idp.example.com"\n', "client_id"),
    ('[profiles.x]\nprovider = "oauth"\nclient_id = "c"\n', "issuer"),
    ('this is not toml', "invalid TOML"),
])
def test_mistakes_name_the_file_and_the_key(tmp_path, text, key):
    with pytest.raises(ConfigError) as info:
        load(tmp_path, text)
    message = str(info.value)
    assert str(tmp_path / "config.toml") in message and key in message
    assert "\n" not in message


@pytest.mark.parametrize("url", ["http://127.0.0.1:8080", "http://localhost:1", "http://[::1]:9",
                                 "http://127.5.6.7"])
def test_plain_http_is_allowed_for_loopback_only(tmp_path, url):
    cfg = load(tmp_path, f'[profiles.copilot]\napi_url = "{url}"\n')
    assert cfg.profile("copilot").setting("api_url") == url


@pytest.mark.parametrize("var, value", [
    ("GIT_CREDENTIAL_COPILOT_STORE", "cloud"),
    ("GIT_CREDENTIAL_COPILOT_INTERACTIVE", "yes"),
    ("GIT_CREDENTIAL_COPILOT_PROFILE", "missing"),
])
def test_bad_environment_overrides_name_the_variable(tmp_path, var, value):
    with pytest.raises(ConfigError, match=var):
        config.load({"HOME": str(tmp_path), var: value})


def test_environment_overrides_win(tmp_path):
    cfg = config.load({"HOME": str(tmp_path), "GIT_CREDENTIAL_COPILOT_STORE": "file",
                       "GIT_CREDENTIAL_COPILOT_INTERACTIVE": "never",
                       "GIT_CREDENTIAL_COPILOT_PROFILE": "copilot"})
    assert (cfg.store, cfg.interactive, cfg.profile_override) == ("file", "never", "copilot")


def test_oauth_profile(tmp_path):
    cfg = load(tmp_path, '[profiles.corp]\nprovider = "oauth"\nissuer = "https://idp.example.com"\n'
                         'client_id = "abc"\nhosts = ["llm.example.com"]\n')
    corp = cfg.profile("corp")
    assert corp.scope == "openid offline_access" and corp.login_host == ""


def test_builtin_defaults_are_consistent():
    """The built-in table's invariants: https everywhere, valid hosts, known keys only."""
    for name in registry.names():
        spec = registry.spec(name)
        assert spec.name == name and issubclass(spec.provider, base.Provider)
        assert set(spec.defaults) <= set(spec.keys)
        assert set(spec.keys.values()) <= set(base.KINDS)
        for key, value in spec.defaults.items():
            if spec.keys[key] == base.URL:
                assert value.startswith("https://") and not urls.url_problem(value)
            if spec.keys[key] == base.HOSTS:
                assert all(urls.is_host(host) and host == host.lower() for host in value)
