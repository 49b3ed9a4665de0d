"""The local engine's account store: projects, members, keys, scopes, usage (SQLite).

The first start creates a project, an admin member and an admin API key whose secret is
written to ``<data_dir>/admin.key`` (mode 0600); the database keeps only a SHA-256 hash of
each secret. Tables for invites, balances and purchases exist so the management API can
grow into them; every /v1/listen request is recorded in ``requests``.
"""
from __future__ import annotations

import hashlib
import json
import os
import secrets
import sqlite3
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

ADMIN_SCOPES = ["admin", "member", "usage:read", "usage:write", "keys:read", "keys:write",
                "project:read", "project:write", "members:read", "members:write", "billing:read"]
ADMIN_KEY_FILE = "admin.key"
DB_FILE = "ledger.sqlite3"

SCHEMA = """
CREATE TABLE IF NOT EXISTS projects (
    project_id TEXT PRIMARY KEY, name TEXT NOT NULL, company TEXT, created TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS members (
    member_id TEXT PRIMARY KEY, email TEXT UNIQUE, first_name TEXT, last_name TEXT, created TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS project_members (
    project_id TEXT NOT NULL REFERENCES projects(project_id) ON DELETE CASCADE,
    member_id TEXT NOT NULL REFERENCES members(member_id) ON DELETE CASCADE,
    scopes TEXT NOT NULL DEFAULT '[]', PRIMARY KEY (project_id, member_id));
CREATE TABLE IF NOT EXISTS keys (
    key_id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects(project_id) ON DELETE CASCADE,
    member_id TEXT REFERENCES members(member_id),
    secret_sha256 TEXT NOT NULL UNIQUE, comment TEXT, scopes TEXT NOT NULL DEFAULT '[]',
    tags TEXT NOT NULL DEFAULT '[]', created TEXT NOT NULL, expiration TEXT);
CREATE TABLE IF NOT EXISTS tokens (
    token_sha256 TEXT PRIMARY KEY, key_id TEXT NOT NULL REFERENCES keys(key_id) ON DELETE CASCADE,
    project_id TEXT NOT NULL, scopes TEXT NOT NULL DEFAULT '[]', expires_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS invites (
    project_id TEXT NOT NULL REFERENCES projects(project_id) ON DELETE CASCADE,
    email TEXT NOT NULL, scope TEXT NOT NULL, created TEXT NOT NULL, PRIMARY KEY (project_id, email));
CREATE TABLE IF NOT EXISTS requests (
    request_id TEXT PRIMARY KEY, project_id TEXT NOT NULL, key_id TEXT, path TEXT NOT NULL,
    method TEXT NOT NULL DEFAULT 'POST', created TEXT NOT NULL, status INTEGER NOT NULL,
    duration REAL NOT NULL DEFAULT 0, channels INTEGER NOT NULL DEFAULT 0, model TEXT, model_uuid TEXT,
    features TEXT NOT NULL DEFAULT '[]', tags TEXT NOT NULL DEFAULT '[]', callback TEXT, sha256 TEXT,
    err_code TEXT, response TEXT);
CREATE INDEX IF NOT EXISTS requests_project_created ON requests(project_id, created);
CREATE TABLE IF NOT EXISTS balances (
    balance_id TEXT PRIMARY KEY, project_id TEXT NOT NULL REFERENCES projects(project_id) ON DELETE CASCADE,
    amount REAL NOT NULL, units TEXT NOT NULL DEFAULT 'usd', purchase_order_id TEXT);
CREATE TABLE IF NOT EXISTS purchases (
    order_id TEXT PRIMARY KEY, project_id TEXT NOT NULL REFERENCES projects(project_id) ON DELETE CASCADE,
    amount REAL NOT NULL, units TEXT NOT NULL DEFAULT 'usd', order_type TEXT, created TEXT NOT NULL,
    expiration TEXT);
"""


