"""Speech-to-text on pre-recorded audio: ``/v1/listen``.

>>> import dgnb
>>> dg = dgnb.Client()                                   # doctest: +SKIP
>>> t = dg.listen.transcribe_file("call.wav", diarize=True)  # doctest: +SKIP
>>> t.words.head()                                        # doctest: +SKIP
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Generator, Mapping

from ..._core import audio
from ..._core.http import Call
from ..namespace import Namespace, endpoint
from ..._core.params import check_options, encode_params
from ...protocol.listen import LISTEN_OPTIONS

if TYPE_CHECKING:
    from ...results.transcript import Transcript



def _parse_transcript(response: Any) -> "Transcript":
    from ...results.transcript import Transcript

    return Transcript.from_response(response.json())


class Listen(Namespace):
    """Pre-recorded transcription. Every method returns a :class:`dgnb.Transcript`
    (or ``{"request_id": ...}`` for the callback variants); on ``AsyncClient`` they are awaitable."""

    name = "listen"

    def _call(
        self,
        options: Mapping[str, Any],
        *,
        body: Any = None,
        json: Any = None,
        content_type: str | None = None,
        timeout: float | None = None,
        extra_query: Mapping[str, Any] | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> Call:
        check_options(options, LISTEN_OPTIONS, "/v1/listen")
        headers = dict(extra_headers or {})
        if content_type:
            headers["Content-Type"] = content_type
        params = encode_params({**options, **(extra_query or {})})
        return Call("POST", "/v1/listen", "listen", params=params, body=body, json=json, headers=headers, timeout=timeout)

    @endpoint
    def transcribe_file(
        self,
        source: audio.AudioSource,
        *,
        content_type: str | None = None,
        timeout: float | None = None,
        extra_query: Mapping[str, Any] | None = None,
        extra_headers: Mapping[str, str] | None = None,
        **options: Any,
    ) -> Generator[Any, Any, "Transcript"]:
        """Transcribe a local file (path), bytes or a binary file object; the audio is streamed.

        Options are Deepgram's /v1/listen query parameters (``model``, ``diarize``, ``smart_format``...).

        >>> t = dg.listen.transcribe_file("call.wav", smart_format=True)  # doctest: +SKIP
        """
        prepared = audio.prepare(source, content_type)
        call = self._call(options, body=prepared.body, content_type=prepared.content_type, timeout=timeout,
                          extra_query=extra_query, extra_headers=extra_headers)
        response = yield from self._send(call)
        return _parse_transcript(response)

    @endpoint
    def transcribe_url(
        self,
        url: str,
        *,
        timeout: float | None = None,
        extra_query: Mapping[str, Any] | None = None,
        extra_headers: Mapping[str, str] | None = None,
        **options: Any,
    ) -> Generator[Any, Any, "Transcript"]:
        """Transcribe audio the API fetches from ``url``.

        >>> t = dg.listen.transcribe_url("https://dpgr.am/spacewalk.wav")  # doctest: +SKIP
        """
        if not audio.is_url(url):
            raise ValueError(f"not an http(s) URL: {url!r}")
        call = self._call(options, json={"url": url}, timeout=timeout, extra_query=extra_query, extra_headers=extra_headers)
        response = yield from self._send(call)
        return _parse_transcript(response)

    @endpoint
    def transcribe_file_callback(
        self, source: audio.AudioSource, callback_url: str, *, content_type: str | None = None,
        timeout: float | None = None, extra_query: Mapping[str, Any] | None = None,
        extra_headers: Mapping[str, str] | None = None, **options: Any,
    ) -> Generator[Any, Any, dict]:
        """Submit audio; the result is POSTed to ``callback_url`` later. Returns ``{"request_id": ...}``.

        >>> dg.listen.transcribe_file_callback("call.wav", "https://example.com/hook")  # doctest: +SKIP
        """
        prepared = audio.prepare(source, content_type)
        call = self._call({**options, "callback": callback_url}, body=prepared.body, content_type=prepared.content_type,
                          timeout=timeout, extra_query=extra_query, extra_headers=extra_headers)
        response = yield from self._send(call)
        return response.json()

    @endpoint
    def transcribe_url_callback(
        self, url: str, callback_url: str, *, timeout: float | None = None,
        extra_query: Mapping[str, Any] | None = None, extra_headers: Mapping[str, str] | None = None, **options: Any,
    ) -> Generator[Any, Any, dict]:
        """Like :meth:`transcribe_url`, answered at once with ``{"request_id": ...}``; the result goes to ``callback_url``.

        >>> dg.listen.transcribe_url_callback("https://dpgr.am/spacewalk.wav", "https://example.com/hook")  # doctest: +SKIP
        """
        if not audio.is_url(url):
            raise ValueError(f"not an http(s) URL: {url!r}")
        call = self._call({**options, "callback": callback_url}, json={"url": url}, timeout=timeout,
                          extra_query=extra_query, extra_headers=extra_headers)
        response = yield from self._send(call)
        return response.json()

    def live(self, **options: Any) -> Any:
        """Open a live stream to /v1/listen: a connection you ``send`` audio to, iterate, or attach
        handlers to (``conn.on("Results", fn)``); ``conn.transcript`` grows as finals arrive.
        Awaitable on ``AsyncClient``. See :func:`dgnb.live.live` for the keyword arguments.

        >>> with dg.listen.live(encoding="linear16", sample_rate=16000, interim_results=True) as conn:  # doctest: +SKIP
        ...     conn.send(pcm_bytes)
        ...     t = conn.finish()
        """
        from .live import live

        return live(self._client, **options)

    def stream_file(self, source: Any, **options: Any) -> Any:
        """Stream a file, bytes or an iterator of bytes to live /v1/listen (``realtime=True`` paces it);
        returns the connection at once while the audio streams. See :func:`dgnb.live.stream_file`.

        >>> conn = dg.listen.stream_file("call.wav", realtime=False, interim_results=True)  # doctest: +SKIP
        >>> conn.wait().words                                                                # doctest: +SKIP
        """
        from .live import stream_file

        return stream_file(self._client, source, **options)

    def transcribe(self, source: audio.AudioSource, **options: Any) -> Any:
        """Transcribe a path, URL, bytes or binary file object (see :meth:`transcribe_file`).

        >>> t = dg.listen.transcribe("https://dpgr.am/spacewalk.wav", diarize=True)  # doctest: +SKIP
        """
        if audio.is_url(source):
            return self.transcribe_url(source, **options)  # type: ignore[arg-type]
        return self.transcribe_file(source, **options)
