"""Self-hosted distribution credentials: ``dg.selfhosted.list_credentials(project_id)`` and friends.

>>> dg.selfhosted.create_credentials(pid, comment="k8s pull secret")   # doctest: +SKIP
"""
from __future__ import annotations

from typing import Any, Generator, Sequence

import pandas as pd

from .._core.http import Call
from .namespace import Namespace, endpoint
from ..results.frames import frame
from .manage import check_id

__all__ = ["SelfHosted", "PRODUCT_SCOPES"]

PRODUCT_SCOPES = ("self-hosted:products", "self-hosted:product:api", "self-hosted:product:engine",
                  "self-hosted:product:license-proxy", "self-hosted:product:dgtools", "self-hosted:product:billing",
                  "self-hosted:product:hotpepper", "self-hosted:product:metrics-server")
CREDENTIALS = {"distribution_credentials_id": "string", "provider": "category", "comment": "string",
               "scopes": "object", "created": "datetime", "member_id": "string", "email": "string"}


def _flat(item: dict) -> dict:
    return {**(item.get("distribution_credentials") or {}), **(item.get("member") or {})}


class SelfHosted(Namespace):
    """Distribution credentials for pulling Deepgram's self-hosted images."""

    name = "selfhosted"

    def _base(self, project_id: str) -> str:
        return f"/v1/projects/{check_id(project_id, 'project_id')}/self-hosted/distribution/credentials"

    @endpoint
    def list_credentials(self, project_id: str) -> Generator[Any, Any, pd.DataFrame]:
        """DataFrame, one row per credential (full reply in ``attrs["response"]``)."""
        response = yield from self._send(Call("GET", self._base(project_id), self.name))
        body = response.json()
        df = frame([_flat(i) for i in body.get("distribution_credentials") or []], CREDENTIALS)
        df.attrs["response"] = body
        return df

    @endpoint
    def get_credentials(self, project_id: str, credentials_id: str) -> Generator[Any, Any, dict]:
        path = f"{self._base(project_id)}/{check_id(credentials_id, 'credentials_id')}"
        response = yield from self._send(Call("GET", path, self.name))
        return response.json()

    @endpoint
    def create_credentials(self, project_id: str, *, comment: str | None = None,
                           scopes: Sequence[str] | None = None, provider: str = "quay") -> Generator[Any, Any, dict]:
        """New distribution credentials (``scopes`` among :data:`PRODUCT_SCOPES`)."""
        base = self._base(project_id)
        scopes = list(scopes or [])
        bad = [s for s in scopes if s not in PRODUCT_SCOPES]
        if bad:
            raise ValueError(f"scopes {bad} are not self-hosted product scopes; use {list(PRODUCT_SCOPES)}")
        if comment is not None and not isinstance(comment, str):
            raise ValueError(f"comment must be a string, got {comment!r}")
        if not isinstance(provider, str) or not provider:
            raise ValueError(f"provider must be a non-empty string, got {provider!r}")
        params = [("provider", provider)] + [("scopes", s) for s in scopes]
        body = {"comment": comment} if comment is not None else {}
        response = yield from self._send(Call("POST", base, self.name, params=params, json=body))
        return response.json()

    @endpoint
    def delete_credentials(self, project_id: str, credentials_id: str) -> Generator[Any, Any, dict]:
        path = f"{self._base(project_id)}/{check_id(credentials_id, 'credentials_id')}"
        response = yield from self._send(Call("DELETE", path, self.name))
        return response.json()
