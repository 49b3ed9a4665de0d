"""Bad requests to the local engine: each gets the right 4xx with Deepgram's error body and a clear
message, and the server keeps serving good requests afterwards."""
from __future__ import annotations

import os
import shutil
import subprocess
import uuid

import httpx
import numpy as np
import pytest

from conftest import AUDIO, recorded, recorded_bytes


PREAMBLE = AUDIO / "preamble.wav"
CLIP = AUDIO / "testing-websocket.wav"


def _wav_with_data_size(size: int) -> bytes:
    data = bytearray(recorded_bytes(PREAMBLE)[:4000] or b"RIFF....WAVEdata....")
    pos = data.index(b"data")
    data[pos + 4:pos + 8] = size.to_bytes(4, "little")
    return bytes(data)


@pytest.fixture(scope="module")
def video_without_audio(tmp_path_factory) -> bytes:
    if shutil.which("ffmpeg") is None:
        pytest.skip("ffmpeg CLI not installed")
    path = tmp_path_factory.mktemp("video") / "testsrc.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc=duration=1:size=64x64:rate=10",
                    "-pix_fmt", "yuv420p", str(path)], check=True)
    return path.read_bytes()


WAV = recorded_bytes(PREAMBLE)
RNG = np.random.default_rng(7)

# (id, query params, body, content-type, expected status, words the message must contain)
CASES = [
    ("zero-bytes", {}, b"", None, 400, "empty"),
    ("truncated-wav-header", {}, WAV[:30], None, 400, "truncated"),
    ("truncated-wav-data", {}, WAV[: len(WAV) // 3], None, 400, "claims"),
    ("huge-claimed-wav-length", {}, _wav_with_data_size(0xFFFF0000), None, 400, "claims"),
    ("random-bytes", {}, RNG.integers(0, 256, 50_000, dtype=np.uint8).tobytes(), None, 400, "decode"),
    ("text-file-as-octet-stream", {}, b"Dear diary, today I sent a text file.\n" * 50, None, 400, "decode"),
    ("text-content-type", {}, b"hello", "text/plain", 415, "content type"),
    ("form-content-type", {}, b"a=b", "application/x-www-form-urlencoded", 415, "content type"),
    ("html-content-type", {}, b"<html></html>", "text/html", 415, "content type"),
    ("unknown-encoding", {"encoding": "pcm_fancy", "sample_rate": "16000"}, b"\0\0" * 800, None, 400, "encoding"),
    ("raw-encoding-for-mp3", {"encoding": "linear16", "sample_rate": "16000"},
     recorded_bytes(AUDIO / "CallCenterPhoneCall.mp3")[:50_000], None, 400, "mp3"),
    ("flac-encoding-for-wav", {"encoding": "flac"}, WAV, None, 400, "flac"),
    ("raw-without-sample-rate", {"encoding": "linear16"}, b"\0\1" * 800, None, 400, "sample_rate"),
    ("sample-rate-not-a-number", {"encoding": "linear16", "sample_rate": "fast"}, b"\0\1" * 800, None, 400, "sample_rate"),
    ("sample-rate-zero", {"encoding": "linear16", "sample_rate": "0"}, b"\0\1" * 800, None, 400, "sample_rate"),
    ("sample-rate-huge", {"encoding": "mulaw", "sample_rate": "9000000"}, b"\xff" * 800, None, 400, "sample_rate"),
    ("channels-zero", {"encoding": "linear16", "sample_rate": "16000", "channels": "0"}, b"\0\1" * 800, None, 400, "channels"),
    ("less-than-one-frame", {"encoding": "linear32", "sample_rate": "16000"}, b"\0\1", None, 400, "frame"),
    ("unknown-language", {"language": "xx-klingon"}, WAV, None, 400, "language"),
    ("french", {"language": "fr"}, WAV, None, 400, "English"),
    ("bad-boolean", {"punctuate": "maybe"}, WAV, None, 422, "punctuate"),
    ("bad-utt-split", {"utterances": "true", "utt_split": "soon"}, WAV, None, 422, "utt_split"),
    ("utt-split-nan", {"utterances": "true", "utt_split": "nan"}, WAV, None, 422, "utt_split"),
    ("utt-split-infinite", {"utterances": "true", "utt_split": "inf"}, WAV, None, 422, "utt_split"),
    ("bad-summarize", {"summarize": "v9"}, WAV, None, 422, "summarize"),
    ("bad-redact", {"redact": "everything"}, WAV, None, 422, "redact"),
    ("bad-callback-method", {"callback": "http://127.0.0.1:9/x", "callback_method": "get"}, WAV, None, 422, "callback_method"),
    ("callback-not-http", {"callback": "file:///etc/passwd"}, WAV, None, 400, "callback"),
    ("json-not-json", {}, b"{url: nope", "application/json", 400, "JSON"),
    ("json-without-url", {}, b'{"uri": "http://x"}', "application/json", 400, "url"),
    ("json-url-not-http", {}, b'{"url": "file:///etc/passwd"}', "application/json", 400, "http"),
    ("json-url-unreachable", {}, b'{"url": "http://127.0.0.1:9/a.wav"}', "application/json", 400, "fetch"),
]


def _check_error(r: httpx.Response, status: int, fragment: str) -> dict:
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"err_code", "err_msg", "request_id"}
    assert uuid.UUID(body["request_id"])
    assert fragment.lower() in body["err_msg"].lower(), body["err_msg"]
    assert "Traceback" not in body["err_msg"] and "File \"" not in body["err_msg"]
    return body


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
@recorded
def test_malformed_input_gets_a_clear_error(local_server, case):
    _id, params, body, ctype, status, fragment = case
    headers = dict(local_server.headers)
    if ctype:
        headers["content-type"] = ctype
    r = httpx.post(f"{local_server.url}/v1/listen", params=params, content=body, headers=headers, timeout=60)
    err = _check_error(r, status, fragment)
    assert err["err_code"] == {400: ("Bad Request", "REMOTE_CONTENT_ERROR"), 415: ("Unsupported Media Type",),
                               422: ("UNPROCESSABLE_ENTITY",)}[status][0 if _id != "json-url-unreachable" else 1]


def test_video_with_no_audio_track(local_server, video_without_audio):
    r = httpx.post(f"{local_server.url}/v1/listen", content=video_without_audio,
                   headers={**local_server.headers, "content-type": "video/mp4"}, timeout=60)
    _check_error(r, 400, "no audio stream")


@recorded
def test_the_server_still_serves_after_bad_requests(local_server, video_without_audio):
    # a burst of garbage first, then a good request on the same server process
    for body in (b"", b"\x00" * 10, WAV[:100], video_without_audio):
        httpx.post(f"{local_server.url}/v1/listen", content=body, headers=local_server.headers, timeout=60)
    r = httpx.post(f"{local_server.url}/v1/listen", content=CLIP.read_bytes(), headers=local_server.headers, timeout=60)
    assert r.status_code == 200, r.text
    assert r.json()["results"]["channels"][0]["alternatives"][0]["words"]
    assert local_server.process.poll() is None


@pytest.mark.parametrize("headers", [
    {},
    {"Authorization": "Token not-a-real-key"},
    {"Authorization": "Bearer not-a-real-token"},
    {"Authorization": "Token"},
    {"Authorization": "Basic dXNlcjpwYXNz"},
], ids=["no-header", "bad-key", "bad-bearer", "empty-key", "basic"])
@recorded
def test_401_without_a_valid_key(local_server, headers):
    r = httpx.post(f"{local_server.url}/v1/listen", content=CLIP.read_bytes(), headers=headers, timeout=30)
    body = _check_error(r, 401, "invalid credentials")
    assert body["err_code"] == "INVALID_AUTH"
    assert local_server.api_key not in r.text


@recorded
def test_token_scheme_is_case_insensitive(local_server):
    r = httpx.post(f"{local_server.url}/v1/listen", content=CLIP.read_bytes(),
                   headers={"Authorization": f"token {local_server.api_key}"}, timeout=60)
    assert r.status_code == 200, r.text


def test_404_and_405_have_deepgram_bodies(local_server):
    r = httpx.get(f"{local_server.url}/v1/nowhere", headers=local_server.headers)
    assert _check_error(r, 404, "/v1/nowhere")["err_code"] == "Not Found"
    r = httpx.put(f"{local_server.url}/v1/listen", headers=local_server.headers, content=b"x")
    _check_error(r, 405, "PUT")


# --------------------------------------------------------------------------- in-process server

@pytest.fixture(scope="module")
def small_server(tmp_path_factory):
    """The engine in this process (uvicorn in a daemon thread) with a 64 KB upload limit."""
    from dgnb.local.server import start_in_background

    server = start_in_background(data_dir=tmp_path_factory.mktemp("small"), max_upload_bytes=64 * 1024)
    yield server
    server.stop()


@recorded
def test_413_when_the_body_is_too_large(small_server):
    headers = {"Authorization": f"Token {small_server.api_key}"}
    r = httpx.post(f"{small_server.url}/v1/listen", content=WAV, headers=headers, timeout=60)
    _check_error(r, 413, "limit")

    def chunks():  # no content-length: the limit is enforced while streaming
        for i in range(0, len(WAV), 16384):
            yield WAV[i:i + 16384]

    r = httpx.post(f"{small_server.url}/v1/listen", content=chunks(), headers=headers, timeout=60)
    _check_error(r, 413, "limit")
    r = httpx.post(f"{small_server.url}/v1/listen", content=CLIP.read_bytes(), headers=headers, timeout=60)
    assert r.status_code == 200, r.text


@recorded
def test_bearer_tokens_and_extra_keys(small_server):
    ledger = small_server.app.state.engine.ledger
    admin = ledger.authenticate(f"Token {small_server.api_key}")
    assert admin is not None and admin.has("admin")
    token, ttl = ledger.grant_token(admin, ttl_seconds=60)
    r = httpx.post(f"{small_server.url}/v1/listen", content=CLIP.read_bytes(),
                   headers={"Authorization": f"Bearer {token}"}, timeout=60)
    assert r.status_code == 200, r.text
    key_id, secret = ledger.create_key(admin.project_id, "member key", scopes=["member"])
    p = ledger.authenticate(f"Token {secret}")
    assert p.key_id == key_id and not p.has("admin")
    assert secret not in repr(p) and small_server.api_key not in repr(small_server)
    # the usage of both requests landed in the ledger
    rows = ledger.query_requests(admin.project_id)
    assert any(row["status"] == 200 and row["duration"] > 0 for row in rows)
    assert any(row["status"] == 413 for row in rows)


def test_admin_key_survives_restart(tmp_path):
    from dgnb.local.ledger import Ledger

    first = Ledger(tmp_path)
    key = first.admin_key
    assert key and oct(os.stat(tmp_path / "admin.key").st_mode & 0o777) == "0o600"
    first.close()
    second = Ledger(tmp_path)
    assert second.admin_key == key and second.authenticate(f"Token {key}") is not None
    assert second.default_project_id == first.default_project_id


def test_websocket_handshake_without_key_is_refused_with_401(local_server):
    import asyncio

    import websockets
    from websockets.exceptions import InvalidStatus

    async def attempt():
        url = local_server.url.replace("http://", "ws://") + "/v1/listen?encoding=linear16&sample_rate=16000"
        with pytest.raises(InvalidStatus) as err:
            async with websockets.connect(url, subprotocols=["token", "wrong-key"]):
                pass
        return err.value.response

    response = asyncio.run(attempt())
    assert response.status_code == 401
    import json

    assert json.loads(bytes(response.body))["err_code"] == "INVALID_AUTH"
