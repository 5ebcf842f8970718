"""What the gateway counts, for Prometheus: requests, cloud calls, jobs, store.

Under gunicorn every worker is a process of its own, so the counts are kept
in ``prometheus_client``'s multiprocess mode: each worker writes its values
to files in ``$PROMETHEUS_MULTIPROC_DIR`` and ``/metrics`` adds them all up,
whichever worker answers. The mode is chosen when ``prometheus_client`` is
first imported, so gunicorn's master names the folder before anything
imports it (``gateway.cli.prepare_metrics_folder``); a process without one
(tests, one-off use) counts in memory, for itself.
"""

from __future__ import annotations

import os

from prometheus_client import CONTENT_TYPE_LATEST
from prometheus_client import CollectorRegistry
from prometheus_client import Counter
from prometheus_client import Histogram
from prometheus_client import generate_latest
from prometheus_client import multiprocess

#: the folder every worker counts in (set by gateway.cli.prepare_metrics_folder).
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

#: the methods a request is counted under; any other is "other", so a
#: client cannot grow the label set.
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"})
#: seconds: from a cached read (well under 1 ms) to a slow cloud's minute.
_BUCKETS = (
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60
)  # fmt: skip

REQUESTS = Counter(
    "cimi_gateway_requests",
    "HTTP requests answered, by route template, method and status.",
    ["route", "method", "status"],
)
REQUEST_SECONDS = Histogram(
    "cimi_gateway_request_duration_seconds",
    "Time the app took to answer a request, by route template and method.",
    ["route", "method"],
    buckets=_BUCKETS,
)
CLOUD_CALLS = Counter(
    "cimi_gateway_cloud_calls",
    "Calls to a cloud, by provider, operation and outcome (ok, or the "
    "status the gateway answered for it).",
    ["provider", "operation", "outcome"],
)
CLOUD_CALL_SECONDS = Histogram(
    "cimi_gateway_cloud_call_duration_seconds",
    "Time a call to a cloud took, by provider and operation.",
    ["provider", "operation"],
    buckets=_BUCKETS,
)
CLOUD_CALL_FAILURES = Counter(
    "cimi_gateway_cloud_call_failures",
    "Calls a cloud failed or did not answer in time (502, 503, 504), by "
    "provider and operation.",
    ["provider", "operation"],
)
JOBS = Counter(
    "cimi_gateway_jobs",
    "Jobs by status: RUNNING when one starts, then the status it settles in, once.",
    ["status"],
)
STORE_ERRORS = Counter(
    "cimi_gateway_store_errors",
    "Requests that failed because the gateway's store did not answer.",
)


def route_label(template: str | None) -> str:
    """Return the route a request is counted under: its URI template."""
    return template or "(no route)"


def method_label(method: str) -> str:
    """Return the method a request is counted under."""
    return method if method in _METHODS else "other"


def observe_request(route: str, method: str, status: int, seconds: float) -> None:
    """Count one answered request."""
    method = method_label(method)
    REQUESTS.labels(route, method, str(status)).inc()
    REQUEST_SECONDS.labels(route, method).observe(seconds)


def observe_cloud_call(
    provider: str, operation: str, outcome: str, seconds: float
) -> None:
    """Count one call to a cloud (``outcome``: "ok" or an HTTP status)."""
    CLOUD_CALLS.labels(provider, operation, outcome).inc()
    CLOUD_CALL_SECONDS.labels(provider, operation).observe(seconds)
    if outcome in ("502", "503", "504"):
        CLOUD_CALL_FAILURES.labels(provider, operation).inc()


def job_counted(status: str) -> None:
    """Count a job that started (RUNNING) or settled (its final status)."""
    JOBS.labels(status).inc()


def store_failed() -> None:
    """Count a request the store failed."""
    STORE_ERRORS.inc()


def exposition() -> tuple[bytes, str]:
    """Return the metrics text of every worker and its media type."""
    folder = os.environ.get(MULTIPROC_ENV)
    if folder:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=folder)
    else:
        from prometheus_client import REGISTRY as registry
    return generate_latest(registry), CONTENT_TYPE_LATEST
