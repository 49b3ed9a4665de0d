"""Pure transforms on Deepgram-style word lists: paragraphs, utterances, redaction, numerals,
profanity, filler words, search and find-and-replace.

A word is a dict {"word", "start", "end", "confidence", "punctuated_word", optional "speaker",
"speaker_confidence"}. Functions that change words return new lists and never mutate their input.
"""
from __future__ import annotations

import difflib
import re
import uuid
from typing import Iterable

__all__ = [
    "transcript", "sentences", "paragraphs", "utterances", "redact", "numerals", "profanity_filter",
    "filler_words", "search", "replace", "parse_replace", "REDACT_KINDS",
]

_SENTENCE_END = re.compile(r"[.?!][\"')\]]*$")
_TRAILING_PUNCT = re.compile(r"[^\w\]]+$")


def _pw(w: dict) -> str:
    return str(w.get("punctuated_word") or w.get("word") or "")


def transcript(words: list[dict]) -> str:
    """The words' punctuated text joined by spaces."""
    return " ".join(_pw(w) for w in words if _pw(w))


def sentences(words: list[dict]) -> list[tuple[int, int]]:
    """Sentence boundaries as (first index, end index exclusive), split after ., ? or !."""
    out, start = [], 0
    for i, w in enumerate(words):
        if _SENTENCE_END.search(_pw(w)):
            out.append((start, i + 1))
            start = i + 1
    if start < len(words):
        out.append((start, len(words)))
    return out


def paragraphs(words: list[dict], *, by_speaker: bool = False, pause: float = 1.5,
               max_sentences: int = 5) -> dict:
    """Deepgram's ``paragraphs`` object: {"transcript", "paragraphs": [{sentences, start, end, num_words[, speaker]}]}.

    A new paragraph starts at a speaker change (when ``by_speaker``), after a silence longer than
    ``pause`` seconds between sentences, or after ``max_sentences`` sentences. The transcript
    starts with a newline and separates paragraphs with a blank line, each prefixed by
    "Speaker N: " when ``by_speaker``, as Deepgram does.
    """
    groups: list[list[tuple[int, int]]] = []
    for a, b in sentences(words):
        # a sentence spoken by two speakers is cut at the speaker change
        pieces = [(a, b)]
        if by_speaker:
            pieces, s = [], a
            for i in range(a + 1, b):
                if words[i].get("speaker") != words[i - 1].get("speaker"):
                    pieces.append((s, i))
                    s = i
            pieces.append((s, b))
        for a2, b2 in pieces:
            if groups:
                last = groups[-1][-1]
                new = (len(groups[-1]) >= max_sentences
                       or float(words[a2]["start"]) - float(words[last[1] - 1]["end"]) > pause
                       or (by_speaker and words[a2].get("speaker") != words[last[0]].get("speaker")))
                if not new:
                    groups[-1].append((a2, b2))
                    continue
            groups.append([(a2, b2)])
    paras, texts = [], []
    for group in groups:
        sents = [{"text": transcript(words[a:b]), "start": float(words[a]["start"]),
                  "end": float(words[b - 1]["end"])} for a, b in group]
        first, last = group[0][0], group[-1][1]
        para = {"sentences": sents, "start": sents[0]["start"], "end": sents[-1]["end"],
                "num_words": last - first}
        text = " ".join(s["text"] for s in sents)
        if by_speaker:
            speaker = int(words[first].get("speaker", 0))
            para["speaker"] = speaker
            text = f"Speaker {speaker}: {text}"
        paras.append(para)
        texts.append(text)
    return {"transcript": ("\n" + "\n\n".join(texts)) if texts else "", "paragraphs": paras}


def utterances(words: list[dict], *, channel: int = 0, utt_split: float = 0.8) -> list[dict]:
    """Deepgram utterances: runs of words split at pauses longer than ``utt_split`` s or a speaker change.

    Each: {start, end, confidence, channel, transcript, words, speaker (when diarized), id (uuid4)}.
    """
    if utt_split < 0:
        raise ValueError("utt_split must be a non-negative number of seconds")
    runs: list[list[dict]] = []
    for w in words:
        if runs:
            prev = runs[-1][-1]
            if (float(w["start"]) - float(prev["end"]) <= utt_split
                    and w.get("speaker") == prev.get("speaker")):
                runs[-1].append(w)
                continue
        runs.append([w])
    out = []
    for run in runs:
        utt = {
            "start": float(run[0]["start"]),
            "end": float(run[-1]["end"]),
            "confidence": sum(float(w.get("confidence", 0.0)) for w in run) / len(run),
            "channel": int(channel),
            "transcript": transcript(run),
            "words": [dict(w) for w in run],
        }
        if "speaker" in run[0]:
            utt["speaker"] = int(run[0]["speaker"])
        utt["id"] = str(uuid.uuid4())
        out.append(utt)
    return out


