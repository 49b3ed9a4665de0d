"""The Manage, usage, billing, models, auth and self-hosted endpoints of the local engine.

Mount with ``app.router.routes.extend(routes())``. Every handler checks the caller's scopes
(Deepgram's roles: :data:`dgnb.local.ledger.ROLE_PERMISSIONS`) before touching the ledger: a key
without the needed permission gets a 403 ``INSUFFICIENT_PERMISSIONS`` naming it; access tokens
(``/v1/auth/grant``) are refused on the Manage API, as on Deepgram. Replies have exactly the shapes
of Deepgram's API reference; usage and billing are aggregated from the ``requests`` table that
every listen/speak/read request fills.
"""
from __future__ import annotations

import logging
from collections import defaultdict
from datetime import datetime, timedelta, timezone
from typing import Any, Awaitable, Callable

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from ..wire.errors import BAD_REQUEST, INSUFFICIENT_PERMISSIONS, EngineError, error_response
from ..ledger import (DEPLOYMENT, KNOWN_SCOPES, MAX_TOKEN_TTL, ROLE_PERMISSIONS, Ledger, Principal, expand,
                     iso, parse_time, role_of)
from ...protocol.usage import BILLING_GROUPINGS, USAGE_FEATURES, USAGE_GROUPINGS

log = logging.getLogger("dgnb.local")
DEFAULT_WINDOW_DAYS = 30
_METHOD_NAMES = {"sync": "Pre-recorded", "async": "Pre-recorded (callback)", "streaming": "Streaming"}


# --------------------------------------------------------------------------- plumbing

class Ctx:
    """What a handler gets: the request, the ledger, the caller and the project of the path."""

    def __init__(self, request: Request, ledger: Ledger, principal: Principal, project_id: str | None):
        self.request, self.ledger, self.principal, self.project_id = request, ledger, principal, project_id
        self.query = request.query_params
        self.body: Any = None

    def param(self, name: str) -> str:
        return self.request.path_params[name]


def _forbidden(msg: str) -> EngineError:
    return EngineError(403, INSUFFICIENT_PERMISSIONS, msg)


def handler(permission: str | None, *, project: bool = True, tokens: bool = False, body: bool = False):
    """Wrap ``fn(ctx) -> (status, json)``: auth checks, JSON body, Deepgram errors, work in a thread."""

    def wrap(fn: Callable[[Ctx], Any]) -> Callable[[Request], Awaitable[JSONResponse]]:
        async def endpoint(request: Request) -> JSONResponse:
            ledger: Ledger = request.app.state.engine.ledger
            principal: Principal | None = request.scope.get("dgnb.principal")
            label = f"{request.method} {request.url.path}"
            try:
                if principal is None:  # the auth middleware normally answers first
                    raise EngineError(401, "INVALID_AUTH", "Invalid credentials.")
                if principal.kind == "token" and not tokens:
                    raise _forbidden(f"access tokens from /v1/auth/grant cannot call {label}; use an API key")
                ctx = Ctx(request, ledger, principal, request.path_params.get("project_id") if project else None)
                if body:
                    ctx.body = await _json_body(request)
                if ctx.project_id is not None:
                    await run_in_threadpool(ledger.project, ctx.project_id)  # 404 when missing
                    if ctx.project_id != principal.project_id:
                        raise _forbidden(f"this API key belongs to another project and cannot call {label}")
                if permission and not principal.has(permission):
                    raise _forbidden(f"this API key lacks the '{permission}' permission required for {label} "
                                     f"(its scopes: {', '.join(principal.scopes) or 'none'})")
                result = await run_in_threadpool(fn, ctx)
            except EngineError as exc:
                return error_response(exc.status, exc.err_code, exc.err_msg)
            return JSONResponse(result)

        endpoint.__name__ = fn.__name__
        return endpoint

    return wrap


async def _json_body(request: Request) -> dict:
    raw = await request.body()
    if not raw.strip():
        return {}
    import json

    try:
        data = json.loads(raw)
    except ValueError:
        raise EngineError(400, BAD_REQUEST, "the request body is not valid JSON") from None
    if not isinstance(data, dict):
        raise EngineError(400, BAD_REQUEST, "the request body must be a JSON object")
    return data


