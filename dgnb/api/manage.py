"""Projects, keys, members, invites, usage, billing and models: Deepgram's Manage API (``dg.manage``).

Every method is written once, as a generator, and runs sync on :class:`dgnb.Client` and awaitable
on :class:`dgnb.AsyncClient`. Replies that are lists come back as typed DataFrames (tz-aware
datetimes, floats for hours and dollars, categoricals for models and methods) with the full JSON
reply in ``df.attrs["response"]``; single objects come back as the reply's dict.

>>> dg = dgnb.Client()                                                   # doctest: +SKIP
>>> pid = dg.manage.get_projects().project_id[0]                         # doctest: +SKIP
>>> dg.manage.get_usage_breakdown(pid, start="2025-01-01", grouping=["models"])  # doctest: +SKIP
"""
from __future__ import annotations

import datetime as dt
import json as _json
from typing import Any, Generator, Mapping, Sequence
from urllib.parse import quote

import pandas as pd

from .._core.http import Call
from .namespace import Namespace, endpoint
from .._core.params import check_options, encode_params
from ..results.manage_frames import (AGENTS, AGENT_VARIABLES, PROJECTS, KEYS, MEMBERS, INVITES, USAGE, BREAKDOWN, BREAKDOWN_GROUPS, BALANCES, BILLING, BILLING_GROUPS, PURCHASES, MODELS,
    flat_grouping, framed, requests_frame)
from ..protocol.usage import BILLING_GROUPINGS, USAGE_FILTERS, USAGE_GROUPINGS

__all__ = ["Manage", "check_id", "check_dates", "to_date_param"]

REQUEST_FILTERS = frozenset({"accessor", "request_id", "deployment", "endpoint", "method", "status"})
PAGE_SIZE = 100
PROGRESS_AFTER_PAGES = 2  # a progress bar appears once a fetch needs more pages than this

# ---------------------------------------------------------------- validation ----
def check_id(value: Any, name: str) -> str:
    """``value`` as a path segment (percent-encoded); ValueError naming ``name`` unless a non-empty string.

    >>> check_id("a b", "project_id")
    'a%20b'
    """
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{name} must be a non-empty string, got {value!r}")
    return quote(value.strip(), safe="")


def _timestamp(value: Any, name: str) -> tuple[pd.Timestamp, bool]:
    """(UTC timestamp, whether it was a bare date) of a str/date/datetime/Timestamp."""
    if isinstance(value, bool) or not isinstance(value, (str, dt.date, pd.Timestamp)):
        raise ValueError(f"{name} must be a date: a 'YYYY-MM-DD' string, datetime.date, datetime or "
                         f"pandas.Timestamp, got {type(value).__name__}")
    bare = isinstance(value, dt.date) and not isinstance(value, dt.datetime)
    if isinstance(value, str):
        text = value.strip()
        bare = len(text) == 10
        try:
            ts = pd.Timestamp(text)
        except (ValueError, TypeError):
            raise ValueError(f"{name}={value!r} is not a date: use 'YYYY-MM-DD' or ISO 8601") from None
        if ts is pd.NaT:
            raise ValueError(f"{name}={value!r} is not a date")
    else:
        ts = pd.Timestamp(value)
    if ts.tzinfo is None:
        ts = ts.tz_localize("UTC")
    return ts.tz_convert("UTC"), bare


def to_date_param(value: Any, name: str) -> str:
    """Deepgram's text for a date bound: ``YYYY-MM-DD`` for dates, ISO 8601 (UTC, Z) for times.

    >>> to_date_param(dt.date(2025, 1, 2), "start"), to_date_param("2025-01-02T03:04:05+01:00", "end")
    ('2025-01-02', '2025-01-02T02:04:05Z')
    """
    ts, bare = _timestamp(value, name)
    return ts.strftime("%Y-%m-%d") if bare else ts.strftime("%Y-%m-%dT%H:%M:%SZ")


def check_dates(start: Any, end: Any) -> list[tuple[str, str]]:
    """Query parameters for ``start``/``end`` (either may be None); ValueError when start > end."""
    params = []
    bounds = {}
    for name, value in (("start", start), ("end", end)):
        if value is not None:
            ts, bare = _timestamp(value, name)
            if bare and name == "end":
                ts = ts + pd.Timedelta(days=1) - pd.Timedelta(microseconds=1)
            bounds[name] = ts
            params.append((name, to_date_param(value, name)))
    if len(bounds) == 2 and bounds["start"] > bounds["end"]:
        raise ValueError(f"start ({start}) is after end ({end})")
    return params


