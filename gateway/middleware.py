"""What every request goes through: negotiation, body limit, auth, headers."""

from __future__ import annotations

import hashlib
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

import falcon

from gateway.auth import Authenticator
from gateway.cimi.errors import PayloadTooLarge
from gateway.cimi.errors import Unauthorized
from gateway.cimi.schema import SPEC_VERSION
from gateway.media import negotiate
from providers.base import Provider

_SLASHES = re.compile(r"/{2,}")


class CimiMiddleware:
    """Pick the media type, refuse large bodies, authenticate, stamp headers.

    Args:
        authenticator: checks the credentials of requests under a mount.
        mounts: URL prefix to the provider mounted there.
        max_body_bytes: the largest body accepted.
    """

    def __init__(
        self,
        authenticator: Authenticator,
        mounts: Mapping[str, Provider],
        max_body_bytes: int,
    ) -> None:
        self.authenticator = authenticator
        # Longest prefix first, so /cimi/ec2 is not taken for /cimi.
        self.mounts = sorted(mounts.items(), key=lambda item: -len(item[0]))
        self.max_body_bytes = max_body_bytes

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        req.context.media_type = resp.content_type = negotiate(req)
        length = req.content_length
        if length is not None and length > self.max_body_bytes:
            raise PayloadTooLarge(f"the body exceeds {self.max_body_bytes} bytes")
        provider = self._provider_for(req.path)
        if provider is not None:
            req.context.credentials = self.authenticator.authenticate(
                req.get_header("Authorization"), provider
            )

    def process_resource(
        self, req: falcon.Request, resp: falcon.Response, resource: Any, params: dict
    ) -> None:
        # Fail closed: whatever path reached a responder, it has credentials.
        if resource is not None and not hasattr(req.context, "credentials"):
            raise Unauthorized("credentials are required (HTTP Basic)")

    def process_response(
        self,
        req: falcon.Request,
        resp: falcon.Response,
        resource: Any,
        req_succeeded: bool,
    ) -> None:
        resp.set_header("CIMI-Specification-Version", SPEC_VERSION)
        if not req_succeeded:
            return
        if resp.status_code in (200, 201):
            body = resp.render_body()
            if body:
                resp.etag = hashlib.md5(body, usedforsecurity=False).hexdigest()
                resp.cache_control = ("max-age=0", "private", "must-revalidate")

    def _provider_for(self, path: str) -> Provider | None:
        # The router reads //cimi//machines as /cimi/machines: so must we.
        path = _SLASHES.sub("/", path)
        for mount, provider in self.mounts:
            if path == mount or path.startswith(mount + "/"):
                return provider
        return None


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
