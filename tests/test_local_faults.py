"""The local engine against malformed audio: every WAV whose header lies or is impossible gets a
clear 400 in Deepgram's error shape, at once (nothing is decoded), and is never retried by the client;
the server goes on serving."""
from __future__ import annotations

import httpx
import numpy as np
import pytest

import dgnb

from conftest import recorded
from malformed import LIES, TONE, wav


@pytest.fixture(scope="module")
def dg(local_server):
    with dgnb.Client(api_key=local_server.api_key, url=local_server.url, max_retries=2) as client:
        yield client


@pytest.mark.parametrize("body,fragment", [c[1:] for c in LIES], ids=[c[0] for c in LIES])
def test_a_lying_wav_header_is_a_clear_400(local_server, body, fragment):
    r = httpx.post(f"{local_server.url}/v1/listen", content=body, headers=local_server.headers, timeout=30)
    assert r.status_code == 400, r.text
    err = r.json()
    assert set(err) == {"err_code", "err_msg", "request_id"} and err["err_code"] == "Bad Request"
    assert fragment.lower() in err["err_msg"].lower(), err["err_msg"]


def _requests(local_server) -> int:
    import sqlite3

    db = sqlite3.connect(f"file:{local_server.data_dir / 'ledger.sqlite3'}?mode=ro", uri=True)
    try:
        return db.execute("SELECT count(*) FROM requests WHERE path = '/v1/listen'").fetchone()[0]
    finally:
        db.close()


def test_the_client_says_what_was_wrong_and_does_not_retry(dg, local_server):
    before = _requests(local_server)
    with pytest.raises(dgnb.ApiError) as info:
        dg.transcribe(wav(bits=0, block_align=2))
    assert info.value.status_code == 400 and "0 bits per sample" in str(info.value)
    assert _requests(local_server) == before + 1  # one request: a 400 is not retried


def test_honest_headers_still_decode(local_server):
    for body in (wav(), wav(rate=8000, data=TONE[:16000]), wav(channels=2, data=TONE),
                 wav(tag=3, bits=32, data=(np.frombuffer(TONE, "<i2") / 32768).astype("<f4").tobytes())):
        r = httpx.post(f"{local_server.url}/v1/listen", content=body, headers=local_server.headers, timeout=60)
        assert r.status_code == 200, r.text


# ---------------------------------------------------------------- privilege ----
def _call(server, method: str, path: str, key: str, **kw) -> httpx.Response:
    return httpx.request(method, f"{server.url}{path}", headers={"Authorization": f"Token {key}"}, timeout=30, **kw)


@pytest.fixture()
def project(local_server):
    """(project id, the admin key's id) of the engine's own project."""
    me = _call(local_server, "GET", "/v1/auth/token", local_server.api_key).json()
    return me["project_id"], me["api_key_id"]


def _new_key(server, key: str, pid: str, scopes: list[str]) -> httpx.Response:
    return _call(server, "POST", f"/v1/projects/{pid}/keys", key, json={"comment": "fault suite", "scopes": scopes})


def test_a_member_key_cannot_delete_or_mint_a_key_above_it(local_server, project):
    pid, admin_id = project
    member = _new_key(local_server, local_server.api_key, pid, ["member"]).json()
    r = _call(local_server, "DELETE", f"/v1/projects/{pid}/keys/{admin_id}", member["key"])
    assert r.status_code == 403 and "permissions it does not hold" in r.json()["err_msg"], r.text
    r = _new_key(local_server, member["key"], pid, ["admin"])
    assert r.status_code == 403, r.text
    assert _call(local_server, "GET", "/v1/projects", local_server.api_key).status_code == 200  # the owner still gets in
    # its own level is fine: a member key deletes another member key of its member, and itself
    other = _new_key(local_server, member["key"], pid, ["member"]).json()
    for key_id in (other["api_key_id"], member["api_key_id"]):
        r = _call(local_server, "DELETE", f"/v1/projects/{pid}/keys/{key_id}", member["key"])
        assert r.status_code == 200, r.text