def _groupings(grouping: Any, allowed: Sequence[str]) -> list[tuple[str, str]]:
    if grouping is None:
        return []
    items = [grouping] if isinstance(grouping, str) else list(grouping)
    for g in items:
        if g not in allowed:
            raise ValueError(f"grouping {g!r} is not one of {', '.join(allowed)}")
    return [("grouping", g) for g in items]


def _limit(value: Any, name: str = "limit") -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return value


# ---------------------------------------------------------------- namespace ----
class Manage(Namespace):
    """Deepgram's Manage API. Lists come back as typed DataFrames (full reply in ``.attrs["response"]``).

    >>> dg.manage.get_keys(project_id)          # doctest: +SKIP
    """

    name = "manage"

    def _get(self, path: str, params: Sequence[tuple[str, str]] | None = None) -> Generator[Any, Any, Any]:
        response = yield from self._send(Call("GET", path, self.name, params=list(params or []) or None))
        return response.json()

    def _call(self, method: str, path: str, json: Any = None, params=None) -> Generator[Any, Any, Any]:
        response = yield from self._send(Call(method, path, self.name, json=json, params=params))
        return response.json() if response.content else {}

    # ---- projects ----
    @endpoint
    def get_projects(self) -> Generator[Any, Any, pd.DataFrame]:
        """Projects the credentials can see: DataFrame (project_id, name)."""
        body = yield from self._get("/v1/projects")
        return framed(body.get("projects") or [], PROJECTS, body)

    @endpoint
    def get_project(self, project_id: str) -> Generator[Any, Any, dict]:
        """One project: ``{"project_id", "name", "mip_opt_out"}``."""
        return (yield from self._get(f"/v1/projects/{check_id(project_id, 'project_id')}"))

    @endpoint
    def update_project(self, project_id: str, name: str | None = None, *, mip_opt_out: bool | None = None
                       ) -> Generator[Any, Any, dict]:
        """Rename a project (or set ``mip_opt_out``); returns ``{"message"}``."""
        pid = check_id(project_id, "project_id")
        body: dict[str, Any] = {}
        if name is not None:
            if not isinstance(name, str) or not name.strip():
                raise ValueError(f"name must be a non-empty string, got {name!r}")
            body["name"] = name
        if mip_opt_out is not None:
            body["mip_opt_out"] = bool(mip_opt_out)
        if not body:
            raise ValueError("update_project needs name= or mip_opt_out=")
        return (yield from self._call("PATCH", f"/v1/projects/{pid}", body))

    @endpoint
    def delete_project(self, project_id: str) -> Generator[Any, Any, dict]:
        """Delete a project (owners only); returns ``{"message"}``."""
        return (yield from self._call("DELETE", f"/v1/projects/{check_id(project_id, 'project_id')}"))

    @endpoint
    def leave_project(self, project_id: str) -> Generator[Any, Any, dict]:
        """Remove the caller's member from a project; returns ``{"message"}``."""
        return (yield from self._call("DELETE", f"/v1/projects/{check_id(project_id, 'project_id')}/leave"))

    # ---- keys ----
    @endpoint
    def get_keys(self, project_id: str, *, status: str | None = None) -> Generator[Any, Any, pd.DataFrame]:
        """API keys of a project (never their secrets): DataFrame; ``status`` "active" or "expired"."""
        pid = check_id(project_id, "project_id")
        if status not in (None, "active", "expired"):
            raise ValueError(f"status must be 'active' or 'expired', got {status!r}")
        body = yield from self._get(f"/v1/projects/{pid}/keys", [("status", status)] if status else None)
        rows = [{**(k.get("api_key") or {}), **(k.get("member") or {})} for k in body.get("api_keys") or []]
        return framed(rows, KEYS, body)

    @endpoint
    def get_key(self, project_id: str, key_id: str) -> Generator[Any, Any, dict]:
        """One key's details: ``{"item": {"member": {..., "api_key": {...}}}}``."""
        pid, kid = check_id(project_id, "project_id"), check_id(key_id, "key_id")
        return (yield from self._get(f"/v1/projects/{pid}/keys/{kid}"))

    @endpoint
    def create_key(self, project_id: str, comment: str, scopes: Sequence[str], *, tags: Sequence[str] | None = None,
                   time_to_live_in_seconds: float | None = None, expiration_date: Any = None
                   ) -> Generator[Any, Any, dict]:
        """Create a key; the reply's ``"key"`` is the secret, shown this once.

        >>> k = dg.manage.create_key(pid, "ci", ["member"], time_to_live_in_seconds=3600)  # doctest: +SKIP
        """
        pid = check_id(project_id, "project_id")
        if not isinstance(comment, str):
            raise ValueError(f"comment must be a string, got {comment!r}")
        if isinstance(scopes, str) or not scopes or not all(isinstance(s, str) and s for s in scopes):
            raise ValueError(f"scopes must be a non-empty list of scope names such as ['member'], got {scopes!r}")
        body: dict[str, Any] = {"comment": comment, "scopes": list(scopes)}
        if tags is not None:
            if isinstance(tags, str) or not all(isinstance(t, str) for t in tags):
                raise ValueError(f"tags must be a list of strings, got {tags!r}")
            body["tags"] = list(tags)
        if time_to_live_in_seconds is not None and expiration_date is not None:
            raise ValueError("give time_to_live_in_seconds or expiration_date, not both")
        if time_to_live_in_seconds is not None:
            if isinstance(time_to_live_in_seconds, bool) or not isinstance(time_to_live_in_seconds, (int, float)) \
                    or time_to_live_in_seconds <= 0:
                raise ValueError(f"time_to_live_in_seconds must be a positive number, got {time_to_live_in_seconds!r}")
            body["time_to_live_in_seconds"] = time_to_live_in_seconds
        if expiration_date is not None:
            ts, _ = _timestamp(expiration_date, "expiration_date")
            body["expiration_date"] = ts.strftime("%Y-%m-%dT%H:%M:%SZ")
        return (yield from self._call("POST", f"/v1/projects/{pid}/keys", body))

    @endpoint
    def delete_key(self, project_id: str, key_id: str) -> Generator[Any, Any, dict]:
        """Delete a key; returns ``{"message"}``."""
        pid, kid = check_id(project_id, "project_id"), check_id(key_id, "key_id")
        return (yield from self._call("DELETE", f"/v1/projects/{pid}/keys/{kid}"))

    # ---- voice agent configurations and variables ----
    @endpoint
    def get_agents(self, project_id: str) -> Generator[Any, Any, pd.DataFrame]:
        """Stored agent configurations: DataFrame (agent_id, config, metadata, created_at, updated_at)."""
        body = yield from self._get(f"/v1/projects/{check_id(project_id, 'project_id')}/agents")
        return framed(body.get("agents") or [], AGENTS, body)

    @endpoint
    def create_agent(self, project_id: str, config: Any, metadata: Mapping[str, str] | None = None
                     ) -> Generator[Any, Any, dict]:
        """Store an agent configuration: ``config`` is the ``agent`` block of a Settings message (a dict, or
        its JSON); pass the reply's ``agent_id`` as ``agent`` in a later Settings message.

        >>> a = dg.manage.create_agent(pid, {"think": {"prompt": "DG_PROMPT"}}, {"team": "support"})  # doctest: +SKIP
        """
        pid = check_id(project_id, "project_id")
        body: dict[str, Any] = {"config": config if isinstance(config, str) else _json.dumps(config)}
        if metadata is not None:
            body["metadata"] = dict(metadata)
        return (yield from self._call("POST", f"/v1/projects/{pid}/agents", json=body))

    @endpoint
    def get_agent(self, project_id: str, agent_id: str) -> Generator[Any, Any, dict]:
        pid, aid = check_id(project_id, "project_id"), check_id(agent_id, "agent_id")
        return (yield from self._get(f"/v1/projects/{pid}/agents/{aid}"))

    @endpoint
    def update_agent(self, project_id: str, agent_id: str, metadata: Mapping[str, str]) -> Generator[Any, Any, dict]:
        """Replace a configuration's metadata (the configuration itself cannot change: store a new one)."""
        pid, aid = check_id(project_id, "project_id"), check_id(agent_id, "agent_id")
        return (yield from self._call("PUT", f"/v1/projects/{pid}/agents/{aid}", json={"metadata": dict(metadata)}))

    @endpoint
    def delete_agent(self, project_id: str, agent_id: str) -> Generator[Any, Any, dict]:
        pid, aid = check_id(project_id, "project_id"), check_id(agent_id, "agent_id")
        return (yield from self._call("DELETE", f"/v1/projects/{pid}/agents/{aid}"))

    @endpoint
    def get_agent_variables(self, project_id: str) -> Generator[Any, Any, pd.DataFrame]:
        """Template variables: DataFrame (variable_id, key, value, created_at, updated_at)."""
        body = yield from self._get(f"/v1/projects/{check_id(project_id, 'project_id')}/agent-variables")
        return framed(body.get("variables") or [], AGENT_VARIABLES, body)

    @endpoint
    def create_agent_variable(self, project_id: str, key: str, value: Any) -> Generator[Any, Any, dict]:
        """A variable ``DG_<NAME>``: its JSON ``value`` replaces the string ``"DG_<NAME>"`` in agent configurations.

        >>> dg.manage.create_agent_variable(pid, "DG_PROMPT", "Be brief.")  # doctest: +SKIP
        """
        pid = check_id(project_id, "project_id")
        return (yield from self._call("POST", f"/v1/projects/{pid}/agent-variables", json={"key": key, "value": value}))

    @endpoint
    def update_agent_variable(self, project_id: str, variable_id: str, value: Any) -> Generator[Any, Any, dict]:
        pid, vid = check_id(project_id, "project_id"), check_id(variable_id, "variable_id")
        return (yield from self._call("PATCH", f"/v1/projects/{pid}/agent-variables/{vid}", json={"value": value}))

    @endpoint
    def delete_agent_variable(self, project_id: str, variable_id: str) -> Generator[Any, Any, dict]:
        pid, vid = check_id(project_id, "project_id"), check_id(variable_id, "variable_id")
        return (yield from self._call("DELETE", f"/v1/projects/{pid}/agent-variables/{vid}"))

    # ---- members, scopes, invites ----
    @endpoint
    def get_members(self, project_id: str) -> Generator[Any, Any, pd.DataFrame]:
        """Members of a project: DataFrame (member_id, email, first_name, last_name, scopes)."""
        body = yield from self._get(f"/v1/projects/{check_id(project_id, 'project_id')}/members")
        return framed(body.get("members") or [], MEMBERS, body)

    @endpoint
    def remove_member(self, project_id: str, member_id: str) -> Generator[Any, Any, dict]:
        pid, mid = check_id(project_id, "project_id"), check_id(member_id, "member_id")
        return (yield from self._call("DELETE", f"/v1/projects/{pid}/members/{mid}"))

    @endpoint
    def get_member_scopes(self, project_id: str, member_id: str) -> Generator[Any, Any, list]:
        """A member's scopes, as a list of strings (the reply is ``{"scopes": [...]}``)."""
        pid, mid = check_id(project_id, "project_id"), check_id(member_id, "member_id")
        body = yield from self._get(f"/v1/projects/{pid}/members/{mid}/scopes")
        return list(body.get("scopes") or [])

    @endpoint
    def update_member_scope(self, project_id: str, member_id: str, scope: str) -> Generator[Any, Any, dict]:
        """Give a member a role: ``"owner"``, ``"admin"`` or ``"member"``."""
        pid, mid = check_id(project_id, "project_id"), check_id(member_id, "member_id")
        if not isinstance(scope, str) or not scope.strip():
            raise ValueError(f"scope must be a non-empty string such as 'admin', got {scope!r}")
        return (yield from self._call("PUT", f"/v1/projects/{pid}/members/{mid}/scopes", {"scope": scope}))

    @endpoint
    def get_invites(self, project_id: str) -> Generator[Any, Any, pd.DataFrame]:
        body = yield from self._get(f"/v1/projects/{check_id(project_id, 'project_id')}/invites")
        return framed(body.get("invites") or [], INVITES, body)

    @endpoint
    def send_invite(self, project_id: str, email: str, scope: str = "member") -> Generator[Any, Any, dict]:
        pid = check_id(project_id, "project_id")
        if not isinstance(email, str) or "@" not in email:
            raise ValueError(f"email must be an e-mail address, got {email!r}")
        if not isinstance(scope, str) or not scope.strip():
            raise ValueError(f"scope must be a non-empty string such as 'member', got {scope!r}")
        return (yield from self._call("POST", f"/v1/projects/{pid}/invites", {"email": email, "scope": scope}))

    @endpoint
    def delete_invite(self, project_id: str, email: str) -> Generator[Any, Any, dict]:
        pid, mail = check_id(project_id, "project_id"), check_id(email, "email")
        return (yield from self._call("DELETE", f"/v1/projects/{pid}/invites/{mail}"))

    # ---- usage ----
    @endpoint
    def get_usage_requests(self, project_id: str, start: Any = None, end: Any = None, *, limit: int | None = None,
                           page_size: int = PAGE_SIZE, progress: bool | None = None, **filters: Any
                           ) -> Generator[Any, Any, pd.DataFrame]:
        """Requests of a project, newest first, fetched page by page: one row per request.

        ``limit`` caps the rows (default: all); ``filters`` are accessor, request_id, deployment,
        endpoint, method, status. A tqdm progress bar appears when more than two pages are needed
        (``progress=False`` hides it, ``True`` always shows it). ``attrs["response"]`` holds the replies.

        >>> df = dg.manage.get_usage_requests(pid, "2025-01-01", limit=500)   # doctest: +SKIP
        """
        pid = check_id(project_id, "project_id")
        params = check_dates(start, end)
        limit = _limit(limit)
        size = _limit(page_size, "page_size")
        check_options(filters, REQUEST_FILTERS, "/v1/projects/{project_id}/requests")
        params += encode_params(filters)
        size = min(size, limit) if limit else size
        size = min(size, 1000)
        pages: list[dict] = []
        got, bar = 0, None
        try:
            for page in range(10**9):
                body = yield from self._get(f"/v1/projects/{pid}/requests",
                                            params + [("limit", str(size)), ("page", str(page))])
                rows = body.get("requests") or []
                if limit is not None and got + len(rows) > limit:
                    body = {**body, "requests": rows[:limit - got]}
                    rows = body["requests"]
                pages.append(body)
                got += len(rows)
                if bar is None and (progress or (progress is None and page + 1 >= PROGRESS_AFTER_PAGES
                                                  and len(rows) == size)):
                    from tqdm.auto import tqdm

                    bar = tqdm(total=limit, unit="request", desc="requests", initial=got, leave=False)
                elif bar is not None:
                    bar.update(len(rows))
                if len(rows) < size or (limit is not None and got >= limit):
                    break
        finally:
            if bar is not None:
                bar.close()
        return requests_frame(pages)

    @endpoint
    def get_usage_request(self, project_id: str, request_id: str) -> Generator[Any, Any, dict]:
        """One request: ``{"request": {...}}`` with its duration, cost, features in ``response.details``."""
        pid, rid = check_id(project_id, "project_id"), check_id(request_id, "request_id")
        return (yield from self._get(f"/v1/projects/{pid}/requests/{rid}"))

    @endpoint
    def get_usage_summary(self, project_id: str, start: Any = None, end: Any = None, **filters: Any
                          ) -> Generator[Any, Any, pd.DataFrame]:
        """Usage of a period: a row per day when the API lists results (hours, total_hours, requests).

        The reply (start, end, resolution, ...) is in ``attrs["response"]``.
        """
        pid = check_id(project_id, "project_id")
        check_options(filters, USAGE_FILTERS, "/v1/projects/{project_id}/usage")
        body = yield from self._get(f"/v1/projects/{pid}/usage", check_dates(start, end) + encode_params(filters))
        return framed(body.get("results") or [], USAGE, body)

    @endpoint
    def get_usage_breakdown(self, project_id: str, start: Any = None, end: Any = None, *,
                            grouping: str | Sequence[str] | None = None, **filters: Any
                            ) -> Generator[Any, Any, pd.DataFrame]:
        """Usage per day and per ``grouping`` (accessor, endpoint, feature_set, models, method, tags,
        deployment): a row per result, grouping fields as columns (``model`` joins ``models``)."""
        pid = check_id(project_id, "project_id")
        check_options(filters, USAGE_FILTERS, "/v1/projects/{project_id}/usage/breakdown")
        params = check_dates(start, end) + _groupings(grouping, USAGE_GROUPINGS) + encode_params(filters)
        body = yield from self._get(f"/v1/projects/{pid}/usage/breakdown", params)
        return framed(flat_grouping(body.get("results") or []), BREAKDOWN, body, optional=BREAKDOWN_GROUPS)

    @endpoint
    def get_usage_fields(self, project_id: str, start: Any = None, end: Any = None) -> Generator[Any, Any, dict]:
        """Tags, models, processing methods and features seen in a period (a dict)."""
        pid = check_id(project_id, "project_id")
        return (yield from self._get(f"/v1/projects/{pid}/usage/fields", check_dates(start, end)))

    # ---- billing ----
    @endpoint
    def get_balances(self, project_id: str) -> Generator[Any, Any, pd.DataFrame]:
        """Balances: DataFrame (balance_id, amount float, units, purchase_order_id)."""
        body = yield from self._get(f"/v1/projects/{check_id(project_id, 'project_id')}/balances")
        return framed(body.get("balances") or [], BALANCES, body)

    @endpoint
    def get_balance(self, project_id: str, balance_id: str) -> Generator[Any, Any, dict]:
        pid, bid = check_id(project_id, "project_id"), check_id(balance_id, "balance_id")
        return (yield from self._get(f"/v1/projects/{pid}/balances/{bid}"))

    @endpoint
    def get_billing_breakdown(self, project_id: str, start: Any = None, end: Any = None, *,
                              grouping: str | Sequence[str] | None = None, accessor: str | None = None,
                              deployment: str | None = None, line_item: str | None = None,
                              tag: str | Sequence[str] | None = None) -> Generator[Any, Any, pd.DataFrame]:
        """Dollars per day and per ``grouping`` (accessor, deployment, line_item, tags)."""
        pid = check_id(project_id, "project_id")
        params = check_dates(start, end) + _groupings(grouping, BILLING_GROUPINGS) + encode_params(
            {"accessor": accessor, "deployment": deployment, "line_item": line_item, "tag": tag})
        body = yield from self._get(f"/v1/projects/{pid}/billing/breakdown", params)
        return framed(flat_grouping(body.get("results") or []), BILLING, body, optional=BILLING_GROUPS)

    @endpoint
    def get_billing_fields(self, project_id: str, start: Any = None, end: Any = None) -> Generator[Any, Any, dict]:
        """Accessors, deployments, tags and line items billed in a period (a dict)."""
        pid = check_id(project_id, "project_id")
        return (yield from self._get(f"/v1/projects/{pid}/billing/fields", check_dates(start, end)))

    @endpoint
    def get_purchases(self, project_id: str, *, limit: int | None = None) -> Generator[Any, Any, pd.DataFrame]:
        """Purchases (orders): DataFrame (order_id, created, expiration, amount, units, order_type)."""
        pid = check_id(project_id, "project_id")
        limit = _limit(limit)
        body = yield from self._get(f"/v1/projects/{pid}/purchases", [("limit", str(limit))] if limit else None)
        return framed(body.get("orders") or [], PURCHASES, body)

    # ---- models ----
    @endpoint
    def get_models(self, project_id: str | None = None, *, include_outdated: bool | None = None
                   ) -> Generator[Any, Any, pd.DataFrame]:
        """Models (all, or those of a project): DataFrame with ``kind`` "stt" or "tts"."""
        path = "/v1/models" if project_id is None else f"/v1/projects/{check_id(project_id, 'project_id')}/models"
        body = yield from self._get(path, encode_params({"include_outdated": include_outdated}))
        rows = [{**m, "kind": kind} for kind in ("stt", "tts") for m in body.get(kind) or []]
        return framed(rows, MODELS, body)

    @endpoint
    def get_model(self, model_id: str, project_id: str | None = None) -> Generator[Any, Any, dict]:
        """One model's metadata (by uuid or name)."""
        mid = check_id(model_id, "model_id")
        base = "/v1" if project_id is None else f"/v1/projects/{check_id(project_id, 'project_id')}"
        return (yield from self._get(f"{base}/models/{mid}"))
