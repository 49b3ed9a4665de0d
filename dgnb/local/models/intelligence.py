"""Text intelligence on word lists, in Deepgram's reply shapes: sentiment, topics, intents,
summaries and entities. Used by /v1/listen and /v1/read (for /v1/read, build words with
:func:`words_from_text`).

Engines: VADER (sentiment), YAKE (topics), documented heuristics (intents, entities) and an
extractive centrality summariser. Segment word ranges are inclusive (``end_word`` is the index of
the segment's last word, as in Deepgram's sentiment and topic segments); entity ``end_word`` is
exclusive (one past the last word).
"""
from __future__ import annotations

import math
import re
from collections import Counter
from functools import lru_cache

__all__ = [
    "sentiment", "topics", "intents", "summarize", "entities", "words_from_text", "label_for",
    "POSITIVE_THRESHOLD",
]

#: Deepgram's break point between neutral and positive/negative sentiment scores.
POSITIVE_THRESHOLD = 1.0 / 3.0

_SENT_END = re.compile(r"[.?!][\"')\]]*$")
_STOP = frozenset("""a about above after again against all am an and any are as at be because been before being
below between both but by can could did do does doing down during each few for from further had has have
having he her here hers herself him himself his how i if in into is it its itself just let me more most my
myself no nor not now of off on once only or other our ours ourselves out over own same she should so some
such than that the their theirs them themselves then there these they this those through to too under until
up very was we were what when where which while who whom why will with would you your yours yourself
yourselves dot okay ok yes yeah hi hello oh um uh well really also get got going go gonna like thing things
i'm it's that's don't can't i've you're we're they're i'll you'll we'll there's let's one""".split())


# --------------------------------------------------------------------------- helpers

def words_from_text(text: str) -> list[dict]:
    """Word dicts for plain text (for /v1/read): times are word indices, confidence 1."""
    out = []
    for i, tok in enumerate(str(text).split()):
        bare = re.sub(r"[^\w'@.-]", "", tok.lower()).strip(".-'")
        out.append({"word": bare or tok.lower(), "start": float(i), "end": float(i + 1),
                    "confidence": 1.0, "punctuated_word": tok})
    return out


def _pw(w: dict) -> str:
    return str(w.get("punctuated_word") or w.get("word") or "")


def _text(words: list[dict], a: int, b: int) -> str:
    return " ".join(_pw(w) for w in words[a:b] if _pw(w))


def _sentences(words: list[dict]) -> list[tuple[int, int]]:
    """(first, end exclusive) per sentence; a speaker change also ends a sentence."""
    out, start = [], 0
    for i, w in enumerate(words):
        nxt = words[i + 1] if i + 1 < len(words) else None
        if _SENT_END.search(_pw(w)) or nxt is None or nxt.get("speaker") != w.get("speaker"):
            out.append((start, i + 1))
            start = i + 1
    return out


def _speaker(words: list[dict], index: int):
    return words[index].get("speaker")


def label_for(score: float) -> str:
    """positive / neutral / negative with Deepgram's +-1/3 break points."""
    if score >= POSITIVE_THRESHOLD:
        return "positive"
    if score <= -POSITIVE_THRESHOLD:
        return "negative"
    return "neutral"


def _content_tokens(text: str) -> list[str]:
    return [t for t in re.findall(r"[a-z][a-z'-]+", text.lower()) if t not in _STOP and len(t) > 2]


def _stem(t: str) -> str:
    for suf in ("ations", "ation", "ings", "ing", "ies", "ied", "ed", "es", "s", "ly"):
        if t.endswith(suf) and len(t) - len(suf) >= 3:
            return t[: -len(suf)]
    return t


# --------------------------------------------------------------------------- sentiment

@lru_cache(maxsize=1)
def _vader():
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