def test_the_last_owner_key_cannot_be_deleted(local_server, project):
    pid, admin_id = project
    second = _new_key(local_server, local_server.api_key, pid, ["owner"]).json()
    r = _call(local_server, "DELETE", f"/v1/projects/{pid}/keys/{second['api_key_id']}", local_server.api_key)
    assert r.status_code == 200, r.text  # another owner key remains: fine
    r = _call(local_server, "DELETE", f"/v1/projects/{pid}/keys/{admin_id}", local_server.api_key)
    assert r.status_code == 400 and "last owner key" in r.json()["err_msg"], r.text
    assert _call(local_server, "GET", "/v1/projects", local_server.api_key).status_code == 200


def test_a_locked_out_owner_mints_a_new_admin_key_from_the_data_dir(tmp_path):
    from local_server import start_server, stop_server

    first = start_server(tmp_path)
    stop_server(first)
    (tmp_path / "admin.key").unlink()  # the owner lost the key
    second = start_server(tmp_path, args=["--reset-admin-key"])
    try:
        assert second.api_key and second.api_key != first.api_key
        for key in (second.api_key, first.api_key):  # the new key is an owner's; the old one still works too
            assert _call(second, "GET", "/v1/projects", key).status_code == 200
        me = _call(second, "GET", "/v1/auth/token", second.api_key).json()
        assert "owner" in me["scopes"] and me["member_id"]
    finally:
        stop_server(second)


# ---------------------------------------------------------------- exposure and leftovers ----
def test_a_caller_without_credentials_learns_nothing_of_the_machine(local_server):
    r = httpx.post(f"{local_server.url}/v1/listen", content=wav(), timeout=30)
    assert r.status_code == 401
    assert str(local_server.data_dir) not in r.text and "admin.key" not in r.text, r.text


def test_the_data_dir_is_private_and_a_killed_engine_leaves_no_upload(tmp_path):
    import os
    import signal
    import stat

    from local_server import start_server, stop_server

    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    os.chmod(data, 0o755)
    first = start_server(data)
    assert stat.S_IMODE(os.stat(data).st_mode) == 0o700  # it holds the admin key and the ledger
    for name in ("ledger.sqlite3", "admin.key"):
        assert stat.S_IMODE(os.stat(data / name).st_mode) == 0o600, name
    own = data / "tmp" / str(first.process.pid)
    assert own.is_dir()
    (own / "upload-in-flight").write_bytes(b"\0" * 100_000)  # what a request had written when the engine died
    (data / "tmp" / "loose-upload").write_bytes(b"\0" * 1000)  # older engines wrote straight into tmp/
    os.kill(first.process.pid, signal.SIGKILL)
    first.process.wait(10)
    second = start_server(data)
    try:
        left = sorted(p.name for p in (data / "tmp").iterdir())
        assert left == [str(second.process.pid)] and not list((data / "tmp" / left[0]).iterdir())
        r = httpx.post(f"{second.url}/v1/listen", content=wav(), headers=second.headers, timeout=60)
        assert r.status_code == 200, r.text
    finally:
        stop_server(second)


# ---------------------------------------------------------------- model names ----
@pytest.mark.parametrize("model", ["nonexistent", "nova-9", "nova-2-podcast", "flux-general-en", "aura-2-thalia-en"])
def test_an_unknown_model_is_a_400_that_lists_the_models(local_server, model):
    r = httpx.post(f"{local_server.url}/v1/listen", params={"model": model}, content=wav(), headers=local_server.headers,
                   timeout=30)
    assert r.status_code == 400, r.text
    assert model in r.json()["err_msg"] and "nova-3" in r.json()["err_msg"]


@pytest.mark.parametrize("model", ["nova-3", "nova-2-phonecall", "base", "enhanced-meeting", "whisper-large",
                                   "whisper-tiny.en", "1f5ab5a0-5f8a-4e1c-9f3a-2b6e4c7d8e90"])