def _int(ctx: Ctx, name: str, default: int, low: int, high: int) -> int:
    value = ctx.query.get(name)
    if value is None or value == "":
        return default
    try:
        n = int(float(value))
    except ValueError:
        raise EngineError(400, BAD_REQUEST, f"{name}={value!r} is not a number") from None
    if not low <= n <= high:
        raise EngineError(400, BAD_REQUEST, f"{name} must be between {low} and {high}; got {n}")
    return n


def _window(ctx: Ctx) -> tuple[datetime, datetime]:
    """The [start, end] of a usage query: defaults to the last 30 days; start after end is a 400."""
    end = parse_time(ctx.query["end"], "end", end_of_day=True) if ctx.query.get("end") else datetime.now(timezone.utc)
    start = (parse_time(ctx.query["start"], "start") if ctx.query.get("start")
             else (end - timedelta(days=DEFAULT_WINDOW_DAYS)).replace(hour=0, minute=0, second=0, microsecond=0))
    if start > end:
        raise EngineError(400, BAD_REQUEST, f"start ({iso(start)}) is after end ({iso(end)})")
    return start, end


CHOICES = {"method": ("sync", "async", "streaming"), "endpoint": ("listen", "read", "speak", "agent"),
           "deployment": ("hosted", "beta", "self-hosted")}


def _check_choices(ctx: Ctx) -> None:
    """A 400 naming the parameter when method/endpoint/deployment has a value Deepgram does not know."""
    for name, allowed in CHOICES.items():
        value = ctx.query.get(name)
        if value and value not in allowed:
            raise EngineError(400, BAD_REQUEST, f"{name} must be one of {', '.join(allowed)}; got {value!r}")


def _day(created: str) -> str:
    return created[:10]


# --------------------------------------------------------------------------- projects

@handler("project:read", project=False)
def list_projects(ctx: Ctx):
    return {"projects": ctx.ledger.projects_of(ctx.principal.member_id, ctx.principal.project_id)}


@handler("project:read")
def get_project(ctx: Ctx):
    p = ctx.ledger.project(ctx.project_id)
    return {"project_id": p["project_id"], "mip_opt_out": p["mip_opt_out"], "name": p["name"]}


@handler("project:write", body=True)
def update_project(ctx: Ctx):
    name, mip = ctx.body.get("name"), ctx.body.get("mip_opt_out")
    if name is not None and (not isinstance(name, str) or not name.strip()):
        raise EngineError(400, BAD_REQUEST, "name must be a non-empty string")
    if mip is not None and not isinstance(mip, bool):
        raise EngineError(400, BAD_REQUEST, "mip_opt_out must be true or false")
    ctx.ledger.update_project(ctx.project_id, name=name, mip_opt_out=mip)
    return {"message": "Successfully updated project info."}


@handler("project:write:destroy")
def delete_project(ctx: Ctx):
    ctx.ledger.delete_project(ctx.project_id)
    return {"message": "Project deleted."}


@handler("project:read")
def leave_project(ctx: Ctx):
    if not ctx.principal.member_id:
        raise EngineError(400, BAD_REQUEST, "this API key has no member to remove from the project")
    ctx.ledger.remove_member(ctx.project_id, ctx.principal.member_id)
    return {"message": "Successfully left project."}


# --------------------------------------------------------------------------- keys

def _only_own_keys(p: Principal) -> bool:
    """Members (and keys holding single permissions) see and delete only their own member's keys."""
    return role_of(p.scopes) not in ("owner", "admin")


@handler("keys:read")
def list_keys(ctx: Ctx):
    status = ctx.query.get("status")
    if status not in (None, "", "active", "expired"):
        raise EngineError(400, BAD_REQUEST, f"status must be 'active' or 'expired'; got {status!r}")
    member = ctx.principal.member_id if _only_own_keys(ctx.principal) else None
    keys = ctx.ledger.list_keys(ctx.project_id, status=status or None, member_id=member)
    return {"api_keys": [{"member": {"member_id": k["member_id"], "email": k["email"]},
                          "api_key": _api_key(k)} for k in keys]}


