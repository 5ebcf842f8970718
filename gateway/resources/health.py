"""``/healthz``: the process is up and answering; asks no cloud, no store."""

from __future__ import annotations

import falcon

from gateway.media import JSON


class Health:
    """What a load balancer or a container's HEALTHCHECK polls."""

    needs_credentials = False

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.content_type = JSON
        resp.data = b'{"status": "ok"}\n'

    on_head = on_get
