"""Short-lived access tokens: ``dg.auth.grant_token()`` and ``dg.auth.get_token_details()``.

>>> token = dg.auth.grant_token(ttl_seconds=60)["access_token"]     # doctest: +SKIP
>>> browser_client = dgnb.Client(access_token=token)               # doctest: +SKIP
"""
from __future__ import annotations

from typing import Any, Generator

from .._core.http import Call
from .namespace import Namespace, endpoint

__all__ = ["Auth", "MAX_TTL_SECONDS"]

MAX_TTL_SECONDS = 3600


class Auth(Namespace):
    """Token-based authentication (``/v1/auth``)."""

    name = "auth"

    @endpoint
    def grant_token(self, ttl_seconds: float | None = None) -> Generator[Any, Any, dict]:
        """A JWT for the listen/speak/read APIs (not the Manage API): ``{"access_token", "expires_in"}``.

        ``ttl_seconds`` from 1 to 3600 (Deepgram's default: 30).
        """
        body: dict[str, Any] = {}
        if ttl_seconds is not None:
            if isinstance(ttl_seconds, bool) or not isinstance(ttl_seconds, (int, float)) \
                    or not 1 <= ttl_seconds <= MAX_TTL_SECONDS:
                raise ValueError(f"ttl_seconds must be a number from 1 to {MAX_TTL_SECONDS}, got {ttl_seconds!r}")
            body["ttl_seconds"] = ttl_seconds
        response = yield from self._send(Call("POST", "/v1/auth/grant", self.name, json=body))
        return response.json()

    @endpoint
    def get_token_details(self) -> Generator[Any, Any, dict]:
        """Who the client's credential is: key id, project, scopes, expiry (``GET /v1/auth/token``).

        The local engine answers this; it is not part of Deepgram's current public reference.
        """
        response = yield from self._send(Call("GET", "/v1/auth/token", self.name))
        return response.json()
