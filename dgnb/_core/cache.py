"""On-disk cache of transcription responses, so re-running a notebook cell sends no request again.

The key is the sha256 of the audio (or of the URL, for audio the API fetches), the query options,
the endpoint URL and the model: the same audio with other options, another model or another
server is another entry. Entries are JSON files in the user cache directory (``platformdirs``;
``DGNB_CACHE_DIR`` overrides it), written atomically (a temporary file renamed into place), so an
interrupted run never leaves a half-written entry.

>>> key = cache_key(audio_sha256="ab" * 32, options={"diarize": True}, endpoint="http://h/v1/listen")
>>> len(key)
64
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Mapping

__all__ = ["cache_dir", "cache_key", "ResponseCache", "clear", "sha256_of"]

_CHUNK = 1 << 20


def cache_dir() -> Path:
    """Where responses are cached: ``$DGNB_CACHE_DIR`` or the platform's user cache dir + ``responses``."""
    env = os.environ.get("DGNB_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("dgnb")) / "responses"


def sha256_of(source: Any) -> str:
    """sha256 hex digest of bytes or of a file's content (read in chunks)."""
    h = hashlib.sha256()
    if isinstance(source, (bytes, bytearray, memoryview)):
        h.update(source)
        return h.hexdigest()
    with open(source, "rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def cache_key(*, audio_sha256: str, options: Mapping[str, Any], endpoint: str, model: str | None = None) -> str:
    """The cache key of one request: sha256 over audio hash, options (order-free), endpoint and model."""
    from .params import encode_params

    params = sorted(encode_params(options))
    payload = json.dumps({"audio": audio_sha256, "options": params, "endpoint": endpoint,
                          "model": model or dict(params).get("model") or "default"}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()


class ResponseCache:
    """JSON responses stored by key under ``directory`` (default :func:`cache_dir`)."""

    def __init__(self, directory: str | os.PathLike | None = None) -> None:
        self.directory = Path(directory) if directory is not None else cache_dir()

    def path(self, key: str) -> Path:
        if len(key) != 64 or any(c not in "0123456789abcdef" for c in key):
            raise ValueError(f"not a cache key (64 hex digits): {key!r}")
        return self.directory / key[:2] / f"{key}.json"

    def get(self, key: str) -> dict | None:
        """The cached response, or None (also for an unreadable or corrupt entry)."""
        path = self.path(key)
        try:
            data = json.loads(path.read_bytes())
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def put(self, key: str, response: Mapping[str, Any]) -> Path:
        """Store ``response`` atomically: readers see the old entry or the whole new one."""
        target = self.path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".json", dir=target.parent)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(json.dumps(response, separators=(",", ":")).encode())
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, target)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise
        return target

    def __contains__(self, key: str) -> bool:
        return self.path(key).is_file()

    def __len__(self) -> int:
        return sum(1 for _ in self.directory.glob("??/*.json")) if self.directory.is_dir() else 0

    def clear(self) -> int:
        """Remove every entry (and stray temporary files); returns how many entries were removed."""
        removed = 0
        if not self.directory.is_dir():
            return 0
        for sub in self.directory.iterdir():
            if not sub.is_dir() or len(sub.name) != 2:
                continue
            for entry in sub.iterdir():
                if entry.suffix == ".json" and entry.is_file():
                    removed += not entry.name.startswith(".tmp-")
                    entry.unlink(missing_ok=True)
            try:
                sub.rmdir()
            except OSError:
                pass
        return removed

    def __repr__(self) -> str:
        return f"ResponseCache({str(self.directory)!r}, {len(self)} entries)"


def clear(directory: str | os.PathLike | None = None) -> int:
    """Delete every cached response (in ``directory``, default :func:`cache_dir`); returns the count.

    >>> dgnb.cache.clear()   # doctest: +SKIP
    12
    """
    return ResponseCache(directory).clear()
