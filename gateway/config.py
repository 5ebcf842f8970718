"""The gateway's TOML config: read, interpolate ``${ENV}``, validate.

Any problem raises ``ConfigError`` with one line naming the key, which the
command line prints instead of a traceback.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from importlib import resources
from typing import Any
from urllib.parse import urlsplit

from providers.base import Setting
from providers.registry import DRIVERS
from providers.registry import provider_class

ENV_VAR = "CIMI_GATEWAY_CONFIG"
_INTERPOLATION = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
_BIND = re.compile(r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$")
_MOUNT = re.compile(r"^(/[A-Za-z0-9._~-]+)+$")
AUTH_MODES = ("passthrough", "static")
LOG_LEVELS = ("debug", "info", "warning", "error", "critical")
LOG_FORMATS = ("text", "json")
#: paths the gateway answers for operators, which no mount may take.
OPERATORS_PATHS = ("/healthz", "/readyz", "/metrics")
#: threads per worker: each holds one request while its cloud answers, so
#: a slow cloud or a slow client never stalls the others (see README).
DEFAULT_THREADS = 16
_SERVER_KEYS = {
    "bind",
    "workers",
    "threads",
    "timeout",
    "max_body_bytes",
    "request_read_timeout",
    "public_url",
    "access_log",
    "log_level",
}


class ConfigError(Exception):
    """A config file that cannot be used; the message names the key."""


@dataclass(frozen=True)
class ProviderConfig:
    """One ``[providers.NAME]`` table."""

    name: str
    driver: str
    mount: str
    settings: Mapping[str, Any]


@dataclass(frozen=True)
class Config:
    """Everything the gateway reads from its config file."""

    providers: tuple[ProviderConfig, ...]
    store_url: str
    auth_mode: str = "passthrough"
    users: Mapping[str, str] = field(default_factory=dict)
    #: how long a verdict on a client's credentials is kept.
    auth_cache_seconds: int = 60
    #: the entry point and ResourceMetadata answer without credentials.
    open_discovery: bool = True
    bind: str = "127.0.0.1:8000"
    workers: int = 2
    threads: int = DEFAULT_THREADS
    timeout: int = 60
    max_body_bytes: int = 1024 * 1024
    #: seconds a client has to send a request's head and body.
    request_read_timeout: int = 10
    #: the scheme and host clients reach the gateway at, when fixed.
    public_url: str | None = None
    access_log: bool = True
    log_level: str = "info"
    job_retention: int = 24 * 3600
    #: seconds a cloud listing is served again to the same credentials.
    listing_cache_seconds: int = 3
    #: ``[logging] format``: "text" (gunicorn's layout) or "json" lines.
    log_format: str = "text"
    #: ``/metrics`` is served at all.
    metrics_enabled: bool = True
    #: HOST:PORT ``/metrics`` is served on instead of ``bind``.
    metrics_bind: str | None = None
    #: users (and hashes) ``/metrics`` asks for; none: it is open.
    metrics_users: Mapping[str, str] = field(default_factory=dict)
    source: str = ""


def default_config_text() -> str:
    """Return the shipped default config: ``mock`` at ``/cimi``."""
    return resources.files("gateway").joinpath("default.toml").read_text()


def load(path: str | None = None) -> Config:
    """Read the config at ``path``, else ``$CIMI_GATEWAY_CONFIG``, else the default.

    Raises:
        ConfigError: naming the first key that is wrong.
    """
    path = path or os.environ.get(ENV_VAR) or None
    if path is None:
        return parse(default_config_text(), source="<default config>")
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except OSError as ex:
        raise ConfigError(f"cannot read config file {path}: {ex.strerror}") from ex
    return parse(text, source=path)


def parse(text: str, *, source: str = "<string>") -> Config:
    """Parse and validate config ``text``."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as ex:
        raise ConfigError(f"{source}: not valid TOML: {ex}") from ex
    raw = _interpolate(raw, "")
    _only(
        raw,
        "",
        {"server", "store", "auth", "jobs", "cache", "logging", "metrics", "providers"},
    )

    server = _table(raw, "server")
    _only(server, "server.", _SERVER_KEYS)
    bind = _get(server, "server.bind", str, "127.0.0.1:8000")
    _check_bind(bind, "server.bind")
    public_url = _get(server, "server.public_url", str, None)
    if public_url is not None:
        public_url = normal_public_url(public_url, "server.public_url")
    log_level = _get(server, "server.log_level", str, "info")
    check_log_level(log_level, "server.log_level")

    store = _table(raw, "store")
    _only(store, "store.", {"path", "url"})
    from gateway.store import check_url
    from gateway.store import url_for_path

    if "url" in store and "path" in store:
        raise ConfigError("store.url: give either store.path or store.url, not both")
    if "url" in store:
        store_url = _get(store, "store.url", str, "")
        try:
            check_url(store_url)
        except ValueError as ex:
            raise ConfigError(f"store.url: {ex}") from ex
    else:
        store_url = url_for_path(_get(store, "store.path", str, "cimi-gateway.sqlite3"))

    auth = _table(raw, "auth")
    _only(auth, "auth.", {"mode", "users", "cache_seconds", "open_discovery"})
    mode = _get(auth, "auth.mode", str, "passthrough")
    auth_cache = _get(auth, "auth.cache_seconds", int, 60)
    if isinstance(auth_cache, bool) or auth_cache < 0:
        raise ConfigError("auth.cache_seconds: expected seconds, 0 or more")
    if mode not in AUTH_MODES:
        raise ConfigError(f"auth.mode: '{mode}' is not one of {', '.join(AUTH_MODES)}")
    users = _users(auth, "auth.")
    if mode == "static" and not users:
        raise ConfigError("auth.users: static mode needs at least one user")

    providers = _providers(raw)
    if mode == "static":
        for entry in providers:
            for name in provider_class(entry.driver).STATIC_CREDENTIALS:
                if not entry.settings.get(name):
                    raise ConfigError(
                        f"providers.{entry.name}.{name}: static auth needs the "
                        "cloud's credentials here"
                    )
    cache = _table(raw, "cache")
    _only(cache, "cache.", {"listing_seconds"})
    listing_seconds = _get(cache, "cache.listing_seconds", int, 3)
    if isinstance(listing_seconds, bool) or listing_seconds < 0:
        raise ConfigError("cache.listing_seconds: expected seconds, 0 or more")
    jobs = _table(raw, "jobs")
    _only(jobs, "jobs.", {"retention"})
    retention = _get(jobs, "jobs.retention", int, 24 * 3600)
    if isinstance(retention, bool) or retention < 1:
        raise ConfigError("jobs.retention: expected a positive number of seconds")
    logging_table = _table(raw, "logging")
    _only(logging_table, "logging.", {"format"})
    log_format = _get(logging_table, "logging.format", str, "text")
    if log_format not in LOG_FORMATS:
        raise ConfigError(
            f"logging.format: '{log_format}' is not one of {', '.join(LOG_FORMATS)}"
        )
    metrics = _table(raw, "metrics")
    _only(metrics, "metrics.", {"enabled", "bind", "users"})
    metrics_bind = _get(metrics, "metrics.bind", str, None)
    metrics_enabled = _get(metrics, "metrics.enabled", bool, True)
    if not metrics_enabled:
        for key in ("bind", "users"):
            if key in metrics:
                raise ConfigError(f"metrics.{key}: metrics.enabled is false")
    if metrics_bind is not None:
        _check_bind(metrics_bind, "metrics.bind")
        if _port(metrics_bind) == _port(bind):
            raise ConfigError("metrics.bind: its port is server.bind's")
    return Config(
        log_format=log_format,
        metrics_enabled=metrics_enabled,
        metrics_bind=metrics_bind,
        metrics_users=dict(_users(metrics, "metrics.")),
        providers=providers,
        job_retention=retention,
        listing_cache_seconds=listing_seconds,
        store_url=store_url,
        auth_mode=mode,
        users=dict(users),
        auth_cache_seconds=auth_cache,
        open_discovery=_get(auth, "auth.open_discovery", bool, True),
        bind=bind,
        workers=_positive(server, "workers", 2),
        threads=_positive(server, "threads", DEFAULT_THREADS),
        timeout=_positive(server, "timeout", 60),
        max_body_bytes=_positive(server, "max_body_bytes", 1024 * 1024),
        request_read_timeout=_positive(server, "request_read_timeout", 10),
        public_url=public_url,
        access_log=_get(server, "server.access_log", bool, True),
        log_level=log_level,
        source=source,
    )


