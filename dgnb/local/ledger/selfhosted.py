"""Self-hosted distribution credentials."""
from __future__ import annotations

import json
import secrets
import uuid
from typing import Sequence

from ..wire.errors import BAD_REQUEST, EngineError
from .records import _credentials_dict, _hash, _not_found, now_iso
from .roles import SELF_HOSTED_SCOPES


class SelfHosted:
    """Distribution credentials of the ledger."""

    def create_credentials(self, project_id: str, member_id: str | None, *, provider: str = "quay",
                           comment: str | None = None, scopes: Sequence[str] = ()) -> dict:
        scopes = list(scopes) or ["self-hosted:products"]
        unknown = [s for s in scopes if s not in SELF_HOSTED_SCOPES and s != "self-hosted:products"]
        if unknown:
            raise EngineError(400, BAD_REQUEST, f"unknown self-hosted scopes {unknown}; use {list(SELF_HOSTED_SCOPES)}")
        if provider != "quay":
            raise EngineError(400, BAD_REQUEST, f"provider must be 'quay'; got {provider!r}")
        if "self-hosted:products" in scopes:
            scopes = list(SELF_HOSTED_SCOPES)
        cid = str(uuid.uuid4())
        with self._lock:
            self._db.execute("INSERT INTO distribution_credentials VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                             (cid, project_id, member_id, provider, comment, json.dumps(scopes), now_iso(),
                              _hash(secrets.token_hex(20))))
        return self.get_credentials(project_id, cid)

    def list_credentials(self, project_id: str) -> list[dict]:
        return [_credentials_dict(r) for r in self._q(
            "SELECT c.*, m.email FROM distribution_credentials c LEFT JOIN members m ON m.member_id = c.member_id"
            " WHERE c.project_id = ? ORDER BY c.created", (project_id,))]

    def get_credentials(self, project_id: str, credentials_id: str) -> dict:
        row = self._one("SELECT c.*, m.email FROM distribution_credentials c LEFT JOIN members m"
                        " ON m.member_id = c.member_id WHERE c.project_id = ? AND c.credentials_id = ?",
                        (project_id, credentials_id))
        if row is None:
            raise _not_found(f"no distribution credentials {credentials_id!r} in project {project_id!r}")
        return _credentials_dict(row)

    def delete_credentials(self, project_id: str, credentials_id: str) -> dict:
        found = self.get_credentials(project_id, credentials_id)
        with self._lock:
            self._db.execute("DELETE FROM distribution_credentials WHERE credentials_id = ?", (credentials_id,))
        return found
