"""Browser bot: talk to Gemini Live from a web page over WebRTC (Pipecat's SmallWebRTCTransport).

    .venv/bin/python pipelines/webrtc_bot.py            # then open http://127.0.0.1:7860
    .venv/bin/uvicorn --factory pipelines.webrtc_bot:app_from_env --port 7860   # the same app

A small FastAPI server serves its own page (``pipelines/webrtc_page/``: microphone in, bot audio
out, live transcript, persona buttons; no CDN, works offline) and Pipecat's SmallWebRTC
signalling: ``POST /api/offer`` takes the browser's SDP offer and answers; ``PATCH /api/offer``
takes trickled ICE candidates. Each new peer connection gets its own pipeline::

    SmallWebRTCTransport.input() -> PersonaMessageSwitcher -> AudioResampler -> user aggregator
        -> TranscriptMessenger -> GeminiLiveLLMService -> TranscriptMessenger
        -> SmallWebRTCTransport.output() -> assistant aggregator

Signalling is checked before any peer connection, pipeline or Live session exists: a bearer
token when ``WEBRTC_AUTH_TOKEN`` is set, a body of at most 64 KiB, a JSON offer whose SDP has an
audio section with ICE credentials and a DTLS fingerprint, a ``pc_id`` only for one of this
server's calls, and a call slot taken atomically (HTTP 401/413/400/404/503 with the reason). A
call whose peer never connects is ended after ``connect_timeout_s``. ``bot(runner_args)`` is the
entry for Pipecat's runner and Pipecat Cloud.

Without ``GOOGLE_API_KEY`` every call talks to one embedded Live API emulator started with the
app. Browsers allow the microphone on ``http://localhost`` / ``127.0.0.1`` only; serve it over
HTTPS (a reverse proxy) to reach it from another machine.
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import os
import sys
from collections.abc import Sequence
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from loguru import logger
from pipecat.observers.base_observer import BaseObserver
from pipecat.transports.base_transport import TransportParams
from pipecat.transports.smallwebrtc.connection import SmallWebRTCConnection
from pipecat.transports.smallwebrtc.request_handler import (
    SmallWebRTCPatchRequest,
    SmallWebRTCRequest,
    SmallWebRTCRequestHandler,
)
from pipecat.transports.smallwebrtc.transport import SmallWebRTCTransport
from pipecat.workers.runner import WorkerRunner

from pipecat_gemini_live import GeminiLiveLLMService
from pipecat_gemini_live.apps.bots import (
    DEFAULT_MODEL,
    BotCall,
    LiveBackend,
    PersonaBook,
    build_bot_call,
    make_service,
)
from pipecat_gemini_live.apps.bots.admission import (
    CallSlot,
    CallSlots,
    RequestRefused,
    bearer_ok,
    read_capped_body,
)
from pipecat_gemini_live.apps.bots.webrtc_offer import (
    MAX_OFFER_BYTES,
    OfferBody,
    parse_offer,
    parse_patch,
)

PAGE_DIR = Path(__file__).parent / "webrtc_page"


def build_webrtc_bot(
    transport: SmallWebRTCTransport,
    service: GeminiLiveLLMService,
    personas: PersonaBook,
    *,
    observers: Sequence[BaseObserver] = (),
) -> BotCall:
    """One browser call: the pipeline plus the peer's connect / disconnect handlers.

    Args:
        transport: The call's ``SmallWebRTCTransport``.
        service: The call's service.
        personas: The personas the page may ask for.
        observers: Pipecat observers for the worker.
    """
    call = build_bot_call(transport, service, personas, observers=observers)

    @transport.event_handler("on_client_connected")
    async def _on_client_connected(_transport, connection):
        logger.info(f"{transport}: browser {connection.pc_id} connected")
        await call.announce()

    @transport.event_handler("on_client_disconnected")
    async def _on_client_disconnected(_transport, connection):
        await call.hang_up(f"browser {connection.pc_id} left")

    return call


class CallManager:
    """Runs one bot per browser connection, up to ``max_calls`` at once.

    A call's slot is taken (:class:`CallSlots`, one synchronous step) before any SDP work and
    held until its pipeline has ended, so concurrent offers cannot overshoot the limit. A peer
    that never connects (an offer nobody follows through) has its call ended after
    ``connect_timeout_s``, which frees the slot.

    Args:
        backend: Where the Live API is (started before the first call).
        personas: The personas offered.
        model: Live model name.
        max_calls: Concurrent calls this process accepts; more get HTTP 503.
        connect_timeout_s: How long a new call waits for its peer connection, seconds.

    Raises:
        ValueError: ``max_calls`` below 1 or ``connect_timeout_s`` not positive.
    """

    def __init__(
        self,
        backend: LiveBackend,
        personas: PersonaBook,
        *,
        model: str,
        max_calls: int,
        connect_timeout_s: float = 30.0,
    ):
        if max_calls < 1:
            raise ValueError(f"max_calls must be at least 1, got {max_calls}")
        if not connect_timeout_s > 0:
            raise ValueError(f"connect_timeout_s must be positive, got {connect_timeout_s}")
        self.backend = backend
        self.personas = personas
        self.model = model
        self.slots = CallSlots(max_calls)
        self.connect_timeout_s = connect_timeout_s
        self.handler = SmallWebRTCRequestHandler(ice_servers=[])
        self._tasks: set[asyncio.Task] = set()
        self._connections: dict[str, SmallWebRTCConnection] = {}
        self.started = 0
        self.never_connected = 0

    @property
    def max_calls(self) -> int:
        """Concurrent calls accepted."""
        return self.slots.limit

    @property
    def active(self) -> int:
        """Calls being set up or running now."""
        return self.slots.taken

    async def answer(self, offer: OfferBody) -> dict:
        """Answer a checked offer: a new call, or a renegotiation of one of this server's calls.

        Returns:
            ``{"sdp", "type": "answer", "pc_id"}``.

        Raises:
            RequestRefused: 404 for a ``pc_id`` this server does not run, 503 at the call limit,
                400 when the peer connection cannot be built from the offer.
        """
        request = SmallWebRTCRequest(sdp=offer.sdp, type=offer.type, pc_id=offer.pc_id, restart_pc=offer.restart_pc)
        if offer.pc_id is not None:
            if offer.pc_id not in self._connections:
                raise RequestRefused(404, "unknown pc_id: start a new call without one")
            return await self._handle(request)
        slot = self.slots.take()
        started: list[asyncio.Task] = []

        async def start(connection: SmallWebRTCConnection) -> None:
            started.append(self._start_call(connection, slot))

        try:
            answer = await self._handle(request, start)
        except BaseException:
            for task in started:
                task.cancel()
            if not started:
                slot.release()
            raise
        if not started:  # Pipecat logs and swallows a failed callback
            slot.release()
            raise RequestRefused(500, "the call could not be started")
        return answer

    async def _handle(self, request: SmallWebRTCRequest, start=None) -> dict:
        try:
            answer = await self.handler.handle_web_request(request, start or _no_new_call)
        except Exception as e:
            raise RequestRefused(400, f"the offer could not be answered ({type(e).__name__})") from None
        if answer is None:
            raise RequestRefused(400, "the offer produced no answer")
        return answer

    async def add_candidates(self, patch: SmallWebRTCPatchRequest) -> None:
        """Add trickled ICE candidates to one of this server's calls.

        Raises:
            RequestRefused: 404 for an unknown ``pc_id``, 400 for a malformed candidate.
        """
        if patch.pc_id not in self._connections:
            raise RequestRefused(404, "unknown pc_id")
        try:
            await self.handler.handle_patch_request(patch)
        except Exception as e:
            raise RequestRefused(400, f"bad ICE candidate ({type(e).__name__})") from None

    def _start_call(self, connection: SmallWebRTCConnection, slot: CallSlot) -> asyncio.Task:
        transport = SmallWebRTCTransport(
            connection,
            params=TransportParams(audio_in_enabled=True, audio_out_enabled=True),
        )
        service = make_service(self.backend, self.personas, model=self.model)
        call = build_webrtc_bot(transport, service, self.personas)
        pc_id = connection.pc_id
        task = asyncio.get_running_loop().create_task(self._run(call, connection), name=f"call-{pc_id}")
        self._tasks.add(task)
        self._connections[pc_id] = connection

        def _ended(t: asyncio.Task) -> None:
            self._tasks.discard(t)
            self._connections.pop(pc_id, None)
            slot.release()

        task.add_done_callback(_ended)
        self.started += 1
        return task

    async def _run(self, call: BotCall, connection: SmallWebRTCConnection) -> None:
        connected = asyncio.Event()
        connection.add_event_handler("connected", lambda _c: connected.set())
        watchdog = asyncio.get_running_loop().create_task(self._watch_connect(call, connection, connected))
        runner = WorkerRunner(handle_sigint=False)
        await runner.add_workers(call.worker)
        try:
            await runner.run()
        except Exception as e:
            logger.exception(f"{call.worker}: call failed: {e}")
        finally:
            watchdog.cancel()
            await asyncio.gather(watchdog, return_exceptions=True)

    async def _watch_connect(self, call: BotCall, connection: SmallWebRTCConnection, connected: asyncio.Event) -> None:
        try:
            await asyncio.wait_for(connected.wait(), self.connect_timeout_s)
        except TimeoutError:
            self.never_connected += 1
            logger.warning(f"browser {connection.pc_id} did not connect within {self.connect_timeout_s:g}s; ending its call")
            await call.worker.cancel(reason="the peer never connected")
            await connection.disconnect()

    async def shutdown(self) -> None:
        """End every call and close every peer connection."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.handler.close()