def _users(table: Mapping, prefix: str) -> dict:
    """Return a ``users`` table of names and password hashes, checked."""
    users = _table(table, "users", prefix)
    for user, hashed in users.items():
        if not isinstance(hashed, str) or not hashed.startswith("pbkdf2_sha256$"):
            raise ConfigError(
                f"{prefix}users.{user}: expected a hash from "
                "'cimi-gateway hash-password'"
            )
    return users


def _port(bind: str) -> int:
    return int(bind.rsplit(":", 1)[1])


def _check_bind(bind: str, key: str) -> None:
    """Refuse a bind that is not HOST:PORT with a port one can listen on."""
    if not _BIND.match(bind):
        raise ConfigError(f"{key}: '{bind}' is not HOST:PORT")
    if not 1 <= _port(bind) <= 65535:
        raise ConfigError(f"{key}: port {_port(bind)} is not 1 to 65535")


def normal_public_url(value: str, key: str) -> str:
    """Return ``scheme://host[:port]`` of a public URL, lower-cased.

    Raises:
        ConfigError: when ``value`` is not an http(s) URL of a host alone.
    """
    try:
        url = urlsplit(value.strip())
        port = url.port
    except ValueError as ex:
        raise ConfigError(f"{key}: '{value}' is not a URL ({ex})") from ex
    if url.scheme not in ("http", "https") or not url.hostname:
        raise ConfigError(f"{key}: '{value}' is not an http(s) URL")
    if url.path not in ("", "/") or url.query or url.fragment or url.username:
        raise ConfigError(
            f"{key}: give the scheme and host only, such as 'https://cimi.example.com'"
        )
    host = url.hostname if ":" not in url.hostname else f"[{url.hostname}]"
    return f"{url.scheme}://{host}" + (f":{port}" if port else "")


