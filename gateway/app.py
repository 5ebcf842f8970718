"""Wiring: config to providers and store to a ``falcon.App``."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta

import falcon

from gateway import config as gateway_config
from gateway import errors
from gateway import media
from gateway.auth import Authenticator
from gateway.cimi.errors import CimiError
from gateway.config import Config
from gateway.jobs import Jobs
from gateway.listings import Listings
from gateway.middleware import CimiMiddleware
from gateway.middleware import RenderedCache
from gateway.resources import add_routes
from gateway.resources.health import Health
from gateway.resources.mount import Mount
from gateway.store import Store
from providers.base import Provider
from providers.registry import provider_class


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
    if providers is None:
        providers = {
            entry.name: provider_class(entry.driver)(entry.name, entry.settings, store)
            for entry in config.providers
        }
    mounts = {entry.mount: providers[entry.name] for entry in config.providers}
    app = falcon.App(
        middleware=[
            CimiMiddleware(
                Authenticator(
                    config.auth_mode, config.users, config.auth_cache_seconds
                ),
                mounts,
                config.max_body_bytes,
                config.public_url,
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
            # Read once: every worker's entry point tells the same date.
            created=store.first_seen(f"mount:{provider.name}"),
            open_discovery=config.open_discovery,
            listings=Listings(config.listing_cache_seconds),
        )
        add_routes(app, mount)
    app.add_route("/healthz", Health())
    return app


def get_app() -> falcon.App:
    """Return the app for the config named by ``$CIMI_GATEWAY_CONFIG``.

    This is what gunicorn serves: ``gunicorn 'gateway.app:get_app()'``.
    """
    return create_app(gateway_config.load())
