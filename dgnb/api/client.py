"""``dgnb.Client`` and ``dgnb.AsyncClient``: the same arguments, the same namespaces."""
from __future__ import annotations

import copy
import functools
from typing import TYPE_CHECKING, Any, Generator, Mapping

from .._core.config import DEFAULT_MAX_RETRIES, NAMESPACES, DEFAULT_TIMEOUT, Credentials, Endpoints, Secret, announce_local_engine, embedded_engine, resolve_credentials
from .._core.http import AsyncRunner, Config, SyncRunner
from .._core.audio import AudioSource
from .listen.rest import Listen

if TYPE_CHECKING:
    import httpx

    from .agent import Agent
    from .auth import Auth
    from .manage import Manage
    from .read import Read
    from .selfhosted import SelfHosted
    from .speak import Speak


class BaseClient:
    """Shared set-up of :class:`Client` and :class:`AsyncClient` (the same arguments for both)."""

    _http_class_name = "Client"
    _runner_class: type = SyncRunner

    def __init__(
        self,
        api_key: str | None = None,
        access_token: str | None = None,
        *,
        url: str | None = None,
        urls: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        retry_backoff: float = 0.5,
        http_client: "httpx.Client | httpx.AsyncClient | None" = None,
        local: bool | None = None,
    ) -> None:
        """A client of Deepgram's API, or of the local engine (the same arguments for both clients).

        How credentials are chosen, highest first: ``access_token`` (sent as ``Bearer``), ``api_key``
        (sent as ``Token``), env ``DEEPGRAM_ACCESS_TOKEN`` (or ``DEEPGRAM_TOKEN``), env ``DEEPGRAM_API_KEY``.
        ``api_key="proxy"`` sends no Authorization header (a proxy adds it). With none of them and no
        ``url``/``urls``, the embedded local engine is started (once per process) and used; ``local=True``
        asks for it whatever the environment holds, ``local=False`` never starts it. Secrets never show in
        reprs, errors or logs.

        Arguments:
            api_key: a Deepgram API key.
            access_token: a short-lived token (``dg.auth.grant_token()``); wins over ``api_key``.
            url: the server for every namespace (default env ``DEEPGRAM_BASE_URL``, else Deepgram's),
                e.g. a ``dgnb serve`` at ``http://127.0.0.1:8080``; WebSockets use the same host.
            urls: per-namespace servers (``listen``, ``speak``, ``read``, ``agent``, ``manage``, ``auth``,
                ``selfhosted``): a URL, or ``{"rest": ..., "websocket": ...}``.
            headers: extra headers sent with every request and WebSocket handshake.
            timeout: seconds per HTTP request (an upload's time counts).
            max_retries: retries of a request that failed on the network, or with 408, 429 or 5xx (no other 4xx),
                with exponential backoff starting at ``retry_backoff`` seconds.
            retry_backoff: the first retry's wait, in seconds.
            http_client: an ``httpx.Client`` (``httpx.AsyncClient`` for :class:`AsyncClient`) to use,
                e.g. with a proxy or custom TLS; the client does not close one it was given.
            local: ``True``: the local engine; ``False``: never; ``None`` (default): when no credentials are found.

        >>> dg = dgnb.Client(url="http://127.0.0.1:8080", api_key=key, timeout=60)   # doctest: +SKIP
        """
        credentials = resolve_credentials(api_key, access_token)
        self.local = bool(local) or (local is None and credentials.kind == "none" and url is None and not urls)
        if self.local:
            engine = embedded_engine()
            if local is None:  # chosen for the user: say so, once
                announce_local_engine(engine)
            url = url or engine.url
            if credentials.kind == "none":
                credentials = Credentials("api_key", Secret(engine.api_key), source="local engine")
        self._config = Config(
            credentials=credentials,
            endpoints=Endpoints.build(url, urls),
            headers=dict(headers or {}),
            timeout=float(timeout),
            max_retries=int(max_retries),
            retry_backoff=float(retry_backoff),
        )
        self._attach(http_client)

    def _attach(self, http_client: Any = None, **http_options: Any) -> None:
        """Use ``http_client``, or a new httpx client of the right kind that this client owns."""
        import httpx

        http_class = getattr(httpx, self._http_class_name)
        self._owns_http = http_client is None
        if http_client is not None and not isinstance(http_client, http_class):
            raise TypeError(f"{type(self).__name__} needs an httpx.{self._http_class_name}")
        self._http = http_client or http_class(timeout=self._config.timeout, follow_redirects=True, **http_options)
        self._runner = self._runner_class(self._http)

    def to_async(self, *, max_connections: int = 100) -> "AsyncClient":
        """An :class:`AsyncClient` with this client's credentials, URLs, timeouts and retries, and a
        connection pool of its own (close it with ``aclose``).

        >>> adg = dg.to_async()      # doctest: +SKIP
        """
        import httpx

        twin = AsyncClient.__new__(AsyncClient)
        twin.local, twin._config = self.local, self._config
        twin._attach(limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections))
        return twin

    # ---- namespaces ----
    @functools.cached_property
    def listen(self) -> Listen:
        """Speech-to-text: ``transcribe_file``, ``transcribe_url`` and their callback variants."""
        return Listen(self)

    @functools.cached_property
    def speak(self) -> "Speak":
        """Text-to-speech: ``generate``, ``save`` (streamed to disk), ``live`` (WebSocket)."""
        from .speak import Speak

        return Speak(self)

    @functools.cached_property
    def read(self) -> "Read":
        """Text intelligence on text: ``analyze_text``."""
        from .read import Read

        return Read(self)

    @functools.cached_property
    def manage(self) -> "Manage":
        """Projects, keys, members, invites, usage, billing and models (DataFrames for lists)."""
        from .manage import Manage

        return Manage(self)

    @functools.cached_property
    def auth(self) -> "Auth":
        """Short-lived access tokens: ``grant_token``, ``get_token_details``."""
        from .auth import Auth

        return Auth(self)

    @functools.cached_property
    def selfhosted(self) -> "SelfHosted":
        """Self-hosted distribution credentials."""
        from .selfhosted import SelfHosted

        return SelfHosted(self)

    @functools.cached_property
    def agent(self) -> "Agent":
        """Voice agent: ``connect(settings, functions=[...])`` over WebSocket /v1/agent/converse."""
        from .agent import Agent

        return Agent(self)

    def transcribe(self, source: AudioSource, **options: Any) -> Any:
        """Transcribe a path, URL, bytes or binary file object; returns a :class:`dgnb.Transcript`.

        >>> t = dgnb.Client().transcribe("call.mp3", diarize=True, utterances=True)  # doctest: +SKIP
        """
        return self.listen.transcribe(source, **options)

    @property
    def with_raw_response(self) -> "BaseClient":
        """The same client, but every call returns a :class:`dgnb.RawResponse` (status, headers,
        request_id, and ``.parsed``).

        >>> raw = dg.with_raw_response.listen.transcribe_file("call.wav")  # doctest: +SKIP
        >>> raw.status_code, raw.request_id                                 # doctest: +SKIP
        """
        clone = copy.copy(self)
        for namespace in NAMESPACES:
            clone.__dict__.pop(namespace, None)
        clone._runner = self._runner_class(self._http, raw=True)
        return clone

    def compose(self, steps: Generator) -> Any:
        """Run a generator that chains several endpoints' ``steps`` (``yield from``) as one call:
        the result on :class:`Client`, an awaitable of it on :class:`AsyncClient`.

        >>> def projects_and_balances(dg):                                    # doctest: +SKIP
        ...     projects = yield from dg.manage.steps.get_projects()
        ...     first, *_ = projects["projects"]
        ...     return projects, (yield from dg.manage.steps.get_balances(first["project_id"]))
        >>> projects, balances = dg.compose(projects_and_balances(dg))         # doctest: +SKIP
        """
        return self._runner.run(steps)

    @property
    def is_async(self) -> bool:
        """True on :class:`AsyncClient`, whose calls return awaitables."""
        return isinstance(self._runner, AsyncRunner)

    @property
    def url(self) -> str:
        """The REST base URL of the listen namespace."""
        return self._config.endpoints.rest("listen")

    def __repr__(self) -> str:
        where = "local engine" if self.local else "Deepgram" if "deepgram.com" in self.url else "custom"
        c = self._config.credentials
        return f"{type(self).__name__}(url={self.url!r} ({where}), auth={c.kind} from {c.source})"


