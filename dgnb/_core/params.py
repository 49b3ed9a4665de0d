"""Query options: validation against the names an endpoint knows, and Deepgram's encoding of values."""
from __future__ import annotations

import difflib
from typing import Any, Iterable, Mapping


def check_options(options: Mapping[str, Any], known: Iterable[str], endpoint: str) -> None:
    """Raise ValueError for an option ``endpoint`` does not know, with a "did you mean" hint.

    >>> check_options({"diarise": True}, ["diarize", "punctuate"], "/v1/listen")
    Traceback (most recent call last):
    ...
    ValueError: unknown option 'diarise' for /v1/listen; did you mean 'diarize'? (pass truly new options as extra_query={...})
    """
    known = set(known)
    for name in options:
        if name in known:
            continue
        close = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ValueError(
            f"unknown option {name!r} for {endpoint}{hint} (pass truly new options as extra_query={{...}})"
        )


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def encode_params(options: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Encode options as Deepgram expects: booleans as true/false, lists as repeated parameters,
    dicts as repeated ``key:value`` (``extra``, ``replace``), ``None`` left out.

    >>> encode_params({"diarize": True, "keyterm": ["a", "b"], "extra": {"k": "v"}, "tag": None})
    [('diarize', 'true'), ('keyterm', 'a'), ('keyterm', 'b'), ('extra', 'k:v')]
    """
    params: list[tuple[str, str]] = []
    for name, value in options.items():
        if value is None:
            continue
        if isinstance(value, Mapping):
            params.extend((name, f"{k}:{_scalar(v)}") for k, v in value.items())
        elif isinstance(value, (list, tuple, set, frozenset)):
            for item in value:
                if isinstance(item, tuple):  # ("word", 2) -> word:2 (keywords with intensifiers)
                    item = ":".join(_scalar(x) for x in item)
                params.append((name, _scalar(item)))
        else:
            params.append((name, _scalar(value)))
    return params
