"""Wiring: config to providers and store to a ``falcon.App``."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import timedelta

import falcon

from gateway import config as gateway_config
from gateway import errors
from gateway import logs
from gateway import media
from gateway import metrics
from gateway.auth import Authenticator
from gateway.cimi.errors import CimiError
from gateway.config import Config
from gateway.jobs import Jobs
from gateway.listings import Listings
from gateway.middleware import CimiMiddleware
from gateway.middleware import RenderedCache
from gateway.resources import add_routes
from gateway.resources.health import Health
from gateway.resources.health import Metrics
from gateway.resources.health import Ready
from gateway.resources.mount import Mount
from gateway.store import Store
from providers.base import Provider
from providers.registry import provider_class

cloud_log = logging.getLogger("gateway.cloud")


def create_app(
    config: Config,
    *,
    providers: Mapping[str, Provider] | None = None,
    store: Store | None = None,
) -> falcon.App:
    """Return the WSGI app serving every provider of ``config``.

    Args:
        config: the validated config.
        providers: providers by config name, to use instead of building them.
        store: the record store, to use instead of opening ``config.store_url``.
    """
    if store is None:
        store = Store(config.store_url, connections=config.threads)
        _opened.append(store)
    if providers is None:
        providers = {
            entry.name: provider_class(entry.driver)(entry.name, entry.settings, store)
            for entry in config.providers
        }
    mounts = {entry.mount: providers[entry.name] for entry in config.providers}
    # Per process, as the counts are: an app built with metrics off counts
    # nothing, whatever else this process serves.
    metrics.configure(enabled=config.metrics_enabled)
    for provider in mounts.values():
        provider.observe_calls(report_cloud_call)
    app = falcon.App(
        middleware=[
            CimiMiddleware(
                Authenticator(
                    config.auth_mode, config.users, config.auth_cache_seconds
                ),
                mounts,
                config.max_body_bytes,
                config.public_url,
                metrics_apart=config.metrics_bind is not None,
            ),
            RenderedCache(),
        ],
        media_type=media.XML,
    )
    app.req_options.strip_url_path_trailing_slash = True
    app.req_options.default_media_type = None
    # A blank query value ($filter=) is reported, not silently dropped.
    app.req_options.keep_blank_qs_values = True
    # Every answer with a body names its type (the middleware negotiates
    # it); one without, such as a DELETE's 200, names none.
    app.resp_options.default_media_type = None
    handlers = media.handlers(config.max_body_bytes)
    app.req_options.media_handlers = handlers
    app.resp_options.media_handlers = handlers
    app.add_error_handler(Exception, errors.handle_unexpected)
    app.add_error_handler(CimiError, errors.handle_cimi_error)
    app.set_error_serializer(errors.serialize_http_error)
    jobs = Jobs(store, timedelta(seconds=config.job_retention))
    for path, provider in mounts.items():
        mount = Mount(
            path,
            provider,
            store,
            jobs,
            open_discovery=config.open_discovery,
            listings=Listings(config.listing_cache_seconds),
        )
        add_routes(app, mount)
    app.add_route("/healthz", Health())
    drivers = {entry.name: entry.driver for entry in config.providers}
    app.add_route("/readyz", Ready(store, mounts, drivers))
    if config.metrics_enabled:
        app.add_route("/metrics", Metrics(config.metrics_users))
    return app


#: the stores ``create_app`` opened in this process, closed on its way out.
_opened: list[Store] = []


def close_stores() -> int:
    """Close every store this process opened; return how many.

    gunicorn's ``worker_exit``: a worker stopping (SIGTERM, once its requests
    in flight are answered) gives its database connections back cleanly.
    """
    closed = 0
    while _opened:
        _opened.pop().close()
        closed += 1
    return closed


def report_cloud_call(
    provider: str, operation: str, outcome: str, seconds: float
) -> None:
    """Count a cloud call, log its line, and remember a call that may have
    changed the cloud (``Provider.observe_calls``)."""
    errors.note_cloud_call(operation)
    metrics.observe_cloud_call(provider, operation, outcome, seconds)
    cloud_log.info(
        "cloud call provider=%s operation=%s outcome=%s duration_ms=%.1f",
        provider,
        operation,
        outcome,
        seconds * 1000,
        extra=logs.fields(
            event="cloud_call",
            provider=provider,
            operation=operation,
            outcome=outcome,
            duration_ms=round(seconds * 1000, 3),
        ),
    )


def get_app() -> falcon.App:
    """Return the app for the config named by ``$CIMI_GATEWAY_CONFIG``.

    This is what gunicorn serves: ``gunicorn 'gateway.app:get_app()'``.
    """
    return create_app(gateway_config.load())
