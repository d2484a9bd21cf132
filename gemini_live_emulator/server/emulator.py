"""The emulator's server: TLS WebSocket on loopback, path routing, API-key check.

The unmodified google-genai SDK connects to it through public options only (docs/live-api.md)::

    async with LiveEmulator() as emu:
        client = genai.Client(api_key=emu.api_key, http_options=emu.http_options())
        async with client.aio.live.connect(model="gemini-3.8-live", config=...) as session:
            ...

Paths served: ``/ws/google.ai.generativelanguage.{v1,v1beta,v1alpha}.GenerativeService.
BidiGenerateContent`` and ``...BidiGenerateContentConstrained`` (ephemeral tokens, sent as
``Authorization: Token auth_tokens/...`` by the Python SDK and ``?access_token=`` by the
JavaScript SDK), plus ``POST /v1alpha/auth_tokens`` (:mod:`.rest`), which mints them. Anything
else gets HTTP 404. The key is accepted as the ``x-goog-api-key`` header (Python SDK) or the
``key`` query parameter (JavaScript SDK), like the real service.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import re
from fnmatch import translate as fnmatch_translate
from http import HTTPStatus
from urllib.parse import parse_qs

import websockets
from loguru import logger

from .. import server_messages, wire
from ..behaviour import ServerBehaviour, behaviour_for, behaviour_named
from ..config import EmulatorConfig
from ..faults import FaultPlan
from ..model.resumption import ResumptionStore
from ..model.session import EmulatedSession
from ..model.tokens import TOKEN_PREFIX, TokenStore, constrain
from ..names import bare_model_name
from ..records import SessionRecord
from .certs import LocalCA
from .observations import Observations
from .rest import RestApi, RestCall, connection_class

# The JavaScript SDK joins a base URL that ends in "/" with "/ws/...", so its paths start with
# "//ws/"; Google's front end accepts that, and so does the emulator.
_PATH = re.compile(
    r"/+ws/google\.ai\.generativelanguage\.(v1|v1beta|v1alpha)\.GenerativeService\."
    r"(BidiGenerateContent|BidiGenerateContentConstrained)"
    # Vertex AI's endpoint (its credential is a bearer token; the model a project path).
    r"|/+ws/google\.cloud\.aiplatform\.(v1|v1beta1)\.LlmBidiService/(BidiGenerateContent)"
)
_LOOPBACK = {"127.0.0.1", "::1", "localhost"}
# Client identity headers worth keeping in a record (never the key or the Authorization header).
_IDENTITY_HEADERS = ("user-agent", "x-goog-api-client")


def _is_vertex(request) -> bool:
    return "aiplatform" in split_target(request.path)[0]


def split_target(target: str) -> tuple[str, str]:
    """``(path, query)`` of a request target. Not ``urlsplit``: it reads ``//ws/...`` as a host."""
    path, _, query = target.partition("?")
    return path, query


