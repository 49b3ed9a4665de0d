"""``AgentView``: a notebook view of a voice agent conversation that plays the agent's voice.

Shows each ``ConversationText`` as a chat bubble (user right, agent left), the session status and
the last warning or error; agent audio chunks are sent to the browser as binary messages and
played in order with the Web Audio API (raw linear16/mulaw/alaw at the output sample rate).

>>> conn = dg.agent.connect(settings)      # doctest: +SKIP
>>> conn.view()                            # doctest: +SKIP
"""
from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import anywidget
import traitlets

_HERE = Path(__file__).resolve().parent


class AgentView(anywidget.AnyWidget):
    """Follows an :class:`dgnb.agent.AgentConnection` (or its async twin) from its first event on."""

    _esm = _HERE / "agent_view.js"

    turns = traitlets.List(traitlets.Dict()).tag(sync=True)  # {"role", "content"}
    status = traitlets.Unicode("connecting").tag(sync=True)
    notice = traitlets.Unicode("").tag(sync=True)
    encoding = traitlets.Unicode("linear16").tag(sync=True)
    sample_rate = traitlets.Int(24000).tag(sync=True)
    play = traitlets.Bool(True).tag(sync=True)

    def __init__(self, connection: Any = None, *, play: bool = True, **kwargs: Any) -> None:
        super().__init__(play=play, **kwargs)
        self.audio_chunks = 0
        if connection is not None:
            self.follow(connection)

    def follow(self, connection: Any) -> "AgentView":
        conn = getattr(connection, "_conn", connection)
        self.encoding, self.sample_rate = conn.output_encoding, conn.output_sample_rate
        for event in list(conn.events):  # what happened before the view existed (no audio replay)
            self.feed(event, replay=True)
        for name in ("ConversationText", "SettingsApplied", "UserStartedSpeaking", "AgentStartedSpeaking",
                     "AgentAudioDone", "Warning", "Error", "Close", "Audio"):
            conn.on(name, self.feed)
        return self

    def feed(self, message: Any, replay: bool = False) -> None:
        """Show one agent event (``AgentMessage``); audio is forwarded to the browser to play."""
        kind = message.type
        if kind == "ConversationText":
            self.turns = [*self.turns, {"role": message.role, "content": message.content}]
        elif kind == "Audio":
            if not replay and self.play:
                self.audio_chunks += 1
                self.send({"type": "audio"}, [message.data])
        elif kind in ("Warning", "Error"):
            self.notice = f"{kind} {message.get('code')}: {message.get('description')}"
        status = {"SettingsApplied": "listening", "UserStartedSpeaking": "user speaking",
                  "AgentStartedSpeaking": "agent speaking", "AgentAudioDone": "listening", "Close": "closed",
                  "Error": "error"}.get(kind)
        if status and self.status not in ("closed", "error"):
            self.status = status

    def __repr__(self) -> str:
        last = self.turns[-1] if self.turns else None
        said = f", last {last['role']}: {textwrap.shorten(last['content'], 60, placeholder=' …')!r}" if last else ""
        return f"<AgentView {self.status}, {len(self.turns)} turns{said}>"
