"""The local engine's POST /v1/read: text intelligence with Deepgram's reply shape."""
from __future__ import annotations

import json

import httpx
import pytest
from conftest import recorded



@pytest.fixture(scope="module")
def conversation(fixtures_dir) -> str:
    return (fixtures_dir / "conversation.txt").read_text()


def read(server, body, **params) -> httpx.Response:
    return httpx.post(server.url + "/v1/read", params=params, json=body, headers=server.headers, timeout=120)


@recorded
def test_conversation_sentiment_topics_summary(local_server, conversation, fixtures_dir):
    r = read(local_server, {"text": conversation}, sentiment="true", topics="true", intents="true",
             summarize="true", language="en")
    assert r.status_code == 200, r.text
    d = r.json()
    real = json.loads(next((fixtures_dir / "responses" / "read").glob("*-response.json")).read_text())
    assert set(real["metadata"]) <= set(d["metadata"])          # request_id, created, language, summary_info
    assert set(real["metadata"]["summary_info"]) == set(d["metadata"]["summary_info"])
    assert set(real["results"]["summary"]) == set(d["results"]["summary"]) == {"text"}
    assert d["metadata"]["language"] == "en" and r.headers["dg-request-id"] == d["metadata"]["request_id"]
    summary = d["results"]["summary"]["text"]
    assert 10 < len(summary.split()) < len(conversation.split()) / 3
    # sentiment segments cover the whole text, in order, without gaps
    n_words = len(conversation.split())
    segs = d["results"]["sentiments"]["segments"]
    assert segs[0]["start_word"] == 0 and segs[-1]["end_word"] == n_words - 1
    for a, b in zip(segs, segs[1:]):
        assert b["start_word"] == a["end_word"] + 1
    assert {s["sentiment"] for s in segs} <= {"positive", "neutral", "negative"}
    assert d["results"]["sentiments"]["average"]["sentiment"] in {"positive", "neutral", "negative"}
    topics = [t["topic"].lower() for s in d["results"]["topics"]["segments"] for t in s["topics"]]
    assert topics and any("voice" in t or "speech" in t or "aura" in t for t in topics)
    assert "segments" in d["results"]["intents"]
    for key in ("sentiment_info", "topics_info", "intents_info"):
        assert d["metadata"][key]["input_tokens"] == n_words


@recorded
def test_only_requested_features(local_server, conversation):
    d = read(local_server, {"text": conversation}, summarize="true").json()
    assert set(d["results"]) == {"summary"}
    assert set(d["metadata"]) == {"request_id", "created", "language", "summary_info"}


TEXT = ("I was charged twice for my subscription and I want a refund. "
        "The billing team never answered my emails. Please cancel my account today.")


def test_custom_topics_strict_and_extended(local_server):
    strict = read(local_server, {"text": TEXT}, topics="true", custom_topic=["billing", "weather"],
                  custom_topic_mode="strict").json()
    found = {t["topic"] for s in strict["results"]["topics"]["segments"] for t in s["topics"]}
    assert found == {"billing"}
    extended = read(local_server, {"text": TEXT}, topics="true", custom_topic="billing",
                    custom_topic_mode="extended").json()
    found = {t["topic"] for s in extended["results"]["topics"]["segments"] for t in s["topics"]}
    assert "billing" in found and len(found) > 1


def test_custom_intents_strict_and_extended(local_server):
    strict = read(local_server, {"text": TEXT}, intents="true", custom_intent="cancel account",
                  custom_intent_mode="strict").json()
    found = {i["intent"] for s in strict["results"]["intents"]["segments"] for i in s["intents"]}
    assert found == {"cancel account"}
    extended = read(local_server, {"text": TEXT}, custom_intent="cancel account").json()  # custom implies intents
    found = {i["intent"] for s in extended["results"]["intents"]["segments"] for i in s["intents"]}
    assert "cancel account" in found and "Request refund" in found


@pytest.mark.parametrize("body,params,status,needle", [
    ({"text": ""}, {"sentiment": "true"}, 400, "empty"),
    ({"txt": "hi"}, {}, 400, '"text" or a "url"'),
    ({"url": "ftp://example.com/a.txt"}, {}, 400, "http"),
    ({"text": "Hello."}, {"language": "fr"}, 400, "English"),
    ({"text": "Hello."}, {"sentiment": "maybe"}, 422, "boolean"),
    ({"text": "Hello."}, {"custom_topic_mode": "loose"}, 422, "strict"),
])
def test_bad_requests(local_server, body, params, status, needle):
    r = read(local_server, body, **params)
    assert r.status_code == status, r.text
    assert needle in r.json()["err_msg"]


@recorded
def test_url_source(local_server, conversation, tmp_path):
    """{"url": ...} fetches the document over HTTP (served here by a stdlib server on loopback)."""
    import functools
    import http.server
    import threading

    (tmp_path / "doc.txt").write_text(TEXT)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{httpd.server_address[1]}/doc.txt"
        d = read(local_server, {"url": url}, sentiment="true").json()
        assert d["results"]["sentiments"]["segments"][-1]["end_word"] == len(TEXT.split()) - 1
        missing = read(local_server, {"url": url + ".nope"}, sentiment="true")
        assert missing.status_code == 400 and "404" in missing.json()["err_msg"]
    finally:
        httpd.shutdown()


@recorded
def test_official_sdk_analyze(local_server, conversation):
    from deepgram import DeepgramClient
    from deepgram.environment import DeepgramClientEnvironment

    env = DeepgramClientEnvironment(base=local_server.url, production=local_server.ws_url,
                                    agent=local_server.ws_url, agent_rest=local_server.url)
    client = DeepgramClient(api_key=local_server.api_key, environment=env)
    result = client.read.v1.text.analyze(request={"text": conversation}, language="en", summarize=True,
                                         sentiment=True, topics=True)
    data = result.model_dump()
    assert data["results"]["summary"]["text"]
    assert data["results"]["sentiments"]["segments"]
    assert data["results"]["topics"]["segments"]
