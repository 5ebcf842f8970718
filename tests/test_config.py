"""The TOML config: defaults, ${ENV} interpolation, one clear line per mistake."""

from __future__ import annotations

import pytest

from gateway import config
from gateway.auth import hash_password
from gateway.config import ConfigError

MOCK = '[providers.mock]\ndriver = "mock"\nmount = "/cimi"\n'


def test_default_config_serves_mock_at_cimi():
    loaded = config.load(None)

    assert [(p.name, p.driver, p.mount) for p in loaded.providers] == [
        ("mock", "mock", "/cimi")
    ]
    assert loaded.bind == "127.0.0.1:8000"
    assert loaded.auth_mode == "passthrough"
    assert loaded.store_url.startswith("sqlite:///")


def test_env_var_names_the_config(tmp_path, monkeypatch):
    path = tmp_path / "c.toml"
    path.write_text(MOCK.replace("/cimi", "/elsewhere"))
    monkeypatch.setenv("CIMI_GATEWAY_CONFIG", str(path))

    assert config.load(None).providers[0].mount == "/elsewhere"


def test_interpolation_with_and_without_default(monkeypatch):
    monkeypatch.setenv("REGION", "eu-west-1")
    text = """
[store]
path = "${STATE_DIR:-/tmp/state}/s.sqlite3"
[providers.ec2]
driver = "ec2"
mount = "/cimi"
region = "${REGION}"
"""
    loaded = config.parse(text)

    assert loaded.providers[0].settings["region"] == "eu-west-1"
    assert loaded.providers[0].settings["image_owners"] == ["self"]
    assert loaded.store_url == "sqlite:////tmp/state/s.sqlite3"


def test_several_providers_side_by_side():
    text = MOCK + '[providers.other]\ndriver = "mock"\nmount = "/cimi/other"\n'

    loaded = config.parse(text)

    assert [p.mount for p in loaded.providers] == ["/cimi", "/cimi/other"]


@pytest.mark.parametrize(
    ("text", "key"),
    [
        pytest.param("[providers]\n", "providers", id="no-provider"),
        pytest.param(
            '[providers.x]\nmount = "/cimi"\n', "providers.x.driver", id="no-driver"
        ),
        pytest.param(
            '[providers.x]\ndriver = "azure"\nmount = "/cimi"\n',
            "providers.x.driver",
            id="unknown-driver",
        ),
        pytest.param(
            '[providers.x]\ndriver = "mock"\n', "providers.x.mount", id="no-mount"
        ),
        pytest.param(
            '[providers.x]\ndriver = "mock"\nmount = "cimi/"\n',
            "providers.x.mount",
            id="bad-mount",
        ),
        pytest.param(
            MOCK + '[providers.y]\ndriver = "mock"\nmount = "/cimi"\n',
            "providers.y.mount",
            id="same-mount",
        ),
        pytest.param(
            '[providers.e]\ndriver = "ec2"\nmount = "/cimi"\n',
            "providers.e.region",
            id="ec2-no-region",
        ),
        pytest.param(
            '[providers.e]\ndriver = "ec2"\nmount = "/cimi"\nregion = 5\n',
            "providers.e.region",
            id="ec2-region-type",
        ),
        pytest.param(MOCK + "colour = 1\n", "providers.mock.colour", id="unknown-key"),
        pytest.param(MOCK + "[server]\nbind = 8000\n", "server.bind", id="bind-type"),
        pytest.param(MOCK + '[server]\nbind = "8000"\n', "server.bind", id="bind-form"),
        pytest.param(MOCK + "[server]\nworkers = 0\n", "server.workers", id="workers"),
        pytest.param(MOCK + '[auth]\nmode = "open"\n', "auth.mode", id="auth-mode"),
        pytest.param(
            MOCK + '[auth]\nmode = "static"\n', "auth.users", id="static-no-users"
        ),
        pytest.param(
            MOCK + '[auth.users]\nbob = "plain"\n', "auth.users.bob", id="unhashed"
        ),
        pytest.param(
            MOCK + '[store]\npath = "${NOPE_NOT_SET}"\n', "store.path", id="env"
        ),
        pytest.param("[providers\n", "not valid TOML", id="toml"),
    ],
)
def test_mistakes_name_the_key(text, key, monkeypatch):
    monkeypatch.delenv("NOPE_NOT_SET", raising=False)

    with pytest.raises(ConfigError) as caught:
        config.parse(text)

    assert key in str(caught.value)
    assert "\n" not in str(caught.value)


def test_static_ec2_needs_cloud_keys():
    text = f"""
[auth]
mode = "static"
[auth.users]
alice = "{hash_password("x", iterations=1000)}"
[providers.e]
driver = "ec2"
mount = "/cimi"
region = "us-east-1"
"""
    with pytest.raises(ConfigError, match=r"providers\.e\.key"):
        config.parse(text)


def test_unreadable_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="cannot read"):
        config.load(str(tmp_path / "missing.toml"))