def _api_key(k: dict) -> dict:
    out = {"api_key_id": k["api_key_id"], "comment": k["comment"], "scopes": k["scopes"]}
    if k["tags"]:
        out["tags"] = k["tags"]
    if k["expiration_date"]:
        out["expiration_date"] = k["expiration_date"]
    out["created"] = k["created"]
    return out


@handler("keys:read")
def get_key(ctx: Ctx):
    k = ctx.ledger.get_key(ctx.project_id, ctx.param("key_id"))
    if _only_own_keys(ctx.principal) and k["member_id"] != ctx.principal.member_id:
        raise _forbidden("members can read only the keys of their own member")
    return {"item": {"member": {"member_id": k["member_id"], "email": k["email"], "first_name": k["first_name"],
                                "last_name": k["last_name"], "api_key": _api_key(k)}}}


@handler("keys:write", body=True)
def create_key(ctx: Ctx):
    b = ctx.body
    comment = b.get("comment", "")
    scopes = b.get("scopes")
    tags = b.get("tags") or []
    if not isinstance(comment, str):
        raise EngineError(400, BAD_REQUEST, "comment must be a string")
    if not isinstance(scopes, list) or not scopes or not all(isinstance(s, str) and s for s in scopes):
        raise EngineError(400, BAD_REQUEST, 'scopes must be a non-empty list of scope names, e.g. ["member"]')
    unknown = sorted(set(scopes) - KNOWN_SCOPES)
    if unknown:
        raise EngineError(400, BAD_REQUEST, f"unknown scopes {unknown}; roles are owner, admin, member")
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise EngineError(400, BAD_REQUEST, "tags must be a list of strings")
    beyond = sorted(expand(scopes) - expand(ctx.principal.scopes))
    if beyond:
        raise _forbidden(f"a key cannot grant permissions it does not hold: {beyond[:5]}")
    ttl, when = b.get("time_to_live_in_seconds"), b.get("expiration_date")
    if ttl is not None and when is not None:
        raise EngineError(400, BAD_REQUEST, "give time_to_live_in_seconds or expiration_date, not both")
    expiration = None
    if ttl is not None:
        if not isinstance(ttl, (int, float)) or isinstance(ttl, bool) or ttl <= 0:
            raise EngineError(400, BAD_REQUEST, "time_to_live_in_seconds must be a positive number")
        expiration = iso(datetime.now(timezone.utc) + timedelta(seconds=float(ttl)))
    elif when is not None:
        moment = parse_time(when, "expiration_date")
        if moment <= datetime.now(timezone.utc):
            raise EngineError(400, BAD_REQUEST, "expiration_date is in the past")
        expiration = iso(moment)
    key_id, secret = ctx.ledger.create_key(ctx.project_id, comment, scopes, tags, expiration,
                                           member_id=ctx.principal.member_id)
    out = {"api_key_id": key_id, "key": secret, "comment": comment, "scopes": scopes, "tags": tags}
    if expiration:
        out["expiration_date"] = expiration
    return out


@handler("keys:write")
def delete_key(ctx: Ctx):
    key_id = ctx.param("key_id")
    k = ctx.ledger.get_key(ctx.project_id, key_id)
    if _only_own_keys(ctx.principal) and k["member_id"] != ctx.principal.member_id:
        raise _forbidden("members can delete only the keys of their own member")
    above = sorted(expand(k["scopes"]) - expand(ctx.principal.scopes))
    if above:
        raise _forbidden(f"a key cannot delete a key with permissions it does not hold: {above[:5]}")
    ctx.ledger.delete_key(ctx.project_id, key_id)
    return {"message": "API key deleted."}


# --------------------------------------------------------------------------- members and invites

@handler("members:read")
def list_members(ctx: Ctx):
    return {"members": ctx.ledger.members(ctx.project_id)}


@handler("members:write:kick")
def remove_member(ctx: Ctx):
    ctx.ledger.remove_member(ctx.project_id, ctx.param("member_id"))
    return {"message": "Member removed."}


