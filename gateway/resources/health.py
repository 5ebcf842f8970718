"""What operators poll: ``/healthz``, ``/readyz`` and ``/metrics``.

- ``/healthz``: the process is up and answering; asks no cloud, no store.
- ``/readyz``: the gateway can serve: its store answers and every provider
  is configured. A cloud that does not answer is shown in the body, but does
  not make the gateway unready: taking every gateway out of a load balancer
  because one cloud is down would take the other clouds' mounts with it.
- ``/metrics``: Prometheus text, the counts of every worker.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Mapping
from typing import Any

import falcon
import orjson

from gateway import metrics
from gateway.auth import Checks
from gateway.auth import Passwords
from gateway.auth import Verdicts
from gateway.auth import basic_credentials
from gateway.cimi.errors import Unauthorized
from gateway.media import JSON
from gateway.store import Store
from providers.base import Provider

log = logging.getLogger("gateway")

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

    Clouds are probed in the background, one probe per provider at a time,
    and the answer tells the last verdict: a cloud that hangs never holds a
    readiness check (load balancers give them a second or so), nor do many
    checks at once each probe it. The first check after start-up may say
    ``unknown`` while the first probe runs. Reasons here are short: the
    endpoint answers anyone, and the details (hosts, the driver's words) go
    to the log.

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
        self._verdicts: dict[str, tuple[float, str | None]] = {}
        self._probing: set[str] = set()
        self._lock = threading.Lock()

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        store = {"status": "ok"}
        problem = self.store.problem()
        if problem is not None:
            log.warning("readyz: the store does not answer: %s", problem)
            store = {"status": "failing", "reason": "the store does not answer"}
        providers = []
        for mount, provider in self.mounts.items():
            entry: dict[str, Any] = {
                "name": provider.name,
                "driver": self.drivers.get(provider.name, "-"),
                "mount": mount,
                "configured": True,
            }
            verdict = self._verdict(provider)
            if verdict is UNKNOWN:
                entry["cloud"] = "unknown"
            elif verdict is None:
                entry["cloud"] = "up"
            else:
                entry.update(cloud="down", reason="the cloud does not answer")
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

    def _verdict(self, provider: Provider) -> str | None | object:
        """Return the last probe's verdict (None: up), or UNKNOWN; start a
        probe when the verdict is stale and none runs."""
        if not provider.probes_remotely:
            return provider.probe()
        now = time.monotonic()
        with self._lock:
            seen = self._verdicts.get(provider.name)
            if (seen is None or seen[0] <= now) and provider.name not in self._probing:
                self._probing.add(provider.name)
                threading.Thread(
                    target=self._probe, args=(provider,), daemon=True
                ).start()
        return UNKNOWN if seen is None else seen[1]

    def _probe(self, provider: Provider) -> None:
        try:
            reason = provider.probe()
        except Exception as ex:  # a probe that broke says the cloud is down
            reason = type(ex).__name__
        if reason is not None:
            log.warning("readyz: %s: %s", provider.name, reason)
        with self._lock:
            self._verdicts[provider.name] = (time.monotonic() + PROBE_SECONDS, reason)
            self._probing.discard(provider.name)


#: a cloud not probed yet.
UNKNOWN = object()


class Metrics:
    """Prometheus' scrape: every worker's counts, added up.

    Args:
        users: names and password hashes a scrape must give (HTTP Basic);
            none: the endpoint is open.
    """

    needs_credentials = False
    #: the one responder ``[metrics] bind``'s listener serves.
    serves_metrics = True

    def __init__(self, users: Mapping[str, str]) -> None:
        self.passwords = Passwords(users) if users else None
        self._verdicts = Verdicts(60)
        self._checks = Checks()

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        if self.passwords is not None:
            self._authenticate(req.get_header("Authorization"))
        body, media_type = metrics.exposition()
        resp.content_type = media_type
        resp.cache_control = ("no-store",)
        resp.data = body

    def _authenticate(self, header: str | None) -> None:
        assert self.passwords is not None
        given = basic_credentials(header)
        key = Verdicts.key(given.user, given.secret)
        accepted = self._verdicts.get(key, sliding=True)
        if accepted is None:
            check = functools.partial(self.passwords.match, given)
            accepted = self._checks.run(key, check, self._verdicts)
        if not accepted:
            raise Unauthorized("unknown metrics user or wrong password")
