"""The local voice agent (/v1/agent/converse) against a real ``dgnb serve`` subprocess.

User audio is spoken by espeak (``samples.synthesize``) and heard by the real recognizer; the
agent's audio is sent back to the same server's POST /v1/listen to check it says the reply.
Think functions are registered with ``DGNB_AGENT_THINK`` (see tests/agent_thinkers.py).
"""
from __future__ import annotations

import asyncio
import io
import json
import re
import tempfile
import wave
from pathlib import Path

import httpx
import jiwer
import numpy as np
import pytest
import websockets

from conftest import RESPONSES, recorded
from local_server import official_sdk, start_server, stop_server

AGENT_FIXTURES = RESPONSES / "agent"
RATE = 16000
WEATHER_FN = {"name": "get_weather", "description": "Current weather for a city",
              "parameters": {"type": "object", "properties": {"location": {"type": "string"}}, "required": ["location"]}}


@pytest.fixture(scope="module")
def server():
    tests = Path(__file__).resolve().parent
    env = {"DGNB_AGENT_THINK": "weather=agent_thinkers:weather_think,agent_thinkers:two_replies,"
                               "agent_thinkers:broken_think", "PYTHONPATH": str(tests)}
    with tempfile.TemporaryDirectory(prefix="dgnb-agent-") as tmp:
        srv = start_server(Path(tmp), extra_env=env)
        try:
            yield srv
        finally:
            stop_server(srv)


def settings(think=None, **agent) -> dict:
    return {"type": "Settings",
            "audio": {"input": {"encoding": "linear16", "sample_rate": RATE},
                      "output": {"encoding": "linear16", "sample_rate": RATE, "container": "none"}},
            "agent": {"listen": {"provider": {"type": "deepgram", "model": "nova-3"}},
                      "think": think or {"provider": {"type": "rule_based"}},
                      # a male espeak voice: the local Whisper tiny.en hears it best
                      "speak": {"provider": {"type": "deepgram", "model": "aura-2-orion-en"}}, **agent}}


def speech(text: str, trailing: float = 1.5) -> bytes:
    """``text`` spoken by espeak as 16 kHz linear16, with a little noise and ``trailing`` seconds of silence."""
    from dgnb.local.models import samples
    from dgnb.local.wire.audio import resample

    x, sr = samples.synthesize(text, "customer")
    x = resample(np.asarray(x, np.float32), sr, RATE) * 0.8
    x = np.concatenate([np.zeros(int(0.3 * RATE), np.float32), x, np.zeros(int(trailing * RATE), np.float32)])
    x = x + np.random.default_rng(0).normal(0, 3e-4, x.shape).astype(np.float32)
    return (np.clip(x, -1, 1) * 32767).astype("<i2").tobytes()


def norm(text: str) -> str:
    return " ".join(re.sub(r"[^a-z0-9' ]", " ", text.lower()).split())


def transcribe(server, pcm: bytes) -> str:
    """The agent's audio through the same engine's POST /v1/listen."""
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1), w.setsampwidth(2), w.setframerate(RATE), w.writeframes(pcm)
    reply = httpx.post(server.url + "/v1/listen", content=buf.getvalue(), headers=server.headers, timeout=60)
    reply.raise_for_status()
    return reply.json()["results"]["channels"][0]["alternatives"][0]["transcript"]


class Session:
    """A raw WebSocket conversation: every event kept in order, with binary audio as {"type": "Audio"}."""

    def __init__(self, ws):
        self.ws, self.events, self.audio = ws, [], []

    async def send(self, message) -> None:
        await self.ws.send(message if isinstance(message, (bytes, str)) else json.dumps(message))

    async def until(self, kind: str, *, answer=None, timeout: float = 60.0) -> dict:
        """Read until a message of ``kind``; ``answer(call)`` answers FunctionCallRequests on the way."""
        while True:
            frame = await asyncio.wait_for(self.ws.recv(), timeout)
            if isinstance(frame, bytes):
                self.audio.append(frame)
                if not self.events or self.events[-1]["type"] != "Audio":
                    self.events.append({"type": "Audio"})
                continue
            msg = json.loads(frame)
            self.events.append(msg)
            if msg["type"] == "FunctionCallRequest" and answer is not None:
                for call in msg["functions"]:
                    await self.send({"type": "FunctionCallResponse", "id": call["id"], "name": call["name"],
                                     "content": answer(call)})
            if msg["type"] == kind:
                return msg

    def types(self) -> list[str]:
        return [e["type"] for e in self.events]


