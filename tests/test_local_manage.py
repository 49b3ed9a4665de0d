"""The local engine's Manage, usage, billing, auth and self-hosted endpoints, over real HTTP.

One real server (uvicorn on 127.0.0.1, real SQLite ledger, real Whisper model) per module; usage
comes from real transcriptions of a 3 s clip.
"""
from __future__ import annotations

import json
import time
from datetime import datetime, timedelta, timezone
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from conftest import REFERENCE, recorded, recorded_json
from manage_server import short_clip, start

from dgnb.local.ledger import PRICES
from dgnb.local.routes.manage import BILLING_GROUPINGS, USAGE_GROUPINGS

pytestmark = recorded

EXAMPLES = recorded_json("deepgram-api-examples.json", REFERENCE)


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    server = start(tmp_path_factory.mktemp("manage-engine"))
    clip = short_clip(tmp_path_factory.mktemp("clip") / "clip.wav")
    server.clip = clip.read_bytes()
    # under 0.1 s: decoded, authenticated, recorded and charged, but no model pass (Whisper needs ~1 s
    # per call whatever the length on 2 cores), so tests that only need many requests stay fast
    server.tiny = short_clip(tmp_path_factory.mktemp("clip") / "tiny.wav", seconds=0.09).read_bytes()
    http = httpx.Client(base_url=server.url, headers={"Authorization": f"Token {server.api_key}"}, timeout=120)
    server.http = http
    server.pid = http.get("/v1/projects").json()["projects"][0]["project_id"]
    try:
        yield server
    finally:
        http.close()
        server.stop()


def _as(engine, secret: str, scheme: str = "Token") -> httpx.Client:
    return httpx.Client(base_url=engine.url, headers={"Authorization": f"{scheme} {secret}"}, timeout=120)


def _transcribe(engine, secret: str, scheme: str = "Token", *, tiny: bool = False, **params) -> httpx.Response:
    return httpx.post(f"{engine.url}/v1/listen", params=params, content=engine.tiny if tiny else engine.clip,
                      headers={"Authorization": f"{scheme} {secret}", "Content-Type": "audio/wav"}, timeout=120)


def _balance(engine) -> float:
    return sum(b["amount"] for b in engine.http.get(f"/v1/projects/{engine.pid}/balances").json()["balances"])


# ------------------------------------------------------------------ shapes against the reference ----
# Keys that Deepgram's examples show but the local reply leaves out when they have no value.
OPTIONAL = {"callback", "tags", "expiration_date", "image", "sample"}  # keys Deepgram may leave out (a voice with no picture)
# Keys the local engine adds beyond the reference example.
EXTRA = {"results", "err_code", "characters", "company", "created"}


def _shape(example, actual, where: str) -> None:
    if isinstance(example, dict):
        assert isinstance(actual, dict), f"{where}: expected an object, got {actual!r}"
        if set(example) == {"key"}:  # the reference's placeholder for a free-form object
            return
        missing = set(example) - set(actual) - OPTIONAL
        assert not missing, f"{where}: missing {sorted(missing)}"
        extra = set(actual) - set(example) - EXTRA
        assert not extra, f"{where}: unexpected {sorted(extra)}"
        for k in set(example) & set(actual):
            if k in ("line_items",) or actual[k] is None:
                continue
            _shape(example[k], actual[k], f"{where}.{k}")
    elif isinstance(example, list):
        assert isinstance(actual, list), f"{where}: expected a list"
        if example and actual:
            _shape(example[0], actual[0], f"{where}[0]")
    elif isinstance(example, bool):
        assert isinstance(actual, bool), f"{where}: expected a boolean, got {actual!r}"
    elif isinstance(example, (int, float)):
        assert isinstance(actual, (int, float)) and not isinstance(actual, bool), f"{where}: expected a number"
    elif isinstance(example, str):
        assert isinstance(actual, str), f"{where}: expected text, got {actual!r}"


