"""What every request goes through: negotiation, body limit, auth, headers."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

import falcon

from gateway.auth import Authenticator
from gateway.cimi.errors import PayloadTooLarge
from gateway.cimi.schema import SPEC_VERSION
from gateway.media import negotiate
from providers.base import Provider


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
        req.context.media_type = negotiate(req)
        length = req.content_length
        if length is not None and length > self.max_body_bytes:
            raise PayloadTooLarge(f"the body exceeds {self.max_body_bytes} bytes")
        provider = self._provider_for(req.path)
        if provider is not None:
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
        if resp.media is not None and req_succeeded:
            resp.content_type = req.context.media_type
            body = resp.render_body()
            if body and resp.status_code in (200, 201):
                resp.etag = hashlib.md5(body, usedforsecurity=False).hexdigest()
                resp.cache_control = ("max-age=0", "private", "must-revalidate")

    def _provider_for(self, path: str) -> Provider | None:
        for mount, provider in self.mounts:
            if path == mount or path.startswith(mount + "/"):
                return provider
        return None