@handler("members:read:scopes")
def member_scopes(ctx: Ctx):
    return {"scopes": ctx.ledger.member_scopes(ctx.project_id, ctx.param("member_id"))}


@handler("members:write:scopes", body=True)
def update_member_scope(ctx: Ctx):
    scope = ctx.body.get("scope")
    if scope == "owner" and not ctx.principal.has("owners:write:scopes"):
        raise _forbidden("only owners can make a member an owner")
    ctx.ledger.set_member_scope(ctx.project_id, ctx.param("member_id"), scope)
    return {"message": "Successfully updated scopes."}


@handler("members:read:invites")
def list_invites(ctx: Ctx):
    return {"invites": ctx.ledger.invites(ctx.project_id)}


@handler("members:write:invites", body=True)
def send_invite(ctx: Ctx):
    email, scope = ctx.body.get("email"), ctx.body.get("scope")
    if scope == "owner" and not ctx.principal.has("owners:write:invites"):
        raise _forbidden("only owners can invite owners")
    ctx.ledger.add_invite(ctx.project_id, email, scope)
    return {"message": "Invite sent."}


@handler("members:write:invites")
def delete_invite(ctx: Ctx):
    ctx.ledger.delete_invite(ctx.project_id, ctx.param("email"))
    return {"message": "Invite deleted."}


# --------------------------------------------------------------------------- requests and usage

def _request_json(r: dict) -> dict:
    details = {"usd": r["usd"], "duration": r["duration"], "total_audio": r["duration"] * max(1, r["channels"] or 1),
               "channels": r["channels"], "streams": 1, "models": [r["model"]] if r["model"] else [],
               "method": r["processing_method"], "tags": r["tags"], "features": r["features"], "config": {}}
    if r.get("characters"):
        details["characters"] = r["characters"]
    response: dict[str, Any] = {"details": details, "code": r["status"], "completed": r.get("completed") or r["created"]}
    if r.get("err_code"):
        response["err_code"] = r["err_code"]
    out = {"request_id": r["request_id"], "project_uuid": r["project_id"], "created": r["created"], "path": r["path"],
           "api_key_id": r["key_id"], "response": response, "code": r["status"], "deployment": r["deployment"]}
    if r.get("callback"):
        out["callback"] = r["callback"]
    return out


@handler("usage:read")
def list_requests(ctx: Ctx):
    limit = _int(ctx, "limit", 10, 1, 1000)
    page = _int(ctx, "page", 0, 0, 10**9)
    status = ctx.query.get("status") or None
    if status not in (None, "succeeded", "failed"):
        raise EngineError(400, BAD_REQUEST, f"status must be 'succeeded' or 'failed'; got {status!r}")
    _check_choices(ctx)
    start, end = _window(ctx) if (ctx.query.get("start") or ctx.query.get("end")) else (None, None)
    q = ctx.query
    rows = ctx.ledger.query_requests(ctx.project_id, start=start, end=end, accessor=q.get("accessor"),
                                     request_id=q.get("request_id"), status=status, endpoint=q.get("endpoint"),
                                     method=q.get("method"), deployment=q.get("deployment"),
                                     limit=limit, offset=page * limit)
    return {"page": page, "limit": limit, "requests": [_request_json(r) for r in rows]}


@handler("usage:read")
def get_request(ctx: Ctx):
    return {"request": _request_json(ctx.ledger.get_request(ctx.project_id, ctx.param("request_id")))}


def _usage_rows(ctx: Ctx) -> tuple[datetime, datetime, list[dict]]:
    """Successful requests of the window, filtered by the usage query parameters."""
    _check_choices(ctx)
    start, end = _window(ctx)
    q = ctx.query
    rows = ctx.ledger.query_requests(ctx.project_id, start=start, end=end, status="succeeded",
                                     accessor=q.get("accessor"), endpoint=q.get("endpoint"), method=q.get("method"),
                                     deployment=q.get("deployment"))
    tags = q.getlist("tag")
    if tags:
        rows = [r for r in rows if set(tags) & set(r["tags"])]
    models = q.getlist("model")
    if models:
        rows = [r for r in rows if r["model"] in models or r["model_uuid"] in models]
    for feature in USAGE_FEATURES:
        if q.get(feature, "").lower() == "true":
            rows = [r for r in rows if feature in r["features"]]
    return start, end, rows


