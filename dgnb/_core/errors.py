"""The errors dgnb raises. Every failure of a request surfaces as a :class:`DgnbError` subclass."""
from __future__ import annotations

import builtins
import json
from typing import Any, Mapping

__all__ = ["DgnbError", "ApiError", "TimeoutError", "ConnectionError"]


class DgnbError(Exception):
    """Base class of every error dgnb raises on purpose."""


class ApiError(DgnbError):
    """The API answered with an HTTP error.

    Attributes mirror Deepgram's error body: ``status_code``, ``err_code``, ``err_msg``,
    ``request_id``, plus the decoded ``body`` and the response ``headers``.

    >>> e = ApiError(400, {"err_code": "Bad Request", "err_msg": "No audio", "request_id": "r1"})
    >>> str(e)
    '400 Bad Request: No audio (request_id r1)'
    """

    def __init__(
        self,
        status_code: int,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        *,
        endpoint: str | None = None,
    ) -> None:
        self.status_code = status_code
        self.body = body
        self.headers = dict(headers or {})
        self.endpoint = endpoint
        fields = body if isinstance(body, dict) else {}
        # Deepgram answers {err_code, err_msg, request_id}; newer endpoints {category, message, details}.
        self.err_code = fields.get("err_code") or fields.get("category") or fields.get("error")
        self.err_msg = (
            fields.get("err_msg") or fields.get("message") or fields.get("reason") or fields.get("details")
        )
        if self.err_msg is None and isinstance(body, str) and body.strip():
            self.err_msg = body.strip()[:500]
        self.request_id = (
            fields.get("request_id")
            or self.headers.get("dg-request-id")
            or self.headers.get("x-dg-request-id")
        )
        super().__init__(self._message())

    def _message(self) -> str:
        parts = [str(self.status_code)]
        if self.err_code:
            parts.append(f"{self.err_code}:")
        parts.append(str(self.err_msg) if self.err_msg else "(no error message)")
        text = " ".join(parts)
        if self.endpoint:
            text = f"{self.endpoint} -> {text}"
        if self.request_id:
            text += f" (request_id {self.request_id})"
        return text

    @staticmethod
    def decode_body(content: bytes) -> Any:
        """Decode an error body: JSON when it is JSON, else text."""
        text = content.decode("utf-8", "replace")
        try:
            return json.loads(text)
        except ValueError:
            return text


class TimeoutError(DgnbError, builtins.TimeoutError):
    """A request took longer than its timeout. The message names the endpoint and the limit."""


class ConnectionError(DgnbError, builtins.ConnectionError):
    """The server could not be reached (after the configured retries)."""
