"""transcribe_many against the real local engine: 40 files with 3 corrupt ones give 37 transcripts
and 3 clear errors; an interrupted run resumes from the cache with no second request for the files
it finished (counted in the engine's own request ledger); the async variant; bad arguments."""
from __future__ import annotations

import _thread
import asyncio
import hashlib
import sqlite3
import threading
import wave
from pathlib import Path

import numpy as np
import pytest

import dgnb
from conftest import AUDIO, recorded

N_GOOD = 37


def _clips(folder: Path) -> list[Path]:
    """37 distinct ~1.6 s clips of the preamble (16 kHz mono), and 3 corrupt files, in one folder."""
    with wave.open(str(AUDIO / "preamble.wav")) as w:
        rate, pcm = w.getframerate(), np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
    paths = []
    for i in range(N_GOOD):
        start = int(i * 0.42 * rate)
        clip = pcm[start:start + int(1.6 * rate)]
        path = folder / f"clip{i:02d}.wav"
        with wave.open(str(path), "wb") as out:
            out.setnchannels(1), out.setsampwidth(2), out.setframerate(rate)
            out.writeframes(clip.tobytes())
        paths.append(path)
    (folder / "corrupt-noise.wav").write_bytes(np.random.default_rng(1).bytes(20_000))
    (folder / "corrupt-truncated.wav").write_bytes(paths[0].read_bytes()[:30])
    (folder / "corrupt-text.mp3").write_bytes(b"this is not audio at all\n" * 50)
    return paths


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("batch")
    _clips(folder)
    return folder


@pytest.fixture()
def dg(local_server):
    with dgnb.Client(api_key=local_server.api_key, url=local_server.url) as client:
        yield client


def requests_for(local_server, path: Path) -> int:
    """How many /v1/listen requests the engine recorded for this file's audio (by its sha256)."""
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    db = sqlite3.connect(f"file:{local_server.data_dir / 'ledger.sqlite3'}?mode=ro", uri=True)
    try:
        return db.execute("SELECT count(*) FROM requests WHERE path = '/v1/listen' AND sha256 = ?",
                          (digest,)).fetchone()[0]
    finally:
        db.close()


@pytest.mark.slow
@recorded
def test_forty_files_three_corrupt_interrupted_then_resumed(dg, folder, local_server, tmp_path):
    from dgnb.api.batch import transcribe_many

    cache = tmp_path / "cache"
    finished: list = []
    main = threading.main_thread()

    def interrupt_after_five(result):  # Ctrl-C in the cell after five files are done
        finished.append(result)
        if len(finished) == 5 and main.is_alive():
            _thread.interrupt_main()

    with pytest.warns(UserWarning, match="interrupted"):
        first = transcribe_many(dg, str(folder / "*"), concurrency=2, cache=cache, progress=False,
                                on_result=interrupt_after_five, punctuate=True)
    assert len(first) == 40 and first.attrs["interrupted"]
    done = first[first.status.isin(["ok", "error"])]
    assert 5 <= len(done) < 40 and (first.status == "cancelled").sum() == 40 - len(done)
    ok_first = first[first.status == "ok"]
    assert len(ok_first) >= 3

    second = transcribe_many(dg, sorted(folder.iterdir()), concurrency=8, cache=cache, progress=False, punctuate=True)
    assert not second.attrs["interrupted"]
    assert list(second.columns[:6]) == ["source", "status", "error", "duration", "request_id", "transcript"]
    good, bad = second[second.status != "error"], second[second.status == "error"]
    assert len(good) == N_GOOD and len(bad) == 3
    assert sorted(Path(s).name for s in bad.source) == ["corrupt-noise.wav", "corrupt-text.mp3", "corrupt-truncated.wav"]
    assert all("400" in e or "audio" in e.lower() for e in bad.error), list(bad.error)
    assert all(isinstance(t, dgnb.Transcript) and t.transcript for t in good.transcript)
    assert good.duration.between(1.5, 1.7).all() and good.request_id.notna().all()
    # the files finished before the interruption came from the cache: one request each, ever
    resumed = second.set_index("source").loc[list(ok_first.source)]
    assert (resumed.status == "cached").all()
    assert list(resumed.request_id) == list(ok_first.request_id)
    for source in ok_first.source:
        assert requests_for(local_server, Path(source)) == 1
    # the words are right: clip 0 is the start of the preamble
    first_clip = second.set_index("source").loc[str(folder / "clip00.wav"), "transcript"]
    assert "people" in first_clip.transcript.lower()

    counts = {p: requests_for(local_server, p) for p in folder.glob("clip0*.wav")}
    third = transcribe_many(dg, folder / "clip0*.wav", cache=cache, progress=False, punctuate=True)
    assert len(third) == 10 and (third.status == "cached").all()
    assert {p: requests_for(local_server, p) for p in counts} == counts  # a re-run sends nothing

    # other options are another cache entry; cache=False always sends
    other = transcribe_many(dg, [folder / "clip00.wav"], cache=cache, progress=False, punctuate=False)
    assert other.status.tolist() == ["ok"]
    before = requests_for(local_server, folder / "clip00.wav")
    uncached = transcribe_many(dg, [folder / "clip00.wav"], cache=False, progress=False, punctuate=False)
    assert uncached.status.tolist() == ["ok"] and requests_for(local_server, folder / "clip00.wav") == before + 1


@recorded
def test_missing_files_urls_and_bytes_are_rows_not_exceptions(dg, folder, tmp_path):
    from dgnb.api.batch import transcribe_many

    audio = (folder / "clip03.wav").read_bytes()
    df = transcribe_many(dg, [folder / "nope.wav", str(tmp_path / "none-*.wav"), audio], cache=tmp_path / "c",
                         progress=False)
    assert df.status.tolist() == ["error", "error", "ok"]
    assert "not found" in df.error[0] and "none-*.wav" in df.error[1]
    assert df.source[2] == f"<{len(audio):,} bytes>" and df.transcript[2].transcript


@recorded
def test_async_client(local_server, folder, tmp_path):
    from dgnb.api.batch import atranscribe_many

    async def main():
        async with dgnb.AsyncClient(api_key=local_server.api_key, url=local_server.url) as adg:
            return await atranscribe_many(adg, [folder / "clip01.wav", folder / "clip02.wav"], concurrency=2,
                                          cache=tmp_path, progress=False)

    df = asyncio.run(main())
    assert df.status.tolist() == ["ok", "ok"] and all(t.words.shape[0] > 0 for t in df.transcript)


@recorded
def test_bad_arguments_fail_before_any_request(dg, folder):
    from dgnb.api.batch import transcribe_many

    with pytest.raises(ValueError, match="did you mean 'diarize'"):
        transcribe_many(dg, [folder / "clip00.wav"], diarise=True)
    with pytest.raises(ValueError, match="concurrency"):
        transcribe_many(dg, [folder / "clip00.wav"], concurrency=0)
    with pytest.raises(TypeError, match="paths, globs, URLs or bytes"):
        transcribe_many(dg, [42])
