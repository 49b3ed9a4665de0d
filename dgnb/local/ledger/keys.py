"""API keys and access tokens: creation, authentication, listing, deletion."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
import uuid

from .records import (
    ADMIN_KEY_FILE,
    TOKEN_SCOPES,
    _expired,
    _hash,
    _key_dict,
    _not_found,
    now_iso,
)
from ..wire.errors import BAD_REQUEST, EngineError
from .roles import Principal


class Keys:
    """API keys and access tokens of the ledger."""

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
        """A short-lived bearer token (``usage:write`` only) for ``principal``: (token, expires_in seconds).
        The token is a JSON Web Token, as Deepgram's: HS256, with ``exp``, ``iat``, ``sub`` (the key id),
        ``scope`` and a unique ``jti``; the engine checks it by its hash in the ledger."""
        now = time.time()
        token = jwt_hs256({"iss": "dgnb-local", "sub": principal.key_id, "scope": " ".join(TOKEN_SCOPES),
                           "iat": int(now), "exp": int(now + float(ttl_seconds)), "jti": str(uuid.uuid4())},
                          self._signing_key())
        with self._lock:
            self._db.execute("DELETE FROM tokens WHERE expires_at < ?", (time.time(),))
            self._db.execute("INSERT INTO tokens VALUES (?, ?, ?, ?, ?)",
                             (_hash(token), principal.key_id, principal.project_id,
                              json.dumps(list(TOKEN_SCOPES)), time.time() + float(ttl_seconds)))
        return token, float(ttl_seconds)

    def _signing_key(self) -> bytes:
        """The ledger's own secret for signing tokens (made once)."""
        with self._lock:
            self._db.execute("INSERT OR IGNORE INTO secrets VALUES ('jwt', ?)", (secrets.token_hex(32),))
            return bytes.fromhex(self._db.execute("SELECT value FROM secrets WHERE name = 'jwt'").fetchone()["value"])

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
        """Delete a key; the project's last unexpired owner key stays (checked in the same transaction),
        so nobody can lock the project's owners out, even with two engines on one data dir."""
        with self._tx():
            row = self._db.execute("SELECT scopes FROM keys WHERE project_id = ? AND key_id = ?",
                                   (project_id, key_id)).fetchone()
            if row is None:
                raise _not_found(f"no API key {key_id!r} in project {project_id!r}")
            if "owner" in json.loads(row["scopes"]):
                others = self._db.execute("SELECT scopes, expiration FROM keys WHERE project_id = ? AND key_id != ?",
                                          (project_id, key_id)).fetchall()
                if not any("owner" in json.loads(o["scopes"]) and not _expired(o["expiration"]) for o in others):
                    raise EngineError(400, BAD_REQUEST, "this is the project's last owner key and cannot be deleted: "
                                                        "create another owner key first")
            self._db.execute("DELETE FROM keys WHERE project_id = ? AND key_id = ?", (project_id, key_id))

    # ----------------------------------------------------------------- projects and members


def jwt_hs256(claims: dict, key: bytes) -> str:
    """An HS256 JSON Web Token (RFC 7519) of ``claims``.

    >>> token = jwt_hs256({"sub": "k1", "exp": 1}, b"secret")
    >>> json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
    {'sub': 'k1', 'exp': 1}
    """
    def part(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    signed = part(b'{"alg":"HS256","typ":"JWT"}') + "." + part(json.dumps(claims, separators=(",", ":")).encode())
    return signed + "." + part(hmac.new(key, signed.encode(), hashlib.sha256).digest())