def test_deepgram_models_are_served_locally_with_a_warning_or_not(local_server, model):
    r = httpx.post(f"{local_server.url}/v1/listen", params={"model": model}, content=wav(), headers=local_server.headers,
                   timeout=60)
    assert r.status_code == 200, r.text


def test_two_owners_demoting_or_removing_each_other_at_once_leave_one(tmp_path):
    """The owner count is checked in the transaction that changes it: two engines on one data dir,
    each owner demoting (or removing) the other at the same moment, always leave exactly one owner."""
    import threading

    from dgnb.local.ledger import Ledger

    ledgers = [Ledger(tmp_path), Ledger(tmp_path)]  # two engines sharing the data dir
    pid = ledgers[0].default_project_id
    for round_ in range(20):
        first = next(m["member_id"] for m in ledgers[0].members(pid) if "owner" in m["scopes"])
        second = ledgers[0].add_member(pid, f"owner{round_}@example.com", "owner")
        start = threading.Barrier(2)
        refused: list[str] = []

        def change(ledger, member_id):
            start.wait()
            try:
                if round_ % 2:
                    ledger.remove_member(pid, member_id)
                else:
                    ledger.set_member_scope(pid, member_id, "member")
            except Exception as exc:  # the loser's refusal
                refused.append(getattr(exc, "message", str(exc)))

        threads = [threading.Thread(target=change, args=(ledgers[0], first)),
                   threading.Thread(target=change, args=(ledgers[1], second))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        owners = [m for m in ledgers[1].members(pid) if "owner" in m["scopes"]]
        assert len(owners) == 1 and len(refused) == 1 and "only owner" in refused[0], (round_, owners, refused)


# ---------------------------------------------------------------- work for nobody ----
@recorded
def test_a_client_that_leaves_stops_the_work_and_is_billed_what_was_read(tmp_path):
    """A client that gives up on a long file (a read timeout) stops its transcription at the next
    stretch of audio: it is logged 499 with the seconds read (billed for those only), and the engine
    serves the next request."""
    import threading
    import wave

    from conftest import AUDIO
    from dgnb.local.ledger.prices import price_of
    from dgnb.local.server import start_in_background

    with wave.open(str(AUDIO / "preamble.wav")) as w:
        rate, pcm = w.getframerate(), w.readframes(w.getnframes())
    long = pcm * 12  # about 230 s of speech: tens of seconds of work on two cores
    seconds = len(long) / 2 / rate
    server = start_in_background(data_dir=tmp_path)
    ledger = server.app.state.engine.ledger
    logged, record = threading.Event(), ledger.record_request

    def record_and_tell(**request):
        usd = record(**request)
        if request["status"] == 499:
            logged.set()
        return usd

    ledger.record_request = record_and_tell
    headers = {"Authorization": f"Token {server.api_key}", "Content-Type": "audio/raw"}
    params = {"encoding": "linear16", "sample_rate": rate}
    try:
        with pytest.raises(httpx.ReadTimeout):  # the client leaves a second after sending
            httpx.post(f"{server.url}/v1/listen", params=params, content=long, headers=headers,
                       timeout=httpx.Timeout(30, read=1.0))
        assert logged.wait(120)
        [gone] = ledger.query_requests(ledger.default_project_id, status="failed")
        assert gone["status"] == 499 and gone["err_code"] == "CLIENT_CLOSED_REQUEST"
        assert 0 <= gone["duration"] < seconds / 2, gone  # stopped early
        assert gone["usd"] > 0 and gone["usd"] == pytest.approx(price_of("listen", "sync", duration=gone["duration"], channels=1, characters=0))
        r = httpx.post(f"{server.url}/v1/listen", params=params, content=pcm, headers=headers, timeout=120)
        assert r.status_code == 200 and r.json()["metadata"]["duration"] == pytest.approx(len(pcm) / 2 / rate, abs=0.01)
    finally:
        server.stop()