def _example(method: str, path: str) -> dict:
    for e in EXAMPLES:
        if e["method"] == method and e["path"] == path:
            return e["response"]
    raise KeyError((method, path))


def test_every_read_endpoint_has_deepgrams_shape(engine):
    http, pid = engine.http, engine.pid
    ledger = engine.app.state.engine.ledger
    assert _transcribe(engine, engine.api_key, punctuate="true", tag="shape").status_code == 200
    created = http.post(f"/v1/projects/{pid}/keys", json={"comment": "shape", "scopes": ["member"], "tags": ["t"],
                                                           "time_to_live_in_seconds": 3600}).json()
    http.post(f"/v1/projects/{pid}/invites", json={"email": "new@example.com", "scope": "member"})
    member_id = ledger.add_member(pid, "colleague@example.com", "member", "Col", "League")
    cred = http.post(f"/v1/projects/{pid}/self-hosted/distribution/credentials",
                     params=[("provider", "quay"), ("scopes", "self-hosted:product:api")], json={"comment": "c"})
    assert cred.status_code == 200, cred.text
    cred_id = cred.json()["distribution_credentials"]["distribution_credentials_id"]
    request_id = http.get(f"/v1/projects/{pid}/requests").json()["requests"][0]["request_id"]
    balance_id = http.get(f"/v1/projects/{pid}/balances").json()["balances"][0]["balance_id"]
    model_id = http.get("/v1/models").json()["stt"][0]["uuid"]
    ids = {"project_id": pid, "key_id": created["api_key_id"], "member_id": member_id, "request_id": request_id,
           "balance_id": balance_id, "model_id": model_id, "distribution_credentials_id": cred_id}
    checked = 0
    for e in EXAMPLES:
        path = e["path"]
        if e["method"] != "GET" or not (path.startswith("/v1/projects") or path.startswith("/v1/models")):
            continue
        if "agent" in path:
            continue
        url = path.format(**ids)
        groupings = {"/usage/breakdown": USAGE_GROUPINGS, "/billing/breakdown": BILLING_GROUPINGS}
        group = next((g for suffix, g in groupings.items() if path.endswith(suffix)), None)
        r = http.get(url, params={"grouping": list(group)} if group else None)
        assert r.status_code == 200, (url, r.text)
        _shape(e["response"], r.json(), path)
        checked += 1
    assert checked >= 20
    # writes answer with the reference shapes too
    _shape(_example("POST", "/v1/projects/{project_id}/keys"), created, "create key")
    _shape(_example("PATCH", "/v1/projects/{project_id}"), http.patch(f"/v1/projects/{pid}", json={"name": "renamed"}).json(), "patch")
    assert http.get(f"/v1/projects/{pid}").json()["name"] == "renamed"
    _shape(_example("PUT", "/v1/projects/{project_id}/members/{member_id}/scopes"),
           http.put(f"/v1/projects/{pid}/members/{member_id}/scopes", json={"scope": "admin"}).json(), "scopes")
    assert http.get(f"/v1/projects/{pid}/members/{member_id}/scopes").json() == {"scopes": ["admin"]}
    _shape(_example("DELETE", "/v1/projects/{project_id}/invites/{email}"),
           http.delete(f"/v1/projects/{pid}/invites/new@example.com").json(), "invite")
    _shape(_example("DELETE", "/v1/projects/{project_id}/self-hosted/distribution/credentials/{distribution_credentials_id}"),
           http.delete(f"/v1/projects/{pid}/self-hosted/distribution/credentials/{cred_id}").json(), "cred")
    _shape(_example("DELETE", "/v1/projects/{project_id}/members/{member_id}"),
           http.delete(f"/v1/projects/{pid}/members/{member_id}").json(), "member")
    _shape(_example("DELETE", "/v1/projects/{project_id}/keys/{key_id}"),
           http.delete(f"/v1/projects/{pid}/keys/{created['api_key_id']}").json(), "key")
    _shape(_example("POST", "/v1/auth/grant"), http.post("/v1/auth/grant", json={}).json(), "grant")