# --------------------------------------------------------------------------- numbers

_UNITS = {w: i for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen".split())}
_UNITS["oh"] = 0
_TENS = {w: 10 * i for i, w in enumerate("_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()) if i >= 2}
_SCALES = {"hundred": 100, "thousand": 1000, "million": 10 ** 6, "billion": 10 ** 9}
_NUMBER_WORDS = set(_UNITS) | set(_TENS) | set(_SCALES)


def _norm(w: dict) -> str:
    return re.sub(r"[^\w'-]", "", str(w.get("word", "")).lower())


def _is_number_word(tok: str, prev_is_number: bool) -> bool:
    if tok == "oh":
        return prev_is_number  # "oh" is a zero only inside a digit string
    return tok in _NUMBER_WORDS or all(p in _NUMBER_WORDS for p in tok.split("-")) and "-" in tok


def _parse_number(tokens: list[str]) -> str:
    """Spoken number words -> digits. Runs without scale words concatenate ("nineteen eighty four" -> 1984)."""
    toks: list[str] = []
    for t in tokens:
        toks.extend(p for p in t.split("-") if p and p != "and")
    chunks: list[str] = []
    total, current, has_scale = 0, None, False
    last_kind = None  # "unit" | "teen" | "tens" | "scale"

    def flush():
        nonlocal total, current, has_scale
        if current is not None or total:
            chunks.append(str(total + (current or 0)))
        total, current, has_scale = 0, None, False

    for t in toks:
        if t in _SCALES:
            scale = _SCALES[t]
            current = current or 1
            if scale == 100:
                current *= 100
            else:
                total += current * scale
                current = 0
            has_scale = True
            last_kind = "scale"
        elif t in _TENS:
            if current is not None and (last_kind in ("unit", "teen", "tens") or (current % 100) != 0):
                if not has_scale:
                    flush()
            current = (current or 0) + _TENS[t]
            last_kind = "tens"
        else:
            v = _UNITS[t]
            kind = "teen" if v >= 10 else "unit"
            if current is not None and last_kind in ("unit", "teen") or (last_kind == "tens" and kind == "teen"):
                flush()
            elif last_kind == "scale" and current is None:
                current = 0
            current = (current or 0) + v
            last_kind = kind
    flush()
    return "".join(chunks)


def _merge(run: list[dict], word: str, punctuated: str) -> dict:
    out = dict(run[0])
    out.update(word=word, punctuated_word=punctuated, end=run[-1]["end"],
               confidence=min(float(w.get("confidence", 1.0)) for w in run))
    return out


def _trailing_punct(w: dict) -> str:
    m = _TRAILING_PUNCT.search(_pw(w))
    return m.group(0) if m else ""


def numerals(words: list[dict]) -> list[dict]:
    """Spoken numbers to digits ("twenty five" -> "25", "four one one one" -> "4111").

    A lone "one" is left as a word (it is usually a pronoun: "the one I want").
    """
    out: list[dict] = []
    i = 0
    while i < len(words):
        j = i
        while j < len(words) and (_is_number_word(_norm(words[j]), j > i) or (
                _norm(words[j]) == "and" and j > i and _norm(words[j - 1]) in _SCALES
                and j + 1 < len(words) and _is_number_word(_norm(words[j + 1]), True))):
            j += 1
            if _trailing_punct(words[j - 1]) not in ("", "-"):
                break  # a sentence or clause ends inside the run
        run = words[i:j]
        if run and not (len(run) == 1 and _norm(run[0]) in ("one", "oh")):
            digits = _parse_number([_norm(w) for w in run])
            lead = re.match(r"^\W*", _pw(run[0])).group(0)
            out.append(_merge(run, digits, lead + digits + _trailing_punct(run[-1])))
            i = j
        else:
            out.append(dict(words[i]))
            i += 1
    return out


# --------------------------------------------------------------------------- redaction

REDACT_KINDS = {"pci", "ssn", "numbers", "true", "aggressive_numbers", "pii", "email_address", "phone_number"}


def _digits_of(w: dict) -> str | None:
    """The digits a word stands for ("4111", "four" -> "4"), or None if it is not numeric."""
    tok = _norm(w)
    if re.fullmatch(r"[\d-]+", tok) and any(c.isdigit() for c in tok):
        return tok.replace("-", "")
    if tok in _UNITS and _UNITS[tok] < 10:
        return str(_UNITS[tok])
    return None


def _numeric_runs(words: list[dict]) -> list[tuple[int, int, str]]:
    runs, i = [], 0
    while i < len(words):
        if _digits_of(words[i]) is None:
            i += 1
            continue
        j, digits = i, ""
        while j < len(words) and _digits_of(words[j]) is not None:
            digits += _digits_of(words[j])
            j += 1
            if _trailing_punct(words[j - 1]) not in ("", "-"):
                break
        runs.append((i, j, digits))
        i = j
    return runs


def redact(words: list[dict], kinds: Iterable[str] | str) -> list[dict]:
    """Replace sensitive spans with Deepgram-style entity tokens such as "[CREDIT_CARD_1]".

    Kinds: ``pci`` (card numbers: 13-19 digits, spoken or written, with a valid Luhn check or
    grouped 4-4-4-4), ``ssn`` (9 digits, or 3-2-4 groups), ``numbers``/``true``/``aggressive_numbers``
    (any run of 3 or more numerals -> "[NUMBER_n]"), ``email_address``, ``phone_number`` and
    ``pii`` (ssn + email + phone + names found by :func:`dgnb.local.models.intelligence.entities`).
    The redacted word keeps the run's start, end and the last word's trailing punctuation.
    """
    kinds = {kinds} if isinstance(kinds, str) else set(kinds)
    kinds = {str(k).strip().lower() for k in kinds if str(k).strip()}
    unknown = kinds - REDACT_KINDS - {"false"}
    if unknown:
        raise ValueError(f"unsupported redact value(s): {', '.join(sorted(unknown))}; "
                         f"supported: {', '.join(sorted(REDACT_KINDS))}")
    kinds.discard("false")
    if "pii" in kinds:
        kinds |= {"ssn", "email_address", "phone_number", "name"}
    spans: list[tuple[int, int, str]] = []
    for a, b, digits in _numeric_runs(words):
        if "pci" in kinds and 13 <= len(digits) <= 19 and (_luhn(digits) or len(digits) == 16):
            spans.append((a, b, "CREDIT_CARD"))
        elif "ssn" in kinds and len(digits) == 9:
            spans.append((a, b, "SSN"))
        elif kinds & {"numbers", "true", "aggressive_numbers"} and len(digits) >= 3:
            spans.append((a, b, "NUMBER"))
    entity_kinds = {"email_address": "EMAIL_ADDRESS", "phone_number": "PHONE_NUMBER", "name": "NAME"}
    if kinds & set(entity_kinds):
        from ..models.intelligence import entities as find_entities

        wanted = {entity_kinds[k] for k in kinds if k in entity_kinds}
        for e in find_entities(words):
            if e["label"] in wanted:
                spans.append((e["start_word"], e["end_word"], e["label"]))
    spans.sort()
    out: list[dict] = []
    counters: dict[str, int] = {}
    i = 0
    for a, b, label in spans:
        if a < i:
            continue  # overlaps a span already redacted
        out.extend(dict(w) for w in words[i:a])
        counters[label] = counters.get(label, 0) + 1
        token = f"[{label}_{counters[label]}]"
        out.append(_merge(words[a:b], token.lower(), token + _trailing_punct(words[b - 1]).lstrip("-")))
        i = b
    out.extend(dict(w) for w in words[i:])
    return out


def _luhn(digits: str) -> bool:
    total = 0
    for k, ch in enumerate(reversed(digits)):
        d = int(ch)
        if k % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


# --------------------------------------------------------------------------- profanity, fillers

PROFANITY = frozenset(
    "fuck fucking fucked fucker motherfucker shit shitty bullshit bitch bastard asshole ass damn "
    "goddamn crap dick piss pissed cunt whore slut".split())
FILLERS = frozenset("uh um uhm er erm ah hmm mm mhm".split())


def profanity_filter(words: list[dict]) -> list[dict]:
    """Mask profane words with asterisks of the same length, as Deepgram does ("****")."""
    out = []
    for w in words:
        w2 = dict(w)
        tok = _norm(w)
        if tok in PROFANITY:
            mask = "*" * len(tok)
            w2["word"] = mask
            w2["punctuated_word"] = re.sub(r"[A-Za-z']+", mask, _pw(w), count=1)
        out.append(w2)
    return out


def filler_words(words: list[dict], keep: bool) -> list[dict]:
    """Keep filler words ("uh", "um", ...) only when ``keep``; otherwise drop them.

    Deepgram leaves fillers out unless ``filler_words=true``. The local recogniser rarely emits them,
    so with ``keep`` this is a copy of the input.
    """
    if keep:
        return [dict(w) for w in words]
    out = []
    for w in words:
        if _norm(w) in FILLERS:
            # keep sentence punctuation that was attached to the dropped filler
            p = _trailing_punct(w)
            if out and p and _SENTENCE_END.search(p) and not _trailing_punct(out[-1]):
                out[-1]["punctuated_word"] = _pw(out[-1]) + p
            continue
        out.append(dict(w))
    if out and words and _pw(words[0])[:1].isupper() and not _pw(out[0])[:1].isupper():
        out[0]["punctuated_word"] = _pw(out[0])[:1].upper() + _pw(out[0])[1:]
    return out


# --------------------------------------------------------------------------- search, replace

def search(words: list[dict], queries: Iterable[str] | str, *, threshold: float = 0.6,
           max_hits: int = 10) -> list[dict]:
    """Deepgram's search results: [{"query", "hits": [{"confidence", "start", "end", "snippet"}]}].

    Text-based fuzzy matching: every run of as many words as the query is compared to it with
    difflib's ratio (letters only, case-insensitive); hits scoring at least ``threshold`` are
    returned best first, overlapping hits collapsed to the best one.
    """
    queries = [queries] if isinstance(queries, str) else list(queries)
    toks = [re.sub(r"[^a-z0-9' ]", "", str(w.get("word", "")).lower()) for w in words]
    results = []
    for q in queries:
        qn = " ".join(re.sub(r"[^a-z0-9' ]", " ", str(q).lower()).split())
        n = max(1, len(qn.split()))
        cands = []
        for size in {max(1, n - 1), n, n + 1}:
            for i in range(0, len(words) - size + 1):
                text = " ".join(toks[i:i + size])
                score = difflib.SequenceMatcher(None, qn, text).ratio()
                if score >= threshold:
                    cands.append((score, i, i + size))
        cands.sort(key=lambda c: (-c[0], c[1]))
        hits, taken = [], []
        for score, a, b in cands:
            if any(a < y and x < b for x, y in taken):
                continue
            taken.append((a, b))
            hits.append({"confidence": round(score, 4), "start": float(words[a]["start"]),
                         "end": float(words[b - 1]["end"]), "snippet": transcript(words[a:b])})
            if len(hits) >= max_hits:
                break
        results.append({"query": str(q), "hits": hits})
    return results


def parse_replace(pairs: Iterable[str | tuple[str, str]] | str) -> list[tuple[str, str]]:
    """Normalise replace options: "find:replace" strings or (find, replace) pairs."""
    pairs = [pairs] if isinstance(pairs, str) else list(pairs)
    out = []
    for p in pairs:
        if isinstance(p, (tuple, list)) and len(p) == 2:
            find, rep = str(p[0]), str(p[1])
        else:
            s = str(p)
            if ":" not in s:
                find, rep = s, ""
            else:
                find, rep = s.split(":", 1)
        if not find.strip():
            raise ValueError(f"replace term {p!r} has nothing to find")
        out.append((find.strip(), rep.strip()))
    return out


def replace(words: list[dict], pairs) -> list[dict]:
    """Find-and-replace on words (case-insensitive, whole words, phrases allowed); empty replace removes."""
    rules = [([t for t in re.sub(r"[^\w' ]", " ", f.lower()).split()], r) for f, r in parse_replace(pairs)]
    out: list[dict] = []
    i = 0
    while i < len(words):
        for find, rep in rules:
            n = len(find)
            if n and [_norm(w) for w in words[i:i + n]] == find:
                if rep:
                    out.append(_merge(words[i:i + n], rep.lower(), rep + _trailing_punct(words[i + n - 1])))
                i += n
                break
        else:
            out.append(dict(words[i]))
            i += 1
    return out
