"""Roles, scopes and the principal a credential stands for."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

ADMIN_SCOPES = ["owner"]

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