class Client(BaseClient):
    """The synchronous client.

    >>> import dgnb
    >>> dg = dgnb.Client()                                   # doctest: +SKIP
    >>> dg.transcribe("call.mp3", diarize=True).words        # doctest: +SKIP
    """

    def transcribe_many(self, sources: Any, concurrency: int = 8, cache: bool = True, **options: Any) -> Any:
        """Transcribe many paths, globs, URLs or bytes with bounded concurrency and a progress bar; one
        DataFrame row per source (failures are rows, not exceptions); finished results are cached on disk.

        >>> df = dg.transcribe_many("calls/*.wav", diarize=True)   # doctest: +SKIP
        """
        from .batch import transcribe_many

        return transcribe_many(self, sources, concurrency=concurrency, cache=cache, **options)

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class AsyncClient(BaseClient):
    """The asynchronous client: same arguments and methods as :class:`Client`, awaited.

    >>> dg = dgnb.AsyncClient()                              # doctest: +SKIP
    >>> t = await dg.transcribe("call.mp3")                  # doctest: +SKIP
    """

    _http_class_name = "AsyncClient"
    _runner_class = AsyncRunner

    async def transcribe_many(self, sources: Any, concurrency: int = 8, cache: bool = True, **options: Any) -> Any:
        """See :meth:`Client.transcribe_many`."""
        from .batch import atranscribe_many

        return await atranscribe_many(self, sources, concurrency=concurrency, cache=cache, **options)

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> "AsyncClient":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.aclose()
