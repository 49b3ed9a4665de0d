"""dgnb's read client and TextAnalysis, against the local engine and on real Deepgram replies."""
from __future__ import annotations

import asyncio
import json

import pandas as pd
import pytest

import dgnb
from dgnb.results.analysis import TextAnalysis
from dgnb.api.read import Read
from conftest import recorded

TEXT = ("I was charged twice for my subscription and I want a refund. "
        "The billing team never answered my emails, which is terrible. "
        "Thanks to Sarah, the problem is fixed now and I am very happy.")


def read_ns(client) -> Read:
    return client.read if hasattr(type(client), "read") else Read(client)


@pytest.fixture()
def client(local_server):
    with dgnb.Client(api_key=local_server.api_key, url=local_server.url) as c:
        yield c


@recorded
def test_analyze_text_dataframes(client, fixtures_dir):
    text = (fixtures_dir / "conversation.txt").read_text()
    a = read_ns(client).analyze_text(text, sentiment=True, topics=True, intents=True, summarize=True)
    assert isinstance(a, TextAnalysis)
    s = a.sentiments
    assert list(s.columns) == ["text", "start_word", "end_word", "sentiment", "sentiment_score"]
    assert s["start_word"].iloc[0] == 0 and s["end_word"].iloc[-1] == len(text.split()) - 1
    assert s.attrs["average"]["sentiment"] in ("positive", "neutral", "negative")
    assert a.sentiment_average == s.attrs["average"]
    t = a.topics
    assert list(t.columns) == ["segment", "text", "start_word", "end_word", "topic", "confidence_score"]
    assert len(t) > 0 and t["confidence_score"].between(0, 1).all()
    assert isinstance(a.intents, pd.DataFrame)
    assert a.summary and len(a.summary.split()) > 10
    assert a.request_id and a.to_dict()["metadata"]["request_id"] == a.request_id
    assert "Summary" in a._repr_html_() and "TextAnalysis(" in repr(a)


def test_custom_topics_and_intents(client):
    a = read_ns(client).analyze_text({"text": TEXT}, custom_topic=["billing", "weather"], custom_topic_mode="strict",
                                     custom_intent="request refund", custom_intent_mode="extended", topics=True,
                                     intents=True)
    assert set(a.topics["topic"]) == {"billing"}
    assert "request refund" in set(a.intents["intent"])


def test_sentiment_follows_the_text(client):
    a = read_ns(client).analyze_text(TEXT, sentiment=True)
    s = a.sentiments
    assert s["sentiment"].iloc[-1] == "positive"
    assert s["sentiment_score"].iloc[0] < s["sentiment_score"].iloc[-1]  # a complaint that ends happily


def test_errors(client):
    ns = read_ns(client)
    with pytest.raises(dgnb.ApiError) as e:
        ns.analyze_text("Bonjour.", sentiment=True, language="fr")
    assert e.value.status_code == 400 and "English" in e.value.err_msg
    with pytest.raises(ValueError, match="empty"):
        ns.analyze_text("   ")
    with pytest.raises(ValueError, match="did you mean 'sentiment'"):
        ns.analyze_text("Hi.", sentimnet=True)
    with pytest.raises(ValueError, match="url"):
        ns.analyze_text({"url": "file:///etc/passwd"})


def test_async(local_server):
    async def main():
        async with dgnb.AsyncClient(api_key=local_server.api_key, url=local_server.url) as c:
            return await read_ns(c).analyze_text(TEXT, summarize=True)

    a = asyncio.run(main())
    assert a.summary and a.sentiments.empty and a.topics.empty


@recorded
def test_real_deepgram_reply(fixtures_dir):
    reply = json.loads(next((fixtures_dir / "responses" / "read").glob("*-response.json")).read_text())
    a = TextAnalysis.from_response(reply)
    assert a.summary == reply["results"]["summary"]["text"]
    assert a.request_id == reply["metadata"]["request_id"] and a.language == "en"
    assert a.sentiments.empty and a.topics.empty and a.intents.empty and a.sentiment_average is None
    assert a.to_dict() == reply


@recorded
def test_sdk_mock_shape(fixtures_dir):
    """The official SDK's example reply nests results once more; TextAnalysis reads it too."""
    examples = json.loads((fixtures_dir.parent / "reference" / "deepgram-api-examples.json").read_text())
    reply = next(e["response"] for e in examples if e["path"] == "/v1/read")
    a = TextAnalysis(reply)
    assert a.summary == "The summary of the text submitted."
    assert a.request_id == "d04af392-db11-4c1d-83e1-20e34f0b8999"
    assert list(a.topics["topic"]) == ["Spacewalk"]
    assert list(a.intents["intent"]) == ["Encourage podcasting"]
    assert a.sentiments["sentiment"].tolist() == ["positive"]
    with pytest.raises(ValueError, match="not a /v1/read reply"):
        TextAnalysis({"metadata": {}})