async def open_session(server, message=None) -> Session:
    url = server.url.replace("http://", "ws://") + "/v1/agent/converse"
    ws = await websockets.connect(url, additional_headers=server.headers, max_size=None)
    session = Session(ws)
    if message is not None:
        await session.until("Welcome")
        await session.send(message)
    return session


def run(coro):
    return asyncio.run(coro)


# ----------------------------------------------------------------------------------------- conversations

def test_spoken_user_turn_gets_a_spoken_reply_that_says_the_text(server):
    async def go():
        s = await open_session(server, settings())
        await s.until("SettingsApplied")
        pcm = speech("Hello, can you help me with a simple question?")
        for i in range(0, len(pcm), 3200):
            await s.send(pcm[i:i + 3200])
        await s.until("AgentAudioDone")
        await s.ws.close()
        return s
    s = run(go())
    types = s.types()
    assert types[:2] == ["Welcome", "SettingsApplied"]
    turn = types[types.index("UserStartedSpeaking"):]
    assert turn == ["UserStartedSpeaking", "ConversationText", "History", "EndOfThought", "ConversationText",
                    "History", "AgentStartedSpeaking", "Audio", "AgentAudioDone"]
    user = next(e for e in s.events if e.get("role") == "user")
    assert jiwer.wer("hello can you help me with a simple question", norm(user["content"])) <= 0.25
    reply = next(e for e in s.events if e["type"] == "ConversationText" and e["role"] == "assistant")["content"]
    assert reply == "Hello! How can I help you today?"
    history = [e for e in s.events if e["type"] == "History"]
    assert history == [{"type": "History", "role": "user", "content": user["content"]},
                       {"type": "History", "role": "assistant", "content": reply}]
    started = next(e for e in s.events if e["type"] == "AgentStartedSpeaking")
    assert set(started) == {"type", "total_latency", "tts_latency", "ttt_latency"}
    assert jiwer.wer(norm(reply), norm(transcribe(server, b"".join(s.audio)))) <= 0.2


@recorded
def test_function_call_round_trip_with_a_registered_python_function(server):
    think = {"provider": {"type": "python", "function": "weather"}, "functions": [WEATHER_FN]}
    asked = []

    def answer(call):
        asked.append(json.loads(call["arguments"]))
        return json.dumps({"conditions": "sunny"})

    async def go():
        s = await open_session(server, settings(think))
        await s.until("SettingsApplied")
        await s.send({"type": "InjectUserMessage", "content": "What's the weather like in London?"})
        await s.until("AgentAudioDone", answer=answer)
        await s.ws.close()
        return s
    s = run(go())
    request = next(e for e in s.events if e["type"] == "FunctionCallRequest")
    recorded = json.loads((AGENT_FIXTURES / "function_call_conversation-ac8ed698-function_calls.json").read_text())
    assert set(request["functions"][0]) == set(recorded["function_calls"][0]["functions"][0])
    assert request["functions"][0]["client_side"] is True and asked == [{"location": "London"}]
    calls = next(e for e in s.events if e["type"] == "History" and "function_calls" in e)["function_calls"]
    assert calls[0]["response"] == json.dumps({"conditions": "sunny"}) and calls[0]["id"] == request["functions"][0]["id"]
    reply = [e["content"] for e in s.events if e["type"] == "ConversationText" and e["role"] == "assistant"]
    assert reply == ["It is sunny in London."]
    assert s.types().index("FunctionCallRequest") < s.types().index("AgentStartedSpeaking")
    assert "sunny" in norm(transcribe(server, b"".join(s.audio)))


@pytest.fixture()
def weather_service():
    """A real HTTP function endpoint on 127.0.0.1: answers POSTs with rain, keeping what it was sent."""
    import http.server
    import threading

    received = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            received.append((self.headers.get("X-Api-Key"), json.loads(body)))
            reply = json.dumps({"conditions": "rainy"}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, *args):
            pass

    site = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=site.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{site.server_address[1]}/weather", received
    site.shutdown()


