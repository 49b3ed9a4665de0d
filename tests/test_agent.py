"""The voice agent client (dgnb.api.agent) against the real local engine, started in-process with
Python think functions registered through ``start_in_background(think=...)``."""
from __future__ import annotations

import asyncio
import io
import json
import tempfile
import wave
from typing import Literal

import numpy as np
import pandas as pd
import pytest

import dgnb
from conftest import RESPONSES, recorded
from dgnb.api.agent import Agent, AgentError, Function, Settings, Speak, Think
from dgnb.api.agent_settings import settings_dict

from agent_thinkers import two_replies, weather_think


def counting_think(turn):
    """Replies with how many user messages it has seen (from turn.messages)."""
    users = sum(1 for m in turn.messages if m["role"] == "user") + 1
    return f"That is message number {users}."


@pytest.fixture(scope="module")
def engine():
    from dgnb.local.server import start_in_background

    with tempfile.TemporaryDirectory(prefix="dgnb-agent-client-") as tmp:
        srv = start_in_background(data_dir=tmp, think={"weather": weather_think, "two": two_replies,
                                                       "count": counting_think})
        try:
            yield srv
        finally:
            srv.stop()


@pytest.fixture()
def client(engine):
    with dgnb.Client(api_key=engine.api_key, url=engine.url) as c:
        yield c


def voice_settings(think: Think, **kw) -> Settings:
    return Settings(think=think, speak=Speak("aura-2-orion-en"), input_sample_rate=16000, output_sample_rate=16000, **kw)


@recorded
def test_settings_helpers_write_deepgrams_json():
    config = json.loads((RESPONSES / "agent" / "function_call_conversation-ac8ed698-config.json").read_text())
    want = config["agent_config"]
    fn = Function(want["think"]["functions"][0]["name"], want["think"]["functions"][0]["description"],
                  want["think"]["functions"][0]["parameters"])
    s = Settings(think=Think(model="gpt-4o-mini", prompt=want["think"]["prompt"], functions=[fn]), language="en").to_dict()
    assert s["agent"] == want
    assert s["type"] == "Settings" and s["audio"]["input"] == {"encoding": "linear16", "sample_rate": 24000}

    def book(city: str, nights: int, kind: Literal["hotel", "hostel"] = "hotel", late: bool | None = None) -> str:
        """Book a room.

        Longer text that is not part of the description."""
    declared = Function.from_callable(book).to_dict()
    assert declared["description"] == "Book a room."
    assert declared["parameters"] == {"type": "object", "required": ["city", "nights"], "properties": {
        "city": {"type": "string"}, "nights": {"type": "integer"},
        "kind": {"type": "string", "enum": ["hotel", "hostel"], "default": "hotel"}, "late": {"type": "boolean"}}}
    with pytest.raises(ValueError, match="'agent' object"):
        settings_dict({"audio": {}})


def test_function_calls_are_answered_by_python_callables(client):
    seen = []

    def get_weather(location: str) -> dict:
        """Current weather for a city."""
        seen.append(location)
        return {"conditions": "sunny", "temperature_c": 21}

    conn = Agent(client).connect(voice_settings(Think("python", function="weather")), functions=[get_weather])
    try:
        declared = conn.settings["agent"]["think"]["functions"]
        assert [f["name"] for f in declared] == ["get_weather"] and declared[0]["parameters"]["required"] == ["location"]
        conn.inject_user_message("What's the weather in Paris?")
        conn.wait_for("AgentAudioDone")
        assert seen == ["Paris"]
        assert conn.function_calls[0]["arguments"] == {"location": "Paris"} and conn.function_calls[0]["error"] is None
        frame = conn.conversation
        assert list(frame.columns) == ["role", "content", "time"]
        assert isinstance(frame["role"].dtype, pd.CategoricalDtype) and str(frame["time"].dt.tz) == "UTC"
        assert frame[["role", "content"]].values.tolist() == [["user", "What's the weather in Paris?"],
                                                            ["assistant", "It is sunny in Paris."]]
        reply = conn.replies[-1]
        assert reply.sample_rate == 16000 and reply.duration > 0.5
        types = [m.type for m in conn.messages]
        assert types[:2] == ["Welcome", "SettingsApplied"] and "FunctionCallRequest" in types
    finally:
        conn.close()
    assert conn.state == "closed" and conn.done


def test_a_failing_function_becomes_an_error_result_and_the_session_goes_on(client):
    def get_weather(location: str) -> dict:
        raise ConnectionError("the weather service is down")

    conn = Agent(client).connect(voice_settings(Think("python", function="weather")), functions={"get_weather": get_weather})
    with conn:
        conn.inject_user_message("Weather in London please")
        conn.wait_for("AgentAudioDone")
        assert conn.function_calls[0]["error"] == "ConnectionError: the weather service is down"
        assert json.loads(conn.function_calls[0]["content"]) == {"error": "ConnectionError: the weather service is down"}
        assert conn.conversation["content"].tolist()[-1] == "I could not get the weather for London."
        conn.inject_user_message("And in Paris?")  # still talking
        conn.wait_for("ConversationText", lambda m: m.role == "assistant")


