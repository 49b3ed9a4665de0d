"""Projects, members, their roles, and invitations."""
from __future__ import annotations

import json
import uuid

from ..wire.errors import BAD_REQUEST, EngineError
from .records import STARTING_CREDIT, _not_found, now_iso
from .roles import ROLE_PERMISSIONS


class Projects:
    """Projects, members and invitations of the ledger."""

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

    def create_project(self, name: str, owner_member_id: str | None = None, credit: float = STARTING_CREDIT) -> str:
        """A new project owned by ``owner_member_id`` (default: the first member) with ``credit`` USD."""
        with self._lock, self._tx():
            member = owner_member_id or self._db.execute(
                "SELECT member_id FROM members ORDER BY created LIMIT 1").fetchone()["member_id"]
            return self._insert_project(name, member, credit)

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
        """Give a member one role; the project keeps at least one owner (checked in the same transaction,
        so two owners demoting each other at once, from two engines on one data dir, leave one)."""
        if scope not in ROLE_PERMISSIONS:
            raise EngineError(400, BAD_REQUEST, f"scope must be one of owner, admin, member; got {scope!r}")
        with self._tx():
            if scope != "owner":
                self._keep_an_owner(project_id, member_id, "the project's only owner cannot lose the owner role")
            self._db.execute("UPDATE project_members SET scopes = ? WHERE project_id = ? AND member_id = ?",
                             (json.dumps([scope]), project_id, member_id))

    def remove_member(self, project_id: str, member_id: str) -> None:
        """Remove a member and their keys; the project's last owner stays (checked in the same transaction)."""
        with self._tx():
            self._keep_an_owner(project_id, member_id,
                                "the project's only owner cannot be removed; delete the project instead")
            self._db.execute("DELETE FROM tokens WHERE key_id IN (SELECT key_id FROM keys WHERE project_id = ?"
                             " AND member_id = ?)", (project_id, member_id))
            self._db.execute("DELETE FROM keys WHERE project_id = ? AND member_id = ?", (project_id, member_id))
            self._db.execute("DELETE FROM project_members WHERE project_id = ? AND member_id = ?",
                             (project_id, member_id))

    def _keep_an_owner(self, project_id: str, member_id: str, refusal: str) -> None:
        """Inside a transaction: raise (400, ``refusal``) if ``member_id`` is the project's only owner."""
        if "owner" in self.member_scopes(project_id, member_id) and self._owner_count(project_id) == 1:
            raise EngineError(400, BAD_REQUEST, refusal)

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