def _weather_conversation(server, endpoint: dict):
    think = {"provider": {"type": "python", "function": "weather"}, "functions": [dict(WEATHER_FN, endpoint=endpoint)]}

    async def go():
        s = await open_session(server, settings(think))
        await s.until("SettingsApplied")
        await s.send({"type": "InjectUserMessage", "content": "What's the weather like in London?"})
        await s.until("AgentAudioDone")
        await s.ws.close()
        return s
    return run(go())


def test_server_side_function_calls_its_endpoint(server, weather_service):
    url, received = weather_service
    s = _weather_conversation(server, {"url": url, "method": "post", "headers": {"X-Api-Key": "fn-secret"}})
    request = next(e for e in s.events if e["type"] == "FunctionCallRequest")["functions"][0]
    assert request["client_side"] is False and json.loads(request["arguments"]) == {"location": "London"}
    assert received == [("fn-secret", {"location": "London"})]
    response = next(e for e in s.events if e["type"] == "FunctionCallResponse")
    assert response["id"] == request["id"] and json.loads(response["content"]) == {"conditions": "rainy"}
    calls = next(e for e in s.events if e["type"] == "History" and "function_calls" in e)["function_calls"]
    assert calls[0]["client_side"] is False and json.loads(calls[0]["response"]) == {"conditions": "rainy"}
    reply = [e["content"] for e in s.events if e["type"] == "ConversationText" and e["role"] == "assistant"]
    assert reply == ["It is rainy in London."]
    assert s.types().index("FunctionCallResponse") < s.types().index("AgentStartedSpeaking")


def test_unreachable_function_endpoint_is_an_error_result_and_the_agent_goes_on(server):
    import socket

    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    s = _weather_conversation(server, {"url": f"http://127.0.0.1:{port}/weather"})
    response = next(e for e in s.events if e["type"] == "FunctionCallResponse")
    assert "ConnectError" in json.loads(response["content"])["error"]
    reply = [e["content"] for e in s.events if e["type"] == "ConversationText" and e["role"] == "assistant"]
    assert reply == ["I could not get the weather for London."]


@recorded
def test_inject_agent_message_speaks_without_thinking(server):
    text = "Hello, this is a message from the agent."

    async def go():
        s = await open_session(server, settings())
        await s.until("SettingsApplied")
        await s.send({"type": "InjectAgentMessage", "message": text})
        await s.until("AgentAudioDone")
        await s.ws.close()
        return s
    s = run(go())
    recorded = json.loads((AGENT_FIXTURES / "inject_agent_message-3c5004a4-events.json").read_text())
    tail = [e["type"] if e["type"] != "Unhandled" else json.loads(e["data"]["raw"])["type"] for e in recorded[-3:]]
    assert [t for t in s.types()[2:] if t != "Audio"] == tail == ["ConversationText", "History", "AgentAudioDone"]
    assert s.events[2] == {"type": "ConversationText", "role": "assistant", "content": text}
    assert jiwer.wer(norm(text), norm(transcribe(server, b"".join(s.audio)))) <= 0.25


def test_several_replies_greeting_prompt_and_speak_updates(server):
    think = {"provider": {"type": "python", "function": "two_replies"}, "prompt": "Be brief."}

    async def go():
        s = await open_session(server, settings(think, greeting="Welcome to the demo."))
        await s.until("SettingsApplied")
        await s.until("AgentAudioDone")  # the greeting
        await s.send({"type": "UpdatePrompt", "prompt": "Be very brief."})
        await s.until("PromptUpdated")
        await s.send({"type": "UpdateSpeak", "speak": {"provider": {"type": "deepgram", "model": "aura-2-apollo-en"}}})
        await s.until("SpeakUpdated")
        await s.send({"type": "InjectUserMessage", "content": "Can you help?"})
        await s.until("AgentAudioDone")
        await s.ws.close()
        return s
    s = run(go())
    said = [(e["role"], e["content"]) for e in s.events if e["type"] == "ConversationText"]
    assert said == [("assistant", "Welcome to the demo."), ("user", "Can you help?"), ("assistant", "Of course!"),
                    ("assistant", "You said Can you help?")]
    last = s.types()[s.types().index("SpeakUpdated") + 1:]
    assert [t for t in last if t != "Audio"] == [
        "ConversationText", "History", "EndOfThought", "ConversationText", "History", "AgentStartedSpeaking",
        "ConversationText", "History", "AgentAudioDone"]