def sentiment(words: list[dict], *, annotate: bool = False) -> dict:
    """Deepgram ``sentiments``: {"segments": [{text, start_word, end_word, sentiment, sentiment_score}], "average"}.

    Each sentence is scored with VADER's compound score; consecutive sentences of one speaker with
    the same label are merged into one segment (Deepgram reports sentiment shifts), scored by their
    word-weighted mean: a segment never spans a change of speaker. ``average`` is the word-weighted
    mean over the whole text. With ``annotate`` every word also gets its segment's "sentiment" and
    "sentiment_score" (in place), as Deepgram does.
    """
    analyzer = _vader()
    scored = []
    for a, b in _sentences(words):
        score = float(analyzer.polarity_scores(_text(words, a, b))["compound"])
        scored.append([a, b, score * (b - a), label_for(score)])
    merged: list[list] = []
    for a, b, weighted, lab in scored:
        if merged and merged[-1][3] == lab and _speaker(words, merged[-1][0]) == _speaker(words, a):
            merged[-1][1] = b
            merged[-1][2] += weighted
        else:
            merged.append([a, b, weighted, lab])
    segments = []
    total_w, total = 0, 0.0
    for a, b, weighted, _ in merged:
        score = weighted / (b - a)
        segments.append({"text": _text(words, a, b), "start_word": a, "end_word": b - 1,
                         "sentiment": label_for(score), "sentiment_score": score})
        total += weighted
        total_w += b - a
        if annotate:
            for w in words[a:b]:
                w["sentiment"] = label_for(score)
                w["sentiment_score"] = score
    avg = total / total_w if total_w else 0.0
    return {"segments": segments, "average": {"sentiment": label_for(avg), "sentiment_score": avg}}


# --------------------------------------------------------------------------- topics

def _chunks(words: list[dict], max_sentences: int = 3) -> list[tuple[int, int]]:
    """Segments for topics/intents: up to ``max_sentences`` sentences of one speaker."""
    out: list[list[int]] = []
    count = 0
    for a, b in _sentences(words):
        if out and count < max_sentences and words[a].get("speaker") == words[out[-1][0]].get("speaker"):
            out[-1][1] = b
            count += 1
        else:
            out.append([a, b])
            count = 1
    return [(a, b) for a, b in out]


def _check_mode(mode: str) -> str:
    mode = str(mode or "extended").lower()
    if mode not in ("strict", "extended"):
        raise ValueError(f"custom mode must be 'strict' or 'extended', not {mode!r}")
    return mode


def _custom_list(custom) -> list[str]:
    if custom is None:
        return []
    items = [custom] if isinstance(custom, str) else list(custom)
    return [str(c).strip() for c in items if str(c).strip()]


def _custom_matches(text: str, custom: list[str]) -> list[tuple[str, float]]:
    """Custom labels whose content words (stemmed) occur in ``text``; confidence = share matched."""
    stems = {_stem(t) for t in _content_tokens(text)}
    out = []
    for label in custom:
        toks = [_stem(t) for t in _content_tokens(label)] or [_stem(label.lower())]
        hit = sum(1 for t in toks if t in stems)
        if hit:
            out.append((label, round(0.5 + 0.5 * hit / len(toks), 4)))
    return out


