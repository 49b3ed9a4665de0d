"""Query options of ``/v1/listen`` (pre-recorded and live).

>>> from dgnb.protocol.listen import LISTEN_OPTIONS, LIVE_OPTIONS
>>> "diarize" in LISTEN_OPTIONS, "interim_results" in LISTEN_OPTIONS, "interim_results" in LIVE_OPTIONS
(True, False, True)
>>> is_stt_model("nova-2-phonecall"), is_stt_model("nova-9")
(True, False)
"""
from __future__ import annotations

#: Every /v1/listen query option of Deepgram's pre-recorded API.
LISTEN_OPTIONS = frozenset({
    "callback", "callback_method", "custom_intent", "custom_intent_mode", "custom_topic", "custom_topic_mode",
    "detect_entities", "detect_language", "diarize", "diarize_model", "dictation", "encoding", "extra",
    "filler_words", "intents", "keyterm", "keywords", "language", "measurements", "mip_opt_out", "model",
    "multichannel", "numerals", "paragraphs", "profanity_filter", "punctuate", "redact", "replace", "search",
    "sentiment", "smart_format", "summarize", "tag", "topics", "utt_split", "utterances", "version",
    # accepted by the API though not in every reference
    "sample_rate", "channels", "alternatives", "detect_topics", "diarize_version", "ner", "tier",
})

#: The options that take ``true`` or ``false``.
BOOLEAN_OPTIONS = frozenset({
    "punctuate", "smart_format", "diarize", "multichannel", "numerals", "profanity_filter", "utterances",
    "paragraphs", "filler_words", "dictation", "measurements", "sentiment", "topics", "intents", "detect_entities",
    "detect_topics", "mip_opt_out", "ner",
})

#: Formatting features a live stream's ``Configure`` message may turn on or off (its ``features``).
CONFIGURE_FEATURES = frozenset({"punctuate", "smart_format", "numerals", "profanity_filter", "filler_words"})
KEYTERM_TOKEN_LIMIT = 500  # keyterms of a stream, counted in words (Deepgram counts tokens)

#: Options that only a live stream takes.
LIVE_ONLY_OPTIONS = frozenset({"interim_results", "endpointing", "utterance_end_ms", "vad_events", "no_delay"})

#: Every query option of the live ``/v1/listen`` WebSocket.
LIVE_OPTIONS = LISTEN_OPTIONS | LIVE_ONLY_OPTIONS

#: Text messages a client sends on a live stream.
LIVE_CONTROL_MESSAGES = ("KeepAlive", "Finalize", "CloseStream", "Configure")

#: Message types a live stream answers with.
LIVE_SERVER_MESSAGES = ("Results", "SpeechStarted", "UtteranceEnd", "Metadata", "Error", "Warning")

#: Deepgram's speech-to-text models on ``/v1/listen`` and their options (``nova-2-phonecall``...); a
#: family name alone (``nova-2``) means its general option. Flux is ``/v2/listen`` only.
STT_MODELS = {
    "nova-3": ("general", "medical"),
    "nova-2": ("general", "meeting", "phonecall", "finance", "conversationalai", "voicemail", "video", "medical",
               "drivethru", "automotive", "atc"),
    "nova": ("general", "phonecall", "medical"),
    "enhanced": ("general", "meeting", "phonecall", "finance"),
    "base": ("general", "meeting", "phonecall", "finance", "conversationalai", "voicemail", "video"),
    "whisper": ("tiny", "base", "small", "medium", "large"),
}


def is_stt_model(name: str) -> bool:
    """Whether ``name`` is one of Deepgram's /v1/listen model names (family, or family-option)."""
    name = name.strip().lower()
    return name in STT_MODELS or any(name == f"{family}-{option}" for family, options in STT_MODELS.items()
                                     for option in options)