def test_a_failing_think_function_is_a_warning_and_the_session_goes_on(server):
    async def go():
        s = await open_session(server, settings({"provider": {"type": "python", "function": "broken_think"}}))
        await s.until("SettingsApplied")
        await s.send({"type": "InjectUserMessage", "content": "Hello?"})
        warning = await s.until("Warning")
        await s.send({"type": "InjectAgentMessage", "message": "Still here."})
        await s.until("AgentAudioDone")
        await s.ws.close()
        return warning
    warning = run(go())
    assert warning["code"] == "THINK_REQUEST_FAILED" and "the model is offline" in warning["description"]


def test_think_providers_in_a_list_fall_back_in_order(server):
    """think as a list: the first provider fails, the next one answers, with its own functions."""
    think = [{"provider": {"type": "python", "function": "broken_think"}},
             {"provider": {"type": "python", "function": "weather"}, "functions": [WEATHER_FN]}]

    async def go():
        s = await open_session(server, settings(think))
        await s.until("SettingsApplied")
        await s.send({"type": "InjectUserMessage", "content": "What's the weather like in London?"})
        await s.until("AgentAudioDone", answer=lambda call: json.dumps({"conditions": "foggy"}))
        await s.ws.close()
        return s
    s = run(go())
    warning = next(e for e in s.events if e["type"] == "Warning")
    assert warning["code"] == "THINK_REQUEST_FAILED"
    assert "the model is offline" in warning["description"] and "next think provider" in warning["description"]
    reply = [e["content"] for e in s.events if e["type"] == "ConversationText" and e["role"] == "assistant"]
    assert reply == ["It is foggy in London."]
    assert s.types().index("Warning") < s.types().index("FunctionCallRequest")


# ----------------------------------------------------------------------------------------- recorded order

def _labels(events: list[dict]) -> list[str]:
    out = []
    for e in events:
        data = e.get("data", e)
        kind = e["type"]
        if kind == "Unhandled":
            data = json.loads(data["raw"])
            kind = data["type"]
        if kind in ("Open", "Audio", "Warning"):
            continue
        out.append(kind + (":" + data["role"] if "role" in data else "") + (":calls" if "function_calls" in data else ""))
    return out


def _turns(labels: list[str]) -> list[list[str]]:
    turns: list[list[str]] = []
    for label in labels:
        if label == "ConversationText:user" or not turns:
            turns.append([])
        turns[-1].append(label)
    return turns[1:]


def _precedence(turns: list[list[str]]) -> set[tuple[str, str]]:
    """Pairs (a, b) where a came before b in every recorded turn that had both."""
    seen: dict[tuple[str, str], bool] = {}
    for turn in turns:
        first = {label: turn.index(label) for label in turn}
        for a in first:
            for b in first:
                if a != b:
                    seen[(a, b)] = seen.get((a, b), True) and first[a] < first[b]
    return {pair for pair, always in seen.items() if always}