def topics(words: list[dict], custom=None, mode: str = "extended", *, top: int = 12) -> dict:
    """Deepgram ``topics``: {"segments": [{text, start_word, end_word, topics: [{topic, confidence_score}]}]}.

    Detected topics are YAKE keyphrases (up to 3 words) of the whole text; a segment (up to 3
    sentences of one speaker) lists the keyphrases it contains, capitalised, with confidence
    1 / (1 + 20 * yake_score). ``custom`` topics match a segment when their content words occur in
    it; ``mode`` "strict" returns only custom topics, "extended" custom plus detected ones.
    Segments with no topic are left out.
    """
    mode = _check_mode(mode)
    custom = _custom_list(custom)
    full = _text(words, 0, len(words))
    keyphrases: list[tuple[str, float]] = []
    if not (mode == "strict" and custom) and full.strip():
        import yake

        extractor = yake.KeywordExtractor(lan="en", n=3, top=top, dedupLim=0.7)
        for phrase, score in extractor.extract_keywords(full):
            toks = _content_tokens(phrase)
            if toks and len(toks) == len(phrase.split()):
                keyphrases.append((phrase.lower(), float(score)))
    segments = []
    for a, b in _chunks(words):
        text = _text(words, a, b)
        low = " " + " ".join(re.findall(r"[a-z0-9'-]+", text.lower())) + " "
        found: list[dict] = []
        for label, conf in _custom_matches(text, custom):
            found.append({"topic": label, "confidence_score": conf})
        if not (mode == "strict" and custom):
            kept: list[str] = []
            for phrase, score in keyphrases:  # best first; skip parts/extensions of a kept phrase
                if f" {phrase} " in low and not any(phrase in k or k in phrase for k in kept):
                    kept.append(phrase)
                    found.append({"topic": phrase[:1].upper() + phrase[1:],
                                  "confidence_score": round(1.0 / (1.0 + 20.0 * score), 4)})
        if found:
            found.sort(key=lambda t: -t["confidence_score"])
            segments.append({"text": text, "start_word": a, "end_word": b - 1, "topics": found[:5]})
    return {"segments": segments}


# --------------------------------------------------------------------------- intents

_OBJ = r"(?:my |the |a |an |our |your |this |that |some )?((?:[a-z]+ ){0,1}[a-z]+)"
#: (regex on lower-cased text, intent template, confidence). "{0}" is the captured object.
INTENT_PATTERNS: list[tuple[str, str, float]] = [
    (r"\bcancel(?:l?ing|l?ed)? " + _OBJ, "Cancel {0}", 0.9),
    (r"\b(?:get|want|need|request|requesting|issue|give me|process) (?:a |my |the )?refund", "Request refund", 0.9),
    (r"\brefund\b", "Request refund", 0.6),
    (r"\b(?:charged|billed) twice\b|\bduplicate charge\b|\bdouble charged\b", "Report billing issue", 0.85),
    (r"\b(?:pay|paying) (?:my |the |a )?(bill|invoice|balance)", "Make payment", 0.85),
    (r"\b(?:upgrade|downgrade|change|update|reset) " + _OBJ, "{verb} {0}", 0.8),
    (r"\b(?:schedule|book|reschedule) (?:a |an |my )?([a-z]+)", "Schedule {0}", 0.8),
    (r"\b(?:track|check|where is) (?:my |the )?(order|package|delivery|shipment)", "Check {0} status", 0.8),
    (r"\b(?:frustrated|terrible|awful|unacceptable|ridiculous|nobody answered|worst)\b", "Complain about service", 0.75),
    (r"\b(?:thank you|thanks|appreciate)\b", "Express gratitude", 0.7),
    (r"\b(?:can|could) you (?:please )?(?:help|assist)\b|\bhow can i help\b|\bi need help\b", "Seek assistance", 0.6),
    (r"\b(?:subscribe|sign up|join) (?:to |for )?(?:the |our |my )?([a-z]+)", "Subscribe to {0}", 0.7),
]
_WANT = re.compile(r"\b(?:i want to|i'd like to|i would like to|i need to|i'm trying to|i am trying to|"
                   r"please|can you|could you|i will|i'll|let me) ([a-z]+) " + _OBJ)


