"""Flux (/v2/listen) on the local engine: the official SDK 7.16 and raw WebSockets, turn by turn."""
from __future__ import annotations

import asyncio
import json

import httpx
import pytest
import websockets

from conftest import recorded
from local_server import official_sdk
from test_local_live import MULAW, sdk_stream, split, wer

FLUX = "model=flux-general-en&encoding=mulaw&sample_rate=8000"


def check_turns(messages: list[dict]) -> list[dict]:
    """Flux's state machine holds: each turn opens with StartOfTurn, goes on with Updates and closes with one
    EndOfTurn; turn_index counts the turns; sequence_id counts every message. Returns the EndOfTurns."""
    assert messages[0]["type"] == "Connected"
    assert [m["sequence_id"] for m in messages] == list(range(len(messages)))
    turn, open_ = 0, False
    for m in messages[1:]:
        if m["type"] != "TurnInfo":
            continue
        assert m["turn_index"] == turn and m["request_id"] == messages[0]["request_id"]
        assert m["audio_window_start"] <= m["audio_window_end"]
        if m["event"] == "StartOfTurn":
            assert not open_ and m["transcript"]
            open_ = True
        else:
            assert open_ and m["event"] in ("Update", "EndOfTurn"), m
        if m["event"] == "EndOfTurn":
            assert m["trigger"] in ("model", "manual", "timeout") and m["transcript"]
            assert m["transcript"] == " ".join(w["word"] for w in m["words"])
            open_, turn = False, turn + 1
        else:
            assert "trigger" not in m
    assert not open_
    return [m for m in messages if m.get("event") == "EndOfTurn"]


@recorded
def test_official_sdk_streams_the_preamble_in_turns(local_server):
    from deepgram.listen.v2.types import ListenV2Connected, ListenV2TurnInfo

    with official_sdk(local_server).listen.v2.connect(model="flux-general-en", encoding="mulaw", sample_rate=8000) as conn:
        received = sdk_stream(conn, 1600)
    assert isinstance(received[0], ListenV2Connected) and all(isinstance(m, ListenV2TurnInfo) for m in received[1:])
    ends = check_turns([m.model_dump(exclude_none=True) for m in received])
    assert len(ends) >= 2 and all(e["trigger"] == "model" for e in ends)
    assert wer(" ".join(e["transcript"] for e in ends)) <= 0.10
    for e in ends:  # the words lie in the turn's audio window, which lies in the stream
        assert 0 <= e["audio_window_start"] <= e["words"][0]["start"] + 0.06
        assert e["words"][-1]["end"] <= e["audio_window_end"] + 0.06 <= len(MULAW) / 8000 + 0.1


def test_bad_options_refuse_the_handshake_with_deepgrams_error(local_server):
    url = local_server.ws_url + "/v2/listen?"
    for query, said in (("model=nova-3", "Flux model"), ("model=flux-general-en&eot_threshold=0.2", "eot_threshold"),
                        ("model=flux-general-en&interim_results=true", "interim_results")):
        async def go():
            with pytest.raises(websockets.exceptions.InvalidStatus) as info:
                async with websockets.connect(url + query, additional_headers=local_server.headers):
                    pass
            return info.value.response
        response = asyncio.run(go())
        body = json.loads(response.body)
        assert response.status_code == 400 and said in body["err_msg"], body
    assert httpx.get(local_server.url + "/v2/listen", headers=local_server.headers).status_code == 404  # WebSocket only


async def flux_stream(server, query: str, steps) -> list[dict]:
    """Run ``steps(ws)`` on a /v2/listen socket and return every message until the server closes."""
    messages: list[dict] = []
    url = server.ws_url + "/v2/listen?" + query
    async with websockets.connect(url, additional_headers=server.headers, max_size=None) as ws:
        async def read():
            async for frame in ws:
                messages.append(json.loads(frame))
        reader = asyncio.create_task(read())
        await steps(ws, messages)
        await asyncio.wait_for(reader, 60)
    return messages


async def until(messages: list[dict], predicate, timeout: float = 60.0) -> dict:
    """The first message that satisfies ``predicate``, once it has arrived (checked as messages come in)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        found = next((m for m in messages if predicate(m)), None)
        if found is not None:
            return found
        assert loop.time() < deadline, f"nothing matched in {[m.get('event') or m['type'] for m in messages]}"
        await asyncio.sleep(0.02)


@recorded
def test_force_end_turn_ends_a_turn_that_no_pause_would(local_server):
    """eot_threshold=1.0: pauses never end a turn; ForceEndTurn does (trigger manual), on the audio sent so far."""
    first_half = MULAW[: len(MULAW) // 2]

    async def steps(ws, messages):
        for chunk in split(first_half, 1600):
            await ws.send(chunk)
        await ws.send(json.dumps({"type": "ForceEndTurn"}))  # read after the audio before it, as sent
        await ws.send(json.dumps({"type": "CloseStream"}))

    messages = asyncio.run(flux_stream(local_server, FLUX + "&eot_threshold=1.0&eot_timeout_ms=60000", steps))
    ends = check_turns(messages)
    assert len(ends) == 1 and ends[0]["trigger"] == "manual" and ends[0]["end_of_turn_confidence"] == 1.0
    assert len(ends[0]["words"]) >= 10  # the whole first half, though it holds pauses


@recorded
def test_a_turn_with_no_more_speech_ends_at_the_timeout(local_server):
    silence = b"\xff" * 8000 * 2  # mu-law silence: 2 s

    async def steps(ws, messages):
        for chunk in split(MULAW[: 8000 * 4] + silence, 1600):
            await ws.send(chunk)
        await ws.send(json.dumps({"type": "CloseStream"}))  # after the silence: the turn has timed out by then

    messages = asyncio.run(flux_stream(local_server, FLUX + "&eot_threshold=1.0&eot_timeout_ms=1000", steps))
    ends = check_turns(messages)
    assert ends[0]["trigger"] == "timeout"


@recorded
def test_configure_changes_thresholds_and_keyterms_mid_stream(local_server):
    async def steps(ws, messages):
        await ws.send(json.dumps({"type": "Configure", "thresholds": {"eot_threshold": 0.9}, "keyterms": ["Deepgram"]}))
        await until(messages, lambda m: m["type"] == "ConfigureSuccess")
        await ws.send(json.dumps({"type": "Configure", "thresholds": {"eot_threshold": 3}}))
        await ws.send(json.dumps({"type": "Configure", "thresholds": 5}))  # not an object
        await until(messages, lambda m: len([x for x in messages if x["type"] == "ConfigureFailure"]) == 2)
        for chunk in split(MULAW, 1600):
            await ws.send(chunk)
        await ws.send(json.dumps({"type": "Unknown"}))  # answered in turn, after the audio before it
        await ws.send(json.dumps({"type": "CloseStream"}))

    messages = asyncio.run(flux_stream(local_server, FLUX + "&eot_timeout_ms=3000", steps))
    success = next(m for m in messages if m["type"] == "ConfigureSuccess")
    assert success["thresholds"] == {"eot_threshold": 0.9, "eot_timeout_ms": 3000} and success["keyterms"] == ["Deepgram"]
    failure, not_object = [m for m in messages if m["type"] == "ConfigureFailure"]
    assert "eot_threshold" in failure["description"] and "must be an object" in not_object["description"]
    error = next(m for m in messages if m["type"] == "Error")
    assert error["code"] == "UNPARSABLE_CLIENT_MESSAGE" and "ForceEndTurn" in error["description"]
    ends = check_turns(messages)  # the stream goes on after both answers and the error
    assert wer(" ".join(e["transcript"] for e in ends)) <= 0.10