@pytest.mark.parametrize("case", ["basic_conversation-a40b2785", "function_call_conversation-ac8ed698"])
@recorded
def test_event_order_matches_the_recorded_sessions(server, case):
    config = json.loads((AGENT_FIXTURES / f"{case}-config.json").read_text())
    recorded = _labels(json.loads((AGENT_FIXTURES / f"{case}-events.json").read_text()))

    async def go():
        s = await open_session(server, {"type": "Settings", "audio": {"input": {"encoding": "linear16",
                                        "sample_rate": 24000}}, "agent": config["agent_config"]})
        await s.until("SettingsApplied")
        for text in config["inject_messages"]:
            await s.send({"type": "InjectUserMessage", "content": text})
            await s.until("AgentAudioDone", answer=lambda call: json.dumps({"success": True, "result": "sunny"}))
        await s.ws.close()
        return s
    s = run(go())
    local = _labels(s.events)
    assert local[:2] == recorded[:2] == ["Welcome", "SettingsApplied"]
    rules = _precedence(_turns(recorded))
    assert ("ConversationText:user", "EndOfThought") in rules and ("History:assistant", "AgentStartedSpeaking") in rules
    local_turns = _turns(local)
    assert len(local_turns) == len(config["inject_messages"])
    for turn in local_turns:
        assert set(turn) <= set(recorded) | {"AgentAudioDone"}
        first = {label: turn.index(label) for label in turn}
        broken = [(a, b) for a, b in rules if a in first and b in first and first[a] > first[b]]
        assert not broken, (turn, broken)
        assert set(config["expected_events"]) - {"Welcome", "SettingsApplied"} <= {t.split(":")[0] for t in turn}
    if config["test_function_calls"]:
        assert "FunctionCallRequest" in local and "History:calls" in local
    assert any(e["type"] == "Warning" and e["code"] == "THINK_PROVIDER_UNAVAILABLE" for e in s.events)


# ----------------------------------------------------------------------------------------- settings errors

@pytest.mark.parametrize("mutate, code, words", [
    (lambda m: m["agent"].update(thinking={}), "UNPARSABLE_CLIENT_MESSAGE", "agent.thinking"),
    (lambda m: m["agent"].pop("think"), "UNPARSABLE_CLIENT_MESSAGE", "missing required field agent.think"),
    (lambda m: m.pop("audio"), "UNPARSABLE_CLIENT_MESSAGE", "missing required field audio"),
    (lambda m: m["audio"]["input"].update(sample_rate="fast"), "UNPARSABLE_CLIENT_MESSAGE", "audio.input.sample_rate"),
    (lambda m: m["agent"]["speak"]["provider"].update(model="aura-2-nobody-en"), "INVALID_SETTINGS", "nobody"),
    (lambda m: m["agent"].update(think={"provider": {"type": "python", "function": "nope"}}), "INVALID_SETTINGS",
     "no Python think function named 'nope'"),
    (lambda m: m["agent"].update(think={"provider": {"type": "clippy"}}), "INVALID_SETTINGS", "clippy"),
    (lambda m: m["audio"]["output"].update(encoding="wma"), "INVALID_SETTINGS", "wma"),
])
def test_bad_settings_get_an_error_event_and_the_socket_closes(server, mutate, code, words):
    message = settings()
    mutate(message)

    async def go():
        s = await open_session(server, message)
        error = await s.until("Error")
        with pytest.raises(websockets.ConnectionClosed):
            await asyncio.wait_for(s.ws.recv(), 10)
        return s, error
    s, error = run(go())
    assert s.types() == ["Welcome", "Error"]
    assert error["code"] == code and words in error["description"]


def test_a_message_before_settings_is_refused(server):
    async def go():
        s = await open_session(server)
        await s.until("Welcome")
        await s.send({"type": "InjectUserMessage", "content": "hi"})
        return await s.until("Error")
    assert run(go())["code"] == "NON_SETTINGS_MESSAGE_BEFORE_SETTINGS"


def test_unknown_messages_after_settings_are_reported_and_the_session_goes_on(server):
    async def go():
        s = await open_session(server, settings())
        await s.until("SettingsApplied")
        await s.send({"type": "Dance"})
        error = await s.until("Error")
        await s.send({"type": "InjectAgentMessage", "message": "Still talking."})
        await s.until("AgentAudioDone")
        await s.ws.close()
        return error
    error = run(go())
    assert error["code"] == "UNPARSABLE_CLIENT_MESSAGE" and "'Dance'" in error["description"]


def test_handshake_without_a_key_is_refused(server):
    url = server.url.replace("http://", "ws://") + "/v1/agent/converse"

    async def go():
        with pytest.raises(websockets.InvalidStatus) as info:
            await websockets.connect(url)
        return info.value.response.status_code
    assert run(go()) == 401


# ----------------------------------------------------------------------------------------- the official SDK