def _measures(rows: list[dict]) -> dict:
    listen = [r for r in rows if r["endpoint"] == "listen"]
    return {
        "hours": sum(r["duration"] for r in listen) / 3600,
        "total_hours": sum(r["duration"] * max(1, r["channels"] or 1) for r in listen) / 3600,
        "agent_hours": 0.0,
        "tokens_in": 0,
        "tokens_out": 0,
        "tts_characters": sum(r.get("characters") or 0 for r in rows if r["endpoint"] == "speak"),
        "requests": len(rows),
    }


def _group_value(r: dict, field: str) -> Any:
    return {
        "accessor": r["key_id"], "endpoint": r["endpoint"], "feature_set": ",".join(sorted(r["features"])),
        "models": [r["model"]] if r["model"] else [], "method": r["processing_method"], "tags": r["tags"],
        "deployment": r["deployment"], "line_item": f"{r['processing_method']}::{r['model'] or r['endpoint']}",
    }[field]


def _groupings(ctx: Ctx, allowed: tuple[str, ...]) -> list[str]:
    out = []
    for value in ctx.query.getlist("grouping"):
        for g in value.split(","):
            g = g.strip()
            if g and g not in allowed:
                raise EngineError(400, BAD_REQUEST, f"grouping {g!r} is not one of {', '.join(allowed)}")
            if g and g not in out:
                out.append(g)
    return out


def _group(rows: list[dict], fields: list[str]) -> dict[tuple, list[dict]]:
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for r in rows:
        key = (_day(r["created"]),) + tuple(repr(_group_value(r, f)) for f in fields)
        groups[key].append(r)
    return dict(sorted(groups.items()))


def _envelope(start: datetime, end: datetime) -> dict:
    return {"start": start.strftime("%Y-%m-%d"), "end": end.strftime("%Y-%m-%d"), "resolution": {"units": "day", "amount": 1}}


@handler("usage:read")
def usage_summary(ctx: Ctx):
    start, end, rows = _usage_rows(ctx)
    out = _envelope(start, end)
    out["results"] = [{"start": key[0], "end": key[0], **{k: v for k, v in _measures(group).items()
                                                           if k in ("hours", "total_hours", "requests", "tts_characters")}}
                      for key, group in _group(rows, []).items()]
    return out


@handler("usage:read")
def usage_breakdown(ctx: Ctx):
    fields = _groupings(ctx, USAGE_GROUPINGS)
    start, end, rows = _usage_rows(ctx)
    results = []
    for key, group in _group(rows, fields).items():
        grouping = {"start": key[0], "end": key[0]}
        grouping.update({f: _group_value(group[0], f) for f in fields})
        results.append({**_measures(group), "grouping": grouping})
    return {**_envelope(start, end), "results": results}


@handler("usage:read")
def usage_fields(ctx: Ctx):
    start, end = _window(ctx)
    rows = ctx.ledger.query_requests(ctx.project_id, start=start, end=end, status="succeeded")
    models = {}
    for r in rows:
        if r["model"] and r["model"] not in models:
            models[r["model"]] = {"name": r["model"], "language": "en", "version": "local",
                                  "model_id": r["model_uuid"] or r["model"]}
    return {"tags": sorted({f"tag={t}" for r in rows for t in r["tags"]}),
            "models": list(models.values()),
            "processing_methods": sorted({r["processing_method"] for r in rows}),
            "features": sorted({f for r in rows for f in r["features"]})}


# --------------------------------------------------------------------------- billing

@handler("billing:read")
def list_balances(ctx: Ctx):
    return {"balances": ctx.ledger.balances(ctx.project_id)}


@handler("billing:read")
def get_balance(ctx: Ctx):
    return ctx.ledger.balance(ctx.project_id, ctx.param("balance_id"))


@handler("billing:read")
def list_purchases(ctx: Ctx):
    return {"orders": ctx.ledger.purchases(ctx.project_id, _int(ctx, "limit", 0, 0, 10**6) or None)}


