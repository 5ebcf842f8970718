"""What operators poll: ``/healthz``, ``/readyz`` and ``/metrics``.

- ``/healthz``: the process is up and answering; asks no cloud, no store.
- ``/readyz``: the gateway can serve: its store answers and every provider
  is configured. A cloud that does not answer is shown in the body, but does
  not make the gateway unready: taking every gateway out of a load balancer
  because one cloud is down would take the other clouds' mounts with it.
- ``/metrics``: Prometheus text, the counts of every worker.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from typing import Any

import falcon
import orjson

from gateway import metrics
from gateway.auth import Verdicts
from gateway.auth import basic_credentials
from gateway.auth import verify_password
from gateway.cimi.errors import Unauthorized
from gateway.media import JSON
from gateway.store import Store
from providers.base import Provider

#: seconds a cloud's probe is trusted, so a load balancer polling every
#: second does not poll the cloud every second.
PROBE_SECONDS = 10.0


class Health:
    """What a load balancer or a container's HEALTHCHECK polls."""

    needs_credentials = False

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.content_type = JSON
        resp.data = b'{"status": "ok"}\n'

    on_head = on_get


class Ready:
    """Whether this gateway can serve: 200 ready, 503 not, and why.

    Args:
        store: the record store, asked to answer one query.
        mounts: URL prefix to the provider mounted there.
        drivers: provider name to its config ``driver``.
    """

    needs_credentials = False

    def __init__(
        self, store: Store, mounts: Mapping[str, Provider], drivers: Mapping[str, str]
    ) -> None:
        self.store = store
        self.mounts = dict(mounts)
        self.drivers = dict(drivers)
        self._probes: dict[str, tuple[float, str | None]] = {}
        self._lock = threading.Lock()

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        store = {"status": "ok"}
        problem = self.store.problem()
        if problem is not None:
            store = {"status": "failing", "reason": problem}
        providers = []
        for mount, provider in self.mounts.items():
            reason = self._probe(provider)
            entry: dict[str, Any] = {
                "name": provider.name,
                "driver": self.drivers.get(provider.name, "-"),
                "mount": mount,
                "configured": True,
                "cloud": "up" if reason is None else "down",
            }
            if reason is not None:
                entry["reason"] = reason
            providers.append(entry)
        ready = problem is None
        body = {
            "status": "ready" if ready else "unready",
            "store": store,
            "providers": providers,
        }
        resp.status = falcon.HTTP_200 if ready else falcon.HTTP_503
        resp.content_type = JSON
        resp.cache_control = ("no-store",)
        resp.data = orjson.dumps(body, option=orjson.OPT_INDENT_2) + b"\n"

    on_head = on_get

    def _probe(self, provider: Provider) -> str | None:
        now = time.monotonic()
        with self._lock:
            seen = self._probes.get(provider.name)
        if seen is not None and seen[0] > now:
            return seen[1]
        reason = provider.probe()
        with self._lock:
            self._probes[provider.name] = (now + PROBE_SECONDS, reason)
        return reason


class Metrics:
    """Prometheus' scrape: every worker's counts, added up.

    Args:
        users: names and password hashes a scrape must give (HTTP Basic);
            none: the endpoint is open.
    """

    needs_credentials = False

    def __init__(self, users: Mapping[str, str]) -> None:
        self.users = dict(users)
        self._verdicts = Verdicts(60)

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        if self.users:
            self._authenticate(req.get_header("Authorization"))
        body, media_type = metrics.exposition()
        resp.content_type = media_type
        resp.cache_control = ("no-store",)
        resp.data = body

    def _authenticate(self, header: str | None) -> None:
        given = basic_credentials(header)
        key = Verdicts.key(given.user, given.secret)
        accepted = self._verdicts.get(key)
        if accepted is None:
            # An unknown user costs a hash too: the time tells no names.
            hashed = self.users.get(given.user, next(iter(self.users.values())))
            matches = verify_password(given.secret, hashed)
            accepted = matches and given.user in self.users
            self._verdicts.put(key, accepted)
        if not accepted:
            raise Unauthorized("unknown metrics user or wrong password")