@recorded
def test_official_deepgram_sdk_basic_conversation(server):
    from deepgram.agent.v1.types import (AgentV1ConversationText, AgentV1InjectUserMessage, AgentV1Settings,
                                         AgentV1SettingsApplied, AgentV1Welcome)

    client = official_sdk(server)
    config = json.loads((AGENT_FIXTURES / "basic_conversation-a40b2785-config.json").read_text())
    received, audio = [], 0
    with client.agent.v1.connect() as agent:
        agent.send_settings(AgentV1Settings(audio={"input": {"encoding": "linear16", "sample_rate": 24000}},
                                            agent=config["agent_config"]))
        agent.send_inject_user_message(AgentV1InjectUserMessage(content="What is 2 + 2?"))
        while True:
            message = agent.recv()
            if isinstance(message, bytes):
                audio += len(message)
                continue
            received.append(message)
            if getattr(message, "type", None) == "AgentAudioDone":
                break
    assert isinstance(received[0], AgentV1Welcome) and isinstance(received[1], AgentV1SettingsApplied)
    texts = [(m.role, m.content) for m in received if isinstance(m, AgentV1ConversationText)]
    assert texts == [("user", "What is 2 + 2?"), ("assistant", "2 + 2 equals 4.")]
    assert audio > 24000  # more than half a second of 24 kHz linear16


# ------------------------------------------------------------------------------------------ think models

def test_think_models_official_sdk_and_no_key_needed(server):
    """The official SDK lists the think models; the call needs no key, as on Deepgram."""
    from deepgram.types import AgentThinkModelsV1Response

    client = official_sdk(server)
    reply = client.agent.v1.settings.think.models.list()
    assert isinstance(reply, AgentThinkModelsV1Response)
    hosted = {(m.id, m.provider) for m in reply.models}  # each parsed as one of the SDK's provider types
    assert ("gpt-4o-mini", "open_ai") in hosted and {p for _, p in hosted} == {"open_ai", "anthropic", "google", "groq"}
    local = {(m["id"], m["provider"]) for m in reply.local_models}  # the engine's own, an extra field
    assert {("rule-based", "rule_based"), ("weather", "python"), ("two_replies", "python"), ("broken_think", "python")} <= local
    anonymous = httpx.get(f"{server.url}/v1/agent/settings/think/models")
    assert anonymous.status_code == 200 and anonymous.json() == reply.model_dump(mode="json")
    assert httpx.get(f"{server.url}/v1/agent/converse").status_code == 401  # other agent paths still need a key


def test_think_models_as_a_dataframe_sync_and_async(server):
    import dgnb

    with dgnb.Client(api_key=server.api_key, url=server.url) as dg:
        df = dg.agent.think_models()
    assert list(df.columns) == ["id", "name", "provider", "local"] and str(df.provider.dtype) == "category"
    assert set(df.id[df.local]) >= {"rule-based", "weather"} and "gpt-4o-mini" in set(df.id[~df.local])
    assert df.attrs["response"]["local_models"][0]["id"] == "rule-based"

    async def go():
        async with dgnb.AsyncClient(api_key=server.api_key, url=server.url) as dg:
            return await dg.agent.think_models()

    assert run(go()).equals(df)


# ------------------------------------------------------------------------------------------ ForceEndTurn
FLUX = {"provider": {"type": "deepgram", "version": "v2", "model": "flux-general-en"}}


@recorded
def test_force_end_turn_from_the_official_sdk_ends_the_user_turn_with_a_flux_listen_provider(server):
    """Speech with no pause after it, then the SDK's send_force_end_turn: no silence was sent, so only
    ForceEndTurn can end the turn; the user's words come back and the agent answers them."""
    from deepgram.agent.v1.types import AgentV1Settings

    client = official_sdk(server)
    received = []
    with client.agent.v1.connect() as agent:
        hosted = {"provider": {"type": "open_ai", "model": "gpt-4o-mini"}}  # the SDK's types name hosted providers
        agent.send_settings(AgentV1Settings(**{k: v for k, v in settings(hosted, listen=FLUX).items() if k != "type"}))
        pcm = speech("What is two plus two?", trailing=0.0)
        for i in range(0, len(pcm), 3200):
            agent.send_media(pcm[i:i + 3200])
        agent.send_force_end_turn()
        while True:
            message = agent.recv()
            if isinstance(message, bytes):
                continue
            # the SDK's typed messages; a dict for the types it does not know (History)
            received.append(message if isinstance(message, dict) else message.model_dump())
            if received[-1]["type"] == "AgentAudioDone":
                break
    types = [m["type"] for m in received]
    assert "Error" not in types and all(m["code"] != "FORCE_END_TURN_UNSUPPORTED" for m in received if m["type"] == "Warning")
    user = next(m for m in received if m["type"] == "ConversationText" and m["role"] == "user")
    assert jiwer.wer("what is two plus two", norm(user["content"].replace("2", "two"))) <= 0.25
    assert types.index("UserStartedSpeaking") < types.index("ConversationText") < types.index("AgentStartedSpeaking")


