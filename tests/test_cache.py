"""The response cache: keys separate audio/options/endpoint/model, writes are atomic, clear() empties it."""
from __future__ import annotations

import json
import os
import threading

import pytest

from dgnb._core import cache
from dgnb._core.cache import ResponseCache, cache_key

RESPONSE = {"metadata": {"request_id": "r1", "duration": 1.5}, "results": {"channels": []}}


def key(**kw):
    args = {"audio_sha256": "a" * 64, "options": {"diarize": True, "model": "nova-3"},
            "endpoint": "https://api.deepgram.com/v1/listen"}
    args.update(kw)
    return cache_key(**args)


def test_key_depends_on_audio_options_endpoint_and_model_but_not_option_order():
    base = key()
    assert key(options={"model": "nova-3", "diarize": True}) == base
    assert len({base, key(audio_sha256="b" * 64), key(options={"diarize": False, "model": "nova-3"}),
                key(endpoint="http://127.0.0.1:8000/v1/listen"), key(options={"diarize": True, "model": "nova-2"}),
                key(options={"diarize": True})}) == 6


def test_put_get_roundtrip_and_clear(tmp_path):
    store = ResponseCache(tmp_path)
    k = key()
    assert store.get(k) is None and k not in store
    path = store.put(k, RESPONSE)
    assert path.parent.parent == tmp_path and json.loads(path.read_text()) == RESPONSE
    assert store.get(k) == RESPONSE and k in store and len(store) == 1
    store.put(key(audio_sha256="c" * 64), RESPONSE)
    assert cache.clear(tmp_path) == 2 and len(store) == 0 and store.get(k) is None


def test_writes_are_atomic_and_leave_no_temporary_files(tmp_path):
    store = ResponseCache(tmp_path)
    k = key()
    big = {"metadata": {"request_id": "x"}, "results": {"channels": [{"alternatives": [
        {"transcript": "word " * 200_000}]}]}}
    seen: list = []
    stop = threading.Event()

    def reader():
        while not stop.is_set():
            seen.append(store.get(k))

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        for i in range(20):
            store.put(k, big if i % 2 else RESPONSE)
    finally:
        stop.set()
        thread.join()
    # a reader sees nothing, the old entry or the new one: never a partial file
    assert all(s is None or s == RESPONSE or s == big for s in seen) and len(seen) > 0
    assert [p.name for p in (tmp_path / k[:2]).iterdir()] == [f"{k}.json"]


def test_failed_write_keeps_the_old_entry(tmp_path):
    store = ResponseCache(tmp_path)
    k = key()
    store.put(k, RESPONSE)
    with pytest.raises(TypeError):
        store.put(k, {"not json": object()})
    assert store.get(k) == RESPONSE and len(list((tmp_path / k[:2]).iterdir())) == 1


def test_corrupt_entry_reads_as_a_miss_and_bad_keys_are_refused(tmp_path):
    store = ResponseCache(tmp_path)
    k = key()
    store.path(k).parent.mkdir(parents=True)
    store.path(k).write_text("{truncated")
    assert store.get(k) is None
    with pytest.raises(ValueError, match="64 hex digits"):
        store.get("../../etc/passwd")


def test_default_dir_is_the_platform_cache_dir_or_the_env_override(monkeypatch, tmp_path):
    import platformdirs

    monkeypatch.delenv("DGNB_CACHE_DIR", raising=False)
    assert str(cache.cache_dir()).startswith(platformdirs.user_cache_dir("dgnb"))
    monkeypatch.setenv("DGNB_CACHE_DIR", str(tmp_path))
    assert ResponseCache().directory == tmp_path
    ResponseCache().put(key(), RESPONSE)
    assert cache.clear() == 1 and os.listdir(tmp_path) == []
