"""dgnb vs the official deepgram-sdk, side by side against the same loopback server.

Prints: import time, import to first transcript, per-call time over N sequential transcribe_file calls of a
~1 MB file, and peak RSS growth while uploading a large file (fresh processes, the clients alternating), and the words DataFrame build time for a synthetic
10-hour response. Run: ``python benchmarks/bench_client.py [--calls 200] [--upload-mb 1024]``.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from recorded import RESPONSES

ROOT = Path(__file__).resolve().parent.parent
RESPONSE = next((RESPONSES / "listen-rest").glob("b00dc*-response.json"))

SERVER = textwrap.dedent(
    """
    # A minimal keep-alive HTTP/1.1 server on asyncio: it reads and drops the upload and answers a fixed
    # Deepgram response, so the figures measure the clients, not the server.
    import asyncio, sys
    body = open(sys.argv[2], "rb").read()
    head = (b"HTTP/1.1 200 OK\\r\\ncontent-type: application/json\\r\\ndg-request-id: bench\\r\\n"
            b"content-length: " + str(len(body)).encode() + b"\\r\\n\\r\\n")
    END = b"\\r\\n0\\r\\n\\r\\n"

    class Http(asyncio.Protocol):
        def connection_made(self, transport):
            self.t, self.buf, self.left = transport, b"", None
        def data_received(self, data):
            if self.left == "chunked":  # a chunked upload (the SDK sending an iterator) ends with an empty chunk
                seen = self.tail + data
                if END not in seen:
                    self.tail = seen[-len(END):]
                    return
                data, self.left = seen.split(END, 1)[1], None
                self.t.write(head + body)
            elif self.left is not None:
                take = min(self.left, len(data))
                self.left -= take
                data = data[take:]
                if self.left:
                    return
                self.left = None
                self.t.write(head + body)
            self.buf += data
            while b"\\r\\n\\r\\n" in self.buf:
                header, self.buf = self.buf.split(b"\\r\\n\\r\\n", 1)
                length = 0
                for line in header.split(b"\\r\\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                    if name.strip().lower() == b"transfer-encoding" and b"chunked" in value.lower():
                        rest, self.left, self.tail, self.buf = self.buf, "chunked", b"", b""
                        return self.data_received(rest)
                take = min(length, len(self.buf))
                self.buf, self.left = self.buf[take:], length - take
                if self.left:
                    return
                self.left = None
                self.t.write(head + body)

    async def main():
        server = await asyncio.get_running_loop().create_server(Http, "127.0.0.1", int(sys.argv[1]))
        await server.serve_forever()
    asyncio.run(main())
    """
)


def median_import(statement: str, runs: int = 7) -> float:
    code = f"import time; t = time.perf_counter(); {statement}; print(time.perf_counter() - t)"
    times = [float(subprocess.check_output([sys.executable, "-c", code], text=True)) for _ in range(runs)]
    return statistics.median(times)


def start_server() -> tuple[subprocess.Popen, str]:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-c", SERVER, str(port), str(RESPONSE)])
    import httpx

    for _ in range(200):
        try:
            httpx.get(f"http://127.0.0.1:{port}/", timeout=0.5)
            break
        except httpx.HTTPError:
            time.sleep(0.05)
    return proc, f"http://127.0.0.1:{port}"


PER_CALL = textwrap.dedent(
    """
    import sys, time
    which, url, path, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    if which == "dgnb":
        import dgnb
        dg = dgnb.Client(api_key="bench", url=url)
        call = lambda: dg.listen.transcribe_file(path, model="nova-3", smart_format=True).transcript
    else:
        from deepgram import DeepgramClient
        from deepgram.environment import DeepgramClientEnvironment
        env = DeepgramClientEnvironment(base=url, production=url.replace("http", "ws"), agent=url.replace("http", "ws"), agent_rest=url)
        dg = DeepgramClient(api_key="bench", environment=env)
        def call():
            with open(path, "rb") as f:
                data = f.read()
            r = dg.listen.v1.media.transcribe_file(request=data, model="nova-3", smart_format=True)
            return r.results.channels[0].alternatives[0].transcript
    for _ in range(5):
        call()
    t = time.perf_counter()
    for _ in range(n):
        call()
    print((time.perf_counter() - t) / n)
    """
)

FIRST = textwrap.dedent(
    """
    import time
    t = time.perf_counter()
    import resource, sys
    which, url, path = sys.argv[1], sys.argv[2], sys.argv[3]
    if which == "dgnb":
        import dgnb
        text = dgnb.Client(api_key="bench", url=url).listen.transcribe_file(path, model="nova-3").transcript
    else:
        from deepgram import DeepgramClient
        from deepgram.environment import DeepgramClientEnvironment
        env = DeepgramClientEnvironment(base=url, production=url.replace("http", "ws"), agent=url.replace("http", "ws"), agent_rest=url)
        with open(path, "rb") as f:
            r = DeepgramClient(api_key="bench", environment=env).listen.v1.media.transcribe_file(request=f.read(), model="nova-3")
        text = r.results.channels[0].alternatives[0].transcript
    assert text
    print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "pandas" in sys.modules)
    """
)


def first_transcript(url: str, clip: Path, runs: int = 7) -> dict:
    """Per client: (seconds, peak MB, pandas imported) from a fresh process's first line to its first transcript,
    the two clients alternating."""
    out: dict[str, list] = {"dgnb": [], "sdk": []}
    for _ in range(runs):
        for which in out:
            seconds, mb, pandas = subprocess.check_output([sys.executable, "-c", FIRST, which, url, str(clip)],
                                                          text=True).split()
            out[which].append((float(seconds), float(mb), pandas == "True"))
    return out


UPLOAD = textwrap.dedent(
    """
    import resource, sys
    which, url, path = sys.argv[1], sys.argv[2], sys.argv[3]
    import pandas  # imported first, so that a client importing it is not counted as buffering
    if which == "dgnb":
        import dgnb
        dg = dgnb.Client(api_key="bench", url=url, timeout=600)
        upload = lambda: dg.listen.transcribe_file(path).transcript
    else:
        from deepgram import DeepgramClient
        from deepgram.environment import DeepgramClientEnvironment
        env = DeepgramClientEnvironment(base=url, production=url.replace("http", "ws"), agent=url.replace("http", "ws"), agent_rest=url)
        dg = DeepgramClient(api_key="bench", environment=env)
        def upload():  # the SDK's way to send a file it should not hold: an iterator of chunks
            with open(path, "rb") as f:
                chunks = iter(lambda: f.read(1 << 20), b"")
                return dg.listen.v1.media.transcribe_file(request=chunks, model="nova-3", request_options={"timeout_in_seconds": 600})
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    upload()
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print((after - before) / 1024)
    """
)


def alternating(argv_of, runs: int = 3) -> dict[str, list[float]]:
    """Per client, the figure a fresh process prints for ``argv_of(client)``, the clients taking turns."""
    out: dict[str, list[float]] = {"dgnb": [], "sdk": []}
    for _ in range(runs):
        for which in out:
            out[which].append(float(subprocess.check_output([sys.executable, "-c", *argv_of(which)], text=True)))
    return out


def median_range(xs: list[float], scale: float = 1.0, fmt: str = ".2f") -> str:
    return f"{statistics.median(xs) * scale:{fmt}} ({min(xs) * scale:{fmt}}-{max(xs) * scale:{fmt}})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--upload-mb", type=int, default=1024)
    args = parser.parse_args()

    dg_import = median_import("import dgnb; dgnb.Client")
    sdk_import = median_import("from deepgram import DeepgramClient")
    print(f"import time         dgnb {dg_import*1000:7.1f} ms | deepgram-sdk {sdk_import*1000:7.1f} ms | "
          f"ratio {dg_import/sdk_import:.2f} (goal <= 0.70)")

    proc, url = start_server()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            clip = Path(tmp) / "clip.wav"
            clip.write_bytes(b"RIFF" + os.urandom(1_000_000))
            per = alternating(lambda which: [PER_CALL, which, url, str(clip), str(args.calls)])
            first = first_transcript(url, clip)
            (dg_s, dg_mb), (sdk_s, sdk_mb) = ([statistics.median(r[i] for r in first[w]) for i in (0, 1)] for w in ("dgnb", "sdk"))
            spread = {w: f"{min(r[0] for r in first[w])*1000:.0f}-{max(r[0] for r in first[w])*1000:.0f}" for w in first}
            print(f"import to first transcript dgnb {dg_s*1000:7.1f} ms ({spread['dgnb']}), {dg_mb:.0f} MB, pandas "
                  f"{'imported' if first['dgnb'][0][2] else 'not imported'} | deepgram-sdk {sdk_s*1000:7.1f} ms "
                  f"({spread['sdk']}), {sdk_mb:.0f} MB | ratio {dg_s/sdk_s:.2f} (goal <= 0.80)")
            print(f"per call ({args.calls}x 1 MB, 3 runs each, alternating) dgnb {median_range(per['dgnb'], 1000)} ms | "
                  f"deepgram-sdk {median_range(per['sdk'], 1000)} ms | ratio "
                  f"{statistics.median(per['dgnb']) / statistics.median(per['sdk']):.2f} (goal <= 0.60)")

            big = Path(tmp) / "big.raw"
            with open(big, "wb") as f:
                f.truncate(args.upload_mb << 20)  # sparse: costs no disk
            growth = alternating(lambda which: [UPLOAD, which, url, str(big)], runs=2)
            print(f"peak RSS growth uploading {args.upload_mb} MB (pandas imported before; 2 runs each, alternating): "
                  f"dgnb {median_range(growth['dgnb'], fmt='.1f')} MB | deepgram-sdk {median_range(growth['sdk'], fmt='.1f')} MB "
                  f"(goal <= 64 MB)")
    finally:
        proc.terminate()
        proc.wait()

    sys.path.insert(0, str(ROOT / "benchmarks"))
    from bench_frames import words_frame_seconds

    seconds, n = words_frame_seconds()
    print(f"words DataFrame, synthetic 10 h / {n} words: {seconds*1000:.1f} ms (goal <= 150 ms)")


if __name__ == "__main__":
    main()
