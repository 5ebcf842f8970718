"""Errors the gateway can answer with, as data: a status and a title each.

Nothing here knows HTTP frameworks or renders anything; one serializer in
``gateway/errors.py`` writes them as CIMI error documents.
"""

from __future__ import annotations


class CimiError(Exception):
    """An error with an HTTP status a client should see."""

    status: int = 500
    title: str = "Internal Server Error"

    def __init__(self, message: str = "") -> None:
        super().__init__(message or self.title)
        self.message = message or self.title


class BadRequest(CimiError):
    status, title = 400, "Bad Request"


class Unauthorized(CimiError):
    status, title = 401, "Unauthorized"


class Forbidden(CimiError):
    status, title = 403, "Forbidden"


class NotFound(CimiError):
    status, title = 404, "Not Found"


class Conflict(CimiError):
    status, title = 409, "Conflict"


class PreconditionFailed(CimiError):
    """An If-Match that names no current representation (a stale read)."""

    status, title = 412, "Precondition Failed"


class ProviderFailed(CimiError):
    status, title = 502, "Bad Gateway"


class ProviderUnavailable(CimiError):
    status, title = 503, "Service Unavailable"


class Busy(CimiError):
    """The gateway sheds work it cannot take now (a client should retry)."""

    status, title = 503, "Service Unavailable"


class ProviderTimeout(CimiError):
    status, title = 504, "Gateway Timeout"


class InvalidBody(BadRequest):
    """A body that parsed but does not fit the schema; lists every problem."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


class NotAcceptable(CimiError):
    status, title = 406, "Not Acceptable"


class PayloadTooLarge(CimiError):
    status, title = 413, "Payload Too Large"


class UnsupportedMediaType(CimiError):
    status, title = 415, "Unsupported Media Type"