@handler("billing:read")
def billing_breakdown(ctx: Ctx):
    fields = _groupings(ctx, BILLING_GROUPINGS)
    _check_choices(ctx)
    start, end = _window(ctx)
    q = ctx.query
    rows = ctx.ledger.query_requests(ctx.project_id, start=start, end=end, status="succeeded",
                                     accessor=q.get("accessor"), deployment=q.get("deployment"))
    if q.getlist("tag"):
        rows = [r for r in rows if set(q.getlist("tag")) & set(r["tags"])]
    if q.get("line_item"):
        rows = [r for r in rows if _group_value(r, "line_item") == q["line_item"]]
    results = []
    for key, group in _group(rows, fields).items():
        grouping = {"start": key[0], "end": key[0]}
        grouping.update({f: _group_value(group[0], f) for f in fields})
        results.append({"dollars": sum(r["usd"] for r in group), "grouping": grouping})
    return {**_envelope(start, end), "results": results}


@handler("billing:read")
def billing_fields(ctx: Ctx):
    start, end = _window(ctx)
    rows = ctx.ledger.query_requests(ctx.project_id, start=start, end=end, status="succeeded")
    items = {}
    for r in rows:
        item = _group_value(r, "line_item")
        items[item] = f"{r['model'] or r['endpoint']} ({_METHOD_NAMES.get(r['processing_method'], r['processing_method'])})"
    return {"accessors": sorted({r["key_id"] for r in rows if r["key_id"]}),
            "deployments": sorted({r["deployment"] for r in rows}) or [DEPLOYMENT],
            "tags": sorted({t for r in rows for t in r["tags"]}),
            "line_items": dict(sorted(items.items()))}


# --------------------------------------------------------------------------- models

def _models(request: Request) -> dict:
    engine = request.app.state.engine
    rec = engine.recognizer
    info = rec.model_info
    stt = [{"name": rec.name, "canonical_name": rec.name, "architecture": info.get("arch", "whisper"),
            "languages": ["en", "en-us"], "version": info.get("version", "local"), "uuid": rec.model_uuid,
            "batch": True, "streaming": True, "formatted_output": True}]
    tts_models = []
    try:
        from ..models import tts
    except ImportError:  # text-to-speech not installed: only speech-to-text models
        tts = None
    if tts is not None:
        for name in tts.known_models():
            parts = name.split("-")
            voice = tts.voice_for(name)
            tts_models.append({"name": parts[-2], "canonical_name": name,
                               "architecture": "aura-2" if parts[1] == "2" else "aura",
                               "languages": ["en", "en-US"], "version": "local-espeak-ng", "uuid": tts.model_uuid(name),
                               # no image or sample for a local voice: omitted, as Deepgram never sends null there
                               "metadata": {"accent": "American", "age": "Adult", "color": _colour(name),
                                            "tags": [voice.gender], "use_cases": []}})
    return {"stt": stt, "tts": tts_models}


def _colour(name: str) -> str:
    import hashlib

    return "#" + hashlib.sha256(name.encode()).hexdigest()[:6].upper()


def _find_model(request: Request, model_id: str) -> dict:
    every = _models(request)
    for m in every["stt"] + every["tts"]:
        if model_id in (m["uuid"], m["name"], m["canonical_name"]):
            return m
    raise EngineError(404, "Not Found", f"no model {model_id!r} on the local engine; GET /v1/models lists them")


@handler(None, project=False, tokens=True)
def list_models(ctx: Ctx):
    return _models(ctx.request)


@handler(None, project=False, tokens=True)
def get_model(ctx: Ctx):
    return _find_model(ctx.request, ctx.param("model_id"))


@handler("project:read")
def list_project_models(ctx: Ctx):
    return _models(ctx.request)


@handler("project:read")
def get_project_model(ctx: Ctx):
    return _find_model(ctx.request, ctx.param("model_id"))


# --------------------------------------------------------------------------- auth

