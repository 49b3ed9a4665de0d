"""Requests the engine served: recording (and charging) them, and querying them."""
from __future__ import annotations

import json
from datetime import datetime

from .prices import endpoint_of, method_of, price_of
from .records import DEPLOYMENT, _not_found, _row, iso, now_iso
from .roles import Principal


CLIENT_GONE = 499  # the status proxies log for "client closed request"


class Usage:
    """Recorded requests of the ledger."""

    def record_request(self, *, request_id: str, principal: Principal | None, path: str = "/v1/listen",
                       method: str = "POST", status: int = 200, duration: float = 0.0, channels: int = 0,
                       model: str | None = None, model_uuid: str | None = None, features=(), tags=(),
                       callback: str | None = None, sha256: str | None = None, err_code: str | None = None,
                       response: dict | None = None, created: str | None = None, characters: int = 0) -> float:
        """Store one API request and charge a successful one to the project balance (one transaction).

        Returns the USD charged (:func:`price_of`; 0 for failed requests). A request whose client went
        away mid-way (:data:`CLIENT_GONE`) is charged for the ``duration`` it was read, as work done.
        """
        project_id = principal.project_id if principal else self.default_project_id
        key_id = principal.key_id if principal else None
        usd = 0.0
        if 200 <= int(status) < 300 or int(status) == CLIENT_GONE:
            usd = price_of(endpoint_of(path), method_of(method, callback), duration=duration, channels=channels,
                           characters=characters)
        with self._lock, self._tx():
            old = self._db.execute("SELECT usd FROM requests WHERE request_id = ?", (request_id,)).fetchone()
            self._db.execute(
                "INSERT OR REPLACE INTO requests (request_id, project_id, key_id, path, method, created, status,"
                " duration, channels, model, model_uuid, features, tags, callback, sha256, err_code, response,"
                " characters, usd, deployment, completed)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (request_id, project_id, key_id, path, method, created or now_iso(), int(status), float(duration),
                 int(channels), model, model_uuid, json.dumps(list(features)), json.dumps(list(tags)), callback,
                 sha256, err_code, json.dumps(response) if response is not None else None, int(characters or 0),
                 usd, DEPLOYMENT, now_iso()),
            )
            self._charge(project_id, usd - (old["usd"] if old else 0.0))
        return usd

    def _charge(self, project_id: str, usd: float) -> None:
        """Take ``usd`` from the project's balances: the oldest first, the newest may go negative."""
        if not usd:
            return
        rows = self._db.execute("SELECT b.balance_id, b.amount FROM balances b LEFT JOIN purchases p"
                                " ON p.order_id = b.purchase_order_id WHERE b.project_id = ?"
                                " ORDER BY p.created, b.rowid", (project_id,)).fetchall()
        if not rows:
            return
        left = usd
        for i, row in enumerate(rows):
            last = i == len(rows) - 1
            take = left if (last or left < 0) else min(left, max(0.0, row["amount"]))
            if take:
                self._db.execute("UPDATE balances SET amount = amount - ? WHERE balance_id = ?",
                                 (take, row["balance_id"]))
            left -= take
            if not left:
                break

    def query_requests(self, project_id: str, *, start: datetime | None = None, end: datetime | None = None,
                       accessor: str | None = None, request_id: str | None = None, status: str | None = None,
                       endpoint: str | None = None, method: str | None = None, deployment: str | None = None,
                       limit: int | None = None, offset: int = 0) -> list[dict]:
        """Requests matching the filters, newest first. ``status`` is "succeeded" or "failed"."""
        sql, args = "SELECT * FROM requests WHERE project_id = ?", [project_id]
        if start is not None:
            sql += " AND created >= ?"
            args.append(iso(start))
        if end is not None:
            sql += " AND created <= ?"
            args.append(iso(end))
        if accessor:
            sql += " AND key_id = ?"
            args.append(accessor)
        if request_id:
            sql += " AND request_id = ?"
            args.append(request_id)
        if status == "succeeded":
            sql += " AND status >= 200 AND status < 300"
        elif status == "failed":
            sql += " AND (status < 200 OR status >= 300)"
        if deployment:
            sql += " AND deployment = ?"
            args.append(deployment)
        if endpoint:
            sql += " AND path LIKE ?"
            args.append(f"/v%/{endpoint}%")
        if method:
            sql += {"streaming": " AND upper(method) = 'GET'",
                    "async": " AND upper(method) != 'GET' AND callback IS NOT NULL AND callback != ''",
                    "sync": " AND upper(method) != 'GET' AND (callback IS NULL OR callback = '')"}.get(method, " AND 0")
        sql += " ORDER BY created DESC, rowid DESC"
        if limit is not None:
            sql += " LIMIT ? OFFSET ?"
            args += [int(limit), int(offset)]
        return [_row(r) for r in self._q(sql, args)]

    def get_request(self, project_id: str, request_id: str) -> dict:
        rows = self.query_requests(project_id, request_id=request_id)
        if not rows:
            raise _not_found(f"no request {request_id!r} in project {project_id!r}")
        return rows[0]

    # ----------------------------------------------------------------- billing
