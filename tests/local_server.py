"""Start the real ``dgnb serve`` as a subprocess on a free 127.0.0.1 port, for tests.

Register the fixture for every test module by adding to tests/conftest.py::

    from local_server import local_server  # noqa: F401  (session-scoped fixture)

Then ``def test_x(local_server): url, api_key = local_server`` (also ``.url``, ``.api_key``,
``.data_dir``). One server (and one loaded Whisper model) serves the whole session.
"""
from __future__ import annotations

import os
import queue
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
_READY = re.compile(r"listening on (http://\S+)")


class LocalServer(tuple):
    """``(url, api_key)`` with ``.url``, ``.api_key``, ``.data_dir`` and ``.process`` attributes."""

    def __new__(cls, url: str, api_key: str, data_dir: Path, process: subprocess.Popen):
        obj = super().__new__(cls, (url, api_key))
        obj.url, obj.api_key, obj.data_dir, obj.process = url, api_key, data_dir, process
        return obj

    def __repr__(self) -> str:  # never shows the key
        return f"LocalServer(url={self.url!r}, data_dir={str(self.data_dir)!r})"

    @property
    def headers(self) -> dict:
        return {"Authorization": f"Token {self.api_key}"}

    @property
    def ws_url(self) -> str:
        return "ws://" + self.url.split("://", 1)[1]


def _pump(stream, lines: "queue.Queue[str]", sink: list) -> None:
    for line in iter(stream.readline, ""):
        sink.append(line)
        lines.put(line)
    lines.put("")


def start_server(data_dir: Path, *, extra_env: dict | None = None, timeout: float = 60.0, args=()) -> LocalServer:
    """Run ``python -m dgnb serve --port 0 [args]`` and wait for its 'listening on' line."""
    env = dict(os.environ, HF_HUB_OFFLINE="1", PYTHONUNBUFFERED="1", **(extra_env or {}))
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    proc = subprocess.Popen(
        [sys.executable, "-m", "dgnb", "serve", "--host", "127.0.0.1", "--port", "0", "--data-dir", str(data_dir), *args],
        cwd=str(ROOT), env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1,
    )
    lines: "queue.Queue[str]" = queue.Queue()
    output: list[str] = []
    threading.Thread(target=_pump, args=(proc.stdout, lines, output), daemon=True).start()
    deadline = time.monotonic() + timeout
    while True:
        try:
            line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
        except queue.Empty:
            line = None
        if line:
            m = _READY.search(line)
            if m:
                key = (data_dir / "admin.key").read_text().strip()
                return LocalServer(m.group(1), key, data_dir, proc)
            continue
        if line == "" or proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError("dgnb serve did not start:\n" + "".join(output[-40:]))


def stop_server(server: LocalServer) -> None:
    server.process.terminate()
    try:
        server.process.wait(10)
    except subprocess.TimeoutExpired:
        server.process.kill()


@pytest.fixture(scope="session")
def local_server():
    """A real ``dgnb serve`` subprocess for the session: yields ``(url, api_key)``."""
    with tempfile.TemporaryDirectory(prefix="dgnb-test-server-") as tmp:
        server = start_server(Path(tmp))
        try:
            yield server
        finally:
            stop_server(server)


def make_two_channel_wav(left, right, out: Path, seconds: float = 19.0) -> Path:
    """A 16 kHz 2-channel WAV with ``left`` on channel 0 and ``right`` (padded) on channel 1 (ffmpeg CLI)."""
    fmt = "aresample=16000,aformat=sample_fmts=s16:channel_layouts=mono"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(left), "-i", str(right), "-filter_complex",
                    f"[0:a]{fmt}[a];[1:a]{fmt},apad[b];[a][b]amerge=inputs=2[m]",
                    "-map", "[m]", "-t", str(seconds), str(out)], check=True)
    return out


def official_sdk(server):
    """The official deepgram-sdk's client, every endpoint pointed at ``server`` (a LocalServer or alike)."""
    from deepgram import DeepgramClient
    from deepgram.environment import DeepgramClientEnvironment

    ws = server.url.replace("http://", "ws://")
    return DeepgramClient(api_key=server.api_key, environment=DeepgramClientEnvironment(
        base=server.url, production=ws, agent=ws, agent_rest=server.url))
