"""A live stream's messages assembled into one pre-recorded-shaped response (``Transcript.from_live``)."""
from __future__ import annotations

from typing import Any, Mapping

from .records import as_list as _list, dig as _dig, number as _number

MAX_CHANNELS = 256  # bound on channel_index values trusted from live messages


def response_from_live(messages: list[Mapping[str, Any]]) -> dict:
    """The pre-recorded response the final ``Results`` of a live stream add up to: per channel, the
    finals' transcripts joined, their words and entities in order, with the ``Metadata`` message's fields.

    >>> r = response_from_live([{"type": "Results", "is_final": True, "start": 0, "duration": 1.0,
    ...     "channel": {"alternatives": [{"transcript": "Hi.", "confidence": 0.9, "words": []}]}}])
    >>> r["results"]["channels"][0]["alternatives"][0]["transcript"], r["metadata"]["duration"]
    ('Hi.', 1.0)
    """
    finals, meta_message = [], None
    for m in messages:
        kind = m.get("type", "Results" if "channel" in m else None)
        if kind == "Results" and m.get("is_final") is True:
            finals.append(m)
        elif kind == "Metadata":
            meta_message = m
    n_channels = 1
    for m in finals:
        index = m.get("channel_index")
        if isinstance(index, list) and len(index) >= 2 and isinstance(index[1], int) and index[1] <= MAX_CHANNELS:
            n_channels = max(n_channels, index[1])
        n_channels = max(n_channels, _channel_of(m) + 1)
    finals.sort(key=lambda m: (_channel_of(m), _number(m.get("start"))))

    channels: list[dict] = [{"alternatives": []} for _ in range(n_channels)]
    pieces: dict[tuple[int, int], tuple[list[str], list[float], list[dict]]] = {}
    entities: dict[int, list[dict]] = {}
    for m in finals:
        c = _channel_of(m)
        alternatives = [a for a in _list(_dig(m, "channel", "alternatives")) if isinstance(a, dict)]
        offset = len(pieces.get((c, 0), ([], [], []))[2])
        for a, alt in enumerate(alternatives):
            texts, confidences, words = pieces.setdefault((c, a), ([], [], []))
            text = alt.get("transcript")
            if isinstance(text, str) and text.strip():
                texts.append(text.strip())
                if isinstance(alt.get("confidence"), (int, float)):
                    confidences.append(float(alt["confidence"]))
            words.extend(w for w in _list(alt.get("words")) if isinstance(w, dict))
        if isinstance(m.get("entities"), list):
            shifted = entities.setdefault(c, [])
            for e in m["entities"]:
                if isinstance(e, dict):
                    e = dict(e)
                    for key in ("start_word", "end_word"):
                        if isinstance(e.get(key), (int, float)):
                            e[key] = e[key] + offset
                    shifted.append(e)
    for (c, a), (texts, confidences, words) in sorted(pieces.items()):
        alts = channels[c]["alternatives"]
        while len(alts) <= a:
            alts.append({"transcript": "", "confidence": 0.0, "words": []})
        alts[a] = {"transcript": " ".join(texts),
                   "confidence": sum(confidences) / len(confidences) if confidences else 0.0,
                   "words": words}
    for c, found in entities.items():
        if channels[c]["alternatives"]:
            channels[c]["alternatives"][0]["entities"] = found

    metadata: dict[str, Any] = {}
    first_meta = next((m["metadata"] for m in finals if isinstance(m.get("metadata"), dict)), {})
    if isinstance(first_meta.get("request_id"), str):
        metadata["request_id"] = first_meta["request_id"]
    ends = [_number(m.get("start")) + _number(m.get("duration")) for m in finals]
    metadata["duration"] = max(ends) if ends else 0.0
    metadata["channels"] = n_channels
    uuid, info = first_meta.get("model_uuid"), first_meta.get("model_info")
    if isinstance(info, dict):
        key = uuid if isinstance(uuid, str) else "live"
        metadata["models"] = [key]
        metadata["model_info"] = {key: info}
    if meta_message is not None:
        metadata.update({k: v for k, v in meta_message.items() if k != "type" and v is not None})
    return {"metadata": metadata, "results": {"channels": channels}}


def _channel_of(message: Mapping[str, Any]) -> int:
    index = message.get("channel_index")
    if isinstance(index, list) and index and isinstance(index[0], int) and 0 <= index[0] < MAX_CHANNELS:
        return index[0]
    return 0
