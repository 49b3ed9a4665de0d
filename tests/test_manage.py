"""dg.manage / dg.auth / dg.selfhosted against the real local engine, sync and async.

The same scenario (a generator of calls) is driven once by ``dgnb.Client`` and once by
``dgnb.AsyncClient``: every method of the three namespaces runs both ways.
"""
from __future__ import annotations

import asyncio
import datetime as dt

import httpx
import pandas as pd
import pytest
from manage_server import short_clip, start

import dgnb
from dgnb.api.auth import Auth
from dgnb.api.manage import Manage, check_dates
from dgnb.api.selfhosted import SelfHosted
from conftest import recorded


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    server = start(tmp_path_factory.mktemp("manage-client"))
    clip = short_clip(tmp_path_factory.mktemp("clip") / "clip.wav").read_bytes()
    tiny = short_clip(tmp_path_factory.mktemp("clip") / "tiny.wav", seconds=0.09).read_bytes()
    headers = {"Authorization": f"Token {server.api_key}", "Content-Type": "audio/wav"}
    r = httpx.post(f"{server.url}/v1/listen", params={"punctuate": "true", "tag": "real"}, content=clip,
                   headers=headers, timeout=120)
    assert r.status_code == 200, r.text
    for i in range(24):  # enough requests for several pages
        assert httpx.post(f"{server.url}/v1/listen", params={"tag": "tiny"}, content=tiny, headers=headers,
                          timeout=60).status_code == 200
    server.ledger = server.app.state.engine.ledger
    server.pid = server.ledger.default_project_id
    try:
        yield server
    finally:
        server.stop()


def namespaces(client):
    return {"manage": Manage(client), "auth": Auth(client), "selfhosted": SelfHosted(client)}


