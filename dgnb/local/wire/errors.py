"""Deepgram-shaped errors for the local engine.

Deepgram answers every failed request with ``{"err_code", "err_msg", "request_id"}``
(e.g. ``{"err_code": "INVALID_AUTH", "err_msg": "Invalid credentials.", ...}`` for a 401
and ``{"err_code": "Bad Request", ...}`` for undecodable audio). The engine raises
:class:`EngineError` anywhere below the HTTP layer and the app turns it into that body.
"""
from __future__ import annotations

import uuid

# err_code strings as the real API sends them.
BAD_REQUEST = "Bad Request"
INVALID_AUTH = "INVALID_AUTH"
INSUFFICIENT_PERMISSIONS = "INSUFFICIENT_PERMISSIONS"
NOT_FOUND = "Not Found"
METHOD_NOT_ALLOWED = "Method Not Allowed"
PAYLOAD_TOO_LARGE = "Payload Too Large"
UNSUPPORTED_MEDIA_TYPE = "Unsupported Media Type"
UNPROCESSABLE = "UNPROCESSABLE_ENTITY"
REMOTE_CONTENT_ERROR = "REMOTE_CONTENT_ERROR"
INTERNAL = "INTERNAL_SERVER_ERROR"

_DEFAULT_CODES = {
    400: BAD_REQUEST,
    401: INVALID_AUTH,
    403: INSUFFICIENT_PERMISSIONS,
    404: NOT_FOUND,
    405: METHOD_NOT_ALLOWED,
    413: PAYLOAD_TOO_LARGE,
    415: UNSUPPORTED_MEDIA_TYPE,
    422: UNPROCESSABLE,
    500: INTERNAL,
}


class EngineError(Exception):
    """An error the engine reports to the client with an HTTP status and Deepgram's body."""

    def __init__(self, status: int, err_code: str | None, err_msg: str):
        self.status = int(status)
        self.err_code = err_code or _DEFAULT_CODES.get(self.status, BAD_REQUEST)
        self.err_msg = err_msg
        super().__init__(f"{self.status} {self.err_code}: {err_msg}")

    def body(self, request_id: str | None = None) -> dict:
        return error_body(self.err_code, self.err_msg, request_id)


def default_code(status: int) -> str:
    """The err_code the engine uses for an HTTP status."""
    return _DEFAULT_CODES.get(int(status), BAD_REQUEST)


def error_body(err_code: str, err_msg: str, request_id: str | None = None) -> dict:
    return {"err_code": err_code, "err_msg": err_msg, "request_id": request_id or str(uuid.uuid4())}


def error_response(status: int, err_code: str | None, err_msg: str, request_id: str | None = None, headers=None):
    """A starlette ``JSONResponse`` with Deepgram's error body."""
    from starlette.responses import JSONResponse

    code = err_code or default_code(status)
    body = error_body(code, err_msg, request_id)
    hdrs = {"dg-request-id": body["request_id"]}
    if headers:
        hdrs.update(headers)
    return JSONResponse(body, status_code=int(status), headers=hdrs)