async def _no_new_call(connection: SmallWebRTCConnection) -> None:
    raise RuntimeError(f"renegotiation of {connection.pc_id} built a new connection")


def create_app(
    backend: LiveBackend,
    personas: PersonaBook | None = None,
    *,
    model: str = DEFAULT_MODEL,
    max_calls: int = 20,
    page_dir: Path = PAGE_DIR,
    auth_token: str | None = None,
    connect_timeout_s: float = 30.0,
) -> FastAPI:
    """The browser bot's web app.

    ``POST /api/offer`` reads at most :data:`MAX_OFFER_BYTES`, checks the offer
    (:func:`parse_offer`) and, when ``auth_token`` is set, ``Authorization: Bearer <token>``,
    all before any peer connection or Live session exists; refusals are JSON
    ``{"detail": reason}`` with 400, 401, 404, 413 or 503.

    Args:
        backend: Gemini or the emulator; started and stopped with the app.
        personas: The personas offered (the defaults when None).
        model: Live model name.
        max_calls: Concurrent calls accepted (see :class:`CallManager`).
        page_dir: The page's files (``index.html`` and its script).
        auth_token: A shared token the signalling requests must carry (None: no auth, for a
            server on loopback). The page sends the one in its URL's ``#token=...``.
        connect_timeout_s: How long a call waits for its peer to connect, seconds.

    Raises:
        ValueError: ``max_calls`` below 1.
        FileNotFoundError: ``page_dir`` has no ``index.html``.
    """
    if not (page_dir / "index.html").is_file():
        raise FileNotFoundError(f"no index.html in {page_dir}")
    calls = CallManager(
        backend, personas or PersonaBook(), model=model, max_calls=max_calls, connect_timeout_s=connect_timeout_s
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        await backend.start()
        try:
            yield
        finally:
            await calls.shutdown()
            await backend.stop()
            logger.info(f"browser bot shut down after {calls.started} call(s)")

    app = FastAPI(title="Gemini Live browser bot", lifespan=lifespan)
    app.state.calls = calls
    app.mount("/static", StaticFiles(directory=page_dir), name="static")

    @app.exception_handler(RequestRefused)
    async def _refused(request: Request, e: RequestRefused) -> JSONResponse:
        logger.info(f"browser bot: {request.method} {request.url.path} refused ({e.status}): {e.reason}")
        headers = {"WWW-Authenticate": "Bearer"} if e.status == 401 else None
        return JSONResponse({"detail": e.reason}, status_code=e.status, headers=headers)

    def _authorize(request: Request) -> None:
        if auth_token and not bearer_ok(request.headers.get("authorization"), auth_token):
            raise RequestRefused(401, "missing or wrong bearer token")

    @app.get("/", include_in_schema=False)
    async def index():
        return FileResponse(page_dir / "index.html")

    @app.get("/api/status")
    async def status():
        return {"backend": backend.name, "active_calls": calls.active, "max_calls": calls.max_calls}

    @app.post("/api/offer")
    async def offer(request: Request):
        _authorize(request)
        offer = parse_offer(await read_capped_body(request, MAX_OFFER_BYTES))
        return await calls.answer(offer)

    @app.patch("/api/offer")
    async def ice_candidates(request: Request):
        _authorize(request)
        await calls.add_candidates(parse_patch(await read_capped_body(request, MAX_OFFER_BYTES)))
        return {"status": "success"}

    return app


AUTH_TOKEN_ENV = "WEBRTC_AUTH_TOKEN"
_runner_backend: LiveBackend | None = None


async def bot(runner_args) -> None:
    """Entry for Pipecat's runner and Pipecat Cloud: one call on a peer connection they made.

    ``runner_args`` is Pipecat's ``SmallWebRTCRunnerArguments`` (its ``webrtc_connection``
    already answered by the platform's signalling, which then owns the offer checks and limits
    that :func:`create_app` applies). The call is the same pipeline as the app's, with the
    default personas; ``GEMINI_MODEL`` picks the model, and without ``GOOGLE_API_KEY`` one
    embedded emulator serves every call of the process.
    """
    global _runner_backend
    if _runner_backend is None:
        _runner_backend = await LiveBackend.from_env().start()
    personas = PersonaBook()
    transport = SmallWebRTCTransport(
        runner_args.webrtc_connection, params=TransportParams(audio_in_enabled=True, audio_out_enabled=True)
    )
    service = make_service(_runner_backend, personas, model=os.environ.get("GEMINI_MODEL") or DEFAULT_MODEL)
    call = build_webrtc_bot(transport, service, personas)
    runner = WorkerRunner(handle_sigint=getattr(runner_args, "handle_sigint", False))
    await runner.add_workers(call.worker)
    await runner.run()


def app_from_env() -> FastAPI:
    """The app for ``uvicorn --factory``: Gemini when ``GOOGLE_API_KEY`` is set, else the emulator;
    signalling requires ``WEBRTC_AUTH_TOKEN`` as a bearer token when that is set."""
    return create_app(LiveBackend.from_env(), auth_token=os.environ.get(AUTH_TOKEN_ENV) or None)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="Browser (WebRTC) bot on Gemini Live (or the local emulator).")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on")
    p.add_argument("--port", type=int, default=7860, help="port to listen on")
    p.add_argument("--model", default=DEFAULT_MODEL, help="Live model name")
    p.add_argument("--max-calls", type=int, default=20, help="concurrent calls this process accepts")
    p.add_argument("--emulator", action="store_true", help="use the local emulator even if GOOGLE_API_KEY is set")
    p.add_argument("--think-ms", type=int, default=200, help="emulator: delay before each reply, ms")
    p.add_argument("--connect-timeout-s", type=float, default=30.0, help="end a call whose peer has not connected by then")
    p.add_argument("--verbose", action="store_true", help="debug logs")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    import uvicorn

    args = parse_args(argv)
    logger.remove()
    logger.add(sys.stderr, level="DEBUG" if args.verbose else "INFO")
    backend = LiveBackend.from_env(force_emulator=args.emulator, think_ms=args.think_ms)
    token = os.environ.get(AUTH_TOKEN_ENV) or None
    if token is None and not _is_loopback(args.host):
        print(
            f"error: listening on {args.host} (not loopback) needs {AUTH_TOKEN_ENV} set: anyone who reaches "
            "the port could otherwise start calls on your Live API key",
            file=sys.stderr,
        )
        return 2
    app = create_app(
        backend, model=args.model, max_calls=args.max_calls, auth_token=token, connect_timeout_s=args.connect_timeout_s
    )
    where = f"http://{args.host}:{args.port}" + ("/#token=..." if token else "")
    print(f"Browser bot on {where} (Live API: {backend.name})", flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level="info" if args.verbose else "warning")
    return 0


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


if __name__ == "__main__":
    if {"-t", "--transport"} & set(sys.argv[1:]):
        from pipecat.runner.run import main as runner_main  # Pipecat's dev runner calls bot()

        runner_main()
    else:
        sys.exit(main())