@handler("usage:write", project=False, body=True)
def grant(ctx: Ctx):
    ttl = ctx.body.get("ttl_seconds")
    if ttl is None:
        ttl = 30
    if not isinstance(ttl, (int, float)) or isinstance(ttl, bool) or not 1 <= ttl <= MAX_TOKEN_TTL:
        raise EngineError(400, BAD_REQUEST, f"ttl_seconds must be a number from 1 to {MAX_TOKEN_TTL}; got {ttl!r}")
    token, expires_in = ctx.ledger.grant_token(ctx.principal, ttl)
    return {"access_token": token, "expires_in": int(expires_in) if float(expires_in).is_integer() else expires_in}


@handler(None, project=False, tokens=True)
def token_details(ctx: Ctx):
    """Local extension: who the credential of this request is (no secret in the reply)."""
    p = ctx.principal
    expires_in = ctx.ledger.token_expiry(ctx.request.headers.get("authorization", "")) if p.kind == "token" else None
    out = {"api_key_id": p.key_id, "project_id": p.project_id, "scopes": list(p.scopes),
           "kind": "access_token" if p.kind == "token" else "api_key", "member_id": p.member_id}
    if p.kind == "token":
        out["expires_in"] = expires_in
    else:
        out["expiration_date"] = ctx.ledger.get_key(p.project_id, p.key_id)["expiration_date"]
    return out


# --------------------------------------------------------------------------- self-hosted

@handler("keys:read")
def list_credentials(ctx: Ctx):
    return {"distribution_credentials": ctx.ledger.list_credentials(ctx.project_id)}


@handler("keys:read")
def get_credentials(ctx: Ctx):
    return ctx.ledger.get_credentials(ctx.project_id, ctx.param("credentials_id"))


@handler("keys:write", body=True)
def create_credentials(ctx: Ctx):
    scopes = [s for v in ctx.query.getlist("scopes") for s in v.split(",") if s.strip()]
    comment = ctx.body.get("comment")
    if comment is not None and not isinstance(comment, str):
        raise EngineError(400, BAD_REQUEST, "comment must be a string")
    return ctx.ledger.create_credentials(ctx.project_id, ctx.principal.member_id,
                                         provider=ctx.query.get("provider") or "quay", comment=comment, scopes=scopes)


@handler("keys:write")
def delete_credentials(ctx: Ctx):
    return ctx.ledger.delete_credentials(ctx.project_id, ctx.param("credentials_id"))


# --------------------------------------------------------------------------- voice agent configurations and variables

@handler("project:read")
def list_agents(ctx: Ctx):
    return {"agents": ctx.ledger.agent_configs(ctx.project_id)}


@handler("project:write", body=True)
def create_agent(ctx: Ctx):
    made = ctx.ledger.create_agent_config(ctx.project_id, ctx.body.get("config"), ctx.body.get("metadata"))
    return {k: made[k] for k in ("agent_id", "config", "metadata")}


@handler("project:read")
def get_agent(ctx: Ctx):
    return ctx.ledger.agent_config(ctx.project_id, ctx.param("agent_id"))


@handler("project:write", body=True)
def update_agent(ctx: Ctx):
    return ctx.ledger.update_agent_config(ctx.project_id, ctx.param("agent_id"), ctx.body.get("metadata"))


@handler("project:write")
def delete_agent(ctx: Ctx):
    return ctx.ledger.delete_agent_config(ctx.project_id, ctx.param("agent_id"))


@handler("project:read")
def list_agent_variables(ctx: Ctx):
    return {"variables": ctx.ledger.agent_variables(ctx.project_id)}


@handler("project:write", body=True)
def create_agent_variable(ctx: Ctx):
    return ctx.ledger.create_agent_variable(ctx.project_id, ctx.body.get("key"), _variable_value(ctx))


@handler("project:read")
def get_agent_variable(ctx: Ctx):
    return ctx.ledger.agent_variable(ctx.project_id, ctx.param("variable_id"))


@handler("project:write", body=True)
def update_agent_variable(ctx: Ctx):
    return ctx.ledger.update_agent_variable(ctx.project_id, ctx.param("variable_id"), _variable_value(ctx))


