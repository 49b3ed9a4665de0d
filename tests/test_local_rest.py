"""POST /v1/listen on the real ``dgnb serve`` subprocess: accuracy, Deepgram's reply shape, options,
URL sources, callbacks, multichannel, usage records and the official deepgram-sdk."""
from __future__ import annotations

import http.server
import json
import queue
import re
import shutil
import sqlite3
import threading
import uuid
from datetime import datetime
from functools import partial
from pathlib import Path

import httpx
import jiwer
import pytest

from conftest import AUDIO, RESPONSES, recorded
from local_server import make_two_channel_wav


PREAMBLE = AUDIO / "preamble.wav"
MSFT = AUDIO / "microsoft_headquarters.wav"
LISTEN = RESPONSES / "listen-rest"


def _fixture(options: dict) -> dict:
    for opt in sorted(LISTEN.glob("*-options.json")):
        if json.loads(opt.read_text()) == options:
            return json.loads(Path(str(opt).replace("-options.json", "-response.json")).read_text())
    raise LookupError(options)


def _norm(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s']", " ", text.lower()).split())


def _post(server, params=None, content=None, **kw) -> httpx.Response:
    return httpx.post(f"{server.url}/v1/listen", params=params or {}, content=content,
                      headers={**server.headers, **kw.pop("headers", {})}, timeout=120, **kw)


@pytest.fixture(scope="module")
def preamble_reply(local_server):
    r = _post(local_server, {"smart_format": "true"}, PREAMBLE.read_bytes())
    assert r.status_code == 200, r.text
    return r.json()


@recorded
def test_preamble_wer_against_nova3(preamble_reply):
    ref = _fixture({"model": "nova-3", "smart_format": True})
    ref_text = ref["results"]["channels"][0]["alternatives"][0]["transcript"]
    alt = preamble_reply["results"]["channels"][0]["alternatives"][0]
    assert jiwer.wer(_norm(ref_text), _norm(alt["transcript"])) <= 0.05
    assert jiwer.wer(_norm(ref_text), " ".join(w["word"] for w in alt["words"])) <= 0.05


@recorded
def test_word_times_are_monotonic_and_inside_the_audio(preamble_reply):
    duration = preamble_reply["metadata"]["duration"]
    words = preamble_reply["results"]["channels"][0]["alternatives"][0]["words"]
    assert len(words) > 40
    for prev, cur in zip(words, words[1:]):
        assert prev["start"] <= cur["start"]
    assert all(0 <= w["start"] <= w["end"] <= duration for w in words)
    assert all(0 < w["confidence"] <= 1 for w in words)


def _keys(d: dict) -> set:
    return set(d.keys())


@recorded
def test_reply_shape_equals_the_real_fixture(preamble_reply):
    ref = _fixture({"model": "nova-3", "smart_format": True})
    ours = preamble_reply
    assert _keys(ours) == _keys(ref)
    assert _keys(ours["metadata"]) == _keys(ref["metadata"])
    assert _keys(ours["results"]) == _keys(ref["results"])
    rc, oc = ref["results"]["channels"][0], ours["results"]["channels"][0]
    assert _keys(oc) == _keys(rc)
    ra, oa = rc["alternatives"][0], oc["alternatives"][0]
    assert _keys(oa) == _keys(ra)
    assert _keys(oa["words"][0]) == _keys(ra["words"][0])
    assert _keys(oa["paragraphs"]) == _keys(ra["paragraphs"])
    assert _keys(oa["paragraphs"]["paragraphs"][0]) == _keys(ra["paragraphs"]["paragraphs"][0])
    assert _keys(oa["paragraphs"]["paragraphs"][0]["sentences"][0]) == _keys(ra["paragraphs"]["paragraphs"][0]["sentences"][0])
    meta = ours["metadata"]
    assert meta["transaction_key"] == "deprecated"
    assert uuid.UUID(meta["request_id"]).version == 4
    assert meta["sha256"] == ref["metadata"]["sha256"]  # same bytes, same hash
    assert meta["created"].endswith("Z") and datetime.fromisoformat(meta["created"][:-1])
    assert abs(meta["duration"] - ref["metadata"]["duration"]) < 0.01
    assert meta["channels"] == 1
    (model_uuid,) = meta["models"]
    assert meta["model_info"][model_uuid]["name"] == "whisper-tiny.en"
    assert meta["model_info"][model_uuid]["arch"] == "whisper"
    # smart_format punctuates the transcript like Deepgram does
    assert oa["transcript"].startswith("We, the people")


@recorded
def test_summarize_v2_shape_equals_the_real_fixture(local_server):
    ref = _fixture({"model": "nova-3", "smart_format": True, "summarize": "v2"})
    r = _post(local_server, {"smart_format": "true", "summarize": "v2"}, PREAMBLE.read_bytes())
    assert r.status_code == 200, r.text
    ours = r.json()
    assert _keys(ours["results"]) == _keys(ref["results"])
    assert _keys(ours["metadata"]) == _keys(ref["metadata"])
    assert _keys(ours["metadata"]["summary_info"]) == _keys(ref["metadata"]["summary_info"])
    assert ours["results"]["summary"]["result"] == "success"
    assert len(ours["results"]["summary"]["short"].split()) >= 5


@recorded
def test_unknown_model_is_served_locally_with_a_warning(local_server):
    r = _post(local_server, {"model": "nova-3", "punctuate": "false"}, (AUDIO / "testing-websocket.wav").read_bytes())
    assert r.status_code == 200, r.text
    body = r.json()
    (warning,) = [w for w in body["metadata"]["warnings"] if w["parameter"] == "model"]
    assert set(warning) == {"parameter", "type", "message"} and "nova-3" in warning["message"]
    alt = body["results"]["channels"][0]["alternatives"][0]
    assert alt["words"], "the clip has speech"
    # without punctuate/smart_format: plain words in the transcript and no punctuated_word, as Deepgram's
    assert alt["transcript"] == " ".join(w["word"] for w in alt["words"])
    assert not any("punctuated_word" in w for w in alt["words"])


@pytest.fixture(scope="module")
def featured_reply(local_server):
    params = [
        ("punctuate", "true"), ("diarize", "true"), ("utterances", "true"), ("utt_split", "0.5"),
        ("paragraphs", "true"), ("sentiment", "true"), ("topics", "true"), ("intents", "true"),
        ("detect_entities", "true"), ("search", "union"), ("search", "liberty"), ("tag", "test-run"),
        ("tag", "second"), ("extra", "team:qa"), ("detect_language", "true"), ("keyterm", "posterity"),
        ("filler_words", "false"), ("numerals", "true"), ("profanity_filter", "true"),
        ("replace", "constitution:charter"), ("redact", "numbers"), ("language", "en-US"),
    ]
    r = _post(local_server, params, PREAMBLE.read_bytes())
    assert r.status_code == 200, r.text
    return r.json()


@recorded
def test_options_each_yield_their_field(featured_reply):
    meta, results = featured_reply["metadata"], featured_reply["results"]
    channel = results["channels"][0]
    alt = channel["alternatives"][0]
    # diarize
    assert all(isinstance(w["speaker"], int) and 0 <= w["speaker_confidence"] <= 1 for w in alt["words"])
    assert meta["diarize_info"]["arch"] == "vad-campplus-spectral"  # CI installs the CAM++ weights
    # utterances
    assert results["utterances"] and {"start", "end", "confidence", "channel", "transcript", "words"} <= set(results["utterances"][0])
    # paragraphs
    assert alt["paragraphs"]["paragraphs"] and "transcript" in alt["paragraphs"]
    # sentiment / topics / intents with their *_info blocks
    assert "segments" in results["sentiments"] and "average" in results["sentiments"]
    assert "segments" in results["topics"] and "segments" in results["intents"]
    for info in ("sentiment_info", "topics_info", "intents_info"):
        assert set(meta[info]) == {"model_uuid", "input_tokens", "output_tokens"}
    # entities
    assert isinstance(alt["entities"], list)
    # search (channel level)
    assert [s["query"] for s in channel["search"]] == ["union", "liberty"]
    assert channel["search"][0]["hits"] and {"confidence", "start", "end", "snippet"} <= set(channel["search"][0]["hits"][0])
    # tag and extra echoed
    assert meta["tags"] == ["test-run", "second"] and meta["extra"] == {"team": "qa"}
    # detect_language
    assert channel["detected_language"] == "en" and 0 <= channel["language_confidence"] <= 1
    # replace
    assert "charter" in alt["transcript"].lower() and "constitution" not in alt["transcript"].lower()
    # punctuate
    assert alt["transcript"].startswith("We,")


@recorded
def test_multichannel_transcribes_each_channel(local_server, tmp_path):
    if shutil.which("ffmpeg") is None:
        pytest.skip("ffmpeg CLI not installed")
    stereo = make_two_channel_wav(PREAMBLE, MSFT, tmp_path / "stereo.wav")
    r = _post(local_server, {"multichannel": "true", "utterances": "true"}, stereo.read_bytes(),
              headers={"content-type": "audio/wav"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["metadata"]["channels"] == 2 and len(body["results"]["channels"]) == 2
    left = body["results"]["channels"][0]["alternatives"][0]["transcript"]
    right = body["results"]["channels"][1]["alternatives"][0]["transcript"]
    assert "perfect union" in _norm(left) and "perfect union" not in _norm(right)
    assert "microsoft" in _norm(right) and "microsoft" not in _norm(left)
    assert {u["channel"] for u in body["results"]["utterances"]} == {0, 1}
    # and without multichannel the same file is one mixed channel
    r = _post(local_server, {}, stereo.read_bytes())
    assert r.status_code == 200 and r.json()["metadata"]["channels"] == 1


@recorded
def test_raw_mulaw_with_encoding_parameters(local_server):
    data = (AUDIO / "preamble-websocket.wav").read_bytes()
    body = data[data.index(b"data") + 8:]
    r = _post(local_server, {"encoding": "mulaw", "sample_rate": "8000"}, body)
    assert r.status_code == 200, r.text
    text = r.json()["results"]["channels"][0]["alternatives"][0]["transcript"]
    assert jiwer.wer("we the people of the united states in order to form a more perfect union", _norm(text)[:75].rsplit(" ", 1)[0]) <= 0.1


# --------------------------------------------------------------------------- URL and callback

class _Handler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_POST(self):
        self._capture()

    def do_PUT(self):
        self._capture()

    def _capture(self):
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        self.server.received.put((self.command, self.path, dict(self.headers), body))
        self.send_response(200)
        self.send_header("content-length", "0")
        self.end_headers()


@pytest.fixture(scope="module")
def http_site():
    """A stdlib HTTP server on 127.0.0.1 serving the fixture audio and capturing POST/PUT callbacks."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), partial(_Handler, directory=str(AUDIO)))
    server.received = queue.Queue()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()


def _site_url(site, path: str) -> str:
    return f"http://127.0.0.1:{site.server_address[1]}/{path}"


@recorded
def test_url_source(local_server, http_site):
    r = httpx.post(f"{local_server.url}/v1/listen", json={"url": _site_url(http_site, "microsoft_headquarters.wav")},
                   headers=local_server.headers, timeout=120)
    assert r.status_code == 200, r.text
    body = r.json()
    assert "microsoft" in _norm(body["results"]["channels"][0]["alternatives"][0]["transcript"])
    import hashlib

    assert body["metadata"]["sha256"] == hashlib.sha256(MSFT.read_bytes()).hexdigest()


def test_url_errors_are_clear(local_server, http_site):
    r = httpx.post(f"{local_server.url}/v1/listen", json={"url": _site_url(http_site, "missing.wav")},
                   headers=local_server.headers, timeout=60)
    assert r.status_code == 400 and r.json()["err_code"] == "REMOTE_CONTENT_ERROR" and "404" in r.json()["err_msg"]
    r = httpx.post(f"{local_server.url}/v1/listen", json={"url": "ftp://127.0.0.1/a.wav"},
                   headers=local_server.headers, timeout=60)
    assert r.status_code == 400 and "http" in r.json()["err_msg"]


@pytest.mark.parametrize("method", ["post", "put"])
@recorded
def test_callback_answers_at_once_and_delivers_later(local_server, http_site, method):
    callback = _site_url(http_site, f"hook-{method}")
    r = _post(local_server, {"callback": callback, "callback_method": method}, MSFT.read_bytes())
    assert r.status_code == 200, r.text
    assert set(r.json()) == {"request_id"}
    request_id = r.json()["request_id"]
    verb, path, headers, body = http_site.received.get(timeout=120)
    assert verb == method.upper() and path == f"/hook-{method}"
    result = json.loads(body)
    assert result["metadata"]["request_id"] == request_id
    assert "microsoft" in _norm(result["results"]["channels"][0]["alternatives"][0]["transcript"])


def test_callback_with_url_source_reports_errors_to_the_callback(local_server, http_site):
    callback = _site_url(http_site, "hook-error")
    r = httpx.post(f"{local_server.url}/v1/listen", params={"callback": callback},
                   json={"url": _site_url(http_site, "missing.wav")}, headers=local_server.headers, timeout=60)
    assert r.status_code == 200
    request_id = r.json()["request_id"]
    _verb, _path, _headers, body = http_site.received.get(timeout=120)
    err = json.loads(body)
    assert err["request_id"] == request_id and err["err_code"] == "REMOTE_CONTENT_ERROR"


# --------------------------------------------------------------------------- ledger and SDK

@recorded
def test_requests_are_recorded_in_the_ledger(local_server, preamble_reply):
    with sqlite3.connect(f"file:{local_server.data_dir / 'ledger.sqlite3'}?mode=ro", uri=True) as db:
        row = db.execute("SELECT duration, model, features, status, sha256 FROM requests WHERE request_id = ?",
                         (preamble_reply["metadata"]["request_id"],)).fetchone()
        keys = db.execute("SELECT secret_sha256 FROM keys").fetchall()
    assert row is not None
    duration, model, features, status, sha = row
    assert abs(duration - preamble_reply["metadata"]["duration"]) < 1e-6
    assert model == "whisper-tiny.en" and status == 200 and "smart_format" in json.loads(features)
    assert sha == preamble_reply["metadata"]["sha256"]
    # the key is stored hashed, never in clear
    assert all(local_server.api_key not in k[0] for k in keys)
    assert (local_server.data_dir / "admin.key").stat().st_mode & 0o777 == 0o600


@pytest.fixture(scope="module")
def sdk_client(local_server):
    from deepgram import DeepgramClient
    from deepgram.environment import DeepgramClientEnvironment

    ws = local_server.url.replace("http://", "ws://")
    env = DeepgramClientEnvironment(base=local_server.url, production=ws, agent=ws, agent_rest=local_server.url)
    return DeepgramClient(api_key=local_server.api_key, environment=env)


@recorded
def test_official_sdk_transcribe_file(sdk_client):
    resp = sdk_client.listen.v1.media.transcribe_file(request=PREAMBLE.read_bytes(), model="nova-3", smart_format=True)
    alt = resp.results.channels[0].alternatives[0]
    assert "perfect union" in _norm(alt.transcript)
    assert alt.words[0].punctuated_word and resp.metadata.duration > 19
    assert alt.paragraphs.paragraphs[0].sentences


@recorded
def test_official_sdk_transcribe_url(sdk_client, http_site):
    resp = sdk_client.listen.v1.media.transcribe_url(url=_site_url(http_site, "microsoft_headquarters.wav"),
                                                     model="nova-3", utterances=True)
    assert "microsoft" in _norm(resp.results.channels[0].alternatives[0].transcript)
    assert resp.results.utterances