def test_keys_are_hashed_and_shown_once(engine):
    http, pid = engine.http, engine.pid
    created = http.post(f"/v1/projects/{pid}/keys", json={"comment": "once", "scopes": ["member"]}).json()
    secret = created["key"]
    assert len(secret) == 40
    assert secret not in http.get(f"/v1/projects/{pid}/keys").text
    assert secret not in http.get(f"/v1/projects/{pid}/keys/{created['api_key_id']}").text
    db = (engine.app.state.engine.data_dir / "ledger.sqlite3").read_bytes()
    assert secret.encode() not in db and engine.api_key.encode() not in db


def test_scopes_are_enforced(engine):
    http, pid = engine.http, engine.pid
    limited = http.post(f"/v1/projects/{pid}/keys", json={"comment": "limited", "scopes": ["usage:write"]}).json()
    member = http.post(f"/v1/projects/{pid}/keys", json={"comment": "member", "scopes": ["member"]}).json()
    with _as(engine, limited["key"]) as c:
        r = c.post(f"/v1/projects/{pid}/keys", json={"comment": "x", "scopes": ["member"]})
        assert r.status_code == 403
        body = r.json()
        assert body["err_code"] == "INSUFFICIENT_PERMISSIONS" and "keys:write" in body["err_msg"] and body["request_id"]
        assert c.get(f"/v1/projects/{pid}/usage").status_code == 403
        assert c.get(f"/v1/projects/{pid}/balances").status_code == 403
    with _as(engine, member["key"]) as c:
        assert c.get(f"/v1/projects/{pid}/usage").status_code == 200
        assert c.get(f"/v1/projects/{pid}/balances").status_code == 403  # billing:read is admin and up
        assert c.get(f"/v1/projects/{pid}/members").status_code == 403
        r = c.post(f"/v1/projects/{pid}/keys", json={"comment": "up", "scopes": ["admin"]})
        assert r.status_code == 403 and "cannot grant" in r.json()["err_msg"]
        assert c.delete(f"/v1/projects/{pid}").status_code == 403
    with _as(engine, "0" * 40) as c:
        r = c.get(f"/v1/projects/{pid}/keys")
        assert r.status_code == 401 and r.json()["err_code"] == "INVALID_AUTH"
    assert http.get("/v1/projects/not-a-project/keys").status_code == 404


def test_usage_endpoints_need_usage_write(engine):
    http, pid = engine.http, engine.pid
    reader = http.post(f"/v1/projects/{pid}/keys", json={"comment": "reader", "scopes": ["keys:read"]}).json()
    for path, kwargs in [("/v1/listen", {"content": engine.tiny}), ("/v1/speak", {"json": {"text": "hi"}}),
                         ("/v1/read", {"json": {"text": "hello there"}})]:
        r = httpx.post(engine.url + path, headers={"Authorization": f"Token {reader['key']}"}, timeout=60, **kwargs)
        assert r.status_code == 403, path
        assert r.json()["err_code"] == "INSUFFICIENT_PERMISSIONS" and "usage:write" in r.json()["err_msg"]


def test_speak_and_read_are_charged_by_characters(engine):
    text = "The quick brown fox jumps over the lazy dog. " * 4
    before = _balance(engine)
    assert httpx.post(engine.url + "/v1/speak", json={"text": text}, timeout=60,
                      headers={"Authorization": f"Token {engine.api_key}"}).status_code == 200
    assert httpx.post(engine.url + "/v1/read", json={"text": text}, params={"sentiment": "true"}, timeout=60,
                      headers={"Authorization": f"Token {engine.api_key}"}).status_code == 200
    expected = len(text) / 1000 * (PRICES[("speak", "sync")][0] + PRICES[("read", "sync")][0])
    assert before - _balance(engine) == pytest.approx(expected, abs=1e-6)


