"""Settings for running the gateway with plain gunicorn instead of the CLI.

    CIMI_GATEWAY_CONFIG=config/ec2.example.toml gunicorn -c config/gunicorn.conf.py

The app, bind address and worker count come from the gateway's own config
file (``$CIMI_GATEWAY_CONFIG``, else the shipped mock default), so both ways
of starting serve the same thing.
"""

import sys

from gateway.cli import check_store
from gateway.cli import gunicorn_options
from gateway.cli import prepare_metrics_folder
from gateway.config import ConfigError
from gateway.config import load

try:
    _config = load()
    check_store(_config)
except ConfigError as ex:
    sys.exit(f"cimi-gateway: config error: {ex}")

wsgi_app = "gateway.app:get_app()"
globals().update(gunicorn_options(_config))
# Every worker's metrics are counted in one folder, made before any worker.
_discard_metrics = prepare_metrics_folder()


def on_exit(server):
    _discard_metrics()
