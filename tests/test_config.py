"""The TOML config: defaults, ${ENV} interpolation, one clear line per mistake."""

from __future__ import annotations

import socket

import pytest

from gateway import config
from gateway.auth import hash_password
from gateway.config import ConfigError

MOCK = '[providers.mock]\ndriver = "mock"\nmount = "/cimi"\n'
EC2 = '[providers.e]\ndriver = "ec2"\nmount = "/cimi"\nregion = "us-east-1"\n'
OPENSTACK = (
    '[providers.o]\ndriver = "openstack"\nmount = "/cimi"\n'
    'auth_url = "http://127.0.0.1:5000/v3"\nproject = "demo"\n'
)


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
        pytest.param(
            MOCK + '[store]\nurl = "postgresql+psycopg://u@h:port/db"\n',
            "store.url",
            id="store-url-malformed",
        ),
        pytest.param(
            MOCK + '[store]\nurl = "mysql://u@h/db"\n', "store.url", id="store-mysql"
        ),
        pytest.param(
            MOCK + '[store]\nurl = "postgresql://u@h/db"\n',
            "store.url",
            id="store-psycopg2",
        ),
        pytest.param(MOCK + '[store]\nurl = ""\n', "store.url", id="store-url-empty"),
        pytest.param(
            MOCK + '[store]\npath = "s.sqlite3"\nurl = "sqlite:///t.sqlite3"\n',
            "store.url",
            id="store-path-and-url",
        ),
        pytest.param("[providers\n", "not valid TOML", id="toml"),
        pytest.param(
            EC2 + 'endpoint = "127.0.0.1:5000"\n',
            "providers.e.endpoint",
            id="endpoint-no-scheme",
        ),
        pytest.param(
            EC2 + 'endpoint = "ftp://127.0.0.1"\n',
            "providers.e.endpoint",
            id="endpoint-ftp",
        ),
        pytest.param(
            EC2 + 'endpoint = "http://["\n',
            "providers.e.endpoint",
            id="endpoint-unparsable",
        ),
        pytest.param(
            EC2 + 'endpoint = "http://h:99999"\n',
            "providers.e.endpoint",
            id="endpoint-port",
        ),
        pytest.param(
            EC2.replace("us-east-1", "mars-north-1"),
            "providers.e.region",
            id="ec2-unknown-region",
        ),
        pytest.param(EC2 + "timeout = 0\n", "providers.e.timeout", id="ec2-timeout"),
        pytest.param(
            OPENSTACK.replace('auth_url = "http://127.0.0.1:5000/v3"\n', ""),
            "providers.o.auth_url",
            id="openstack-no-auth-url",
        ),
        pytest.param(
            OPENSTACK.replace('project = "demo"\n', ""),
            "providers.o.project",
            id="openstack-no-project",
        ),
        pytest.param(
            OPENSTACK.replace("http://127.0.0.1:5000/v3", "keystone"),
            "providers.o.auth_url",
            id="openstack-auth-url",
        ),
        pytest.param(
            OPENSTACK + "timeout = -1\n", "providers.o.timeout", id="openstack-timeout"
        ),
        pytest.param(
            OPENSTACK.replace("http://127.0.0.1:5000/v3", ""),
            "providers.o.auth_url",
            id="openstack-empty-auth-url",
        ),
        pytest.param(
            OPENSTACK.replace('"demo"', '" "'),
            "providers.o.project",
            id="openstack-empty-project",
        ),
        pytest.param(MOCK + "[server]\nthreads = 0\n", "server.threads", id="threads"),
        pytest.param(
            MOCK + '[server]\nlog_level = "loud"\n', "server.log_level", id="log-level"
        ),
        pytest.param(
            MOCK + "[server]\naccess_log = 1\n", "server.access_log", id="access-log"
        ),
        pytest.param(
            MOCK + "[auth]\ncache_seconds = -1\n", "auth.cache_seconds", id="auth-cache"
        ),
        pytest.param(
            '[providers.h]\ndriver = "mock"\nmount = "/healthz"\n',
            "providers.h.mount",
            id="health-mount",
        ),
        pytest.param(
            '[providers.h]\ndriver = "mock"\nmount = "/metrics/x"\n',
            "providers.h.mount",
            id="metrics-mount",
        ),
        pytest.param(
            '[providers.h]\ndriver = "mock"\nmount = "/readyz"\n',
            "providers.h.mount",
            id="ready-mount",
        ),
        pytest.param(
            MOCK + '[logging]\nformat = "xml"\n', "logging.format", id="log-format"
        ),
        pytest.param(MOCK + "[logging]\nlevel = 1\n", "logging.level", id="log-key"),
        pytest.param(
            MOCK + '[metrics]\nbind = "9100"\n', "metrics.bind", id="metrics-bind"
        ),
        pytest.param(
            MOCK + '[server]\nbind = "127.0.0.1:9100"\n'
            '[metrics]\nbind = "0.0.0.0:9100"\n',
            "metrics.bind",
            id="metrics-same-port",
        ),
        pytest.param(
            MOCK + "[metrics]\nenabled = 1\n", "metrics.enabled", id="metrics-on"
        ),
        pytest.param(
            MOCK + '[metrics]\nbind = "127.0.0.1:0"\n', "metrics.bind", id="port-0"
        ),
        pytest.param(
            MOCK + '[server]\nbind = "127.0.0.1:70000"\n', "server.bind", id="port-big"
        ),
        pytest.param(
            MOCK + '[metrics]\nenabled = false\nbind = "127.0.0.1:9100"\n',
            "metrics.bind",
            id="metrics-off-bind",
        ),
        pytest.param(
            MOCK + '[metrics.users]\nprom = "plain"\n',
            "metrics.users.prom",
            id="metrics-user-hash",
        ),
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


