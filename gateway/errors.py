"""One place that writes every error as a CIMI error document.

Our ``CimiError``s and Falcon's own ``HTTPError``s (unknown route, 405, 415...)
end up here, in XML or JSON as the client asked, with ``Vary: Accept``. An
unexpected exception is logged with its traceback and answered with a bare 500
document: the client never sees the traceback.
"""

from __future__ import annotations

import logging
from contextvars import ContextVar
from http import HTTPStatus
from typing import Any

import falcon

from gateway import metrics
from gateway import store
from gateway.cimi import codec
from gateway.cimi.errors import CimiError
from gateway.media import XML
from gateway.media import negotiate

log = logging.getLogger("gateway")

BASIC_CHALLENGE = 'Basic realm="cimi-gateway"'


def render_error(
    req: falcon.Request, resp: falcon.Response, status: int, title: str, message: str
) -> None:
    """Write the error document for ``status`` into ``resp``."""
    media_type = XML
    for honour_format in (True, False):
        try:
            media_type = negotiate(req, honour_format=honour_format)
            break
        except CimiError:
            continue
    resp.status = status
    resp.content_type = media_type
    resp.data = codec.encode_error(
        status,
        title,
        message,
        req.relative_uri,
        media_type,
        getattr(req.context, "request_id", None),
    )
    resp.append_header("Vary", "Accept")
    resp.media = None
    if status == 401:
        resp.set_header("WWW-Authenticate", BASIC_CHALLENGE)


def handle_cimi_error(
    req: falcon.Request, resp: falcon.Response, ex: CimiError, params: Any
) -> None:
    """Answer a ``CimiError`` raised anywhere below the app.

    A failure of the gateway's side (5xx: the cloud failed, or did not answer)
    is logged with its cause, for the operator; the client's own mistakes are
    in the access log already.
    """
    if ex.status >= 500:
        cause = ex.__cause__
        log.warning(
            "%s %s -> %d: %s%s",
            req.method,
            req.path,
            ex.status,
            ex.message,
            f" (cause: {type(cause).__name__})" if cause is not None else "",
        )
    render_error(req, resp, ex.status, ex.title, ex.message)


def handle_unexpected(
    req: falcon.Request, resp: falcon.Response, ex: Exception, params: Any
) -> None:
    """Answer any exception nobody expected: log it, tell the client little.

    A store that does not answer (a database down or locked too long) is a
    503 the client may retry, and is counted; anything else is a 500. But
    when the request had already called the cloud to change something (a
    machine made, then its job not recorded), a retry would do it again: that
    is a 500 saying so, without Retry-After.
    """
    if store.is_failure(ex):
        metrics.store_failed()
        log.error("store failed on %s %s: %s", req.method, req.path, type(ex).__name__)
        if CLOUD_CHANGED.get():
            render_error(
                req,
                resp,
                500,
                "Internal Server Error",
                "the cloud did what was asked, but the gateway's store did not "
                "answer to record it: look before trying again",
            )
            return
        render_error(
            req, resp, 503, "Service Unavailable", "the gateway's store does not answer"
        )
        resp.set_header("Retry-After", "5")
        return
    log.exception("unexpected error on %s %s", req.method, req.path)
    render_error(
        req, resp, 500, "Internal Server Error", "an unexpected error occurred"
    )


def note_cloud_call(operation: str) -> None:
    """Remember that this request called the cloud to change something.

    A provider contract's reads are named ``get_``, ``list_``, ``page_``,
    ``check_credentials`` and ``connect``; every other call may change the
    cloud, whatever it answered (a call that timed out may have acted).
    """
    if not operation.startswith(_READS):
        CLOUD_CHANGED.set(True)


#: the request being served called the cloud to change something.
CLOUD_CHANGED: ContextVar[bool] = ContextVar("cloud_changed", default=False)
_READS = ("get_", "list_", "page_", "check_credentials", "connect")


def serialize_http_error(
    req: falcon.Request, resp: falcon.Response, ex: falcon.HTTPError
) -> None:
    """Write one of Falcon's own errors as a CIMI error document."""
    status = ex.status_code
    title = HTTPStatus(status).phrase
    if isinstance(ex, falcon.HTTPRouteNotFound):
        message = f"nothing here: {req.path}"
    elif isinstance(ex, falcon.HTTPMethodNotAllowed):
        message = f"{req.method} is not allowed here; allowed: {ex.headers['Allow']}"
        if ex.description:
            message = f"{message} ({ex.description})"
    elif isinstance(ex, falcon.HTTPUnsupportedMediaType):
        message = "send application/xml or application/json"
    else:
        message = ex.description or title
    render_error(req, resp, status, title, message)