def _detect_intents(text: str) -> list[tuple[str, float]]:
    low = " ".join(re.findall(r"[a-z0-9']+", text.lower()))
    found: dict[str, float] = {}
    for pattern, template, conf in INTENT_PATTERNS:
        for m in re.finditer(pattern, low):
            obj = next((g for g in m.groups() if g), "") if m.groups() else ""
            obj = " ".join(t for t in obj.split() if t not in _STOP)
            if "{0}" in template and not obj:
                continue
            verb = m.group(0).split()[0]
            label = template.format(obj, verb=verb.capitalize())
            label = label[:1].upper() + label[1:]
            found[label] = max(found.get(label, 0.0), conf)
    for m in _WANT.finditer(low):
        verb, obj = m.group(1), " ".join(t for t in m.group(2).split() if t not in _STOP)
        if verb in _STOP or not obj or len(verb) < 3:
            continue
        label = f"{verb.capitalize()} {obj}"
        if not any(label.split()[0].lower() == k.split()[0].lower() for k in found):
            found.setdefault(label, 0.5)
    return sorted(found.items(), key=lambda kv: -kv[1])


def intents(words: list[dict], custom=None, mode: str = "extended") -> dict:
    """Deepgram ``intents``: {"segments": [{text, start_word, end_word, intents: [{intent, confidence_score}]}]}.

    Heuristic: :data:`INTENT_PATTERNS` (verb-object patterns such as "cancel my subscription" ->
    "Cancel subscription", "I want a refund" -> "Request refund", complaints, thanks) plus a generic
    "I want to / could you / please VERB OBJECT" -> "Verb object" rule, per segment of up to 3
    sentences of one speaker. ``custom``/``mode`` as in :func:`topics`.
    """
    mode = _check_mode(mode)
    custom = _custom_list(custom)
    segments = []
    for a, b in _chunks(words):
        text = _text(words, a, b)
        found = [{"intent": label, "confidence_score": conf} for label, conf in _custom_matches(text, custom)]
        if not (mode == "strict" and custom):
            found += [{"intent": label, "confidence_score": conf} for label, conf in _detect_intents(text)]
        if found:
            found.sort(key=lambda t: -t["confidence_score"])
            segments.append({"text": text, "start_word": a, "end_word": b - 1, "intents": found[:5]})
    return {"segments": segments}


# --------------------------------------------------------------------------- summary

def summarize(words: list[dict], *, max_sentences: int | None = None) -> str:
    """Extractive summary: the most central sentences (LexRank-style degree centrality on
    stemmed content-word vectors), in their original order. 1 sentence for short texts, up to 3."""
    sents = [(a, b) for a, b in _sentences(words) if b - a >= 3] or _sentences(words)
    if not sents:
        return ""
    if max_sentences is None:
        max_sentences = 1 if len(sents) <= 4 else 2 if len(sents) <= 12 else 3
    bags = [Counter(_stem(t) for t in _content_tokens(_text(words, a, b))) for a, b in sents]
    df = Counter(t for bag in bags for t in bag)
    n = len(bags)
    vecs = [{t: c * math.log(1 + n / df[t]) for t, c in bag.items()} for bag in bags]
    norms = [math.sqrt(sum(v * v for v in vec.values())) or 1.0 for vec in vecs]

    def cos(i, j):
        return sum(v * vecs[j].get(t, 0.0) for t, v in vecs[i].items()) / (norms[i] * norms[j])

    centrality = [sum(cos(i, j) for j in range(n) if j != i) for i in range(n)]
    # prefer informative sentences: tie-break by length
    ranked = sorted(range(n), key=lambda i: (-centrality[i], -(sents[i][1] - sents[i][0])))
    chosen = sorted(ranked[:max_sentences])
    return " ".join(_text(words, *sents[i]) for i in chosen)


# --------------------------------------------------------------------------- entities

_TLDS = "com|org|net|edu|gov|io|co|uk|us|ai|info|biz"
_MONTHS = ("january february march april may june july august september october november december "
           "jan feb mar apr jun jul aug sep sept oct nov dec").split()
_DAYS = "monday tuesday wednesday thursday friday saturday sunday today tomorrow yesterday".split()
_ORDINALS = ("first second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth thirteenth "
             "fourteenth fifteenth sixteenth seventeenth eighteenth nineteenth twentieth thirtieth").split()