def test_bad_input_is_a_clear_400(engine):
    http, pid = engine.http, engine.pid
    for body, word in [({"comment": "x"}, "scopes"), ({"comment": "x", "scopes": ["wizard"]}, "unknown scopes"),
                       ({"comment": "x", "scopes": ["member"], "time_to_live_in_seconds": 5,
                         "expiration_date": "2030-01-01"}, "not both"),
                       ({"comment": "x", "scopes": ["member"], "expiration_date": "2001-01-01"}, "past")]:
        r = http.post(f"/v1/projects/{pid}/keys", json=body)
        assert r.status_code == 400 and word in r.json()["err_msg"], (body, r.text)
    r = http.get(f"/v1/projects/{pid}/usage", params={"start": "2025-02-01", "end": "2025-01-01"})
    assert r.status_code == 400 and "after" in r.json()["err_msg"]
    r = http.get(f"/v1/projects/{pid}/usage", params={"start": "yesterday"})
    assert r.status_code == 400 and "start" in r.json()["err_msg"]
    r = http.get(f"/v1/projects/{pid}/usage/breakdown", params={"grouping": "colour"})
    assert r.status_code == 400 and "grouping" in r.json()["err_msg"]
    r = http.get(f"/v1/projects/{pid}/requests", params={"method": "carrier-pigeon"})
    assert r.status_code == 400 and "method" in r.json()["err_msg"]
    r = http.post("/v1/auth/grant", json={"ttl_seconds": 0})
    assert r.status_code == 400 and "ttl_seconds" in r.json()["err_msg"]


def test_story_key_usage_balance_token_expiry(engine):
    """A limited key transcribes; its request shows in usage and the balance falls by its price;
    it cannot create keys; a granted token works then expires; an expired key gets 401."""
    http, pid = engine.http, engine.pid
    key = http.post(f"/v1/projects/{pid}/keys", json={"comment": "story", "scopes": ["usage:write", "usage:read"],
                                                      "tags": ["story"]}).json()
    before = _balance(engine)
    r = _transcribe(engine, key["key"], diarize="true", punctuate="true", tag="story-tag")
    assert r.status_code == 200, r.text
    request_id = r.json()["metadata"]["request_id"]
    duration = r.json()["metadata"]["duration"]
    with _as(engine, key["key"]) as c:
        rows = c.get(f"/v1/projects/{pid}/requests", params={"accessor": key["api_key_id"]}).json()["requests"]
        assert [x["request_id"] for x in rows] == [request_id]
        one = c.get(f"/v1/projects/{pid}/requests/{request_id}").json()["request"]
        details = one["response"]["details"]
        assert one["api_key_id"] == key["api_key_id"] and one["code"] == 200 and one["path"] == "/v1/listen"
        assert details["duration"] == pytest.approx(duration) and {"diarize", "punctuate"} <= set(details["features"])
        assert details["tags"] == ["story-tag"] and details["method"] == "sync"
        price, unit = PRICES[("listen", "sync")]
        assert details["usd"] == pytest.approx(price * duration / 60)
        usage = c.get(f"/v1/projects/{pid}/usage/breakdown", params={"accessor": key["api_key_id"]}).json()
        assert usage["results"][0]["requests"] == 1
        assert usage["results"][0]["hours"] == pytest.approx(duration / 3600)
        assert c.post(f"/v1/projects/{pid}/keys", json={"comment": "no", "scopes": ["usage:write"]}).status_code == 403
        token = c.post("/v1/auth/grant", json={"ttl_seconds": 3}).json()
        granted = time.monotonic()
        assert token["expires_in"] == 3
    assert _balance(engine) == pytest.approx(before - details["usd"], abs=1e-12)
    assert _transcribe(engine, token["access_token"], scheme="Bearer", tiny=True).status_code == 200
    with _as(engine, token["access_token"], "Bearer") as c:  # tokens cannot use the Manage API
        assert c.get(f"/v1/projects/{pid}/keys").status_code == 403
        assert c.get("/v1/auth/token").json()["kind"] == "access_token"
    short = http.post(f"/v1/projects/{pid}/keys", json={"comment": "short", "scopes": ["member"],
                                                        "time_to_live_in_seconds": 1}).json()
    assert _transcribe(engine, short["key"], tiny=True).status_code == 200
    time.sleep(max(1.2, granted + 3.2 - time.monotonic()))  # let both the token and the key expire
    r = _transcribe(engine, token["access_token"], scheme="Bearer", tiny=True)
    assert r.status_code == 401 and r.json()["err_code"] == "INVALID_AUTH"
    assert _transcribe(engine, short["key"], tiny=True).status_code == 401
    expired = http.get(f"/v1/projects/{pid}/keys", params={"status": "expired"}).json()["api_keys"]
    assert short["api_key_id"] in {k["api_key"]["api_key_id"] for k in expired}