def scenario(engine, tag: str):
    """Every endpoint once; yields (namespace, method, args, kwargs), receives the result."""
    pid, ledger = engine.pid, engine.ledger

    def call(ns, method, *args, **kwargs):
        return ns, method, args, kwargs

    projects = yield call("manage", "get_projects")
    assert isinstance(projects, pd.DataFrame) and pid in set(projects["project_id"])
    assert projects.attrs["response"]["projects"]
    assert (yield call("manage", "get_project", pid))["project_id"] == pid
    assert "message" in (yield call("manage", "update_project", pid, f"renamed {tag}"))
    assert (yield call("manage", "get_project", pid))["name"] == f"renamed {tag}"

    # keys
    key = yield call("manage", "create_key", pid, f"key {tag}", ["member"], tags=[tag], time_to_live_in_seconds=600)
    assert len(key["key"]) == 40 and key["tags"] == [tag]
    keys = yield call("manage", "get_keys", pid)
    assert key["api_key_id"] in set(keys["api_key_id"])
    assert str(keys["created"].dtype) == "datetime64[ns, UTC]" and str(keys["expiration_date"].dtype) == "datetime64[ns, UTC]"
    assert key["key"] not in repr(keys.attrs["response"])
    got = yield call("manage", "get_key", pid, key["api_key_id"])
    assert got["item"]["member"]["api_key"]["tags"] == [tag]
    active = yield call("manage", "get_keys", pid, status="active")
    assert key["api_key_id"] in set(active["api_key_id"])
    assert "message" in (yield call("manage", "delete_key", pid, key["api_key_id"]))

    # members and invites
    member_id = ledger.add_member(pid, f"{tag}@example.com", "member", "Some", "One")
    members = yield call("manage", "get_members", pid)
    assert member_id in set(members["member_id"])
    assert (yield call("manage", "get_member_scopes", pid, member_id)) == ["member"]
    yield call("manage", "update_member_scope", pid, member_id, "admin")
    assert (yield call("manage", "get_member_scopes", pid, member_id)) == ["admin"]
    yield call("manage", "remove_member", pid, member_id)
    assert member_id not in set((yield call("manage", "get_members", pid))["member_id"])
    yield call("manage", "send_invite", pid, f"invite-{tag}@example.com", "member")
    invites = yield call("manage", "get_invites", pid)
    assert f"invite-{tag}@example.com" in set(invites["email"]) and invites["scope"].dtype == "category"
    yield call("manage", "delete_invite", pid, f"invite-{tag}@example.com")

    # usage: page by page
    reqs = yield call("manage", "get_usage_requests", pid, page_size=10, progress=False)
    assert len(reqs) >= 25 and len(reqs.attrs["response"]["pages"]) >= 3
    assert reqs["request_id"].is_unique
    assert str(reqs["created"].dtype) == "datetime64[ns, UTC]" and reqs["usd"].dtype == "float64"
    assert reqs["model"].dtype == "category" and reqs["method"].dtype == "category"
    limited = yield call("manage", "get_usage_requests", pid, limit=7, page_size=5, progress=False)
    assert len(limited) == 7 and list(limited["request_id"]) == list(reqs["request_id"][:7])
    real = reqs[reqs["duration"] > 1].iloc[0]
    one = yield call("manage", "get_usage_request", pid, real["request_id"])
    assert one["request"]["response"]["details"]["tags"] == ["real"]
    today = dt.datetime.now(dt.timezone.utc).date()
    summary = yield call("manage", "get_usage_summary", pid, today - dt.timedelta(days=2), today)
    assert summary["requests"].sum() >= 25 and summary["hours"].dtype == "float64"
    assert summary.attrs["response"]["resolution"] == {"units": "day", "amount": 1}
    by_model = yield call("manage", "get_usage_breakdown", pid, str(today), pd.Timestamp.now(tz="UTC"), grouping=["models", "method"])
    assert by_model["hours"].sum() == pytest.approx(reqs["duration"].sum() / 3600)
    assert by_model["model"].dtype == "category" and set(by_model["method"]) == {"sync"}
    tagged = yield call("manage", "get_usage_breakdown", pid, grouping="tags", tag="real")
    assert tagged["requests"].sum() == 1
    fields = yield call("manage", "get_usage_fields", pid)
    assert "tag=real" in fields["tags"] and "punctuate" in fields["features"]

    # billing
    balances = yield call("manage", "get_balances", pid)
    assert balances["amount"].dtype == "float64" and balances["amount"].sum() < 200
    assert (yield call("manage", "get_balance", pid, balances["balance_id"][0]))["balance_id"] == balances["balance_id"][0]
    bill = yield call("manage", "get_billing_breakdown", pid, grouping=["line_item"])
    assert bill["dollars"].sum() == pytest.approx(reqs["usd"].sum()) and bill["line_item"].dtype == "category"
    assert (yield call("manage", "get_billing_fields", pid))["line_items"]
    purchases = yield call("manage", "get_purchases", pid, limit=5)
    assert purchases["amount"].tolist() == [200.0] and str(purchases["created"].dtype) == "datetime64[ns, UTC]"

    # models
    models = yield call("manage", "get_models")
    assert set(models["kind"]) >= {"stt"} and models["batch"].dtype == "boolean"
    assert len((yield call("manage", "get_models", pid))) == len(models)
    stt = models[models["kind"] == "stt"].iloc[0]
    assert (yield call("manage", "get_model", stt["uuid"]))["name"] == stt["name"]
    assert (yield call("manage", "get_model", stt["uuid"], pid))["uuid"] == stt["uuid"]

    # auth
    token = yield call("auth", "grant_token", ttl_seconds=120)
    assert token["expires_in"] == 120 and token["access_token"]
    details = yield call("auth", "get_token_details")
    assert details["project_id"] == pid and details["kind"] == "api_key" and "owner" in details["scopes"]

    # self-hosted distribution credentials
    cred = yield call("selfhosted", "create_credentials", pid, comment=tag, scopes=["self-hosted:product:api"])
    cid = cred["distribution_credentials"]["distribution_credentials_id"]
    listed = yield call("selfhosted", "list_credentials", pid)
    assert cid in set(listed["distribution_credentials_id"]) and listed["provider"].dtype == "category"
    assert (yield call("selfhosted", "get_credentials", pid, cid))["distribution_credentials"]["comment"] == tag
    yield call("selfhosted", "delete_credentials", pid, cid)
    assert cid not in set((yield call("selfhosted", "list_credentials", pid))["distribution_credentials_id"])

    # voice agent configurations and template variables
    made = yield call("manage", "create_agent", pid, {"think": {"prompt": "DG_PROMPT"}}, {"by": tag})
    agents = yield call("manage", "get_agents", pid)
    assert made["agent_id"] in set(agents["agent_id"]) and str(agents["created_at"].dtype).startswith("datetime64")
    assert (yield call("manage", "update_agent", pid, made["agent_id"], {"by": "me"}))["metadata"] == {"by": "me"}
    assert (yield call("manage", "get_agent", pid, made["agent_id"]))["config"] == {"think": {"prompt": "DG_PROMPT"}}
    var = yield call("manage", "create_agent_variable", pid, f"DG_{tag.upper()}", "Be brief.")
    assert (yield call("manage", "update_agent_variable", pid, var["variable_id"], [1, 2]))["value"] == [1, 2]
    variables = yield call("manage", "get_agent_variables", pid)
    assert variables.set_index("key").loc[f"DG_{tag.upper()}", "value"] == [1, 2]
    yield call("manage", "delete_agent_variable", pid, var["variable_id"])
    yield call("manage", "delete_agent", pid, made["agent_id"])
    assert made["agent_id"] not in set((yield call("manage", "get_agents", pid))["agent_id"])


