"""Groupings of the management API's usage and billing breakdowns.

>>> from dgnb.protocol.usage import USAGE_FILTERS, USAGE_GROUPINGS
>>> "models" in USAGE_GROUPINGS, "diarize" in USAGE_FILTERS
(True, True)
"""
from __future__ import annotations

#: ``grouping`` values of ``GET /v1/projects/{id}/usage/breakdown``.
USAGE_GROUPINGS = ("accessor", "endpoint", "feature_set", "models", "method", "tags", "deployment")

#: ``grouping`` values of ``GET /v1/projects/{id}/billing/breakdown``.
BILLING_GROUPINGS = ("accessor", "deployment", "line_item", "tags")

#: Listen features a request's usage record names, and that usage filters by (``?diarize=true``).
USAGE_FEATURES = ("alternatives", "diarize", "detect_entities", "detect_language", "dictation", "filler_words",
                  "intents", "keyterm", "keywords", "measurements", "multichannel", "numerals", "paragraphs",
                  "profanity_filter", "punctuate", "redact", "replace", "search", "sentiment", "smart_format",
                  "summarize", "topics", "utterances")

#: Query filters of ``/usage`` and ``/usage/breakdown`` besides ``start`` and ``end``.
USAGE_FILTERS = frozenset(USAGE_FEATURES) | {
    "accessor", "callback", "callback_method", "channels", "custom_intent", "custom_intent_mode", "custom_topic",
    "custom_topic_mode", "deployment", "encoding", "endpoint", "extra", "language", "method", "model",
    "sample_rate", "tag", "utt_split", "version",
}