def test_fifty_parallel_transcriptions_from_five_keys(engine):
    http, pid = engine.http, engine.pid
    keys = [http.post(f"/v1/projects/{pid}/keys", json={"comment": f"par{i}", "scopes": ["member"]}).json()
            for i in range(5)]
    before = _balance(engine)
    with ThreadPoolExecutor(max_workers=10) as pool:
        # one real 3 s transcription per key, the other 45 requests with the 0.09 s clip
        codes = list(pool.map(lambda i: _transcribe(engine, keys[i % 5]["key"], tiny=i >= 5).status_code, range(50)))
    assert codes == [200] * 50
    rows = []
    for k in keys:
        got = http.get(f"/v1/projects/{pid}/requests", params={"accessor": k["api_key_id"], "limit": 100}).json()
        assert len(got["requests"]) == 10
        rows += got["requests"]
    assert len({r["request_id"] for r in rows}) == 50
    charged = sum(r["response"]["details"]["usd"] for r in rows)
    assert charged > 0 and sum(r["response"]["details"]["duration"] > 1 for r in rows) == 5
    assert before - _balance(engine) == pytest.approx(charged, rel=1e-9, abs=1e-12)
    dollars = http.get(f"/v1/projects/{pid}/billing/breakdown", params={"grouping": "accessor"}).json()["results"]
    per_key = {d["grouping"]["accessor"]: d["dollars"] for d in dollars}
    for k in keys:
        assert per_key[k["api_key_id"]] == pytest.approx(charged / 5, rel=1e-6)


def test_requests_pagination_and_filters(engine):
    http, pid = engine.http, engine.pid
    first = http.get(f"/v1/projects/{pid}/requests", params={"limit": 3, "page": 0}).json()
    second = http.get(f"/v1/projects/{pid}/requests", params={"limit": 3, "page": 1}).json()
    assert first["page"] == 0 and first["limit"] == 3 and len(first["requests"]) == 3
    assert not {r["request_id"] for r in first["requests"]} & {r["request_id"] for r in second["requests"]}
    failed = http.get(f"/v1/projects/{pid}/requests", params={"status": "failed"}).json()["requests"]
    assert all(r["code"] >= 400 for r in failed)
    ok = http.get(f"/v1/projects/{pid}/requests", params={"status": "succeeded", "method": "sync",
                                                          "endpoint": "listen"}).json()["requests"]
    assert ok and all(r["code"] == 200 and r["path"] == "/v1/listen" for r in ok)


