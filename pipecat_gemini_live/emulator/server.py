"""The emulator's server: TLS WebSocket on loopback, path routing, API-key check.

The unmodified google-genai SDK connects to it through public options only (DESIGN.md
section 4)::

    async with LiveEmulator() as emu:
        client = genai.Client(api_key=emu.api_key, http_options=emu.http_options())
        async with client.aio.live.connect(model="gemini-3.8-live", config=...) as session:
            ...

Paths served: ``/ws/google.ai.generativelanguage.{v1,v1beta,v1alpha}.GenerativeService.
BidiGenerateContent`` (and ``...BidiGenerateContentConstrained`` for ephemeral tokens, sent as
``Authorization: Token auth_tokens/...``). Anything else gets HTTP 404.
"""

from __future__ import annotations

import asyncio
import re
from http import HTTPStatus
from urllib.parse import parse_qs, urlsplit

import websockets
from loguru import logger

from .certs import LocalCA
from .config import EmulatorConfig
from .faults import FaultPlan
from .records import SessionRecord
from .resumption import ResumptionStore
from .session import EmulatedSession

_PATH = re.compile(
    r"/ws/google\.ai\.generativelanguage\.(v1|v1beta|v1alpha)\.GenerativeService\."
    r"(BidiGenerateContent|BidiGenerateContentConstrained)"
)
_LOOPBACK = {"127.0.0.1", "::1", "localhost"}


class LiveEmulator:
    """A local Gemini Live API server for tests, demos and benchmarks.

    Args:
        config: Timing, VAD and limits; defaults are a fast local server with 200 ms think time.
        host: Loopback address to bind (``127.0.0.1``, ``::1`` or ``localhost`` only).
        port: TCP port; 0 picks a free one.
        ca: The CA whose certificate the server presents (a fresh throwaway one by default).

    Raises:
        ValueError: For a non-loopback ``host``: the emulator never listens on a network.
    """

    def __init__(
        self,
        config: EmulatorConfig | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        ca: LocalCA | None = None,
    ):
        if host not in _LOOPBACK:
            raise ValueError(f"the emulator listens on loopback only, not {host!r}")
        self.config = config or EmulatorConfig()
        self.host = host
        self._requested_port = port
        self.ca = ca or LocalCA()
        self._own_ca = ca is None
        self.records: list[SessionRecord] = []
        self.resumption = ResumptionStore(self.config.handle_ttl_s / self.config.time_scale)
        self.faults = FaultPlan(self.config.faults)
        self.scenario = self.config.scenario
        self.refused = 0
        self._server: websockets.asyncio.server.Server | None = None
        self._sessions: set[asyncio.Task] = set()
        self._record_added = asyncio.Condition()

    # -- addresses and client options ---------------------------------------------------------

    @property
    def port(self) -> int:
        """The bound TCP port (after :meth:`start`)."""
        if self._server is None:
            raise RuntimeError("the emulator is not running")
        return self._server.sockets[0].getsockname()[1]

    @property
    def base_url(self) -> str:
        """``https://127.0.0.1:PORT``: the SDK rewrites it to ``wss://`` itself."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"https://{host}:{self.port}"

    @property
    def api_key(self) -> str:
        """The key clients must send."""
        return self.config.api_key

    @property
    def ca_file(self) -> str:
        """Path of the PEM file a client should trust."""
        return str(self.ca.ca_file)

    def http_options(self, api_version: str | None = None):
        """``google.genai.types.HttpOptions`` pointing at this emulator, trusting its CA.

        Args:
            api_version: ``v1``, ``v1beta`` or ``v1alpha``; the SDK's default when None.
        """
        from google.genai import types

        return types.HttpOptions(
            base_url=self.base_url,
            api_version=api_version,
            async_client_args={"ssl": self.ca.client_context()},
        )

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> "LiveEmulator":
        """Start listening. Returns self, so ``emu = await LiveEmulator().start()`` works."""
        self._server = await websockets.serve(
            self._handle,
            self.host,
            self._requested_port,
            ssl=self.ca.server_context(),
            process_request=self._route,
            max_size=16 * 1024 * 1024,
        )
        logger.debug(f"Live emulator listening on {self.base_url}")
        return self

    async def stop(self) -> None:
        """Close every connection (1001 going away) and stop listening."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for task in list(self._sessions):
            task.cancel()
        if self._own_ca:
            self.ca.cleanup()

    async def __aenter__(self) -> "LiveEmulator":
        return await self.start()

    async def __aexit__(self, *exc) -> None:
        await self.stop()

    # -- connections -------------------------------------------------------------------------

    def _route(self, connection, request):
        path = urlsplit(request.path).path
        if not _PATH.fullmatch(path):
            return connection.respond(HTTPStatus.NOT_FOUND, "Not Found\n")
        if self.faults.take_refusal():
            self.refused += 1
            return connection.respond(HTTPStatus.SERVICE_UNAVAILABLE, "Service Unavailable\n")
        return None

    def authorised(self, request) -> bool:
        """Whether the handshake carried this emulator's key (header, query or token)."""
        key = request.headers.get("x-goog-api-key")
        if key is None:
            key = parse_qs(urlsplit(request.path).query).get("key", [None])[0]
        if key is None:
            auth = request.headers.get("authorization", "")
            if auth.lower().startswith("token "):
                key = auth[6:].strip()
        return key is not None and self.accepts_key(key)

    def accepts_key(self, key: str) -> bool:
        """Whether ``key`` is this emulator's API key."""
        return key == self.config.api_key

    async def _handle(self, ws) -> None:
        path = urlsplit(ws.request.path).path
        match = _PATH.fullmatch(path)
        assert match is not None  # _route refused everything else
        record = SessionRecord(index=len(self.records), api_version=match.group(1), method=match.group(2))
        session = EmulatedSession(ws, self, record)
        self.resumption.connection_opened(session.id)
        async with self._record_added:
            self.records.append(record)
            self._record_added.notify_all()
        task = asyncio.current_task()
        self._sessions.add(task)
        try:
            await session.run()
        finally:
            self._sessions.discard(task)

    async def wait_for_connections(self, count: int, timeout: float = 5.0) -> list[SessionRecord]:
        """Wait until at least ``count`` connections have arrived; return their records."""

        async def _wait():
            async with self._record_added:
                await self._record_added.wait_for(lambda: len(self.records) >= count)

        await asyncio.wait_for(_wait(), timeout)
        return self.records[:count]
