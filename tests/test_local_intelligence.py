"""Text intelligence on word lists: real VADER/YAKE computations and the documented heuristics."""
import pytest

from dgnb.local.models.intelligence import entities, intents, label_for, sentiment, summarize, topics, words_from_text


def test_sentiment_signs_and_deepgram_shape():
    w = words_from_text("I love this product, it is wonderful and amazing. "
                        "This is the worst, most terrible service I have ever had.")
    out = sentiment(w)
    seg = out["segments"]
    assert [s["sentiment"] for s in seg] == ["positive", "negative"]
    assert seg[0]["sentiment_score"] > 0.333 and seg[1]["sentiment_score"] < -0.333
    assert (seg[0]["start_word"], seg[0]["end_word"]) == (0, 8)  # inclusive, as Deepgram
    assert seg[1]["start_word"] == 9 and seg[1]["end_word"] == len(w) - 1
    assert set(seg[0]) == {"text", "start_word", "end_word", "sentiment", "sentiment_score"}
    assert set(out["average"]) == {"sentiment", "sentiment_score"}


def test_sentiment_segments_never_span_a_change_of_speaker():
    w = words_from_text("I love this, it is wonderful. Great, I am so happy too. Thanks, that is lovely.")
    first = len(words_from_text("I love this, it is wonderful."))
    for i, x in enumerate(w):
        x["speaker"] = 0 if i < first else 1
    seg = sentiment(w)["segments"]
    assert [s["sentiment"] for s in seg] == ["positive", "positive"]
    assert [(s["start_word"], s["end_word"]) for s in seg] == [(0, first - 1), (first, len(w) - 1)]
    for x in w:
        x.pop("speaker")
    assert len(sentiment(w)["segments"]) == 1  # one speaker (or none): same-label sentences merge


def test_sentiment_thresholds_and_annotation():
    assert label_for(0.34) == "positive" and label_for(0.33) == "neutral" and label_for(-0.34) == "negative"
    w = words_from_text("The meeting is at noon.")
    out = sentiment(w, annotate=True)
    assert out["average"]["sentiment"] == "neutral"
    assert all(x["sentiment"] == "neutral" for x in w)


def test_topics_contain_salient_keyword():
    w = words_from_text("The refund for my subscription has not arrived. I asked for the refund twice. "
                        "The subscription refund policy says ten days.")
    segs = topics(w)["segments"]
    names = [t["topic"].lower() for s in segs for t in s["topics"]]
    assert any("refund" in n for n in names)
    assert all(0 < t["confidence_score"] <= 1 for s in segs for t in s["topics"])


def test_custom_topics_strict_vs_extended():
    w = words_from_text("My invoice shows a wrong charge. Please fix the billing for the invoice.")
    strict = topics(w, custom=["invoice"], mode="strict")["segments"]
    assert {t["topic"] for s in strict for t in s["topics"]} == {"invoice"}
    extended = topics(w, custom=["invoice"], mode="extended")["segments"]
    found = {t["topic"] for s in extended for t in s["topics"]}
    assert "invoice" in found and len(found) > 1
    assert topics(w, custom=["weather"], mode="strict")["segments"] == []
    with pytest.raises(ValueError, match="strict"):
        topics(w, mode="loose")


def test_intents_heuristics_and_custom():
    w = words_from_text("I want to cancel my subscription. Also I need a refund for last month.")
    labels = {i["intent"] for s in intents(w)["segments"] for i in s["intents"]}
    assert {"Cancel subscription", "Request refund"} <= labels
    strict = intents(w, custom=["close account", "get money back"], mode="strict")["segments"]
    assert {i["intent"] for s in strict for i in s["intents"]} <= {"close account", "get money back"}
    assert intents(words_from_text("The sky is blue."))["segments"] == []


def test_summary_picks_central_sentence():
    text = ("Our new phone plan includes unlimited data. The phone plan costs twenty dollars. "
            "Customers can switch to the new phone plan online. The weather was nice.")
    s = summarize(words_from_text(text))
    assert "phone plan" in s and "weather" not in s
    assert summarize([]) == ""


def test_entities_email_phone_and_more():
    w = words_from_text("Hi, my name is John Smith. Email john.smith@example.com or call (415) 555-0132 "
                        "before March 3, 2024. I paid $29.99 and I live in Boston.")
    ents = {e["label"]: e for e in entities(w)}
    assert ents["EMAIL_ADDRESS"]["value"] == "john.smith@example.com"
    assert ents["PHONE_NUMBER"]["value"] == "(415) 555-0132"
    assert ents["NAME"]["value"] == "John Smith"
    assert ents["MONEY"]["value"] == "$29.99"
    assert ents["LOCATION"]["value"] == "Boston"
    assert ents["DATE"]["value"].startswith("March 3")
    e = ents["EMAIL_ADDRESS"]
    assert " ".join(x["punctuated_word"] for x in w[e["start_word"]:e["end_word"]]) == "john.smith@example.com"
    assert set(e) == {"label", "value", "raw_value", "confidence", "start_word", "end_word"}


def test_spoken_email_is_normalised():
    w = words_from_text("it is john dot smith at example dot com thanks")
    (e,) = [e for e in entities(w) if e["label"] == "EMAIL_ADDRESS"]
    assert e["value"] == "john.smith@example.com" and (e["start_word"], e["end_word"]) == (2, 9)