def test_official_sdk_parses_the_local_replies(engine):
    from deepgram import DeepgramClient
    from deepgram.environment import DeepgramClientEnvironment

    assert _transcribe(engine, engine.api_key, tiny=True).status_code == 200
    ws = engine.url.replace("http://", "ws://")
    env = DeepgramClientEnvironment(base=engine.url, production=ws, agent=ws, agent_rest=engine.url)
    dg = DeepgramClient(api_key=engine.api_key, environment=env)
    projects = dg.manage.v1.projects.list().projects
    pid = projects[0].project_id
    assert pid == engine.pid
    assert dg.manage.v1.projects.get(pid).name
    created = dg.manage.v1.projects.keys.create(pid, request={"comment": "sdk", "scopes": ["member"]})
    assert created.key and created.api_key_id
    listed = dg.manage.v1.projects.keys.list(pid).api_keys
    assert created.api_key_id in {k.api_key.api_key_id for k in listed}
    assert dg.manage.v1.projects.keys.get(pid, created.api_key_id).item.member.api_key.api_key_id == created.api_key_id
    dg.manage.v1.projects.keys.delete(pid, created.api_key_id)
    assert dg.manage.v1.projects.members.list(pid).members[0].email
    reqs = dg.manage.v1.projects.requests.list(pid, limit=5).requests
    assert reqs and reqs[0].created is not None
    assert dg.manage.v1.projects.requests.get(pid, reqs[0].request_id).request.request_id == reqs[0].request_id
    assert dg.manage.v1.projects.usage.get(pid).start
    breakdown = dg.manage.v1.projects.usage.breakdown.get(pid, grouping="models")
    assert breakdown.results and breakdown.results[0].requests >= 1
    assert dg.manage.v1.projects.usage.fields.list(pid).processing_methods
    balances = dg.manage.v1.projects.billing.balances.list(pid).balances
    assert balances and balances[0].amount < 200
    assert dg.manage.v1.projects.billing.purchases.list(pid).orders[0].amount == 200
    assert dg.manage.v1.projects.billing.breakdown.list(pid).results
    stt = dg.manage.v1.models.list().stt[0]
    assert dg.manage.v1.models.get(stt.uuid_).name == stt.name
    assert dg.manage.v1.projects.models.list(pid).stt[0].uuid_ == stt.uuid_
    assert dg.manage.v1.projects.update(pid, name="via sdk").message
    assert dg.manage.v1.projects.get(pid).name == "via sdk"
    dg.manage.v1.projects.members.invites.create(pid, email="sdk@example.com", scope="member")
    assert "sdk@example.com" in {i.email for i in dg.manage.v1.projects.members.invites.list(pid).invites}
    dg.manage.v1.projects.members.invites.delete(pid, "sdk@example.com")
    owner = dg.manage.v1.projects.members.list(pid).members[0].member_id
    assert dg.manage.v1.projects.members.scopes.list(pid, owner).scopes == ["owner"]
    assert dg.manage.v1.projects.billing.fields.list(pid).line_items
    since = datetime.now(timezone.utc) - timedelta(days=1)
    assert dg.manage.v1.projects.requests.list(pid, start=since, limit=2, status="succeeded").requests
    assert dg.auth.v1.tokens.grant(ttl_seconds=60).access_token
    cred = dg.self_hosted.v1.distribution_credentials.create(pid, scopes=["self-hosted:product:api"],
                                                             provider="quay", comment="sdk")
    cid = cred.distribution_credentials.distribution_credentials_id
    assert cid in {c.distribution_credentials.distribution_credentials_id for c in
                   dg.self_hosted.v1.distribution_credentials.list(pid).distribution_credentials}
    dg.self_hosted.v1.distribution_credentials.delete(pid, cid)


def test_ledger_survives_restart_and_keeps_balances(tmp_path: Path):
    from dgnb.local.ledger import Ledger

    first = Ledger(tmp_path)
    p = first.authenticate(f"Token {first.admin_key}")
    usd = first.record_request(request_id="r1", principal=p, duration=60.0, channels=1)
    assert usd == pytest.approx(PRICES[("listen", "sync")][0])
    first.close()
    second = Ledger(tmp_path)
    assert sum(b["amount"] for b in second.balances(p.project_id)) == pytest.approx(200 - usd)
    assert second.record_request(request_id="r2", principal=p, status=400, duration=60.0) == 0.0