def check_log_level(value: str, key: str) -> str:
    """Return ``value`` if it is a log level gunicorn knows."""
    if value.lower() not in LOG_LEVELS:
        raise ConfigError(f"{key}: '{value}' is not one of {', '.join(LOG_LEVELS)}")
    return value.lower()


def _providers(raw: Mapping) -> tuple[ProviderConfig, ...]:
    tables = _table(raw, "providers")
    if not tables:
        raise ConfigError("providers: at least one [providers.NAME] table is needed")
    result, mounts = [], set()
    for name, table in tables.items():
        key = f"providers.{name}"
        if not isinstance(table, dict):
            raise ConfigError(f"{key}: expected a table")
        driver = _get(table, f"{key}.driver", str, None)
        if driver is None:
            raise ConfigError(f"{key}.driver: required (one of {', '.join(DRIVERS)})")
        if driver not in DRIVERS:
            raise ConfigError(
                f"{key}.driver: '{driver}' is not one of {', '.join(DRIVERS)}"
            )
        mount = _get(table, f"{key}.mount", str, None)
        if mount is None or not _MOUNT.match(mount):
            raise ConfigError(f"{key}.mount: expected a URL prefix such as '/cimi'")
        if mount in mounts:
            raise ConfigError(f"{key}.mount: '{mount}' is used by another provider")
        for reserved in OPERATORS_PATHS:
            if mount == reserved or mount.startswith(f"{reserved}/"):
                raise ConfigError(f"{key}.mount: {reserved} is the gateway's own")
        mounts.add(mount)
        spec: dict[str, Setting] = provider_class(driver).SETTINGS
        _only(table, f"{key}.", {"driver", "mount", *spec})
        settings = {}
        for setting_name, setting in spec.items():
            setting_key = f"{key}.{setting_name}"
            if setting_name not in table:
                if setting.required:
                    raise ConfigError(f"{setting_key}: required ({setting.help})")
                settings[setting_name] = setting.default
                continue
            value = table[setting_name]
            if (
                not isinstance(value, setting.type)
                or isinstance(value, bool)
                and (setting.type is not bool)
            ):
                raise ConfigError(f"{setting_key}: expected {_type_name(setting.type)}")
            if setting.required and isinstance(value, str) and not value.strip():
                raise ConfigError(
                    f"{setting_key}: required, not blank ({setting.help})"
                )
            if setting.check is not None:
                try:
                    setting.check(value)
                except ValueError as ex:
                    raise ConfigError(f"{setting_key}: {ex}") from ex
            settings[setting_name] = value
        result.append(ProviderConfig(name, driver, mount, settings))
    return tuple(result)


