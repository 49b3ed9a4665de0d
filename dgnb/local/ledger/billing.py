"""Balances and purchases."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

from .records import _not_found, iso, now_iso


class Billing:
    """Balances and purchases of the ledger."""

    def _insert_purchase(self, project_id: str, amount: float, order_type: str, expiration: str | None = None) -> str:
        order_id = str(uuid.uuid4())
        if expiration is None:
            expiration = iso(datetime.now(timezone.utc) + timedelta(days=365))
        self._db.execute("INSERT INTO purchases VALUES (?, ?, ?, ?, ?, ?, ?)",
                         (order_id, project_id, float(amount), "usd", order_type, now_iso(), expiration))
        self._db.execute("INSERT INTO balances VALUES (?, ?, ?, ?, ?)",
                         (str(uuid.uuid4()), project_id, float(amount), "usd", order_id))
        return order_id

    def balances(self, project_id: str) -> list[dict]:
        return [dict(r) for r in self._q("SELECT balance_id, amount, units, purchase_order_id FROM balances"
                                         " WHERE project_id = ? ORDER BY rowid", (project_id,))]

    def balance(self, project_id: str, balance_id: str) -> dict:
        for b in self.balances(project_id):
            if b["balance_id"] == balance_id:
                return b
        raise _not_found(f"no balance {balance_id!r} in project {project_id!r}")

    def purchases(self, project_id: str, limit: int | None = None) -> list[dict]:
        rows = [{"order_id": r["order_id"], "expiration": r["expiration"], "created": r["created"],
                 "amount": r["amount"], "units": r["units"], "order_type": r["order_type"]}
                for r in self._q("SELECT * FROM purchases WHERE project_id = ? ORDER BY created DESC", (project_id,))]
        return rows[:limit] if limit else rows

    # ----------------------------------------------------------------- self-hosted distribution credentials
