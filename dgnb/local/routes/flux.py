"""Flux, turn-based live recognition: WebSocket ``/v2/listen`` (``model=flux-general-en``) in Deepgram's protocol.

The audio is read by the same segmenter and recogniser as ``/v1/listen`` (:class:`.live.LiveSession`, whose
work this session shares); only what is sent differs. The server sends ``Connected``, then ``TurnInfo``
messages, each with a ``sequence_id`` counting every message sent:

* ``StartOfTurn`` when the first words of a turn are read, then ``Update`` as more are read (about once a
  second while the user speaks, and at each pause);
* ``EndOfTurn`` with the turn's transcript and words (punctuated and cased), and ``trigger``:
  ``model`` when the user paused long enough (the end of turn is decided by the voice-activity stage: a
  pause of 0.3 s at the default ``eot_threshold`` of 0.7, longer in proportion above it; at 1.0 the pause
  never ends a turn), ``manual`` after ``ForceEndTurn``, ``timeout`` after ``eot_timeout_ms`` (5000) with no
  more speech. ``end_of_turn_confidence`` is 0 while a turn goes on and the threshold crossed at its end
  (1.0 when forced or timed out). ``turn_index`` counts the turns.

``Configure`` changes the thresholds and keyterms mid-stream (answered ``ConfigureSuccess`` with the settings
now in force, or ``ConfigureFailure``); ``CloseStream`` ends the last turn and closes; ``KeepAlive`` keeps an idle
stream open. Bad query options refuse the handshake with Deepgram's error body. Billed like ``/v1/listen``.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field

from anyio import to_thread

from ..wire import options as listen_options
from ..wire.errors import EngineError
from .live import LiveOptions, LiveSession, listen_websocket, parse_live_options

PATH = "/v2/listen"
MODELS = ("flux-general-en",)
DEFAULT_EOT, DEFAULT_TIMEOUT_MS = 0.7, 5000
#: query options passed on to the shared /v1/listen parser as they are
SHARED = ("encoding", "sample_rate", "keyterm", "tag", "mip_opt_out", "profanity_filter", "redact", "numerals")
KNOWN = {"model", "eot_threshold", "eager_eot_threshold", "eot_timeout_ms", "language_hint", *SHARED}


@dataclass
class Thresholds:
    """When a turn ends (Deepgram's names and ranges)."""

    eot_threshold: float = DEFAULT_EOT
    eager_eot_threshold: float | None = None
    eot_timeout_ms: int = DEFAULT_TIMEOUT_MS

    def checked(self) -> "Thresholds":
        if not 0.5 <= self.eot_threshold <= 1.0:
            raise EngineError(400, "INVALID_QUERY_PARAMETER", f"eot_threshold must be from 0.5 to 1.0, not {self.eot_threshold}")
        if self.eager_eot_threshold is not None and not 0.3 <= self.eager_eot_threshold <= min(0.9, self.eot_threshold):
            raise EngineError(400, "INVALID_QUERY_PARAMETER", "eager_eot_threshold must be from 0.3 to 0.9 and at most "
                                                              f"eot_threshold, not {self.eager_eot_threshold}")
        if not 500 <= self.eot_timeout_ms <= 60000:
            raise EngineError(400, "INVALID_QUERY_PARAMETER", f"eot_timeout_ms must be from 500 to 60000, not {self.eot_timeout_ms}")
        return self

    def pause(self) -> float | None:
        """Seconds of silence that end a turn (None: only ForceEndTurn or the timeout end one)."""
        return None if self.eot_threshold >= 1.0 else 0.3 * self.eot_threshold / DEFAULT_EOT

    def as_dict(self) -> dict:
        out = {"eot_threshold": self.eot_threshold, "eot_timeout_ms": self.eot_timeout_ms}
        if self.eager_eot_threshold is not None:
            out["eager_eot_threshold"] = self.eager_eot_threshold
        return out


@dataclass
class FluxOptions(LiveOptions):
    thresholds: Thresholds = field(default_factory=Thresholds)
    keyterms: list[str] = field(default_factory=list)


def parse_flux_options(multi_items) -> FluxOptions:
    """The handshake's query (raises EngineError 400 with a clear message).

    >>> o = parse_flux_options([("model", "flux-general-en"), ("encoding", "linear16"), ("sample_rate", "16000"),
    ...                         ("eot_threshold", "0.8")])
    >>> o.thresholds.eot_threshold, round(o.segmenter.endpointing, 3), o.segmenter.utterance_end
    (0.8, 0.343, 5.0)
    """
    items = list(multi_items)
    unknown = sorted({k for k, _ in items} - KNOWN)
    if unknown:
        raise EngineError(400, "INVALID_QUERY_PARAMETER", f"/v2/listen does not take {', '.join(unknown)}")
    last = {k: v for k, v in items}
    model = last.get("model")
    if model not in MODELS:
        raise EngineError(400, "INVALID_QUERY_PARAMETER", f"model must be a Flux model ({', '.join(MODELS)}), "
                                                          f"not {model!r}" if model else "model is required (flux-general-en)")
    thresholds = Thresholds(
        listen_options._number("eot_threshold", last.get("eot_threshold", str(DEFAULT_EOT)), float),
        listen_options._number("eager_eot_threshold", last["eager_eot_threshold"], float)
        if "eager_eot_threshold" in last else None,
        listen_options._number("eot_timeout_ms", last.get("eot_timeout_ms", str(DEFAULT_TIMEOUT_MS)), int),
    ).checked()
    shared = [(k, v) for k, v in items if k in SHARED] + [("punctuate", "true"), ("interim_results", "true")]
    base = parse_live_options(shared)
    opts = FluxOptions(base.listen, base.segmenter, base.sample_rate, 1, thresholds,
                       [v for k, v in items if k == "keyterm"])
    _apply(opts)
    return opts


def _apply(opts: FluxOptions) -> None:
    """The thresholds and keyterms as the segmenter's and recogniser's settings."""
    opts.segmenter.endpointing = opts.thresholds.pause()
    opts.segmenter.utterance_end = opts.thresholds.eot_timeout_ms / 1000.0
    opts.listen.keyterm = list(opts.keyterms)


class FluxSession(LiveSession):
    """One Flux stream: the live session's work, answered in turns."""

    PATH = PATH
    CONTROLS = {"CloseStream": "close", "ForceEndTurn": "finalize", "Configure": "configure"}

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.sequence_id = 0
        self.turn_index = 0
        self.turn_words: list[dict] = []  # the current turn's final words
        self.turn_start: float | None = None  # None: no turn under way

    async def run(self) -> None:
        await self.send({"type": "Connected", "request_id": self.request_id})
        await super().run()

    def _outgoing(self, message: dict) -> dict:
        message = {**message, "sequence_id": self.sequence_id}  # counts every message sent
        self.sequence_id += 1
        return message

    # ------------------------------------------------------------------ turns
    async def _send_events(self, events: list) -> None:
        for channel, ev in events:
            if ev.kind == "utterance_end":  # eot_timeout_ms with no more speech
                if self.turn_start is not None:
                    await self._end_turn(ev.timestamp, "timeout", 1.0)
                continue
            if ev.kind != "results":
                continue
            message = await to_thread.run_sync(self._results_message, channel, 1, ev)
            words = message["channel"]["alternatives"][0]["words"]
            current = self.turn_words + words
            if ev.is_final:
                self.turn_words = current
            if self.turn_start is None:
                if not current:
                    continue
                self.turn_start = ev.start
                await self._turn_info("StartOfTurn", ev.end, current)
                if not ev.is_final or not (ev.speech_final or ev.from_finalize):
                    continue
            if ev.is_final and ev.from_finalize:
                await self._end_turn(ev.end, "manual", 1.0)
            elif ev.is_final and ev.speech_final and self.turn_words:
                await self._end_turn(ev.end, "model", self.opts.thresholds.eot_threshold)
            else:
                await self._turn_info("Update", ev.end, current)

    async def _turn_info(self, event: str, end: float, words: list[dict], confidence: float = 0.0, **extra) -> None:
        await self.send({
            "type": "TurnInfo", "request_id": self.request_id, "event": event, "turn_index": self.turn_index,
            "audio_window_start": round(self.turn_start or 0.0, 3), "audio_window_end": round(end, 3),
            "transcript": " ".join(w.get("punctuated_word") or w["word"] for w in words),
            "words": [{"word": w.get("punctuated_word") or w["word"], "confidence": w["confidence"],
                       "start": w["start"], "end": w["end"]} for w in words],
            "end_of_turn_confidence": confidence, **extra})

    async def _end_turn(self, end: float, trigger: str, confidence: float) -> None:
        await self._turn_info("EndOfTurn", end, self.turn_words, confidence, trigger=trigger)
        self.turn_index += 1
        self.turn_words, self.turn_start = [], None

    def _closing_messages(self) -> list[dict]:
        return []  # CloseStream's flush has ended the last turn (see _finish)

    def _finish(self) -> list:
        events = super()._finish()
        # the stream ends: a turn under way ends with it, on the pause after its last words
        for _, ev in events:
            if ev.kind == "results" and ev.is_final:
                ev.speech_final = True
        return events

    # ------------------------------------------------------------------ control
    async def _control(self, kind: str, text: str) -> None:
        if kind == "configure":
            await self._configure_turns(json.loads(text))

    async def _configure_turns(self, message: dict) -> None:
        opts: FluxOptions = self.opts
        try:
            given = message.get("thresholds") or {}
            if not isinstance(given, dict):
                raise EngineError(400, "INVALID_CONFIGURE", "thresholds must be an object")
            unknown = set(given) - set(Thresholds.__dataclass_fields__)
            if unknown:
                raise EngineError(400, "INVALID_CONFIGURE", f"thresholds takes eot_threshold, eager_eot_threshold and "
                                                            f"eot_timeout_ms, not {sorted(unknown)}")
            now = opts.thresholds.as_dict()
            now.update({k: v for k, v in given.items() if v is not None})
            thresholds = Thresholds(**now)
            if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in now.values()):
                raise EngineError(400, "INVALID_CONFIGURE", "thresholds must be numbers")
            thresholds.checked()
            keyterms = message.get("keyterms", opts.keyterms)
            keyterms = [keyterms] if isinstance(keyterms, str) else keyterms
            if not isinstance(keyterms, list) or not all(isinstance(k, str) for k in keyterms):
                raise EngineError(400, "INVALID_CONFIGURE", "keyterms must be a string or a list of strings")
        except EngineError as exc:
            await self.send({"type": "ConfigureFailure", "request_id": self.request_id, "code": exc.err_code,
                             "description": exc.err_msg})
            return
        opts.thresholds, opts.keyterms = thresholds, list(keyterms)
        _apply(opts)
        self.hotwords = opts.listen.hotwords
        await self.send({"type": "ConfigureSuccess", "request_id": self.request_id, "thresholds": thresholds.as_dict(),
                         "keyterms": list(keyterms)})

    # ------------------------------------------------------------------ errors (Deepgram's v2 shape)
    def _error_message(self, code: str, description: str) -> dict:
        return {"type": "Error", "code": code, "description": description}

    def _bad_text_message(self, text: str) -> dict:
        return self._error_message("UNPARSABLE_CLIENT_MESSAGE", "text messages must be JSON with type "
                                   "KeepAlive, Configure, ForceEndTurn or CloseStream")


async def flux_websocket(websocket) -> None:
    """The WebSocket /v2/listen endpoint (mounted by ``app.py``)."""
    await listen_websocket(websocket, parse_flux_options, FluxSession)
