"""The client core against a real HTTP server on 127.0.0.1: auth, URLs, retries, bodies, errors, secrets.

Every behaviour is checked on both ``dgnb.Client`` and ``dgnb.AsyncClient``.
"""
from __future__ import annotations

import asyncio
import hashlib
import inspect
import io
import json
import logging
import traceback

import pytest

import dgnb
from conftest import RESPONSES, recorded, recorded_json
from scripted_server import Reply, ScriptedServer, free_port

SECRET = "dgSECRET-0123456789abcdef"
PREAMBLE = recorded_json("listen-rest/b00dc*-response.json")


@pytest.fixture(scope="module")
def server():
    s = ScriptedServer().start()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def server2():
    s = ScriptedServer().start()
    yield s
    s.stop()


class Driver:
    """Makes a sync or async client and runs its calls to completion on one event loop."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.loop = asyncio.new_event_loop()
        self.clients: list = []

    def client(self, **kw):
        kw.setdefault("retry_backoff", 0.001)
        c = (dgnb.Client if self.kind == "sync" else dgnb.AsyncClient)(**kw)
        self.clients.append(c)
        return c

    def __call__(self, result):
        return self.loop.run_until_complete(result) if inspect.isawaitable(result) else result

    def close(self):
        for c in self.clients:
            self(c.close() if self.kind == "sync" else c.aclose())
        self.loop.close()


@pytest.fixture(params=["sync", "async"])
def run(request, monkeypatch):
    for name in ("DEEPGRAM_API_KEY", "DEEPGRAM_ACCESS_TOKEN", "DEEPGRAM_TOKEN", "DEEPGRAM_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    d = Driver(request.param)
    yield d
    d.close()


@pytest.fixture
def wav(tmp_path):
    p = tmp_path / "clip.wav"
    p.write_bytes(b"RIFF" + bytes(range(256)) * 1200)  # ~300 KB, content irrelevant to the scripted server
    return p


@recorded
def test_returns_transcript_and_sends_auth_and_options(run, server, wav):
    server.script(Reply(200, PREAMBLE))
    dg = run.client(api_key=SECRET, url=server.url)
    t = run(dg.listen.transcribe_file(wav, diarize=True, smart_format=False, keyterm=["dgnb", "notebook"], tag="t1"))
    assert isinstance(t, dgnb.Transcript)
    assert t.transcript.startswith("We, the people")
    seen = server.seen[-1]
    assert (seen.method, seen.path) == ("POST", "/v1/listen")
    assert seen.headers["authorization"] == f"Token {SECRET}"
    assert seen.headers["content-type"] == "audio/wav"
    assert ("diarize", "true") in seen.query and ("smart_format", "false") in seen.query
    assert [v for k, v in seen.query if k == "keyterm"] == ["dgnb", "notebook"]
    assert seen.body_sha256 == hashlib.sha256(wav.read_bytes()).hexdigest()


@pytest.mark.parametrize(
    "args, env, expected",
    [
        ({"access_token": "tok", "api_key": "key"}, {"DEEPGRAM_API_KEY": "envkey"}, "Bearer tok"),
        ({"api_key": "key"}, {"DEEPGRAM_ACCESS_TOKEN": "envtok"}, "Token key"),
        ({}, {"DEEPGRAM_ACCESS_TOKEN": "envtok", "DEEPGRAM_API_KEY": "envkey"}, "Bearer envtok"),
        ({}, {"DEEPGRAM_TOKEN": "envtok2", "DEEPGRAM_API_KEY": "envkey"}, "Bearer envtok2"),
        ({}, {"DEEPGRAM_API_KEY": "envkey"}, "Token envkey"),
        ({"api_key": "proxy"}, {"DEEPGRAM_API_KEY": "envkey"}, None),
    ],
)
@recorded
def test_credential_precedence_and_proxy(run, server, monkeypatch, args, env, expected):
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    server.script(Reply(200, PREAMBLE))
    dg = run.client(url=server.url, **args)
    run(dg.listen.transcribe_file(b"RIFF0000WAVE"))
    assert server.seen[-1].headers.get("authorization") == expected


@recorded
def test_per_namespace_urls_and_custom_headers(run, server, server2):
    server.script(Reply(500, {"err_msg": "wrong server"}))
    server2.script(Reply(200, PREAMBLE))
    dg = run.client(api_key="k", url=server.url, urls={"listen": server2.url}, headers={"X-Team": "notebooks"})
    run(dg.listen.transcribe_file(b"RIFF0000WAVE"))
    assert server.seen == [] and len(server2.seen) == 1
    assert server2.seen[0].headers["x-team"] == "notebooks"
    assert dg._config.endpoints.websocket("listen") == server2.url.replace("http://", "ws://")
    explicit = run.client(api_key="k", urls={"listen": {"rest": server2.url, "websocket": "wss://stream.example"}})
    assert explicit._config.endpoints.websocket("listen") == "wss://stream.example"
    assert explicit._config.endpoints.rest("speak") == "https://api.deepgram.com"


@recorded
def test_custom_http_client_is_used(run, server):
    import httpx

    server.script(Reply(200, PREAMBLE))
    http = (httpx.Client if run.kind == "sync" else httpx.AsyncClient)(headers={"X-Custom-Transport": "yes"})
    dg = run.client(api_key="k", url=server.url, http_client=http)
    run(dg.listen.transcribe_file(b"RIFF0000WAVE"))
    assert server.seen[-1].headers["x-custom-transport"] == "yes"


@pytest.mark.parametrize("header, minimum", [({"Retry-After": "1"}, 0.9), ({"retry-after-ms": "400"}, 0.35)])
@recorded
def test_429_then_200_honours_retry_after(run, server, header, minimum):
    server.script(Reply(429, {"err_code": "TOO_MANY_REQUESTS", "err_msg": "slow down"}, header), Reply(200, PREAMBLE))
    dg = run.client(api_key="k", url=server.url)  # backoff is 1 ms: only the header can explain the wait
    t = run(dg.listen.transcribe_file(b"RIFF0000WAVE"))
    assert t.request_id == PREAMBLE["metadata"]["request_id"]
    assert len(server.seen) == 2
    assert server.seen[1].at - server.seen[0].at >= minimum


def test_503_three_times_raises_after_three_attempts(run, server):
    server.script(Reply(503, {"err_code": "SERVICE_UNAVAILABLE", "err_msg": "busy", "request_id": "r-503"}))
    dg = run.client(api_key="k", url=server.url)
    with pytest.raises(dgnb.ApiError) as info:
        run(dg.listen.transcribe_file(b"RIFF0000WAVE"))
    assert len(server.seen) == 3
    assert info.value.status_code == 503 and info.value.request_id == "r-503" and "busy" in str(info.value)


@recorded
def test_file_body_is_resent_whole_on_every_attempt(run, server, wav):
    server.script(Reply(502, {}), Reply(503, {}), Reply(200, PREAMBLE))
    dg = run.client(api_key="k", url=server.url)
    run(dg.listen.transcribe_file(wav))
    digest = hashlib.sha256(wav.read_bytes()).hexdigest()
    assert [(s.body_len, s.body_sha256) for s in server.seen] == [(wav.stat().st_size, digest)] * 3
    with open(wav, "rb") as f:  # a file object too
        server.script(Reply(503, {}), Reply(200, PREAMBLE))
        run(dg.listen.transcribe_file(f))
    assert [s.body_sha256 for s in server.seen] == [digest] * 2


def test_timeout_raises_dgnb_error_naming_endpoint_and_limit(run, server):
    server.script(Reply(200, PREAMBLE, delay=2.0))
    dg = run.client(api_key="k", url=server.url)
    with pytest.raises(dgnb.TimeoutError) as info:
        run(dg.listen.transcribe_file(b"RIFF0000WAVE", timeout=0.3))
    assert "POST /v1/listen" in str(info.value) and "0.3 s" in str(info.value)
    assert isinstance(info.value, TimeoutError)


def test_api_error_fields_from_deepgram_body(run, server):
    body = {"err_code": "Bad Request", "err_msg": "Bad Request: failed to process audio: corrupt or unsupported data",
            "request_id": "0a1b2c3d"}
    server.script(Reply(400, body, {"dg-request-id": "0a1b2c3d"}))
    dg = run.client(api_key="k", url=server.url)
    with pytest.raises(dgnb.ApiError) as info:
        run(dg.listen.transcribe_file(b"not audio"))
    e = info.value
    assert (e.status_code, e.err_code, e.err_msg, e.request_id) == (400, "Bad Request", body["err_msg"], "0a1b2c3d")
    assert e.body == body and e.headers["dg-request-id"] == "0a1b2c3d"
    assert body["err_msg"] in str(e)
    assert len(server.seen) == 1  # 4xx is not retried


@pytest.mark.parametrize("body", [b"<html>proxy login</html>", b'{"metadata": {"request_id": "x"', b""])
def test_a_reply_that_is_not_json_is_a_dgnb_error_naming_the_request(run, server, body):
    server.script(Reply(200, body, {"content-type": "application/json"}))
    dg = run.client(api_key="k", url=server.url)
    with pytest.raises(dgnb.DgnbError) as info:
        run(dg.listen.transcribe_file(b"RIFF0000WAVE"))
    assert "POST /v1/listen" in str(info.value) and "not valid JSON" in str(info.value)
    assert not isinstance(info.value, ValueError)  # not json's own error, from deep inside


def test_connection_error_after_retries(run):
    dg = run.client(api_key="k", url=f"http://127.0.0.1:{free_port()}", max_retries=1)
    with pytest.raises(dgnb.ConnectionError) as info:
        run(dg.listen.transcribe_file(b"RIFF0000WAVE"))
    assert "POST /v1/listen" in str(info.value) and "2 attempt" in str(info.value)


def test_secret_never_leaks(run, server, caplog, capsys):
    caplog.set_level(logging.DEBUG, logger="dgnb")
    caplog.set_level(logging.DEBUG)
    texts = []
    for kw in ({"api_key": SECRET}, {"access_token": SECRET}):
        dg = run.client(url=server.url, **kw)
        texts += [repr(dg), str(dg), repr(dg._config), repr(dg.listen)]
        server.script(Reply(401, {"err_code": "INVALID_AUTH", "err_msg": "Invalid credentials."}))
        with pytest.raises(dgnb.ApiError) as info:
            run(dg.listen.transcribe_file(b"RIFF0000WAVE"))
        texts += [str(info.value), repr(info.value), "".join(traceback.format_exception(info.value))]
        server.script(Reply(200, PREAMBLE, delay=1.0))
        with pytest.raises(dgnb.TimeoutError) as info:
            run(dg.listen.transcribe_file(b"RIFF0000WAVE", timeout=0.2))
        texts += [str(info.value), "".join(traceback.format_exception(info.value))]
    offline = run.client(api_key=SECRET, url=f"http://127.0.0.1:{free_port()}", max_retries=0)
    with pytest.raises(dgnb.ConnectionError) as info:
        run(offline.listen.transcribe_file(b"x"))
    texts += [str(info.value), "".join(traceback.format_exception(info.value))]
    texts.append(caplog.text)
    out = capsys.readouterr()
    texts += [out.out, out.err]
    assert any("POST" in line for line in caplog.text.splitlines())  # logging did happen
    for text in texts:
        assert SECRET not in text


@recorded
def test_debug_log_shows_method_url_status_and_retries(run, server, caplog):
    caplog.set_level(logging.DEBUG, logger="dgnb")
    server.script(Reply(503, {}), Reply(200, PREAMBLE))
    dg = run.client(api_key="k", url=server.url)
    run(dg.listen.transcribe_file(b"RIFF0000WAVE"))
    assert "HTTP 503, retry 1/2" in caplog.text
    assert f"POST {server.url}/v1/listen" in caplog.text and "-> 200 in" in caplog.text


@recorded
def test_with_raw_response(run, server):
    server.script(Reply(200, PREAMBLE, {"dg-request-id": "raw-1"}))
    dg = run.client(api_key="k", url=server.url)
    raw = run(dg.with_raw_response.listen.transcribe_file(b"RIFF0000WAVE"))
    assert raw.status_code == 200 and raw.request_id == "raw-1" and raw.headers["content-type"] == "application/json"
    assert isinstance(raw.parsed, dgnb.Transcript)
    assert isinstance(run(dg.listen.transcribe_file(b"RIFF0000WAVE")), dgnb.Transcript)  # the original is unchanged


@recorded
def test_transcribe_dispatches_on_source_kind(run, server, wav):
    server.script(Reply(200, PREAMBLE))
    dg = run.client(api_key="k", url=server.url)
    run(dg.transcribe("https://example.com/a.mp3", punctuate=True))
    seen = server.seen[-1]
    assert json.loads(seen.body) == {"url": "https://example.com/a.mp3"} and ("punctuate", "true") in seen.query
    run(dg.transcribe(str(wav)))
    assert server.seen[-1].body_len == wav.stat().st_size
    run(dg.transcribe(io.BytesIO(b"ID3\x03rest-of-mp3")))
    assert server.seen[-1].headers["content-type"] == "audio/mpeg"
    run(dg.transcribe(b"fLaC\x00\x00", content_type="audio/x-custom"))
    assert server.seen[-1].headers["content-type"] == "audio/x-custom"
    assert server.seen[-1].headers["content-length"] == "6"


def test_callback_variants_return_request_id(run, server, wav):
    server.script(Reply(200, {"request_id": "cb-1"}))
    dg = run.client(api_key="k", url=server.url)
    assert run(dg.listen.transcribe_file_callback(wav, "https://hooks.example/x", diarize=True)) == {"request_id": "cb-1"}
    assert ("callback", "https://hooks.example/x") in server.seen[-1].query
    assert run(dg.listen.transcribe_url_callback("https://a.example/x.wav", "https://hooks.example/y"))["request_id"] == "cb-1"
    assert ("callback", "https://hooks.example/y") in server.seen[-1].query


@recorded
def test_bad_options_and_missing_file_fail_before_any_request(run, server, tmp_path):
    server.script(Reply(200, PREAMBLE))
    dg = run.client(api_key="k", url=server.url)
    with pytest.raises(ValueError, match="did you mean 'diarize'"):
        run(dg.listen.transcribe_file(b"RIFF", diarise=True))
    missing = tmp_path / "nope" / "call.wav"
    with pytest.raises(FileNotFoundError, match="call.wav"):
        run(dg.transcribe(missing))
    with pytest.raises(ValueError, match="not an http"):
        run(dg.listen.transcribe_url("ftp://x/y.wav"))
    assert server.seen == []
    run(dg.listen.transcribe_file(b"RIFF", extra_query={"brand_new_flag": True}, extra={"team": "a"}))
    assert ("brand_new_flag", "true") in server.seen[-1].query and ("extra", "team:a") in server.seen[-1].query


def test_help_of_the_client_documents_every_argument():
    """help(dgnb.Client) names and explains each constructor argument and how credentials are chosen."""
    import pydoc
    import re

    text = pydoc.render_doc(dgnb.Client, renderer=pydoc.plaintext)
    for name in inspect.signature(dgnb.Client.__init__).parameters:
        if name != "self":
            assert re.search(rf"\|\s+{name}: \S", text), name  # an "Arguments:" line of its own
    assert "DEEPGRAM_API_KEY" in text and "local engine" in text