def _variable_value(ctx: Ctx) -> Any:
    if "value" not in ctx.body:
        raise EngineError(400, BAD_REQUEST, "value is required (any JSON value)")
    return ctx.body["value"]


@handler("project:write")
def delete_agent_variable(ctx: Ctx):
    return ctx.ledger.delete_agent_variable(ctx.project_id, ctx.param("variable_id"))


# --------------------------------------------------------------------------- routes

def routes() -> list:
    """Every Manage/usage/billing/models/auth/self-hosted route, for ``app.router.routes.extend(...)``."""
    P = "/v1/projects/{project_id}"
    creds = P + "/self-hosted/distribution/credentials"
    return [
        Route("/v1/projects", list_projects, methods=["GET"]),
        Route(P, get_project, methods=["GET"]),
        Route(P, update_project, methods=["PATCH"]),
        Route(P, delete_project, methods=["DELETE"]),
        Route(P + "/leave", leave_project, methods=["DELETE"]),
        Route(P + "/keys", list_keys, methods=["GET"]),
        Route(P + "/keys", create_key, methods=["POST"]),
        Route(P + "/keys/{key_id}", get_key, methods=["GET"]),
        Route(P + "/keys/{key_id}", delete_key, methods=["DELETE"]),
        Route(P + "/members", list_members, methods=["GET"]),
        Route(P + "/members/{member_id}", remove_member, methods=["DELETE"]),
        Route(P + "/members/{member_id}/scopes", member_scopes, methods=["GET"]),
        Route(P + "/members/{member_id}/scopes", update_member_scope, methods=["PUT"]),
        Route(P + "/invites", list_invites, methods=["GET"]),
        Route(P + "/invites", send_invite, methods=["POST"]),
        Route(P + "/invites/{email}", delete_invite, methods=["DELETE"]),
        Route(P + "/requests", list_requests, methods=["GET"]),
        Route(P + "/requests/{request_id}", get_request, methods=["GET"]),
        Route(P + "/usage", usage_summary, methods=["GET"]),
        Route(P + "/usage/breakdown", usage_breakdown, methods=["GET"]),
        Route(P + "/usage/fields", usage_fields, methods=["GET"]),
        Route(P + "/balances", list_balances, methods=["GET"]),
        Route(P + "/balances/{balance_id}", get_balance, methods=["GET"]),
        Route(P + "/purchases", list_purchases, methods=["GET"]),
        Route(P + "/billing/breakdown", billing_breakdown, methods=["GET"]),
        Route(P + "/billing/fields", billing_fields, methods=["GET"]),
        Route(P + "/models", list_project_models, methods=["GET"]),
        Route(P + "/models/{model_id}", get_project_model, methods=["GET"]),
        Route("/v1/models", list_models, methods=["GET"]),
        Route("/v1/models/{model_id}", get_model, methods=["GET"]),
        Route("/v1/auth/grant", grant, methods=["POST"]),
        Route("/v1/auth/token", token_details, methods=["GET"]),
        Route(creds, list_credentials, methods=["GET"]),
        Route(creds, create_credentials, methods=["POST"]),
        Route(creds + "/{credentials_id}", get_credentials, methods=["GET"]),
        Route(creds + "/{credentials_id}", delete_credentials, methods=["DELETE"]),
        Route(P + "/agents", list_agents, methods=["GET"]),
        Route(P + "/agents", create_agent, methods=["POST"]),
        Route(P + "/agents/{agent_id}", get_agent, methods=["GET"]),
        Route(P + "/agents/{agent_id}", update_agent, methods=["PUT"]),
        Route(P + "/agents/{agent_id}", delete_agent, methods=["DELETE"]),
        Route(P + "/agent-variables", list_agent_variables, methods=["GET"]),
        Route(P + "/agent-variables", create_agent_variable, methods=["POST"]),
        Route(P + "/agent-variables/{variable_id}", get_agent_variable, methods=["GET"]),
        Route(P + "/agent-variables/{variable_id}", update_agent_variable, methods=["PATCH"]),
        Route(P + "/agent-variables/{variable_id}", delete_agent_variable, methods=["DELETE"]),
    ]


__all__ = ["routes", "ROLE_PERMISSIONS"]
