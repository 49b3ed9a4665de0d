"""Reading request bodies with a size limit, and JSON bodies with the fields an endpoint needs."""
from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request

from .errors import BAD_REQUEST, PAYLOAD_TOO_LARGE, EngineError


async def read_body(request: Request, limit: int) -> bytes:
    """The whole body, or a 413 as soon as it passes ``limit`` bytes (never buffered past it)."""
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise EngineError(413, PAYLOAD_TOO_LARGE, f"the request body is larger than the limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def json_object(body: bytes, needs: tuple[str, ...], example: str) -> dict[str, Any]:
    """Parse a JSON object holding at least one of the fields ``needs``; else a 400 showing ``example``."""
    try:
        data = json.loads(body.decode("utf-8")) if body else None
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise EngineError(400, BAD_REQUEST, f"the request body is not valid JSON; send {example}") from None
    if not isinstance(data, dict) or not set(needs) & set(data):
        fields = " or a ".join(f'"{name}"' for name in needs)
        raise EngineError(400, BAD_REQUEST, f"the body must be a JSON object with a {fields} field, e.g. {example}")
    return data