def now_iso() -> str:
    """UTC now as Deepgram writes it: ISO 8601 with milliseconds and a Z."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Principal:
    """Who made a request: the project, the key (or token) and its scopes."""

    project_id: str
    key_id: str
    scopes: tuple[str, ...] = field(default_factory=tuple)
    kind: str = "key"  # "key" or "token"

    def has(self, scope: str) -> bool:
        return "admin" in self.scopes or scope in self.scopes

    def __repr__(self) -> str:  # never shows secrets: it holds none
        return f"Principal(project_id={self.project_id!r}, key_id={self.key_id!r}, kind={self.kind!r})"


class Ledger:
    """SQLite store in ``data_dir``; safe to share between threads."""

    def __init__(self, data_dir):
        self.data_dir = Path(data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.path = self.data_dir / DB_FILE
        self._lock = threading.RLock()
        self._db = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._db.executescript(SCHEMA)
        self._bootstrap()

    # ----------------------------------------------------------------- setup
    def _bootstrap(self) -> None:
        with self._lock:
            row = self._db.execute("SELECT project_id FROM projects ORDER BY created LIMIT 1").fetchone()
            if row is not None:
                self.default_project_id = row["project_id"]
                return
            created = now_iso()
            project_id = str(uuid.uuid4())
            member_id = str(uuid.uuid4())
            self._db.execute("BEGIN")
            try:
                self._db.execute("INSERT INTO projects VALUES (?, ?, ?, ?)", (project_id, "dgnb local", None, created))
                self._db.execute("INSERT INTO members VALUES (?, ?, ?, ?, ?)",
                                 (member_id, "admin@localhost", "Local", "Admin", created))
                self._db.execute("INSERT INTO project_members VALUES (?, ?, ?)",
                                 (project_id, member_id, json.dumps(["owner"])))
                key_id, secret = self._insert_key(project_id, member_id, "admin key (created on first start)", ADMIN_SCOPES)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self.default_project_id = project_id
            _write_secret(self.data_dir / ADMIN_KEY_FILE, secret)

    def _insert_key(self, project_id, member_id, comment, scopes, tags=(), expiration=None) -> tuple[str, str]:
        key_id = str(uuid.uuid4())
        secret = secrets.token_hex(20)  # 40 hex characters, like a Deepgram key
        self._db.execute(
            "INSERT INTO keys (key_id, project_id, member_id, secret_sha256, comment, scopes, tags, created, expiration)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (key_id, project_id, member_id, _hash(secret), comment, json.dumps(list(scopes)),
             json.dumps(list(tags)), now_iso(), expiration),
        )
        return key_id, secret

    @property
    def admin_key(self) -> str | None:
        """The admin key's secret from ``admin.key`` (None if that file was removed)."""
        try:
            return (self.data_dir / ADMIN_KEY_FILE).read_text().strip() or None
        except OSError:
            return None

    # ----------------------------------------------------------------- keys and auth
    def create_key(self, project_id: str, comment: str = "", scopes=("member",), tags=(), expiration=None,
                   member_id: str | None = None) -> tuple[str, str]:
        """A new API key: returns (key_id, secret); only the hash is stored."""
        with self._lock:
            return self._insert_key(project_id, member_id, comment, scopes, tags, expiration)

    def grant_token(self, principal: Principal, ttl_seconds: int = 30) -> tuple[str, float]:
        """A short-lived bearer token for ``principal``: (token, expires_in seconds)."""
        token = secrets.token_urlsafe(32)
        with self._lock:
            self._db.execute("DELETE FROM tokens WHERE expires_at < ?", (time.time(),))
            self._db.execute("INSERT INTO tokens VALUES (?, ?, ?, ?, ?)",
                             (_hash(token), principal.key_id, principal.project_id,
                              json.dumps(list(principal.scopes)), time.time() + ttl_seconds))
        return token, float(ttl_seconds)

    def authenticate(self, authorization_header: str | None) -> Principal | None:
        """The principal for ``Token <key>`` or ``Bearer <token>`` (scheme case-insensitive), else None."""
        if not authorization_header:
            return None
        scheme, _, credential = authorization_header.strip().partition(" ")
        credential = credential.strip()
        if not credential:
            return None
        scheme = scheme.lower()
        with self._lock:
            if scheme == "token":
                row = self._db.execute(
                    "SELECT key_id, project_id, scopes, expiration FROM keys WHERE secret_sha256 = ?",
                    (_hash(credential),)).fetchone()
                if row is None or _expired(row["expiration"]):
                    return None
                return Principal(row["project_id"], row["key_id"], tuple(json.loads(row["scopes"])), "key")
            if scheme == "bearer":
                row = self._db.execute(
                    "SELECT key_id, project_id, scopes, expires_at FROM tokens WHERE token_sha256 = ?",
                    (_hash(credential),)).fetchone()
                if row is None or row["expires_at"] < time.time():
                    return None
                return Principal(row["project_id"], row["key_id"], tuple(json.loads(row["scopes"])), "token")
        return None

    # ----------------------------------------------------------------- usage
    def record_request(self, *, request_id: str, principal: Principal | None, path: str = "/v1/listen",
                       method: str = "POST", status: int = 200, duration: float = 0.0, channels: int = 0,
                       model: str | None = None, model_uuid: str | None = None, features=(), tags=(),
                       callback: str | None = None, sha256: str | None = None, err_code: str | None = None,
                       response: dict | None = None, created: str | None = None) -> None:
        """Store one API request (its usage: duration, model, features)."""
        project_id = principal.project_id if principal else self.default_project_id
        key_id = principal.key_id if principal else None
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO requests (request_id, project_id, key_id, path, method, created, status,"
                " duration, channels, model, model_uuid, features, tags, callback, sha256, err_code, response)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (request_id, project_id, key_id, path, method, created or now_iso(), int(status), float(duration),
                 int(channels), model, model_uuid, json.dumps(list(features)), json.dumps(list(tags)), callback,
                 sha256, err_code, json.dumps(response) if response is not None else None),
            )

    def requests(self, project_id: str | None = None, limit: int = 100) -> list[dict]:
        """Recorded requests of a project, newest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT * FROM requests WHERE project_id = ? ORDER BY created DESC LIMIT ?",
                (project_id or self.default_project_id, int(limit))).fetchall()
        out = []
        for r in rows:
            d = dict(r)
            d["features"] = json.loads(d["features"])
            d["tags"] = json.loads(d["tags"])
            d.pop("response", None)
            out.append(d)
        return out

    def close(self) -> None:
        with self._lock:
            self._db.close()


def _expired(expiration: str | None) -> bool:
    if not expiration:
        return False
    try:
        when = datetime.fromisoformat(expiration.replace("Z", "+00:00"))
    except ValueError:
        return False
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return when < datetime.now(timezone.utc)


def _write_secret(path: Path, secret: str) -> None:
    fd = os.open(str(path), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, (secret + "\n").encode())
    finally:
        os.close(fd)
    os.chmod(path, 0o600)
