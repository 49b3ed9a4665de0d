"""DataFrames of the management API's replies: typed columns per list (keys, members, usage, ...).

Pure: takes the JSON Deepgram returns and gives DataFrames, with the reply in ``attrs["response"]``.

>>> requests_frame([{"requests": [{"request_id": "r1", "created": "2026-01-01T00:00:00Z"}]}]).request_id.tolist()
['r1']
"""
from __future__ import annotations

from typing import Any, Iterable, Mapping

import pandas as pd

from .frames import frame

PROJECTS = {"project_id": "string", "name": "string"}
KEYS = {"api_key_id": "string", "comment": "string", "scopes": "object", "tags": "object", "created": "datetime",
        "expiration_date": "datetime", "member_id": "string", "email": "string"}
MEMBERS = {"member_id": "string", "email": "string", "first_name": "string", "last_name": "string",
           "scopes": "object"}
INVITES = {"email": "string", "scope": "category"}
REQUESTS = {"request_id": "string", "created": "datetime", "path": "string", "api_key_id": "string",
            "code": "Int64", "deployment": "category", "callback": "string", "model": "category",
            "method": "category", "duration": "float64", "total_audio": "float64", "channels": "Int64",
            "usd": "float64", "characters": "Int64", "features": "object", "tags": "object", "models": "object",
            "err_code": "string", "completed": "datetime", "project_uuid": "string"}
USAGE = {"start": "datetime", "end": "datetime", "hours": "float64", "total_hours": "float64", "requests": "Int64",
         "tts_characters": "Int64"}
BREAKDOWN = {"start": "datetime", "end": "datetime", "hours": "float64", "total_hours": "float64",
             "agent_hours": "float64", "tokens_in": "Int64", "tokens_out": "Int64", "tts_characters": "Int64",
             "requests": "Int64"}
BREAKDOWN_GROUPS = {"accessor": "string", "endpoint": "category", "feature_set": "category", "model": "category",
                    "models": "object", "method": "category", "tags": "object", "deployment": "category"}
BALANCES = {"balance_id": "string", "amount": "float64", "units": "category", "purchase_order_id": "string"}
BILLING = {"start": "datetime", "end": "datetime", "dollars": "float64"}
BILLING_GROUPS = {"accessor": "string", "deployment": "category", "line_item": "category", "tags": "object"}
PURCHASES = {"order_id": "string", "created": "datetime", "expiration": "datetime", "amount": "float64",
             "units": "category", "order_type": "category"}
AGENTS = {"agent_id": "string", "config": "object", "metadata": "object", "created_at": "datetime",
          "updated_at": "datetime"}
AGENT_VARIABLES = {"variable_id": "string", "key": "string", "value": "object", "created_at": "datetime",
                   "updated_at": "datetime"}
THINK_MODELS = {"id": "string", "name": "string", "provider": "category", "local": "boolean"}
MODELS = {"kind": "category", "name": "string", "canonical_name": "string", "architecture": "category",
          "languages": "object", "version": "string", "uuid": "string", "batch": "boolean", "streaming": "boolean",
          "formatted_output": "boolean", "metadata": "object"}




def framed(records: list[dict], spec: Mapping[str, str], response: Any, optional: Mapping[str, str] | None = None) -> pd.DataFrame:
    df = frame(records, spec, optional=optional)
    df.attrs["response"] = response
    return df


def _flat_request(r: dict) -> dict:
    resp = r.get("response") if isinstance(r.get("response"), dict) else {}
    details = resp.get("details") if isinstance(resp.get("details"), dict) else {}
    models = details.get("models") or []
    return {**details, **{k: v for k, v in r.items() if k != "response"}, "models": models,
            "model": models[0] if models else None, "err_code": resp.get("err_code"),
            "completed": resp.get("completed"), "code": r.get("code", resp.get("code"))}


def flat_grouping(rows: Iterable[dict]) -> list[dict]:
    out = []
    for r in rows:
        g = r.get("grouping") or {}
        flat = {**{k: v for k, v in r.items() if k != "grouping"}, **g}
        if isinstance(g.get("models"), list):
            flat["model"] = ",".join(map(str, g["models"])) or None
        out.append(flat)
    return out


def requests_frame(pages: list[dict]) -> pd.DataFrame:
    """One row per request from one or more /requests replies (``attrs["response"]`` = the replies)."""
    rows = [_flat_request(r) for page in pages for r in page.get("requests") or []]
    return framed(rows, REQUESTS, pages[0] if len(pages) == 1 else {"pages": pages})