def _interpolate(value: Any, key: str) -> Any:
    if isinstance(value, dict):
        return {
            k: _interpolate(v, f"{key}.{k}" if key else k) for k, v in value.items()
        }
    if isinstance(value, list):
        return [_interpolate(v, key) for v in value]
    if not isinstance(value, str):
        return value

    def replace(match: re.Match) -> str:
        name, default = match.group(1), match.group(2)
        if name in os.environ:
            return os.environ[name]
        if default is not None:
            return default
        raise ConfigError(f"{key}: environment variable {name} is not set")

    return _INTERPOLATION.sub(replace, value)


def _table(raw: Mapping, name: str, prefix: str = "") -> dict:
    value = raw.get(name, {})
    if not isinstance(value, dict):
        raise ConfigError(f"{prefix}{name}: expected a table")
    return value


def _only(table: Mapping, prefix: str, allowed: set[str]) -> None:
    for key in table:
        if key not in allowed:
            raise ConfigError(f"{prefix}{key}: unknown key")


def _get(table: Mapping, key: str, kind: type, default: Any) -> Any:
    value = table.get(key.rsplit(".", 1)[-1], default)
    if value is not None and not isinstance(value, kind):
        raise ConfigError(f"{key}: expected {_type_name(kind)}")
    return value


def _positive(table: Mapping, name: str, default: int) -> int:
    value = _get(table, f"server.{name}", int, default)
    if isinstance(value, bool) or value < 1:
        raise ConfigError(f"server.{name}: expected a positive integer")
    return value


def _type_name(kind: type | tuple[type, ...]) -> str:
    names = {str: "a string", int: "an integer", float: "a number", list: "a list"}
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join(names.get(k, k.__name__) for k in kinds)


def replace_server(
    config: Config,
    *,
    bind: str | None = None,
    workers: int | None = None,
    threads: int | None = None,
    log_level: str | None = None,
) -> Config:
    """Return ``config`` with command-line overrides of ``[server]``, checked."""
    import dataclasses

    if bind is not None:
        _check_bind(bind, "--bind")
    if (
        bind is not None
        and config.metrics_bind
        and _port(bind) == _port(config.metrics_bind)
    ):
        raise ConfigError("--bind: its port is metrics.bind's")
    for flag, number in (("--workers", workers), ("--threads", threads)):
        if number is not None and number < 1:
            raise ConfigError(f"{flag}: expected a positive integer, not {number}")
    if log_level is not None:
        log_level = check_log_level(log_level, "--log-level")
    overrides = {
        "bind": bind,
        "workers": workers,
        "threads": threads,
        "log_level": log_level,
    }
    return dataclasses.replace(
        config, **{key: value for key, value in overrides.items() if value is not None}
    )