def test_spoken_audio_conversation_events_and_iteration(client):
    from dgnb.local.models import samples

    x, sr = samples.synthesize("Hello, can you hear me?", "customer")
    x = x * 0.8 + np.random.default_rng(0).normal(0, 3e-4, x.shape)
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1), w.setsampwidth(2), w.setframerate(sr), w.writeframes((x * 32767).astype("<i2").tobytes())
    heard = []
    conn = Agent(client).connect(voice_settings(Think("rule_based")))
    conn.on("UserStartedSpeaking", heard.append)
    conn.send_file(buf.getvalue())
    conn.wait_for("AgentAudioDone", timeout=90, after=0)
    conn.close()
    assert len(heard) == 1
    user = conn.conversation.iloc[0]
    assert user["role"] == "user" and "hear me" in user["content"].lower()
    events = list(conn)  # every event from the start, ending with Close
    assert events[0].type == "Open" and events[-1].type == "Close"
    assert any(e.type == "Audio" for e in events)


def test_async_client_and_several_replies(engine):
    async def go():
        async with dgnb.AsyncClient(api_key=engine.api_key, url=engine.url) as dg:
            async with Agent(dg).connect(voice_settings(Think("python", function="two"))) as conn:
                await conn.inject_user_message("Can you help?")
                await conn.wait_for("AgentAudioDone", after=0)
                prompt = len(conn.events)
                await conn.update_prompt("Be brief.")
                await conn.wait_for("PromptUpdated", after=prompt)
                await conn.update_speak(Speak("aura-2-apollo-en"))
                await conn.wait_for("SpeakUpdated", after=prompt)
                await conn.inject_agent_message("Goodbye.")
                await conn.wait_for("AgentAudioDone", after=prompt)
                return conn.conversation, len(conn.replies)
    frame, replies = asyncio.run(go())
    assert frame["content"].tolist() == ["Can you help?", "Of course!", "You said Can you help?", "Goodbye."]
    assert replies == 2


def test_the_think_function_sees_the_conversation_and_context(client):
    history = [{"type": "History", "role": "user", "content": "Hi."},
               {"type": "History", "role": "assistant", "content": "Hello."}]
    with Agent(client).connect(voice_settings(Think("python", function="count"), context=history)) as conn:
        conn.inject_user_message("How many?")
        reply = conn.wait_for("ConversationText", lambda m: m.role == "assistant")
    assert reply.content == "That is message number 2."


def test_settings_errors_raise_agent_error(client):
    with pytest.raises(AgentError) as info:
        Agent(client).connect(voice_settings(Think("python", function="missing")))
    assert info.value.code == "INVALID_SETTINGS" and "'missing'" in info.value.description
    with pytest.raises(AgentError) as info:
        Agent(client).connect({"agent": {"think": {"provider": {"type": "rule_based"}}}, "audio": {}, "colour": "red"})
    assert info.value.code == "UNPARSABLE_CLIENT_MESSAGE" and "colour" in info.value.description


def test_refused_handshake_is_an_api_error(engine):
    with dgnb.Client(api_key="not-a-key", url=engine.url) as dg:
        with pytest.raises(dgnb.ApiError) as info:
            Agent(dg).connect(voice_settings(Think("rule_based")))
    assert info.value.status_code == 401 and "not-a-key" not in str(info.value)


def test_keepalive_keeps_an_idle_conversation_open(engine, client, monkeypatch):
    monkeypatch.setattr(engine.app.state.engine.settings, "agent_idle_timeout", 1.0)
    kept = Agent(client).connect(voice_settings(Think("rule_based")), keepalive=0.3)
    idle = Agent(client).connect(voice_settings(Think("rule_based")), keepalive=False)
    try:
        error = idle.wait_for("Error", timeout=30, after=0)
        assert error.code == "CLIENT_MESSAGE_TIMEOUT"
        assert not kept.done
        kept.inject_user_message("Thank you.")
        assert kept.wait_for("ConversationText", lambda m: m.role == "assistant", after=0).content == "You're welcome!"
    finally:
        kept.close()
        idle.close()


def test_unknown_event_names_are_refused(client):
    with Agent(client).connect(voice_settings(Think("rule_based"))) as conn:
        with pytest.raises(ValueError, match="did you mean 'ConversationText'"):
            conn.on("ConversationTexts", print)


def test_agent_view_follows_the_conversation_and_forwards_audio(client):
    from dgnb.notebook.widgets.agent_view import AgentView

    with Agent(client).connect(voice_settings(Think("rule_based"))) as conn:
        view = conn.view()
        sent = []
        view.send = lambda content, buffers=None: sent.append((content, buffers))  # capture what goes to the browser
        conn.inject_user_message("Hello there")
        conn.wait_for("AgentAudioDone")
        assert view.turns == [{"role": "user", "content": "Hello there"},
                              {"role": "assistant", "content": "Hello! How can I help you today?"}]
        assert view.status == "listening" and view.sample_rate == 16000
        assert repr(view) == "<AgentView listening, 2 turns, last assistant: 'Hello! How can I help you today?'>"
        assert b"".join(b[0] for _, b in sent) == conn.audio.data
    assert AgentView(conn).turns == view.turns  # a view made later replays the conversation
