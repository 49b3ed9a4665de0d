"""The local engine's account store: projects, members, keys, scopes, usage and billing (SQLite).

The first start creates a project, an owner member, an owner API key whose secret is written to
``<data_dir>/admin.key`` (mode 0600) and a promotional purchase of :data:`STARTING_CREDIT` USD
that funds the project balance. The database keeps only a SHA-256 hash of each secret (API keys
and access tokens); a secret is shown once, when it is created.

Every request the engine serves is recorded in ``requests`` (:meth:`Ledger.record_request`) and,
when it succeeded, charged to the project balance at the local price table :data:`PRICES`, in the
same transaction, so usage and billing reports show real activity and balances always equal the
purchases minus the sum of the recorded charges.

Roles and scopes follow Deepgram's "Working with roles" page: a role (``owner``, ``admin``,
``member``) implies a set of permissions (:data:`ROLE_PERMISSIONS`); a key may also hold single
permissions (``usage:write``, ``keys:read``...). Access tokens from ``/v1/auth/grant`` hold only
``usage:write`` (they cannot use the Manage API), like Deepgram's.
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
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterable, Sequence

from .errors import BAD_REQUEST, NOT_FOUND, EngineError

ADMIN_SCOPES = ["owner"]
ADMIN_KEY_FILE = "admin.key"
DB_FILE = "ledger.sqlite3"
STARTING_CREDIT = 200.0
DEPLOYMENT = "self-hosted"
TOKEN_SCOPES = ("usage:write",)
MAX_TOKEN_TTL = 3600

_MEMBER = ("project:read", "project:write", "keys:read", "keys:write", "usage:read", "usage:write")
_ADMIN = _MEMBER + (
    "members:read", "members:read:invites", "members:read:scopes", "members:write", "members:write:invites",
    "members:write:scopes", "members:write:kick", "admins:read", "admins:read:invites", "admins:read:scopes",
    "admins:write", "admins:write:invites", "admins:write:scopes", "admins:write:kick", "owners:read",
    "owners:read:invites", "owners:read:scopes", "billing:read")
_OWNER = _ADMIN + ("project:write:settings", "project:write:destroy", "owners:write", "owners:write:invites",
                   "owners:write:scopes", "owners:write:kick", "billing:write")
#: What each project role implies (Deepgram's documented table).
ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    "owner": frozenset(_OWNER + ("owner", "admin", "member")),
    "admin": frozenset(_ADMIN + ("admin", "member")),
    "member": frozenset(_MEMBER + ("member",)),
}
SELF_HOSTED_SCOPES = ("self-hosted:product:api", "self-hosted:product:engine", "self-hosted:product:license-proxy",
                      "self-hosted:product:dgtools", "self-hosted:product:billing", "self-hosted:product:hotpepper",
                      "self-hosted:product:metrics-server")
KNOWN_SCOPES = frozenset(ROLE_PERMISSIONS["owner"]) | set(SELF_HOSTED_SCOPES) | {"self-hosted:products"}

#: Local price table in USD, modelled on Deepgram's pay-as-you-go list prices:
#: (endpoint, method) -> (price, unit). Units: "minute" of audio (duration x channels), "1k_chars" of text.
PRICES: dict[tuple[str, str], tuple[float, str]] = {
    ("listen", "sync"): (0.0043, "minute"),
    ("listen", "async"): (0.0043, "minute"),
    ("listen", "streaming"): (0.0077, "minute"),
    ("speak", "sync"): (0.030, "1k_chars"),
    ("speak", "streaming"): (0.030, "1k_chars"),
    ("read", "sync"): (0.0003, "1k_chars"),
    ("read", "async"): (0.0003, "1k_chars"),
}

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


def expand(scopes: Iterable[str]) -> frozenset[str]:
    """Every permission a list of scopes implies (roles expanded)."""
    out: set[str] = set()
    for s in scopes:
        out |= ROLE_PERMISSIONS.get(s, {s})
        if s == "self-hosted:products":
            out |= set(SELF_HOSTED_SCOPES)
    return frozenset(out)


def role_of(scopes: Iterable[str]) -> str | None:
    """The highest project role among ``scopes`` (None when the key holds single permissions only)."""
    scopes = set(scopes)
    return next((r for r in ("owner", "admin", "member") if r in scopes), None)


@dataclass(frozen=True)
class Principal:
    """Who made a request: the project, the key (or token), its scopes and the member who owns the key."""

    project_id: str
    key_id: str
    scopes: tuple[str, ...] = field(default_factory=tuple)
    kind: str = "key"  # "key" or "token"
    member_id: str | None = None

    def has(self, scope: str) -> bool:
        """Whether the scopes (roles expanded) grant ``scope``."""
        return scope in expand(self.scopes)

    def __repr__(self) -> str:  # never shows secrets: it holds none
        return f"Principal(project_id={self.project_id!r}, key_id={self.key_id!r}, kind={self.kind!r})"


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


def price_of(endpoint: str, method: str, *, duration: float, channels: int, characters: int) -> float:
    """USD charged for one successful request at the local price table :data:`PRICES`."""
    price, unit = PRICES.get((endpoint, method), (0.0, "minute"))
    if unit == "minute":
        return price * float(duration) * max(1, int(channels or 1)) / 60.0
    return price * int(characters or 0) / 1000.0


def endpoint_of(path: str) -> str:
    """``/v1/listen`` -> ``listen``."""
    parts = [p for p in path.split("/") if p]
    return parts[1] if len(parts) > 1 else (parts[0] if parts else "")


def method_of(http_method: str, callback: str | None) -> str:
    """Deepgram's processing method: ``streaming`` (WebSocket), ``async`` (callback) or ``sync``."""
    if http_method.upper() == "GET":
        return "streaming"
    return "async" if callback else "sync"


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

    def _insert_project(self, name: str, owner_member_id: str, credit: float = STARTING_CREDIT) -> str:
        project_id = str(uuid.uuid4())
        created = now_iso()
        self._db.execute("INSERT INTO projects (project_id, name, company, created) VALUES (?, ?, ?, ?)",
                         (project_id, name, None, created))
        self._db.execute("INSERT INTO project_members VALUES (?, ?, ?)",
                         (project_id, owner_member_id, json.dumps(["owner"])))
        if credit:
            self._insert_purchase(project_id, credit, "promotional")
        return project_id

    def _insert_purchase(self, project_id: str, amount: float, order_type: str, expiration: str | None = None) -> str:
        order_id = str(uuid.uuid4())
        if expiration is None:
            expiration = iso(datetime.now(timezone.utc) + timedelta(days=365))
        self._db.execute("INSERT INTO purchases VALUES (?, ?, ?, ?, ?, ?, ?)",
                         (order_id, project_id, float(amount), "usd", order_type, now_iso(), expiration))
        self._db.execute("INSERT INTO balances VALUES (?, ?, ?, ?, ?)",
                         (str(uuid.uuid4()), project_id, float(amount), "usd", order_id))
        return order_id

    def create_project(self, name: str, owner_member_id: str | None = None, credit: float = STARTING_CREDIT) -> str:
        """A new project owned by ``owner_member_id`` (default: the first member) with ``credit`` USD."""
        with self._lock, self._tx():
            member = owner_member_id or self._db.execute(
                "SELECT member_id FROM members ORDER BY created LIMIT 1").fetchone()["member_id"]
            return self._insert_project(name, member, credit)

    def add_purchase(self, project_id: str, amount: float, order_type: str = "prepaid") -> str:
        """Record a purchase: a new order and a balance funded by it. Returns the order id."""
        if not amount or amount <= 0:
            raise EngineError(400, BAD_REQUEST, "amount must be a positive number of USD")
        with self._lock, self._tx():
            self.project(project_id)
            return self._insert_purchase(project_id, amount, order_type)

    def add_member(self, project_id: str, email: str, scope: str = "member", first_name: str | None = None,
                   last_name: str | None = None) -> str:
        """Add (or re-add) a member with a role to a project; returns the member id."""
        with self._lock, self._tx():
            row = self._db.execute("SELECT member_id FROM members WHERE email = ?", (email,)).fetchone()
            member_id = row["member_id"] if row else str(uuid.uuid4())
            if row is None:
                self._db.execute("INSERT INTO members VALUES (?, ?, ?, ?, ?)",
                                 (member_id, email, first_name, last_name, now_iso()))
            self._db.execute("INSERT OR REPLACE INTO project_members VALUES (?, ?, ?)",
                             (project_id, member_id, json.dumps([scope])))
            self._db.execute("DELETE FROM invites WHERE project_id = ? AND email = ?", (project_id, email))
        return member_id

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
        """A new API key: returns (key_id, secret); only the hash is stored.

        ``expiration`` is an ISO 8601 time (or None for a key that never expires).
        """
        with self._lock:
            if member_id is None:
                row = self._db.execute("SELECT member_id FROM project_members WHERE project_id = ? LIMIT 1",
                                       (project_id,)).fetchone()
                member_id = row["member_id"] if row else None
            return self._insert_key(project_id, member_id, comment, scopes, tags, expiration)

    def grant_token(self, principal: Principal, ttl_seconds: float = 30) -> tuple[str, float]:
        """A short-lived bearer token (``usage:write`` only) for ``principal``: (token, expires_in seconds)."""
        token = secrets.token_urlsafe(32)
        with self._lock:
            self._db.execute("DELETE FROM tokens WHERE expires_at < ?", (time.time(),))
            self._db.execute("INSERT INTO tokens VALUES (?, ?, ?, ?, ?)",
                             (_hash(token), principal.key_id, principal.project_id,
                              json.dumps(list(TOKEN_SCOPES)), time.time() + float(ttl_seconds)))
        return token, float(ttl_seconds)

    def authenticate(self, authorization_header: str | None) -> Principal | None:
        """The principal for ``Token <key>`` or ``Bearer <token>`` (scheme case-insensitive), else None.

        Expired keys and tokens do not authenticate.
        """
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
                    "SELECT key_id, project_id, member_id, scopes, expiration FROM keys WHERE secret_sha256 = ?",
                    (_hash(credential),)).fetchone()
                if row is None or _expired(row["expiration"]):
                    return None
                return Principal(row["project_id"], row["key_id"], tuple(json.loads(row["scopes"])), "key",
                                 row["member_id"])
            if scheme == "bearer":
                row = self._db.execute(
                    "SELECT t.key_id, t.project_id, t.scopes, t.expires_at, k.member_id FROM tokens t"
                    " JOIN keys k ON k.key_id = t.key_id WHERE t.token_sha256 = ?",
                    (_hash(credential),)).fetchone()
                if row is None or row["expires_at"] < time.time():
                    return None
                return Principal(row["project_id"], row["key_id"], tuple(json.loads(row["scopes"])), "token",
                                 row["member_id"])
        return None

    def token_expiry(self, authorization_header: str) -> float | None:
        """Seconds left on a bearer token (None for an API key or an unknown token)."""
        scheme, _, credential = authorization_header.strip().partition(" ")
        if scheme.lower() != "bearer":
            return None
        row = self._one("SELECT expires_at FROM tokens WHERE token_sha256 = ?", (_hash(credential.strip()),))
        return None if row is None else max(0.0, row["expires_at"] - time.time())

    def list_keys(self, project_id: str, *, status: str | None = None, member_id: str | None = None) -> list[dict]:
        """Keys of a project (``status`` "active" or "expired"; ``member_id`` keeps that member's keys)."""
        sql = ("SELECT k.*, m.email, m.first_name, m.last_name FROM keys k LEFT JOIN members m"
               " ON m.member_id = k.member_id WHERE k.project_id = ?")
        args: list = [project_id]
        if member_id:
            sql += " AND k.member_id = ?"
            args.append(member_id)
        rows = [_key_dict(r) for r in self._q(sql + " ORDER BY k.created", args)]
        if status == "active":
            rows = [r for r in rows if not _expired(r["expiration_date"])]
        elif status == "expired":
            rows = [r for r in rows if _expired(r["expiration_date"])]
        return rows

    def get_key(self, project_id: str, key_id: str) -> dict:
        row = self._one("SELECT k.*, m.email, m.first_name, m.last_name FROM keys k LEFT JOIN members m"
                        " ON m.member_id = k.member_id WHERE k.project_id = ? AND k.key_id = ?", (project_id, key_id))
        if row is None:
            raise _not_found(f"no API key {key_id!r} in project {project_id!r}")
        return _key_dict(row)

    def delete_key(self, project_id: str, key_id: str) -> None:
        with self._lock:
            if self._db.execute("DELETE FROM keys WHERE project_id = ? AND key_id = ?",
                                (project_id, key_id)).rowcount == 0:
                raise _not_found(f"no API key {key_id!r} in project {project_id!r}")

    # ----------------------------------------------------------------- projects and members
    def project(self, project_id: str) -> dict:
        row = self._one("SELECT * FROM projects WHERE project_id = ?", (project_id,))
        if row is None:
            raise _not_found(f"no project {project_id!r}")
        return {"project_id": row["project_id"], "mip_opt_out": bool(row["mip_opt_out"]), "name": row["name"],
                "company": row["company"], "created": row["created"]}

    def projects_of(self, member_id: str | None, fallback_project_id: str) -> list[dict]:
        """Projects a member belongs to (a key without a member sees its own project)."""
        rows = self._q("SELECT p.* FROM projects p JOIN project_members pm ON pm.project_id = p.project_id"
                       " WHERE pm.member_id = ? ORDER BY p.created", (member_id,)) if member_id else []
        if not rows:
            rows = self._q("SELECT * FROM projects WHERE project_id = ?", (fallback_project_id,))
        return [{"project_id": r["project_id"], "name": r["name"]} for r in rows]

    def update_project(self, project_id: str, *, name: str | None = None, mip_opt_out: bool | None = None,
                       company: str | None = None) -> None:
        self.project(project_id)
        with self._lock, self._tx():
            if name is not None:
                self._db.execute("UPDATE projects SET name = ? WHERE project_id = ?", (name, project_id))
            if mip_opt_out is not None:
                self._db.execute("UPDATE projects SET mip_opt_out = ? WHERE project_id = ?",
                                 (int(bool(mip_opt_out)), project_id))
            if company is not None:
                self._db.execute("UPDATE projects SET company = ? WHERE project_id = ?", (company, project_id))

    def delete_project(self, project_id: str) -> None:
        self.project(project_id)
        with self._lock, self._tx():
            self._db.execute("DELETE FROM tokens WHERE project_id = ?", (project_id,))
            self._db.execute("DELETE FROM requests WHERE project_id = ?", (project_id,))
            self._db.execute("DELETE FROM projects WHERE project_id = ?", (project_id,))
            row = self._db.execute("SELECT project_id FROM projects ORDER BY created LIMIT 1").fetchone()
        if project_id == self.default_project_id and row is not None:
            self.default_project_id = row["project_id"]

    def members(self, project_id: str) -> list[dict]:
        rows = self._q("SELECT m.*, pm.scopes FROM project_members pm JOIN members m ON m.member_id = pm.member_id"
                       " WHERE pm.project_id = ? ORDER BY m.created", (project_id,))
        return [{"member_id": r["member_id"], "scopes": json.loads(r["scopes"]), "email": r["email"],
                 "first_name": r["first_name"], "last_name": r["last_name"]} for r in rows]

    def member_scopes(self, project_id: str, member_id: str) -> list[str]:
        row = self._one("SELECT scopes FROM project_members WHERE project_id = ? AND member_id = ?",
                        (project_id, member_id))
        if row is None:
            raise _not_found(f"no member {member_id!r} in project {project_id!r}")
        return json.loads(row["scopes"])

    def set_member_scope(self, project_id: str, member_id: str, scope: str) -> None:
        if scope not in ROLE_PERMISSIONS:
            raise EngineError(400, BAD_REQUEST, f"scope must be one of owner, admin, member; got {scope!r}")
        current = self.member_scopes(project_id, member_id)
        if "owner" in current and scope != "owner" and self._owner_count(project_id) == 1:
            raise EngineError(400, BAD_REQUEST, "the project's only owner cannot lose the owner role")
        with self._lock:
            self._db.execute("UPDATE project_members SET scopes = ? WHERE project_id = ? AND member_id = ?",
                             (json.dumps([scope]), project_id, member_id))

    def remove_member(self, project_id: str, member_id: str) -> None:
        current = self.member_scopes(project_id, member_id)
        if "owner" in current and self._owner_count(project_id) == 1:
            raise EngineError(400, BAD_REQUEST, "the project's only owner cannot be removed; delete the project instead")
        with self._lock, self._tx():
            self._db.execute("DELETE FROM tokens WHERE key_id IN (SELECT key_id FROM keys WHERE project_id = ?"
                             " AND member_id = ?)", (project_id, member_id))
            self._db.execute("DELETE FROM keys WHERE project_id = ? AND member_id = ?", (project_id, member_id))
            self._db.execute("DELETE FROM project_members WHERE project_id = ? AND member_id = ?",
                             (project_id, member_id))

    def _owner_count(self, project_id: str) -> int:
        return sum("owner" in json.loads(r["scopes"]) for r in
                   self._q("SELECT scopes FROM project_members WHERE project_id = ?", (project_id,)))

    def invites(self, project_id: str) -> list[dict]:
        return [{"email": r["email"], "scope": r["scope"]} for r in
                self._q("SELECT email, scope FROM invites WHERE project_id = ? ORDER BY created", (project_id,))]

    def add_invite(self, project_id: str, email: str, scope: str) -> None:
        if not email or "@" not in email:
            raise EngineError(400, BAD_REQUEST, f"email must be an e-mail address; got {email!r}")
        if scope not in ROLE_PERMISSIONS:
            raise EngineError(400, BAD_REQUEST, f"scope must be one of owner, admin, member; got {scope!r}")
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO invites VALUES (?, ?, ?, ?)", (project_id, email, scope, now_iso()))

    def delete_invite(self, project_id: str, email: str) -> None:
        with self._lock:
            if self._db.execute("DELETE FROM invites WHERE project_id = ? AND email = ?",
                                (project_id, email)).rowcount == 0:
                raise _not_found(f"no invite for {email!r} in project {project_id!r}")

    # ----------------------------------------------------------------- usage
    def record_request(self, *, request_id: str, principal: Principal | None, path: str = "/v1/listen",
                       method: str = "POST", status: int = 200, duration: float = 0.0, channels: int = 0,
                       model: str | None = None, model_uuid: str | None = None, features=(), tags=(),
                       callback: str | None = None, sha256: str | None = None, err_code: str | None = None,
                       response: dict | None = None, created: str | None = None, characters: int = 0) -> float:
        """Store one API request and charge a successful one to the project balance (one transaction).

        Returns the USD charged (:func:`price_of`; 0 for failed requests).
        """
        project_id = principal.project_id if principal else self.default_project_id
        key_id = principal.key_id if principal else None
        usd = 0.0
        if 200 <= int(status) < 300:
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

    def requests(self, project_id: str | None = None, limit: int = 100) -> list[dict]:
        """Recorded requests of a project, newest first (plain rows)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT * FROM requests WHERE project_id = ? ORDER BY created DESC LIMIT ?",
                (project_id or self.default_project_id, int(limit))).fetchall()
        out = []
        for r in rows:
            d = _row(r)
            d.pop("response", None)
            out.append(d)
        return out

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

    def close(self) -> None:
        with self._lock:
            self._db.close()


class _Transaction:
    """``with ledger._tx():`` BEGIN IMMEDIATE ... COMMIT (ROLLBACK on error), under the ledger's lock."""

    def __init__(self, ledger: Ledger):
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


__all__ = ["Ledger", "Principal", "PRICES", "ROLE_PERMISSIONS", "expand", "price_of", "parse_time", "now_iso"]