@recorded
def test_every_method_sync(engine):
    client = dgnb.Client(api_key=engine.api_key, url=engine.url)
    ns = namespaces(client)
    gen = scenario(engine, "sync")
    result = None
    try:
        while True:
            name, method, args, kwargs = gen.send(result)
            result = getattr(ns[name], method)(*args, **kwargs)
    except StopIteration:
        pass
    finally:
        client.close()


@recorded
def test_every_method_async(engine):
    async def main():
        async with dgnb.AsyncClient(api_key=engine.api_key, url=engine.url) as client:
            ns = namespaces(client)
            gen = scenario(engine, "async")
            result = None
            try:
                while True:
                    name, method, args, kwargs = gen.send(result)
                    result = await getattr(ns[name], method)(*args, **kwargs)
            except StopIteration:
                pass

    asyncio.run(main())


@recorded
def test_leave_and_delete_project(engine):
    ledger = engine.ledger
    other = ledger.create_project("second")
    owner_key = ledger.create_key(other, "owner", ["owner"])[1]
    member = ledger.add_member(other, "leaver@example.com", "member")
    member_key = ledger.create_key(other, "member", ["member"], member_id=member)[1]
    with dgnb.Client(api_key=member_key, url=engine.url) as dg:
        Manage(dg).leave_project(other)
    with dgnb.Client(api_key=owner_key, url=engine.url) as dg:
        m = Manage(dg)
        assert member not in set(m.get_members(other)["member_id"])
        assert "message" in m.delete_project(other)
        with pytest.raises(dgnb.ApiError) as err:  # the key went with its project
            m.get_project(other)
        assert err.value.status_code == 401


@recorded
def test_refusals_surface_as_api_errors(engine):
    pid = engine.pid
    with dgnb.Client(api_key=engine.api_key, url=engine.url) as dg:
        secret = Manage(dg).create_key(pid, "limited", ["usage:write"])["key"]
    with dgnb.Client(api_key=secret, url=engine.url) as dg:
        with pytest.raises(dgnb.ApiError) as err:
            Manage(dg).create_key(pid, "nope", ["member"])
        assert err.value.status_code == 403 and "keys:write" in err.value.err_msg
        assert secret not in str(err.value)
        token = Auth(dg).grant_token()["access_token"]
    with dgnb.Client(access_token=token, url=engine.url) as dg:
        assert Auth(dg).get_token_details()["kind"] == "access_token"


