"""What every request goes through: negotiation, body limit, auth, headers."""

from __future__ import annotations

import os
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import falcon

from gateway import errors
from gateway import logs
from gateway import metrics
from gateway.auth import Authenticator
from gateway.cimi.errors import BadRequest
from gateway.cimi.errors import PayloadTooLarge
from gateway.cimi.errors import Unauthorized
from gateway.cimi.schema import SPEC_VERSION
from gateway.conditional import entity_tag
from gateway.conditional import not_modified
from gateway.logs import ROUTE_ENVIRON
from gateway.media import negotiate
from providers.base import Provider

_SLASHES = re.compile(r"/{2,}")


# RFC 3986's host (a name, IPv4, or [IPv6]) and an optional port: what a
# Host header must be before it goes into every href we write.
_HOST = re.compile(r"(?:[A-Za-z0-9._~-]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?")
# A client's own request id is kept when it is this tame.
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
REQUEST_ID_HEADER = "X-Request-Id"
#: paths answered without the API's credentials and whatever the Host: what
#: load balancers and Prometheus poll (``/metrics`` may have its own).
METRICS_PATH = "/metrics"
OPEN_PATHS = frozenset({"/healthz", "/readyz", METRICS_PATH})


class CimiMiddleware:
    """Name the request, check its Host, pick the media type, refuse large
    bodies, authenticate, stamp headers.

    Args:
        authenticator: checks the credentials of requests under a mount.
        mounts: URL prefix to the provider mounted there.
        max_body_bytes: the largest body accepted.
        public_url: ``scheme://host[:port]`` every href is written with;
            requests naming another host are refused. None: the request's.
        metrics_apart: ``/metrics`` has a listener of its own (``[metrics]
            bind``), which serves nothing else.
    """

    def __init__(
        self,
        authenticator: Authenticator,
        mounts: Mapping[str, Provider],
        max_body_bytes: int,
        public_url: str | None = None,
        *,
        metrics_apart: bool = False,
    ) -> None:
        self.metrics_apart = metrics_apart
        self.authenticator = authenticator
        # Longest prefix first, so /cimi/ec2 is not taken for /cimi.
        self.mounts = sorted(mounts.items(), key=lambda item: -len(item[0]))
        self.max_body_bytes = max_body_bytes
        self.public_url = public_url
        self.public_hosts = _hosts_of(public_url) if public_url else frozenset()

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        req.context.started = time.perf_counter()
        given_id = req.get_header(REQUEST_ID_HEADER) or ""
        req.context.request_id = (
            # PERF(gw): 128 random bits as hex, without uuid4's UUID object.
            given_id if _REQUEST_ID.fullmatch(given_id) else os.urandom(16).hex()
        )
        # Every log line written for this request names it (gateway.logs).
        req.context.log_token = logs.REQUEST_ID.set(req.context.request_id)
        req.context.changed_token = errors.CLOUD_CHANGED.set(False)
        req.context.media_type = resp.content_type = negotiate(req)
        if req.path not in OPEN_PATHS:
            req.context.origin = self._origin(req)
        length = req.content_length
        if length is not None and length > self.max_body_bytes:
            raise PayloadTooLarge(f"the body exceeds {self.max_body_bytes} bytes")

    def process_resource(
        self, req: falcon.Request, resp: falcon.Response, resource: Any, params: dict
    ) -> None:
        if self.metrics_apart:
            # The listener a request came in on says which door it is; the
            # route it reached (not its path: //metrics routes as /metrics)
            # what it asks for.
            sock = req.env.get("gunicorn.socket")
            on_metrics = getattr(sock, "metrics_listener", False)
            if on_metrics != getattr(resource, "serves_metrics", False):
                raise falcon.HTTPRouteNotFound()
        # Fail closed: every responder needs credentials unless it says it
        # serves anyone (the health check; the entry point and metadata when
        # discovery is open). Routing comes first, so the answer knows which.
        if resource is None or not getattr(resource, "needs_credentials", True):
            return
        provider = self._provider_for(req.path)
        if provider is None:
            raise Unauthorized("credentials are required (HTTP Basic)")
        req.context.credentials = self.authenticator.authenticate(
            req.get_header("Authorization"), provider
        )

    def process_response(
        self,
        req: falcon.Request,
        resp: falcon.Response,
        resource: Any,
        req_succeeded: bool,
    ) -> None:
        resp.set_header("CIMI-Specification-Version", SPEC_VERSION)
        request_id = getattr(req.context, "request_id", None)
        if request_id:
            resp.set_header(REQUEST_ID_HEADER, request_id)
        try:
            if req_succeeded:
                self._stamp(req, resp)
        finally:
            self._count(req, resp)

    def _count(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Count the answer and let the thread's request id go."""
        try:
            route = metrics.route_label(req.uri_template)
            req.env[ROUTE_ENVIRON] = route
            started = getattr(req.context, "started", None)
            if started is not None:
                seconds = time.perf_counter() - started
                metrics.observe_request(route, req.method, resp.status_code, seconds)
        finally:
            for var, name in (
                (logs.REQUEST_ID, "log_token"),
                (errors.CLOUD_CHANGED, "changed_token"),
            ):
                token = getattr(req.context, name, None)
                if token is not None:
                    var.reset(token)
                    setattr(req.context, name, None)

    def _stamp(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Tag a good answer (ETag, caching), or answer 304 for it."""
        body = resp.render_body()
        if not body and req.method != "HEAD":
            # Nothing to describe (a DELETE's 200): no Content-Type either.
            resp.content_type = None
        elif resp.get_header("Cache-Control") == "no-store":
            # A private key's one answer: kept by no cache, and no tag of it
            # (a tag of a body holding a secret, which no later read matches).
            resp.vary = ("Accept",)
        elif resp.status_code in (200, 201) and body:
            resp.etag = tag = entity_tag(body)
            resp.cache_control = ("max-age=0", "private", "must-revalidate")
            # The same URL answers XML or JSON: a cache must key on Accept.
            resp.vary = ("Accept",)
            if req.method in ("GET", "HEAD") and not_modified(req, tag):
                resp.status = falcon.HTTP_304
                resp.media = None
                resp.data = None
                resp.content_type = None

    def _origin(self, req: falcon.Request) -> str:
        """Return the scheme and host every href of this answer starts with.

        Raises:
            BadRequest: for a Host that is no host, or not the public one.
        """
        host = req.get_header("Host")
        if host is not None and not _HOST.fullmatch(host):
            raise BadRequest(f"Host: '{host[:80]}' is not a host name and port")
        if self.public_url is None:
            return req.prefix
        if host is not None and host.lower() not in self.public_hosts:
            raise BadRequest(f"Host: this gateway answers as {self.public_url} only")
        return self.public_url + req.root_path

    def _provider_for(self, path: str) -> Provider | None:
        # The router reads //cimi//machines as /cimi/machines: so must we.
        path = _SLASHES.sub("/", path)
        for mount, provider in self.mounts:
            if path == mount or path.startswith(mount + "/"):
                return provider
        return None


def _hosts_of(public_url: str) -> frozenset[str]:
    """Return the Host headers that name ``public_url`` (with its port or not)."""
    url = urlsplit(public_url)
    netloc = url.netloc.lower()
    default = {"http": 80, "https": 443}[url.scheme]
    host = netloc.rsplit(":", 1)[0] if url.port else netloc
    if url.port in (None, default):
        return frozenset({host, f"{host}:{default}"})
    return frozenset({netloc})


class RenderedCache:
    """Serve a resource's rendered GET answers again for a while.

    A resource opts in with a ``cache_seconds`` attribute: what it serves must
    not change faster than that (a cloud's sizes, say: EC2's 800 take 20 ms to
    render and change with a libcloud release). Answers are kept per worker,
    per credentials, URL and media type, for at most ``size`` entries.
    """

    def __init__(self, size: int = 256) -> None:
        self.size = size
        self._entries: OrderedDict[tuple, tuple[float, bytes]] = OrderedDict()
        self._lock = threading.Lock()

    def _key(self, req: falcon.Request, resource: Any) -> tuple | None:
        seconds = getattr(resource, "cache_seconds", 0)
        creds = getattr(req.context, "credentials", None)
        if not seconds or req.method != "GET" or creds is None:
            return None
        return (creds, req.url, req.context.media_type)

    def process_resource(
        self, req: falcon.Request, resp: falcon.Response, resource: Any, params: dict
    ) -> None:
        key = self._key(req, resource)
        if key is None:
            return
        with self._lock:
            entry = self._entries.get(key)
        if entry is not None and entry[0] > time.monotonic():
            resp.data = entry[1]
            resp.content_type = req.context.media_type
            resp.complete = True
            req.context.cached = True

    def process_response(
        self,
        req: falcon.Request,
        resp: falcon.Response,
        resource: Any,
        req_succeeded: bool,
    ) -> None:
        key = self._key(req, resource)
        if key is None or not req_succeeded or resp.status_code != 200:
            return
        if getattr(req.context, "cached", False):
            return
        expires = time.monotonic() + resource.cache_seconds
        with self._lock:
            self._entries[key] = (expires, resp.render_body())
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)