def test_a_granted_token_is_a_jwt_with_its_expiry(engine):
    """As Deepgram's /v1/auth/grant: a JSON Web Token (HS256) whose exp is ttl_seconds after iat."""
    import base64
    import hashlib
    import hmac

    reply = engine.http.post("/v1/auth/grant", json={"ttl_seconds": 60}).json()
    head, body, signature = reply["access_token"].split(".")
    decode = lambda part: json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))  # noqa: E731
    claims = decode(body)
    assert decode(head) == {"alg": "HS256", "typ": "JWT"} and reply["expires_in"] == 60
    assert claims["exp"] - claims["iat"] == 60 and abs(claims["iat"] - time.time()) < 60
    assert claims["scope"] == "usage:write"
    keys = engine.http.get(f"/v1/projects/{engine.pid}/keys").json()["api_keys"]
    assert claims["sub"] in {k["api_key"]["api_key_id"] for k in keys}
    key = engine.app.state.engine.ledger._signing_key()
    expected = base64.urlsafe_b64encode(hmac.new(key, f"{head}.{body}".encode(), hashlib.sha256).digest())
    assert hmac.compare_digest(signature.encode(), expected.rstrip(b"="))
    assert _transcribe(engine, reply["access_token"], scheme="Bearer", tiny=True).status_code == 200


def test_voice_models_never_carry_null_metadata(engine):
    """Deepgram's TTS entries carry metadata.image and sample as strings or not at all: the SDKs type them so."""
    tts = engine.http.get("/v1/models").json()["tts"]
    assert tts and all(None not in m["metadata"].values() for m in tts)


def test_agent_configurations_and_variables_through_the_official_sdk(engine):
    """voice_agent.configurations and voice_agent.variables of the SDK 7.16: create, list, get, update, delete."""
    from local_server import official_sdk

    sdk, pid = official_sdk(engine), engine.pid
    block = {"think": {"provider": {"type": "open_ai", "model": "gpt-4o-mini"}, "prompt": "DG_PROMPT"}}
    made = sdk.voice_agent.configurations.create(pid, config=json.dumps(block), metadata={"team": "support"})
    assert made.config == block and made.metadata == {"team": "support"}
    listed = sdk.voice_agent.configurations.list(pid).agents
    assert made.agent_id in {a.agent_id for a in listed}
    updated = sdk.voice_agent.configurations.update(pid, made.agent_id, metadata={"team": "sales"})
    assert updated.metadata == {"team": "sales"} and updated.config == block
    assert sdk.voice_agent.configurations.get(pid, made.agent_id).updated_at >= updated.created_at

    var = sdk.voice_agent.variables.create(pid, key="DG_PROMPT", value="Answer in one sentence.")
    assert var.key == "DG_PROMPT" and var.value == "Answer in one sentence."
    assert sdk.voice_agent.variables.update(pid, var.variable_id, value={"nested": [1, 2]}).value == {"nested": [1, 2]}
    assert [v.key for v in sdk.voice_agent.variables.list(pid).variables] == ["DG_PROMPT"]
    assert sdk.voice_agent.variables.get(pid, var.variable_id).value == {"nested": [1, 2]}

    bad = engine.http.post(f"/v1/projects/{pid}/agent-variables", json={"key": "prompt", "value": 1})
    assert bad.status_code == 400 and "DG_" in bad.json()["err_msg"]
    twice = engine.http.post(f"/v1/projects/{pid}/agent-variables", json={"key": "DG_PROMPT", "value": 1})
    assert twice.status_code == 409
    not_json = engine.http.post(f"/v1/projects/{pid}/agents", json={"config": "{not json"})
    assert not_json.status_code == 400 and "JSON" in not_json.json()["err_msg"]

    sdk.voice_agent.variables.delete(pid, var.variable_id)
    sdk.voice_agent.configurations.delete(pid, made.agent_id)
    assert engine.http.get(f"/v1/projects/{pid}/agents/{made.agent_id}").status_code == 404
    assert engine.http.get(f"/v1/projects/{pid}/agent-variables").json() == {"variables": []}