_NUM = ("zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
        "sixteen seventeen eighteen nineteen twenty thirty forty fifty sixty seventy eighty ninety hundred "
        "thousand million billion").split()
_CURRENCY = "dollar dollars cents cent euro euros pounds pound bucks".split()
_LOC_CUES = {"in", "from", "to", "at", "near", "visit", "visiting"}
_NOT_NAMES = frozenset(_STOP | set(_MONTHS) | set(_DAYS) | {
    "i", "mr", "mrs", "ms", "dr", "okay", "sure", "thank", "thanks", "sorry", "please", "no", "yes",
    "good", "great", "oh", "well", "so", "and", "but", "or"})

#: Entity rules on the text built from the words ("{label}": regex); documented in :func:`entities`.
_TEXT_RULES: list[tuple[str, str, float]] = [
    ("EMAIL_ADDRESS", r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b", 0.95),
    ("EMAIL_ADDRESS", r"\b[a-z0-9]+(?: dot [a-z0-9]+)* at [a-z0-9]+(?: dot [a-z0-9]+)* dot (?:" + _TLDS + r")\b", 0.85),
    ("URL", r"\b(?:https?://|www\.)\S+|\b[\w-]+\.(?:" + _TLDS + r")\b", 0.85),
    ("CREDIT_CARD", r"\b(?:\d{4}[ -]?){3}\d{1,7}\b", 0.9),
    ("SSN", r"\b\d{3}-\d{2}-\d{4}\b", 0.9),
    ("PHONE_NUMBER", r"(?:\+?1[ .-]?)?(?:\(\d{3}\)|\b\d{3})[ .-]?\d{3}[ .-]?\d{4}\b", 0.9),
    ("MONEY", r"[$€£]\s?\d[\d,]*(?:\.\d+)?(?: ?(?:million|billion|thousand|k))?|\b\d[\d,]*(?:\.\d+)? (?:"
     + "|".join(_CURRENCY) + r")\b", 0.9),
    ("PERCENT", r"\b\d+(?:\.\d+)? ?(?:%|percent)", 0.9),
    ("DATE", r"\b(?:" + "|".join(_MONTHS) + r")\.? \d{1,2}(?:st|nd|rd|th)?(?:,? \d{4})?\b|\b\d{1,2}/\d{1,2}/\d{2,4}\b"
     r"|\b\d{4}-\d{2}-\d{2}\b|\b(?:" + "|".join(_DAYS) + r")\b|\b(?:" + "|".join(_MONTHS[:12]) + r")\b(?: \d{4})?", 0.8),
    ("TIME", r"\b\d{1,2}(?::\d{2})? ?(?:a\.?m\.?|p\.?m\.?)|\b\d{1,2}:\d{2}\b", 0.85),
    ("ORDINAL", r"\b(?:\d+(?:st|nd|rd|th)|" + "|".join(_ORDINALS) + r")\b", 0.7),
    ("CARDINAL", r"\b\d[\d,]*(?:\.\d+)?\b|\b(?:" + "|".join(_NUM) + r")(?:[ -](?:" + "|".join(_NUM) + r"))*\b", 0.7),
]
_PRIORITY = {label: i for i, (label, _, _) in enumerate(_TEXT_RULES)}


def _spoken_email(raw: str) -> str:
    s = re.sub(r" dot ", ".", raw.lower())
    return re.sub(r" at ", "@", s).replace(" ", "")


def entities(words: list[dict]) -> list[dict]:
    """Deepgram ``entities``: [{label, value, raw_value, confidence, start_word, end_word (exclusive)}].

    Detected (rules, no model): EMAIL_ADDRESS (written, or spoken "john dot smith at example dot com",
    value normalised to john.smith@example.com), URL, CREDIT_CARD (4-4-4-4 digit groups), SSN
    (ddd-dd-dddd), PHONE_NUMBER (North-American 10 digits, optional +1, brackets, dots, dashes),
    MONEY ($12.50, "29 dollars"), PERCENT, DATE (month + day [+ year], numeric dates, weekdays,
    months), TIME (3 pm, 10:30), ORDINAL, CARDINAL (digits or spelled numbers), NAME (a run of
    capitalised words not at a sentence start, or after "my name is"/"this is"/"Mr."/"Ms."), and
    LOCATION (a capitalised run after in/from/to/at/near). Overlaps keep the earlier, more
    specific rule in that order.
    """
    # char offsets of each word in the joined lower-case text
    pieces, starts = [], []
    pos = 0
    for w in words:
        tok = _pw(w).lower()
        starts.append(pos)
        pieces.append(tok)
        pos += len(tok) + 1
    text = " ".join(pieces)
    ends = [s + len(p) for s, p in zip(starts, pieces)]

    def word_span(a: int, b: int) -> tuple[int, int]:
        first = next(i for i in range(len(words)) if ends[i] > a)
        last = max(i for i in range(len(words)) if starts[i] < b)
        return first, last + 1

    found: list[tuple[int, int, str, str, float]] = []
    taken: list[tuple[int, int]] = []
    for label, pattern, conf in _TEXT_RULES:
        for m in re.finditer(pattern, text):
            a, b = m.span()
            raw = m.group(0).strip(" .,;:!?")
            if not raw:
                continue
            b = a + len(m.group(0).rstrip(" .,;:!?"))
            if any(a < y and x < b for x, y in taken):
                continue
            taken.append((a, b))
            wa, wb = word_span(a, b)
            value = _spoken_email(raw) if label == "EMAIL_ADDRESS" else _text(words, wa, wb).strip(" .,;:!?")
            found.append((wa, wb, label, value, conf))
    covered = {i for a, b, *_ in found for i in range(a, b)}
    found.extend(_capitalised_entities(words, covered))
    found.sort()
    return [{"label": label, "value": value, "raw_value": _text(words, a, b).strip(" .,;:!?"),
             "confidence": conf, "start_word": a, "end_word": b} for a, b, label, value, conf in found]


def _capitalised_entities(words: list[dict], covered: set[int]):
    """NAME and LOCATION heuristics from capitalisation (see :func:`entities`)."""
    out = []
    sentence_start = True
    i = 0
    while i < len(words):
        tok = re.sub(r"^[^\w]+|[^\w']+$", "", _pw(words[i]))
        is_cap = tok[:1].isupper() and tok.lower() not in _NOT_NAMES and i not in covered
        if not is_cap:
            sentence_start = bool(_SENT_END.search(_pw(words[i])))
            i += 1
            continue
        j = i
        while j < len(words) and j not in covered:
            t = re.sub(r"^[^\w]+|[^\w']+$", "", _pw(words[j]))
            if not (t[:1].isupper() and t.lower() not in _NOT_NAMES):
                break
            j += 1
            if re.search(r"[.,;:!?]$", _pw(words[j - 1])):
                break
        prev = [re.sub(r"[^\w]", "", str(w.get("word", "")).lower()) for w in words[max(0, i - 3):i]]
        cue_name = prev[-3:] == ["my", "name", "is"] or prev[-2:] in (["this", "is"], ["i", "am"]) \
            or prev[-1:] in (["mr"], ["mrs"], ["ms"], ["dr"], ["im"])
        cue_loc = bool(prev) and prev[-1] in _LOC_CUES
        value = _text(words, i, j).strip(" .,;:!?")
        if cue_loc and not cue_name:
            out.append((i, j, "LOCATION", value, 0.6))
        elif cue_name or not sentence_start or j - i >= 2:
            out.append((i, j, "NAME", value, 0.75 if cue_name else 0.55))
        sentence_start = bool(_SENT_END.search(_pw(words[j - 1])))
        i = j
    return out
