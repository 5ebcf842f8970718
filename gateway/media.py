"""Falcon media handlers for CIMI XML and JSON, and content negotiation."""

from __future__ import annotations

from typing import Any

import falcon
from falcon.media import BaseHandler

from gateway.cimi import codec
from gateway.cimi.errors import BadRequest
from gateway.cimi.errors import NotAcceptable
from gateway.cimi.errors import PayloadTooLarge
from gateway.cimi.errors import UnsupportedMediaType
from gateway.cimi.schema import Document
from gateway.cimi.schema import ResourceType

XML, JSON = codec.XML_MEDIA_TYPE, codec.JSON_MEDIA_TYPE
_FORMATS = {"xml": XML, "json": JSON}


def negotiate(req: falcon.Request, *, honour_format: bool = True) -> str:
    """Return the media type to answer ``req`` in.

    ``$format=xml|json`` wins; then the Accept header, where XML wins a tie,
    and no Accept or ``*/*`` means XML, as Deltacloud answered.

    Raises:
        NotAcceptable: when the client accepts neither XML nor JSON.
    """
    forced = None
    if honour_format and req.query_string:
        forced = req.get_param("$format")
    if forced is not None:
        if forced.lower() not in _FORMATS:
            raise BadRequest("$format must be xml or json")
        return _FORMATS[forced.lower()]
    accept = req.get_header("Accept")
    if not accept or accept == "*/*":
        return XML
    if accept in _FORMATS.values():
        return accept
    preferred = req.client_prefers((XML, JSON))
    if preferred is None:
        raise NotAcceptable(
            "this service answers in application/xml or application/json"
        )
    return preferred


class _CimiHandler(BaseHandler):
    """Read a bounded body into a parsed tree; write a ``Document``."""

    media_type: str = XML

    def __init__(self, max_body_bytes: int) -> None:
        super().__init__()
        self.max_body_bytes = max_body_bytes

    def deserialize(
        self, stream: Any, content_type: str | None, content_length: int | None
    ) -> Any:
        # NOTE(gw): the middleware refuses a large Content-Length up front; a
        # chunked body is caught here, by reading one byte past the limit.
        try:
            body = stream.read(self.max_body_bytes + 1)
        except Exception as ex:
            # NOTE(gw): what the server raises for a body it cannot read
            # (gunicorn: ChunkMissingTerminator, InvalidChunkSize, NoMoreData)
            # is the client's malformed or cut-short body, whatever its class.
            raise BadRequest("the request body is malformed or cut short") from ex
        if len(body) > self.max_body_bytes:
            raise PayloadTooLarge(f"the body exceeds {self.max_body_bytes} bytes")
        if not body.strip():
            raise BadRequest("the request body is empty")
        return self.parse(body)

    def parse(self, body: bytes) -> Any:
        raise NotImplementedError

    def serialize(self, media: Document, content_type: str | None) -> bytes:
        return codec.encode(media, self.media_type)


class XmlHandler(_CimiHandler):
    media_type = XML

    def parse(self, body: bytes) -> Any:
        return codec.parse_xml(body)


class JsonHandler(_CimiHandler):
    media_type = JSON

    def parse(self, body: bytes) -> Any:
        return codec.parse_json(body)


def handlers(max_body_bytes: int) -> falcon.media.Handlers:
    """Return the handlers for requests and responses, by media type."""
    xml, json = XmlHandler(max_body_bytes), JsonHandler(max_body_bytes)
    return falcon.media.Handlers({XML: xml, "text/xml": xml, JSON: json})


def read(req: falcon.Request, rtype: ResourceType, *, read_only: bool = False) -> dict:
    """Return the request body read as a ``rtype``: its writable values.

    Raises:
        UnsupportedMediaType: when the body is neither XML nor JSON.
        PayloadTooLarge: when it is over the limit, chunked or not.
        InvalidBody: when it does not fit the type.
    """
    media_type = (req.content_type or "").partition(";")[0].strip().lower()
    handler = req.options.media_handlers.get(media_type)
    if not isinstance(handler, _CimiHandler):
        raise UnsupportedMediaType("send application/xml or application/json")
    # NOTE(gw): Falcon's bounded stream reads nothing without a Content-Length;
    # a chunked body (gunicorn terminates it for us) is read from the raw stream.
    chunked = req.content_length is None and req.env.get("wsgi.input_terminated")
    stream = req.stream if chunked else req.bounded_stream
    parsed = handler.deserialize(stream, media_type, None)
    return codec.decode(parsed, rtype, read_only=read_only)
