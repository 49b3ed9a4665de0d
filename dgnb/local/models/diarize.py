"""Who spoke when: speech regions, a voice print per window, clustering, a speaker per word.

Pipeline (16 kHz mono float32 input):

1. ``speech_segments``: webrtcvad (30 ms frames) with gap bridging and a minimum length.
2. Windows of ~1.5 s of speech every 0.75 s.
3. One voice print per window. ``campplus`` (the default when its weights are installed): a CAM++
   speaker embedding (``campplus.py``). ``mfcc`` (the fallback): MFCC means, z-scored across the
   recording; it often miscounts speakers, and the engine says so in the response's warnings.
4. Clustering. ``campplus``: spectral clustering of cosine affinities, the largest eigengap of the
   normalised Laplacian giving the speaker count, then clusters too small to be a speaker (< 3
   windows) or as alike across as within (ratio >= 0.8) merged. ``mfcc``: agglomerative clustering
   with a silhouette threshold (0.3) for more than one speaker. Labels are renumbered in order of
   first appearance (speaker 0 speaks first). ``benchmarks/bench_diarize.py`` measures both.
5. Labels are smoothed over neighbouring windows; each word gets the speaker of the speech it
   overlaps most, and a ``speaker_confidence`` in [0, 1] from the margin between its distance to its
   own cluster centre and to the nearest other one.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["diarize", "speech_segments", "segment_speakers", "SpeakerTracker", "Turn"]

SR = 16000
_HOP = 160  # 10 ms
_WIN = 400  # 25 ms
_NFFT = 512


@dataclass
class Turn:
    start: float
    end: float
    speaker: int
    confidence: float


def _check(samples) -> np.ndarray:
    x = np.asarray(samples)
    if x.ndim == 2 and 1 in x.shape:
        x = x.reshape(-1)
    if x.ndim != 1:
        raise ValueError("diarization needs mono audio: a 1-D array of 16 kHz samples")
    if not np.issubdtype(x.dtype, np.floating):
        raise ValueError("diarization needs float samples in [-1, 1]")
    x = x.astype(np.float32, copy=False)
    # a copy only when there is something to clean (the sum of finite samples is finite): an hour is 230 MB
    return x if np.isfinite(np.sum(x, dtype=np.float64)) else np.nan_to_num(x)


_VAD_BLOCK = 2_000  # 30 ms frames (one minute)


def speech_segments(samples: np.ndarray, *, aggressiveness: int = 2, min_gap: float = 0.3,
                    min_len: float = 0.25) -> list[tuple[float, float]]:
    """Speech regions (start s, end s) of 16 kHz mono audio found by WebRTC VAD.

    Gaps shorter than ``min_gap`` are bridged and regions shorter than ``min_len`` dropped.
    """
    import webrtcvad

    x = _check(samples)
    frame = 480  # 30 ms
    n = len(x) // frame
    if n == 0:
        return []
    # a minute of frames at a time: the float copies of a whole hour would take a GB
    pcm, energy = np.empty(n * frame, "<i2"), np.empty(n)
    for i in range(0, n, _VAD_BLOCK):
        block = np.clip(x[i * frame:min(n, i + _VAD_BLOCK) * frame], -1, 1) * 32767
        pcm[i * frame:i * frame + block.size] = block
        frames = pcm[i * frame:i * frame + block.size].reshape(-1, frame).astype(np.float64)
        energy[i:i + len(frames)] = 10 * np.log10(np.mean(frames * frames, axis=1) + 1e-3)
    vad = webrtcvad.Vad(int(aggressiveness))
    # webrtcvad calls speech on near-silent frames with any tiny noise at low aggressiveness:
    # require a minimum energy relative to the loudest part of the recording as well.
    floor = np.percentile(energy, 95) - 45.0
    flags = np.array([energy[i] > floor and vad.is_speech(pcm[i * frame:(i + 1) * frame].tobytes(), SR)
                      for i in range(n)])
    segs: list[list[float]] = []
    step = frame / SR
    for i in np.flatnonzero(flags):
        s, e = i * step, (i + 1) * step
        if segs and s - segs[-1][1] < min_gap:
            segs[-1][1] = e
        else:
            segs.append([s, e])
    return [(round(float(s), 3), round(float(e), 3)) for s, e in segs if e - s >= min_len]


def _mel_filterbank(n_mels: int = 40, fmin: float = 60.0, fmax: float = 7600.0) -> np.ndarray:
    def hz2mel(f):
        return 2595.0 * np.log10(1.0 + f / 700.0)

    def mel2hz(m):
        return 700.0 * (10 ** (m / 2595.0) - 1.0)

    mels = np.linspace(hz2mel(fmin), hz2mel(fmax), n_mels + 2)
    bins = np.floor((_NFFT + 1) * mel2hz(mels) / SR).astype(int)
    fb = np.zeros((n_mels, _NFFT // 2 + 1))
    for m in range(1, n_mels + 1):
        lo, c, hi = bins[m - 1], bins[m], bins[m + 1]
        if c > lo:
            fb[m - 1, lo:c] = (np.arange(lo, c) - lo) / (c - lo)
        if hi > c:
            fb[m - 1, c:hi] = (hi - np.arange(c, hi)) / (hi - c)
    return fb


_FB = _mel_filterbank()
_N_MFCC = 20
_DCT = np.cos(np.pi / _FB.shape[0] * (np.arange(_FB.shape[0]) + 0.5)[None, :] * np.arange(_N_MFCC)[:, None])


def mfcc(samples: np.ndarray) -> np.ndarray:
    """MFCC frames (n_frames, 19) every 10 ms, without c0, mean-normalised over the recording."""
    x = _check(samples).astype(np.float64)
    if len(x) < _WIN:
        return np.zeros((0, _N_MFCC - 1))
    x = np.append(x[0], x[1:] - 0.97 * x[:-1])
    n = 1 + (len(x) - _WIN) // _HOP
    idx = np.arange(_WIN)[None, :] + _HOP * np.arange(n)[:, None]
    frames = x[idx] * np.hamming(_WIN)
    power = np.abs(np.fft.rfft(frames, _NFFT)) ** 2
    logmel = np.log(power @ _FB.T + 1e-10)
    ceps = logmel @ _DCT.T
    ceps = ceps[:, 1:]
    return ceps - ceps.mean(axis=0)


_SPLIT_SHORT = 100  # frames (1 s)


def _windows(segments, n_frames, win: float = 1.5, hop: float = 0.75):
    """Frame index ranges of analysis windows inside the speech segments."""
    out = []
    for s, e in segments:
        a, b = int(s * 100), min(int(e * 100), n_frames)
        if b - a < 30:
            continue
        w, h = int(win * 100), int(hop * 100)
        if b - a <= w + h // 2:  # one window's worth
            if b - a >= _SPLIT_SHORT:  # a short turn still gives two prints: its first and last two thirds
                part = min(w, -(-2 * (b - a) // 3))
                out.extend([(a, a + part), (b - part, b)])
            else:
                out.append((a, b))
            continue
        starts = list(range(a, b - w + 1, h))
        if b - (starts[-1] + w) > h // 2:
            starts.append(b - w)
        out.extend((st, st + w) for st in starts)
    return out


def _features(ceps: np.ndarray, windows) -> np.ndarray:
    feats = np.array([ceps[a:b].mean(0) for a, b in windows])
    sd = feats.std(axis=0)
    sd[sd == 0] = 1.0
    return (feats - feats.mean(axis=0)) / sd


_MIN_WINDOWS = 3  # a speaker needs at least ~3 s of speech (3 windows at a 0.75 s hop) to count
_MIN_PRINTS = 2  # with voice prints, ~2 s (two windows) tell a voice: "Thanks for calling Acme."


def _merge_small(feats: np.ndarray, labels: np.ndarray, min_share: float) -> np.ndarray:
    """Merge clusters holding fewer than ``min_share`` of the windows (or < 3) into their nearest cluster."""
    labels = labels.copy()
    n = len(labels)
    least = max(min_share * n, _MIN_WINDOWS)
    while True:
        ids, counts = np.unique(labels, return_counts=True)
        if len(ids) < 2 or counts.min() >= least:
            return labels
        small = ids[np.argmin(counts)]
        cents = {i: feats[labels == i].mean(0) for i in ids}
        others = [i for i in ids if i != small]
        target = max(others, key=lambda i: _cos(cents[i], cents[small]))
        labels[labels == small] = target


def _cos(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-12))


def _cluster(feats: np.ndarray, max_speakers: int, min_silhouette: float, min_share: float) -> np.ndarray:
    """Cluster window features; the number of clusters is chosen as described in the module doc."""
    from sklearn.cluster import AgglomerativeClustering
    from sklearn.metrics import silhouette_score

    n = len(feats)
    kmax = min(max_speakers, n - 1)
    if kmax < 2:
        return np.zeros(n, dtype=int)

    def split(k: int) -> tuple[np.ndarray, float]:
        labels = AgglomerativeClustering(n_clusters=k, linkage="average", metric="cosine").fit_predict(feats)
        labels = _merge_small(feats, labels, min_share)
        if len(np.unique(labels)) < 2:
            return labels, -1.0
        return labels, float(silhouette_score(feats, labels, metric="cosine"))

    # Stage 1: is there more than one speaker? Two voices split cleanly into two groups.
    labels2, s2 = split(2)
    if s2 < min_silhouette:
        return np.zeros(n, dtype=int)
    # Stage 2: more than two? Only if a finer split separates even better.
    best_labels, best_s = labels2, s2
    for k in range(3, kmax + 1):
        labels, score = split(k)
        if len(np.unique(labels)) > len(np.unique(best_labels)) and score > best_s:
            best_labels, best_s = labels, score
    return best_labels


def _spectral(emb: np.ndarray, max_speakers: int, windows=None, keep: float = 0.25) -> np.ndarray:
    """Spectral clustering of L2-normalised embeddings; the largest eigengap picks the speaker count.

    Cosine affinities, each row keeping its strongest ``keep`` share (so one voice's windows link to
    each other, not to everything), symmetrised; the eigenvalues of the normalised Laplacian jump
    after the k-th when there are k voices; k-means on the row-normalised first k eigenvectors.
    """
    from sklearn.cluster import KMeans

    n = len(emb)
    if n < 2 * _MIN_PRINTS:
        return np.zeros(n, dtype=int)
    aff = np.clip(emb @ emb.T, 0.0, 1.0)
    top = max(2, int(np.ceil(keep * n)))
    pruned = np.zeros_like(aff)
    idx = np.argsort(-aff, axis=1)[:, :top]
    np.put_along_axis(pruned, idx, np.take_along_axis(aff, idx, axis=1), axis=1)
    aff = (pruned + pruned.T) / 2
    deg = aff.sum(axis=1)
    d = 1.0 / np.sqrt(np.maximum(deg, 1e-9))
    lap = np.eye(n) - d[:, None] * aff * d[None, :]
    vals, vecs = np.linalg.eigh(lap)
    kmax = max(1, min(max_speakers, n // _MIN_PRINTS, 8))
    gaps = np.diff(vals[: kmax + 1])
    k = int(np.argmax(gaps)) + 1 if len(gaps) else 1
    if k == 1:
        return np.zeros(n, dtype=int)
    u = vecs[:, :k]
    u = u / np.maximum(np.linalg.norm(u, axis=1, keepdims=True), 1e-9)
    labels = KMeans(n_clusters=k, n_init=10, random_state=0).fit_predict(u)
    return _merge_alike(emb @ emb.T, labels, windows)


_MIN_COVER = 225  # frames: a cluster covering less is one short turn (two full windows cover 2.25 s)
_SAME_VOICE = 0.8  # two clusters are one voice when their windows are as alike across as within


def _merge_alike(sim: np.ndarray, labels: np.ndarray, windows=None) -> np.ndarray:
    """Merge clusters too small to be a speaker, then pairs whose cross-similarity is near their own.

    Two voices: windows of different clusters are much less alike than windows of one (measured on
    the development set: 0.4-0.7 of it). One voice split by what it said: 0.85-1.0 of it. A cluster
    covering under ~2 s of audio (one short turn) stands only when it is clearly another voice.
    """
    labels = labels.copy()
    while True:
        ids, counts = np.unique(labels, return_counts=True)
        if len(ids) < 2:
            return labels
        likeness = _likenesses(sim, labels)
        thin = [i for i in ids if windows is not None and _covered(windows, labels == i) < _MIN_COVER
                and max(v for k, v in likeness.items() if i in k) >= _CLEARLY_ANOTHER]
        if counts.min() < _MIN_PRINTS or thin:
            small = ids[np.argmin(counts)] if counts.min() < _MIN_PRINTS else thin[0]
            target = max((i for i in ids if i != small), key=lambda i: _mean_sim(sim, labels, small, i))
        else:
            (small, target), best = max(likeness.items(), key=lambda kv: kv[1])
            if best < _SAME_VOICE:
                return labels
        labels[labels == small] = target


def _covered(windows, mask) -> int:
    """Frames of audio the masked windows cover together."""
    spans = sorted(w for w, m in zip(windows, mask) if m)
    total, end = 0, -1
    for a, b in spans:
        total += max(0, b - max(a, end))
        end = max(end, b)
    return total


def _mean_sim(sim: np.ndarray, labels: np.ndarray, a, b) -> float:
    """Mean cosine between windows of clusters a and b (a window's likeness to itself left out)."""
    block = sim[np.ix_(labels == a, labels == b)]
    if a == b:
        n = len(block)
        return float((block.sum() - np.trace(block)) / (n * n - n)) if n > 1 else 1.0
    return float(block.mean())


def _likenesses(sim: np.ndarray, labels: np.ndarray) -> dict:
    """For each pair of clusters: how alike their windows are across, against how alike within (1: one voice)."""
    ids = list(np.unique(labels))
    within = {a: _mean_sim(sim, labels, a, a) for a in ids}
    return {(a, b): _mean_sim(sim, labels, a, b) / np.sqrt(max(within[a] * within[b], 1e-9))
            for i, a in enumerate(ids) for b in ids[i + 1:]}


def count_margin(emb: np.ndarray, labels: np.ndarray) -> float:
    """How far the speaker count is from tipping: distance of the closest decision to the 0.8 line.

    Several voices: 0.8 minus the likeness of the two most alike (near 0: they are nearly one voice).
    One voice: the likeness of its best split in two, minus 0.8 (near 0: it is nearly two).
    """
    pick = _spread(len(emb))  # the windows a long recording was clustered on (see MAX_CLUSTERED)
    emb, labels = emb[pick], labels[pick]
    sim = emb @ emb.T
    if len(np.unique(labels)) > 1:
        return _SAME_VOICE - max(_likenesses(sim, labels).values())
    if len(labels) < 2 * _MIN_PRINTS:
        return 0.0
    from sklearn.cluster import KMeans

    halves = KMeans(n_clusters=2, n_init=4, random_state=0).fit_predict(emb)
    if min(np.bincount(halves)) < _MIN_PRINTS:
        return _SAME_VOICE
    return max(_likenesses(sim, halves).values()) - _SAME_VOICE


def _campplus_features(x: np.ndarray, windows) -> np.ndarray:
    from . import campplus

    return campplus.embed([x[a * _HOP:b * _HOP] for a, b in windows])


def _mfcc_features(x: np.ndarray, windows) -> np.ndarray:
    return _features(mfcc(x), windows)


METHODS = ("campplus", "mfcc")
#: ``metadata.diarize_info.arch`` of each method: speech regions, voice prints, clustering.
ARCH = {"campplus": "vad-campplus-spectral", "mfcc": "vad-mfcc-agglomerative"}


def default_method() -> str:
    """The method the engine uses: CAM++ voice prints when their weights are installed, else MFCC statistics."""
    from . import campplus

    return "campplus" if campplus.available() else "mfcc"


def _method(method: str | None, max_speakers: int) -> str:
    if max_speakers < 1:
        raise ValueError("max_speakers must be at least 1")
    method = method or default_method()
    if method not in METHODS:
        raise ValueError(f"unknown diarization method {method!r}; known: {', '.join(METHODS)}")
    return method


def _voice_prints(x: np.ndarray, windows, method: str, cache: dict | None = None, origin: int = 0) -> np.ndarray:
    """One feature vector per window; CAM++ prints are kept in ``cache`` by absolute frame span (live)."""
    if method != "campplus":
        return _mfcc_features(x, windows)  # z-scored over the recording: never reusable
    if cache is None:
        return _campplus_features(x, windows)
    keys = [(origin + a, origin + b) for a, b in windows]
    new = [i for i, k in enumerate(keys) if k not in cache]
    if new:
        for i, v in zip(new, _campplus_features(x, [windows[i] for i in new])):
            cache[keys[i]] = v
    return np.array([cache[k] for k in keys])


#: Windows clustered together (about 19 minutes of speech). A longer recording clusters this many, spread
#: evenly over it, and every other window takes the nearest of their voices: clustering costs the square
#: (memory) and cube (time) of its windows, so an hour would take a GB and minutes; this way both stay flat.
MAX_CLUSTERED = 1500


def _spread(n: int, most: int = MAX_CLUSTERED) -> np.ndarray:
    """``most`` indices spread evenly over ``range(n)`` (all of them when ``n <= most``).

    >>> _spread(5, 3).tolist(), _spread(2, 3).tolist()
    ([0, 2, 4], [0, 1])
    """
    return np.arange(n) if n <= most else np.linspace(0, n - 1, most).round().astype(int)


def _nearest_voice(feats: np.ndarray, pick: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Labels for all windows: the picked keep theirs, the others take the label of the nearest centre.

    >>> f = np.array([[0.0], [0.1], [1.0], [0.9]])
    >>> _nearest_voice(f, np.array([0, 2]), np.array([0, 1])).tolist()
    [0, 0, 1, 1]
    """
    ids, cents = _centres(feats[pick], labels)
    out = np.empty(len(feats), dtype=labels.dtype)
    for lo in range(0, len(feats), 4096):  # a block at a time: windows x centres x dims stays small
        d = np.linalg.norm(feats[lo:lo + 4096, None, :] - cents[None, :, :], axis=2)
        out[lo:lo + 4096] = ids[np.argmin(d, axis=1)]
    out[pick] = labels
    return out


def _cluster_with(method: str, feats: np.ndarray, max_speakers: int, windows, **options) -> np.ndarray:
    pick = _spread(len(feats))
    if len(pick) < len(feats):
        labels = _cluster_with(method, feats[pick], max_speakers, [windows[i] for i in pick], **options)
        return _nearest_voice(feats, pick, labels)
    if method == "campplus":
        return _spectral(feats, max_speakers, windows)
    return _cluster(feats, max_speakers, options.get("min_silhouette", 0.3), options.get("min_share", 0.1))


def _smooth(labels: np.ndarray, windows=None) -> np.ndarray:
    """A window whose two neighbours agree with each other and not with it takes their label, when the
    three overlap (one stretch of speech): across a pause, a short turn ("That's the one I want.") stays."""
    sm = labels.copy()
    for i in range(1, len(labels) - 1):
        joined = windows is None or (windows[i][0] < windows[i - 1][1] and windows[i + 1][0] < windows[i][1])
        if joined and labels[i - 1] == labels[i + 1] != labels[i]:
            sm[i] = labels[i - 1]
    return sm


# Platt scaling of the CAM++ margin, fitted on the development set (seeds 0-1, 2-4 voices): on seed 2,
# the expected calibration error went from 0.24 (the raw margin is too shy: 0.6-0.8 was right 95-97%)
# to 0.01. benchmarks/bench_diarize.py --calibration measures it.
_PLATT = (3.6, 0.2)


def _centres(feats: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The labels present, in order, and the mean feature vector of each one's windows."""
    ids = np.unique(labels)
    return ids, np.array([feats[labels == i].mean(0) for i in ids])


def _confidence(feats: np.ndarray, labels: np.ndarray, calibrated: bool = False) -> np.ndarray:
    """Per window, the chance its label is right: from its distance to the nearest other speaker's
    centre against the sum with its own (0.5: halfway between two voices), calibrated for CAM++."""
    ids, cents = _centres(feats, labels)
    if len(ids) < 2:
        return np.ones(len(labels))
    pos = np.searchsorted(ids, labels)
    d = np.linalg.norm(feats[:, None, :] - cents[None, :, :], axis=2)
    own = d[np.arange(len(labels)), pos]
    d[np.arange(len(labels)), pos] = np.inf
    other = d.min(axis=1)
    raw = np.clip(other / (own + other + 1e-9), 1e-4, 1 - 1e-4)
    if not calibrated:
        return raw
    a, b = _PLATT
    return 1.0 / (1.0 + np.exp(-(a * np.log(raw / (1 - raw)) + b)))


def _turns(segments, windows, labels, conf, offset: float = 0.0) -> list[Turn]:
    """Speech regions cut into turns: each 50 ms takes the label of the window whose centre is nearest."""
    centres = np.array([(a + b) / 2 for a, b in windows])
    turns: list[Turn] = []
    for s, e in segments:
        fa, fb = int(s * 100), int(e * 100)
        for f in range(fa, max(fb, fa + 1), 5):
            w = int(np.argmin(np.abs(centres - f)))
            t0, t1 = f / 100, min(e, (f + 5) / 100)
            lab, c = int(labels[w]), float(conf[w])
            if turns and turns[-1].speaker == lab and abs(turns[-1].end - t0) < 1e-6:
                turns[-1].end = t1
                turns[-1].confidence = max(turns[-1].confidence, c)
            else:
                turns.append(Turn(t0, t1, lab, c))
    return [Turn(round(float(t.start + offset), 3), round(float(t.end + offset), 3), t.speaker,
                 round(float(t.confidence), 4)) for t in turns]


def _analyse(x: np.ndarray, method: str, max_speakers: int, cache=None, origin: int = 0, **options):
    segments = speech_segments(x)
    windows = _windows(segments, 1 + max(0, len(x) - _WIN) // _HOP)
    if not windows:
        return segments, windows, None, None
    feats = _voice_prints(x, windows, method, cache, origin)
    return segments, windows, feats, _cluster_with(method, feats, max_speakers, windows, **options)


_UNCERTAIN = 0.05  # a count this close to tipping is reported as uncertain (dev set: 3 of 6 wrong counts, 0 of 54 right)


class Turns(list):
    """The turns of a recording (a list of :class:`Turn`), and how sure the speaker count is.

    ``count_margin``: how far the count's closest decision is from tipping (see :func:`count_margin`);
    ``uncertain``: True when it is under 0.05, so one more or one fewer voice is nearly as likely.
    """

    count_margin: float = 1.0

    @property
    def uncertain(self) -> bool:
        return self.count_margin < _UNCERTAIN


def segment_speakers(samples: np.ndarray, *, max_speakers: int = 10, method: str | None = None,
                     min_silhouette: float = 0.3, min_share: float = 0.1) -> Turns:
    """Speaker turns of 16 kHz mono audio: [Turn(start, end, speaker, confidence)], as :class:`Turns`.

    ``method``: "campplus" (voice prints, spectral clustering) or "mfcc" (the light fallback).
    """
    x = _check(samples)
    method = _method(method, max_speakers)
    segments, windows, feats, labels = _analyse(x, method, max_speakers, min_silhouette=min_silhouette,
                                                min_share=min_share)
    if not windows:
        return Turns(Turn(s, e, 0, 1.0) for s, e in segments)
    order: dict[int, int] = {}  # speaker 0 speaks first
    for lab in labels:
        order.setdefault(int(lab), len(order))
    labels = _smooth(np.array([order[int(lab)] for lab in labels]), windows)
    calibrated = method == "campplus"
    out = Turns(_turns(segments, windows, labels, _confidence(feats, labels, calibrated)))
    if calibrated:
        out.count_margin = count_margin(feats, labels)
        if out.uncertain and len(order) == 1:  # one voice, or nearly two: a coin toss
            for t in out:
                t.confidence = 0.5
    return out


_NEW_VOICE_WINDOWS = 2  # live names a new voice once two of its windows were seen unnamed twice running
_SURE_WINDOWS = 6  # ...or at once when it has this many (3 s of speech or more; finals can be 10 s apart)


_CLEARLY_ANOTHER = 0.6  # a new cluster this unlike every named voice is named at once


class SpeakerTracker:
    """Speaker turns of a growing stream, for live: labels given once are kept, never swapped.

    Each call to :meth:`turns` clusters all the stream's windows again (the count can grow as new
    voices speak), reusing the voice prints of windows already seen; the new clusters are matched
    to the labels given before by the time they share (windows shift as a stretch of speech grows).
    A cluster that matches none is named (the next label) at once when it is clearly another voice
    (likeness to every named one under 0.6, where one voice split scores 0.8-1.0), else only when it
    was there, unnamed, at the previous call too: a clustering of a few seconds can split one voice
    for a moment, and a label once shown cannot be taken back. Until then its words take the
    nearest named voice. Only the last ``keep_seconds`` of audio are kept.

        >>> t = SpeakerTracker()
        >>> t.add(np.zeros(16000, np.float32)); t.turns()
        []
    """

    def __init__(self, *, max_speakers: int = 10, method: str | None = None, keep_seconds: float = 600.0):
        self.method = _method(method, max_speakers)
        self.max_speakers = max_speakers
        self._keep = int(keep_seconds * 100) * _HOP
        self._chunks: list[np.ndarray] = []
        self._origin = 0  # 10 ms frames before the first sample kept
        self._prints: dict[tuple[int, int], np.ndarray] = {}
        self._given: dict[tuple[int, int], int] = {}
        self._issued = 0  # labels handed out so far: a new voice gets the next one
        self._pending: set = set()  # windows of a voice not named yet

    def add(self, samples: np.ndarray) -> None:
        """Append 16 kHz mono float samples to the stream."""
        self._chunks.append(_check(samples))

    def _audio(self) -> np.ndarray:
        x = np.concatenate(self._chunks) if len(self._chunks) != 1 else self._chunks[0]
        drop = (max(0, len(x) - self._keep) // _HOP) * _HOP
        if drop:
            x = x[drop:]
            self._origin += drop // _HOP
            self._prints = {k: v for k, v in self._prints.items() if k[0] >= self._origin}
            self._given = {k: v for k, v in self._given.items() if k[0] >= self._origin}
        self._chunks = [x]
        return x

    def turns(self) -> list[Turn]:
        """Turns of the stream so far, in stream seconds, with stable labels."""
        x = self._audio()
        cache = self._prints if self.method == "campplus" else None
        segments, windows, feats, labels = _analyse(x, self.method, self.max_speakers, cache, self._origin)
        offset = self._origin / 100
        if not windows:
            first = min(self._given.values(), default=0)  # too little speech to tell: the first voice
            return [Turn(round(s + offset, 3), round(e + offset, 3), first, 1.0) for s, e in segments]
        keys = [(self._origin + a, self._origin + b) for a, b in windows]
        labels = _smooth(self._match(keys, labels, feats), windows)
        self._given = {k: int(lab) for k, lab in zip(keys, labels)}  # the labels as of this call
        return _turns(segments, windows, labels, _confidence(feats, labels, self.method == "campplus"), offset)

    def _match(self, keys, labels: np.ndarray, feats: np.ndarray) -> np.ndarray:
        """Rename clusters to the labels their windows had before (most shared windows first)."""
        from scipy.optimize import linear_sum_assignment

        ids = np.unique(labels)
        old = sorted({v for v in self._given.values()})
        mapping: dict[int, int] = {}
        if old:  # windows shift as a stretch of speech grows: match them by time shared, not by span
            spans = np.array(list(self._given))
            was = np.array([old.index(v) for v in self._given.values()])
            counts = np.zeros((len(ids), len(old)))
            for (a, b), lab in zip(keys, labels):
                shared = np.clip(np.minimum(spans[:, 1], b) - np.maximum(spans[:, 0], a), 0, None)
                np.add.at(counts[np.searchsorted(ids, lab)], was, shared)
            for r, c in zip(*linear_sum_assignment(-counts)):
                if counts[r, c] > 0:
                    mapping[int(ids[r])] = old[c]
        sizes = dict(zip(*np.unique(labels, return_counts=True)))
        alike = _likenesses(feats @ feats.T, labels)

        def likeness(a: int, b: int) -> float:
            return alike[(a, b) if a < b else (b, a)]

        pending = set()
        for lab in labels:  # in order of first appearance, a new voice seen twice running takes the next label
            lab = int(lab)
            if lab in mapping:
                continue
            mine = [k for k, x in zip(keys, labels) if x == lab]
            seen = sum(any(min(b, q) - max(a, p) > (b - a) / 2 for p, q in self._pending) for a, b in mine)
            named = [i for i in mapping if sizes[i] > 1]
            clear = sizes[lab] > 1 and all(likeness(lab, i) < _CLEARLY_ANOTHER for i in named)
            if not mapping or (sizes[lab] >= _NEW_VOICE_WINDOWS
                                and (seen >= _NEW_VOICE_WINDOWS or clear or sizes[lab] >= _SURE_WINDOWS)):
                mapping[lab] = self._issued
                self._issued += 1
            else:
                pending.update(mine)
        self._pending = pending
        known = [i for i in mapping]
        if len(known) < len(ids):  # a voice too new to name yet: the nearest named one, for now
            cents = {int(i): feats[labels == i].mean(0) for i in ids}
            for i in ids:
                if int(i) not in mapping:
                    mapping[int(i)] = mapping[max(known, key=lambda j: _cos(cents[int(i)], cents[j]))]
        return np.array([mapping[int(lab)] for lab in labels])


def assign_words(words: list[dict], turns: list[Turn]) -> None:
    """Set "speaker"/"speaker_confidence" on each word (in place) from the turn it overlaps most."""
    if not turns:
        for w in words:
            w["speaker"] = 0
            w["speaker_confidence"] = 0.0
        return
    starts = np.array([t.start for t in turns])
    ends = np.array([t.end for t in turns])
    for w in words:
        s, e = float(w["start"]), float(w["end"])
        ov = np.minimum(ends, e) - np.maximum(starts, s)
        by_speaker: dict[int, float] = {}
        for i in np.flatnonzero(ov > 0):
            by_speaker[turns[i].speaker] = by_speaker.get(turns[i].speaker, 0.0) + float(ov[i])
        if by_speaker:
            spk = max(by_speaker, key=by_speaker.get)
            share = by_speaker[spk] / sum(by_speaker.values())
            cands = [i for i in np.flatnonzero(ov > 0) if turns[i].speaker == spk]
            c = max(turns[i].confidence for i in cands) * share
        else:  # word outside detected speech: nearest turn
            mid = (s + e) / 2
            i = int(np.argmin(np.minimum(np.abs(starts - mid), np.abs(ends - mid))))
            spk, c = turns[i].speaker, turns[i].confidence * 0.5
        w["speaker"] = int(spk)
        w["speaker_confidence"] = round(float(np.clip(c, 0.0, 1.0)), 4)


def diarize(samples: np.ndarray, words: list[dict], *, max_speakers: int = 10, **options) -> int:
    """Label ``words`` with "speaker" and "speaker_confidence" in place; returns the number of speakers.

    ``samples``: 16 kHz mono float32. ``options`` go to :func:`segment_speakers`.
    """
    turns = segment_speakers(samples, max_speakers=max_speakers, **options)
    assign_words(words, turns)
    used = {w["speaker"] for w in words} if words else {t.speaker for t in turns}
    return len(used) if used else 0
