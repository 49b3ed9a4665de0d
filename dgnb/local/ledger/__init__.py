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

from .agents import Agents
from .billing import Billing
from .keys import Keys
from .prices import PRICES, endpoint_of, method_of, price_of
from .projects import Projects
from .records import (
    ADMIN_KEY_FILE,
    DB_FILE,
    DEPLOYMENT,
    MAX_TOKEN_TTL,
    STARTING_CREDIT,
    TOKEN_SCOPES,
    Store,
    iso,
    now_iso,
    parse_time,
)
from .roles import (
    ADMIN_SCOPES,
    KNOWN_SCOPES,
    ROLE_PERMISSIONS,
    SELF_HOSTED_SCOPES,
    Principal,
    expand,
    role_of,
)
from .selfhosted import SelfHosted
from .usage import Usage

__all__ = ["Ledger", "Principal", "PRICES", "ADMIN_KEY_FILE", "DB_FILE", "DEPLOYMENT", "MAX_TOKEN_TTL", "STARTING_CREDIT",
           "TOKEN_SCOPES", "ADMIN_SCOPES", "KNOWN_SCOPES", "ROLE_PERMISSIONS", "SELF_HOSTED_SCOPES", "expand", "role_of",
           "iso", "now_iso", "parse_time", "price_of", "endpoint_of", "method_of"]


class Ledger(Keys, Projects, Usage, Billing, SelfHosted, Agents, Store):
    """The account store: one SQLite database in ``data_dir``, its parts in a module each
    (:mod:`.keys`, :mod:`.projects`, :mod:`.usage`, :mod:`.billing`, :mod:`.selfhosted`, :mod:`.agents`); safe to share
    between threads.

    >>> import tempfile
    >>> ledger = Ledger(tempfile.mkdtemp())
    >>> ledger.authenticate("Token " + ledger.admin_key).has("keys:write")
    True
    """