class LiveEmulator(Observations):
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
        self.tokens = TokenStore()
        self.rest_calls: list[RestCall] = []
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

        The same SSL context goes to the WebSocket and aiohttp (``async_client_args["ssl"]``)
        and to httpx, sync and async (``verify``), so REST calls such as
        ``client.auth_tokens.create()`` trust the emulator too.

        Args:
            api_version: ``v1``, ``v1beta`` or ``v1alpha``; the SDK's default when None
                (google-genai 2.x: ``v1beta``, 3.x: ``v1``). Ephemeral tokens need ``v1alpha``.
        """
        from google.genai import types

        ctx = self.ca.client_context()
        return types.HttpOptions(
            base_url=self.base_url,
            api_version=api_version,
            client_args={"verify": ctx},
            async_client_args={"ssl": ctx, "verify": ctx},
        )

    def client_env(self) -> dict[str, str]:
        """Environment variables that point a client process at this emulator.

        ``GOOGLE_GEMINI_BASE_URL`` (google-genai), ``SSL_CERT_FILE`` (Python's default SSL
        context, which google-genai uses when given none), ``NODE_EXTRA_CA_CERTS`` (Node's TLS,
        read at process start) and ``GEMINI_API_KEY``. The JavaScript SDK reads no base-URL
        variable: pass ``httpOptions: {baseUrl}`` there.
        """
        return {
            "GOOGLE_GEMINI_BASE_URL": self.base_url,
            "SSL_CERT_FILE": self.ca_file,
            "NODE_EXTRA_CA_CERTS": self.ca_file,
            "GEMINI_API_KEY": self.api_key,
        }

    def issue_token(
        self,
        *,
        uses: int = 1,
        expire_time=None,
        new_session_expire_time=None,
        setup: dict | None = None,
        field_mask: list[str] | str | None = None,
    ) -> str:
        """Mint an ephemeral token, as ``client.auth_tokens.create()`` does over REST.

        Args:
            uses: New sessions it may open (0 = unlimited); resuming does not count.
            expire_time: RFC 3339 string or epoch seconds (default 30 min ahead).
            new_session_expire_time: Same form (default 60 s ahead).
            setup: Setup fields to lock, e.g. ``{"model": "models/gemini-3.1-flash-live-preview",
                "systemInstruction": {"parts": [{"text": "..."}]}}``; None for no constraint.
            field_mask: Lock only these fields; None locks all of ``setup``.

        Returns:
            The token's name (``auth_tokens/...``): the client uses it as its API key, with
            ``api_version="v1alpha"``.

        Raises:
            ValueError: For a negative ``uses`` or an unreadable time.
        """
        return self.tokens.issue(
            uses=uses,
            expire_time=expire_time,
            new_session_expire_time=new_session_expire_time,
            setup=setup,
            field_mask=field_mask,
        ).name

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
            create_connection=connection_class(RestApi(self)),
        )
        logger.debug(f"Live emulator listening on {self.base_url}")
        if self.config.asr:
            from ..model.asr import warm_up_in_background

            warm_up_in_background()
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
        path = split_target(request.path)[0]
        if not _PATH.fullmatch(path):
            return connection.respond(HTTPStatus.NOT_FOUND, "Not Found\n")
        if self.faults.take_refusal():
            self.refused += 1
            return connection.respond(HTTPStatus.SERVICE_UNAVAILABLE, "Service Unavailable\n")
        return None

    @staticmethod
    def _credential(request) -> str | None:
        """The key or token a handshake carried, wherever the client put it."""
        query = parse_qs(split_target(request.path)[1])
        for value in (
            request.headers.get("x-goog-api-key"),
            query.get("key", [None])[0],
            query.get("access_token", [None])[0],
        ):
            if value:
                return value
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() in ("token", "bearer") and value.strip():
            return value.strip()
        return None

    def authorised(self, request) -> bool:
        """Whether the handshake carried this emulator's key or a live token it minted."""
        credential = self._credential(request)
        if credential is None:
            return False
        if credential.startswith(TOKEN_PREFIX):
            return credential in self.tokens
        return self.accepts_key(credential)

    def accepts_key(self, key: str) -> bool:
        """Whether ``key`` is this emulator's API key."""
        return hmac.compare_digest(key.encode(), self.config.api_key.encode())

    def admit(self, request, raw_setup: str | bytes, record: SessionRecord) -> str | bytes:
        """Judge a connection's credential once its first message is in.

        Like the real service, the key is judged after the setup arrives, so a client that
        sends setup straight after the handshake sees the close on its receive side.

        Args:
            request: The handshake request.
            raw_setup: The first client message, as received.
            record: The connection's record (``auth`` and ``client_setup`` are set here).

        Returns:
            The first message to act on: ``raw_setup`` itself, or, for a token that locks
            setup fields, the setup with the token's fields imposed.

        Raises:
            ProtocolError: 1008 for a missing or wrong key, or an unknown, expired or used-up
                token (also for a token on the unconstrained method, which the SDKs never do).
        """
        credential = self._credential(request)
        if credential is None:
            raise wire.ProtocolError(wire.CLOSE_POLICY, wire.REASON_BAD_KEY)
        if not credential.startswith(TOKEN_PREFIX):
            if not self.accepts_key(credential):
                raise wire.ProtocolError(wire.CLOSE_POLICY, wire.REASON_BAD_KEY)
            record.auth = "bearer" if _is_vertex(request) else "api_key"
            return raw_setup
        if record.method != "BidiGenerateContentConstrained":
            raise wire.ProtocolError(wire.CLOSE_POLICY, wire.REASON_BAD_KEY)
        try:
            message = json.loads(raw_setup)
            setup = message["setup"]
        except (ValueError, TypeError, KeyError, RecursionError):
            setup = None  # not a setup: the session refuses it with its own 1007
        resuming = isinstance(setup, dict) and bool(wire.get(wire.get(setup, "sessionResumption"), "handle"))
        token = self.tokens.admit(credential, resuming=resuming)
        record.auth = "ephemeral_token"
        if not isinstance(setup, dict) or token.setup is None:
            return raw_setup
        record.client_setup = setup
        return server_messages.dumps({"setup": constrain(setup, token)})

    def behaviour_for(self, model: str) -> ServerBehaviour | None:
        """The server rules for ``model``: ``config.model_behaviours`` first, then the table.

        Returns:
            The family, or None for a model the real service would not find (close 1008).
        """
        bare = bare_model_name(model)
        for pattern, family in self.config.model_behaviours.items():
            if re.fullmatch(fnmatch_translate(pattern), bare):
                return family if isinstance(family, ServerBehaviour) else behaviour_named(family)
        return behaviour_for(model)

    async def _handle(self, ws) -> None:
        path = split_target(ws.request.path)[0]
        match = _PATH.fullmatch(path)
        assert match is not None  # _route refused everything else
        api_version, method = (match.group(1), match.group(2)) if match.group(1) else (match.group(3), match.group(4))
        record = SessionRecord(index=len(self.records), api_version=api_version, method=method)
        record.client = {h: ws.request.headers[h] for h in _IDENTITY_HEADERS if h in ws.request.headers}
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