def test_force_end_turn_without_flux_is_a_warning_and_with_no_turn_is_ignored(server):
    async def go():
        s = await open_session(server, settings())
        await s.until("SettingsApplied")
        await s.send({"type": "ForceEndTurn"})  # the default (v1) listen provider: the turn goes on
        warning = await s.until("Warning")
        flux = await open_session(server, settings(listen=FLUX))
        await flux.until("SettingsApplied")
        await flux.send({"type": "ForceEndTurn"})  # no user turn under way: nothing happens
        await flux.send({"type": "InjectUserMessage", "content": "Hello"})
        await flux.until("AgentAudioDone")
        await s.ws.close()
        await flux.ws.close()
        return warning, flux.types()
    warning, types = run(go())
    assert warning["code"] == "FORCE_END_TURN_UNSUPPORTED" and "version" in warning["description"]
    assert types[:3] == ["Welcome", "SettingsApplied", "ConversationText"] and "Warning" not in types and "Error" not in types


@recorded
def test_dgnb_force_end_turn_sync_and_async(server):
    """dgnb's conn.force_end_turn(), on Client and AsyncClient: the turn ends on the speech sent so far."""
    import dgnb
    from dgnb.api.agent_settings import Listen, Settings, Speak, Think

    flux = Settings(listen=Listen("flux-general-en", version="v2"), think=Think("rule_based"),
                    speak=Speak("aura-2-orion-en"), input_sample_rate=RATE, output_sample_rate=RATE)
    pcm = speech("What is two plus two?", trailing=0.0)
    is_user = lambda m: m.role == "user"  # noqa: E731
    with dgnb.Client(api_key=server.api_key, url=server.url) as dg:
        conn = dg.agent.connect(flux)
        conn.send_audio(pcm)
        conn.force_end_turn()
        heard = conn.wait_for("ConversationText", is_user, timeout=60).content
        conn.close()

    async def go():
        async with dgnb.AsyncClient(api_key=server.api_key, url=server.url) as dg:
            async with dg.agent.connect(flux) as conn:
                await conn.send_audio(pcm)
                await conn.force_end_turn()
                return (await conn.wait_for("ConversationText", is_user, timeout=60)).content

    for text in (heard, run(go())):
        assert jiwer.wer("what is two plus two", norm(text.replace("2", "two"))) <= 0.25


def test_settings_name_a_stored_configuration_and_its_variables_fill_in(server):
    """Settings with agent = a stored configuration's id: its block is used, DG_ variables put in."""
    http = httpx.Client(base_url=server.url, headers=server.headers, timeout=30)
    pid = http.get("/v1/projects").json()["projects"][0]["project_id"]
    block = settings(greeting="DG_GREETING")["agent"]
    agent_id = http.post(f"/v1/projects/{pid}/agents", json={"config": json.dumps(block)}).json()["agent_id"]
    variable = http.post(f"/v1/projects/{pid}/agent-variables", json={"key": "DG_GREETING", "value": "Welcome back!"}).json()

    async def go(agent, kind):
        s = await open_session(server, {**settings(), "agent": agent})
        first = await s.until(kind)
        await s.ws.close()
        return first

    try:
        assert run(go(agent_id, "ConversationText"))["content"] == "Welcome back!"
        error = run(go("no-such-agent", "Error"))
        assert error["code"] == "INVALID_SETTINGS" and "no-such-agent" in error["description"]
    finally:
        http.delete(f"/v1/projects/{pid}/agent-variables/{variable['variable_id']}")
        http.delete(f"/v1/projects/{pid}/agents/{agent_id}")
        http.close()
