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
from typing import Any

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

# PERF(gw): a request is one histogram observation, its count the request
# count (``_count``), not a counter beside it: in multiprocess mode every
# value written is a locked write into an mmap file, so fewer series written
# per request is what keeps counting cheap (bench/observability.py).
REQUEST_SECONDS = Histogram(
    "cimi_gateway_request_duration_seconds",
    "Requests answered and the time the app took, by route template, method "
    "and status.",
    ["route", "method", "status"],
    buckets=_BUCKETS,
)
CLOUD_CALL_SECONDS = Histogram(
    "cimi_gateway_cloud_call_duration_seconds",
    "Calls to a cloud and the time each took, by provider, operation and "
    "outcome (ok, or the status the gateway answered for it).",
    ["provider", "operation", "outcome"],
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


#: whether this process counts (``[metrics] enabled``).
_counting = True


def configure(*, enabled: bool) -> None:
    """Count, or not, in this process."""
    global _counting
    _counting = enabled


def route_label(template: str | None) -> str:
    """Return the route a request is counted under: its URI template."""
    return template or "(no route)"


# PERF(gw): the labelled series, kept: ``labels()`` checks and joins its
# arguments on every call, which costs more than the write. Their keys are
# bounded: route templates, known methods, the statuses the app answers.
_request_series: dict[tuple[str, str, int], Any] = {}
_cloud_series: dict[tuple[str, str, str], Any] = {}


def observe_request(route: str, method: str, status: int, seconds: float) -> None:
    """Count one answered request."""
    if not _counting:
        return
    key = (route, method if method in _METHODS else "other", status)
    series = _request_series.get(key)
    if series is None:
        series = REQUEST_SECONDS.labels(key[0], key[1], str(status))
        _request_series[key] = series
    series.observe(seconds)


def observe_cloud_call(
    provider: str, operation: str, outcome: str, seconds: float
) -> None:
    """Count one call to a cloud (``outcome``: "ok" or an HTTP status)."""
    if not _counting:
        return
    key = (provider, operation, outcome)
    series = _cloud_series.get(key)
    if series is None:
        series = _cloud_series[key] = CLOUD_CALL_SECONDS.labels(*key)
    series.observe(seconds)
    if outcome in ("502", "503", "504"):
        CLOUD_CALL_FAILURES.labels(provider, operation).inc()


def job_counted(status: str) -> None:
    """Count a job that started (RUNNING) or settled (its final status)."""
    if not _counting:
        return
    JOBS.labels(status).inc()


def store_failed() -> None:
    """Count a request the store failed."""
    if not _counting:
        return
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