def test_static_openstack_needs_a_keystone_user_and_password():
    hashed = hash_password("x", iterations=1000)
    users = f'[auth]\nmode = "static"\n[auth.users]\nalice = "{hashed}"\n'
    with pytest.raises(ConfigError, match=r"providers\.o\.username"):
        config.parse(users + OPENSTACK)

    loaded = config.parse(users + OPENSTACK + 'username = "u"\npassword = "p"\n')

    assert loaded.providers[0].settings["username"] == "u"


def test_unreadable_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="cannot read"):
        config.load(str(tmp_path / "missing.toml"))


def test_serving_defaults_hold_a_slow_cloud_and_log_requests():
    loaded = config.parse(MOCK)

    assert (loaded.workers, loaded.threads) == (2, config.DEFAULT_THREADS)
    assert config.DEFAULT_THREADS >= 16
    assert loaded.access_log and loaded.log_level == "info"
    assert loaded.request_read_timeout == 10
    assert loaded.public_url is None


@pytest.mark.parametrize(
    ("overrides", "flag"),
    [
        ({"workers": 0}, "--workers"),
        ({"threads": -1}, "--threads"),
        ({"bind": "nope"}, "--bind"),
        ({"log_level": "loud"}, "--log-level"),
    ],
)
def test_command_line_overrides_are_checked(overrides, flag):
    with pytest.raises(ConfigError, match=flag):
        config.replace_server(config.parse(MOCK), **overrides)


def test_operators_settings_default_to_text_logs_and_open_metrics_on_the_api_bind():
    loaded = config.parse(MOCK)

    assert loaded.log_format == "text"
    assert loaded.metrics_enabled and loaded.metrics_bind is None
    assert loaded.metrics_users == {}


def test_a_bind_flag_may_not_take_the_metrics_port():
    loaded = config.parse(MOCK + '[metrics]\nbind = "127.0.0.1:9100"\n')

    with pytest.raises(ConfigError, match="--bind"):
        config.replace_server(loaded, bind="127.0.0.1:9100")


def test_command_line_overrides_apply():
    changed = config.replace_server(
        config.parse(MOCK), workers=3, threads=2, log_level="DEBUG"
    )

    assert (changed.workers, changed.threads, changed.log_level) == (3, 2, "debug")


def test_the_ec2_example_is_safe_to_run_as_it_is(monkeypatch):
    from pathlib import Path

    monkeypatch.delenv("EC2_ENDPOINT", raising=False)
    example = Path(__file__).parents[1] / "config" / "ec2.example.toml"

    loaded = config.load(str(example))

    # A newcomer's first try reaches a local EC2 double, not Amazon.
    assert loaded.providers[0].settings["endpoint"].startswith("http://127.0.0.1:")


def test_a_postgresql_store_url_is_taken_as_it_is():
    url = "postgresql+psycopg://gw:s3cret@db.example.com:5433/cimi"

    loaded = config.parse(MOCK + f'[store]\nurl = "{url}"\n')

    assert loaded.store_url == url


@pytest.mark.parametrize(
    "url",
    ["mysql://gw:s3cret@db/cimi", "postgresql://gw:s3cret@db/cimi", "x://gw:s3cret@"],
)
def test_a_refused_store_url_does_not_repeat_its_password(url):
    with pytest.raises(ConfigError, match=r"store\.url") as caught:
        config.parse(MOCK + f'[store]\nurl = "{url}"\n')

    assert "s3cret" not in str(caught.value)


def test_a_store_that_cannot_be_reached_stops_start_up_without_its_password():
    from gateway.cli import check_store

    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"postgresql+psycopg://gw:s3cret@127.0.0.1:{port}/cimi?connect_timeout=5"

    with pytest.raises(ConfigError, match="store: cannot open") as caught:
        check_store(config.parse(MOCK + f'[store]\nurl = "{url}"\n'))

    assert "s3cret" not in str(caught.value)
    assert f"127.0.0.1:{port}" in str(caught.value)
    assert "\n" not in str(caught.value)