@recorded
def test_progress_bar_for_long_fetches(engine, capsys):
    with dgnb.Client(api_key=engine.api_key, url=engine.url) as dg:
        Manage(dg).get_usage_requests(engine.pid, page_size=5, limit=20)
    assert "requests" in capsys.readouterr().err  # tqdm wrote its bar to stderr
    with dgnb.Client(api_key=engine.api_key, url=engine.url) as dg:
        Manage(dg).get_usage_requests(engine.pid, page_size=5, limit=20, progress=False)
    assert capsys.readouterr().err == ""


# ------------------------------------------------------------------ validation, before any request ----
@pytest.fixture()
def offline():
    """A client whose every request would fail to connect: a ValueError proves no request was made."""
    with dgnb.Client(api_key="k", url="http://127.0.0.1:9", max_retries=0, timeout=2) as dg:
        yield Manage(dg), Auth(dg), SelfHosted(dg)


@pytest.mark.parametrize("call, word", [
    (lambda m: m.get_project(""), "project_id"),
    (lambda m: m.get_project(None), "project_id"),
    (lambda m: m.get_key("p", "  "), "key_id"),
    (lambda m: m.remove_member("p", ""), "member_id"),
    (lambda m: m.get_usage_request("p", ""), "request_id"),
    (lambda m: m.get_usage_summary("p", "2025-02-01", "2025-01-01"), "after"),
    (lambda m: m.get_usage_breakdown("p", "not a date"), "start"),
    (lambda m: m.get_usage_breakdown("p", end=12345), "end"),
    (lambda m: m.get_usage_breakdown("p", grouping="colour"), "grouping"),
    (lambda m: m.get_usage_summary("p", colour="red"), "colour"),
    (lambda m: m.get_usage_requests("p", limit=0), "limit"),
    (lambda m: m.get_usage_requests("p", shoe_size=3), "shoe_size"),
    (lambda m: m.create_key("p", "c", "member"), "scopes"),
    (lambda m: m.create_key("p", "c", ["member"], time_to_live_in_seconds=-1), "time_to_live_in_seconds"),
    (lambda m: m.create_key("p", "c", ["member"], time_to_live_in_seconds=5, expiration_date="2030-01-01"), "not both"),
    (lambda m: m.send_invite("p", "not-an-email"), "email"),
    (lambda m: m.update_project("p"), "name"),
    (lambda m: m.get_keys("p", status="sleeping"), "status"),
])
def test_bad_input_raises_value_error_naming_it(offline, call, word):
    with pytest.raises(ValueError, match=word):
        call(offline[0])


def test_bad_auth_and_selfhosted_input(offline):
    _, auth, selfhosted = offline
    with pytest.raises(ValueError, match="ttl_seconds"):
        auth.grant_token(ttl_seconds=0)
    with pytest.raises(ValueError, match="scopes"):
        selfhosted.create_credentials("p", scopes=["root"])
    with pytest.raises(ValueError, match="credentials_id"):
        selfhosted.get_credentials("p", "")


def test_dates_accept_every_form():
    expected = [("start", "2025-01-02"), ("end", "2025-01-03")]
    assert check_dates("2025-01-02", "2025-01-03") == expected
    assert check_dates(dt.date(2025, 1, 2), dt.date(2025, 1, 3)) == expected
    assert check_dates(dt.datetime(2025, 1, 2, 5, tzinfo=dt.timezone.utc), pd.Timestamp("2025-01-03 06:00", tz="UTC")) == [
        ("start", "2025-01-02T05:00:00Z"), ("end", "2025-01-03T06:00:00Z")]
    assert check_dates("2025-01-02", "2025-01-02") == [("start", "2025-01-02"), ("end", "2025-01-02")]  # one whole day
    assert check_dates(None, None) == []
