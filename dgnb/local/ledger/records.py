"""The ledger's schema, its SQLite plumbing and the helpers its parts share."""
from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import threading
import uuid
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Sequence

from ..wire.errors import BAD_REQUEST, NOT_FOUND, EngineError
from .prices import endpoint_of, method_of
from .roles import ADMIN_SCOPES

ADMIN_KEY_FILE = "admin.key"
DB_FILE = "ledger.sqlite3"
STARTING_CREDIT = 200.0
DEPLOYMENT = "self-hosted"
TOKEN_SCOPES = ("usage:write",)
MAX_TOKEN_TTL = 3600

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
CREATE TABLE IF NOT EXISTS secrets (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS agent_configs (
    agent_id TEXT PRIMARY KEY, project_id TEXT NOT NULL REFERENCES projects(project_id) ON DELETE CASCADE,
    config TEXT NOT NULL, metadata TEXT NOT NULL DEFAULT '{}', created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS agent_variables (
    variable_id TEXT PRIMARY KEY, project_id TEXT NOT NULL REFERENCES projects(project_id) ON DELETE CASCADE,
    key TEXT NOT NULL, value TEXT NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
    UNIQUE (project_id, key));
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
CREATE TABLE IF NOT EXISTS distribution_credentials (
    credentials_id TEXT PRIMARY KEY, project_id TEXT NOT NULL REFERENCES projects(project_id) ON DELETE CASCADE,
    member_id TEXT, provider TEXT NOT NULL, comment TEXT, scopes TEXT NOT NULL DEFAULT '[]',
    created TEXT NOT NULL, secret_sha256 TEXT NOT NULL);
"""
# Columns added after the first release of the schema: (table, column, declaration).
MIGRATIONS = [
    ("projects", "mip_opt_out", "INTEGER NOT NULL DEFAULT 0"),
    ("requests", "characters", "INTEGER NOT NULL DEFAULT 0"),
    ("requests", "usd", "REAL NOT NULL DEFAULT 0"),
    ("requests", "deployment", f"TEXT NOT NULL DEFAULT '{DEPLOYMENT}'"),
    ("requests", "completed", "TEXT"),
]


def now_iso() -> str:
    """UTC now as Deepgram writes it: ISO 8601 with milliseconds and a Z."""
    return iso(datetime.now(timezone.utc))


def iso(when: datetime) -> str:
    return when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()



def parse_time(value: Any, name: str, *, end_of_day: bool = False) -> datetime:
    """A UTC datetime from ``YYYY-MM-DD`` or ISO 8601 text; a 400 naming ``name`` otherwise.

    A bare date as an end bound means the whole day (``end_of_day``).
    """
    text = str(value).strip()
    try:
        if len(text) == 10:
            d = date.fromisoformat(text)
            when = datetime(d.year, d.month, d.day, tzinfo=timezone.utc)
            return when + timedelta(days=1) - timedelta(microseconds=1) if end_of_day else when
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise EngineError(400, BAD_REQUEST, f"{name}={text!r} is not a date: use YYYY-MM-DD or ISO 8601") from None
    return when.replace(tzinfo=timezone.utc) if when.tzinfo is None else when.astimezone(timezone.utc)


def _not_found(what: str) -> EngineError:
    return EngineError(404, NOT_FOUND, what)




class Store:
    """SQLite store in ``data_dir``; safe to share between threads."""

    def __init__(self, data_dir):
        self.data_dir = Path(data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.path = self.data_dir / DB_FILE
        self._lock = threading.RLock()
        self._db = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        os.chmod(self.path, 0o600)  # keys' hashes and usage: the owner's only (its -wal and -shm files follow)
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")  # durable across crashes of the process in WAL mode
            self._db.execute("PRAGMA foreign_keys=ON")
            self._db.executescript(SCHEMA)
            for table, column, decl in MIGRATIONS:
                have = {r["name"] for r in self._db.execute(f"PRAGMA table_info({table})")}
                if column not in have:
                    self._db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {decl}")
        self._bootstrap()

    # ----------------------------------------------------------------- plumbing
    def _q(self, sql: str, args: Sequence = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._db.execute(sql, tuple(args)).fetchall()

    def _one(self, sql: str, args: Sequence = ()) -> sqlite3.Row | None:
        rows = self._q(sql, args)
        return rows[0] if rows else None

    def _tx(self):
        return _Transaction(self)

    # ----------------------------------------------------------------- setup
    def _bootstrap(self) -> None:
        with self._lock:
            row = self._db.execute("SELECT project_id FROM projects ORDER BY created LIMIT 1").fetchone()
            if row is not None:
                self.default_project_id = row["project_id"]
                return
            with self._tx():
                member_id = str(uuid.uuid4())
                self._db.execute("INSERT INTO members VALUES (?, ?, ?, ?, ?)",
                                 (member_id, "admin@localhost", "Local", "Admin", now_iso()))
                project_id = self._insert_project("dgnb local", member_id)
                key_id, secret = self._insert_key(project_id, member_id, "admin key (created on first start)",
                                                  ADMIN_SCOPES)
            self.default_project_id = project_id
            _write_secret(self.data_dir / ADMIN_KEY_FILE, secret)


    def reset_admin_key(self) -> Path:
        """A new owner key of the first project, for its owner, written to ``admin.key`` (for an owner
        locked out: ``dgnb serve --reset-admin-key``); returns the file's path. Other keys stay."""
        with self._lock:
            rows = self._db.execute("SELECT member_id, scopes FROM project_members WHERE project_id = ? "
                                    "ORDER BY rowid", (self.default_project_id,)).fetchall()
            owner = next((r["member_id"] for r in rows if "owner" in json.loads(r["scopes"])),
                         rows[0]["member_id"] if rows else None)
            with self._tx():
                _key_id, secret = self._insert_key(self.default_project_id, owner,
                                                   "admin key (reset from the data dir)", ADMIN_SCOPES)
        path = self.data_dir / ADMIN_KEY_FILE
        _write_secret(path, secret)
        return path

    def close(self) -> None:
        with self._lock:
            self._db.close()



class _Transaction:
    """``with ledger._tx():`` BEGIN IMMEDIATE ... COMMIT (ROLLBACK on error), under the ledger's lock."""

    def __init__(self, ledger: "Store"):
        self.ledger = ledger

    def __enter__(self):
        self.ledger._lock.acquire()
        try:
            self.ledger._db.execute("BEGIN IMMEDIATE")
        except BaseException:
            self.ledger._lock.release()
            raise
        return self

    def __exit__(self, exc_type, exc, tb):
        try:
            self.ledger._db.execute("ROLLBACK" if exc_type else "COMMIT")
        finally:
            self.ledger._lock.release()
        return False


def _row(r: sqlite3.Row) -> dict:
    d = dict(r)
    d["features"] = json.loads(d["features"] or "[]")
    d["tags"] = json.loads(d["tags"] or "[]")
    d["endpoint"] = endpoint_of(d["path"])
    d["processing_method"] = method_of(d["method"], d["callback"])
    return d


def _key_dict(r: sqlite3.Row) -> dict:
    return {"api_key_id": r["key_id"], "comment": r["comment"], "scopes": json.loads(r["scopes"]),
            "tags": json.loads(r["tags"]), "created": r["created"], "expiration_date": r["expiration"],
            "member_id": r["member_id"], "email": r["email"], "first_name": r["first_name"],
            "last_name": r["last_name"]}


def _credentials_dict(r: sqlite3.Row) -> dict:
    return {"member": {"member_id": r["member_id"], "email": r["email"]},
            "distribution_credentials": {
                "distribution_credentials_id": r["credentials_id"], "provider": r["provider"],
                "comment": r["comment"], "scopes": json.loads(r["scopes"]), "created": r["created"]}}


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


