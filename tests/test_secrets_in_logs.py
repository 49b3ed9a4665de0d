"""No credential in any log of any library dgnb drives, at any level: with every logger at DEBUG, a
REST call, a live stream, a speak socket and an agent session against an engine in this process
(so its logs are captured too) never write the key."""
from __future__ import annotations

import logging
import tempfile

import numpy as np
import pytest

import dgnb
from dgnb.api.agent import Agent, Settings, Speak, Think

from nonspeech import sweep, wav_bytes

LOGGERS = ("", "websockets", "websockets.client", "websockets.server", "uvicorn", "uvicorn.error",
           "httpx", "httpcore", "dgnb", "dgnb.websocket", "asyncio")


class Everything(logging.Handler):
    def __init__(self):
        super().__init__(logging.NOTSET)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture()
def debug_logs():
    handler = Everything()
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    saved = {name: logging.getLogger(name).level for name in LOGGERS}
    for name in LOGGERS:
        logging.getLogger(name).setLevel(logging.DEBUG)
    logging.getLogger().addHandler(handler)
    try:
        yield handler
    finally:
        logging.getLogger().removeHandler(handler)
        for name, level in saved.items():
            logging.getLogger(name).setLevel(level)


def test_no_credential_in_debug_logs_of_rest_live_speak_and_agent(debug_logs):
    from dgnb.local.server import start_in_background

    with tempfile.TemporaryDirectory(prefix="dgnb-secrets-") as tmp:
        engine = start_in_background(data_dir=tmp)
        for name in LOGGERS:  # uvicorn set its own levels when it started: every one back to DEBUG
            logging.getLogger(name).setLevel(logging.DEBUG)
        try:
            key = engine.api_key
            with dgnb.Client(api_key=key, url=engine.url) as dg:
                audio = wav_bytes(np.concatenate([sweep(1.0), np.zeros(8000, np.float32)]))
                dg.transcribe(audio)
                conn = dg.listen.stream_file(audio, encoding=None)
                conn.wait(timeout=60)
                speaker = dg.speak.live(model="aura-2-orion-en", encoding="linear16", sample_rate=16000)
                speaker.send_text("Hello there.")
                speaker.flush(wait=True)
                speaker.finish()
                settings = Settings(think=Think("rule_based"), speak=Speak("aura-2-orion-en"),
                                    input_sample_rate=16000, output_sample_rate=16000)
                with Agent(dg).connect(settings) as agent:
                    agent.inject_user_message("Thank you.")
                    agent.wait_for("ConversationText", lambda m: m.role == "assistant", after=0)
        finally:
            engine.stop()
    lines = "\n".join(debug_logs.lines)
    assert "Authorization" in lines  # the handshakes were logged, with the value blanked
    assert key not in lines and key[:12] not in lines
