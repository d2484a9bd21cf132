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

Without ``GOOGLE_API_KEY`` every call talks to one embedded Live API emulator started with the
app. Browsers allow the microphone on ``http://localhost`` / ``127.0.0.1`` only; serve it over
HTTPS (a reverse proxy) to reach it from another machine.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, HTTPException
from fastapi.responses import FileResponse
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
from pipecat_gemini_live.bots import DEFAULT_MODEL, BotCall, LiveBackend, PersonaBook, build_bot_call, make_service

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

    Args:
        backend: Where the Live API is (started before the first call).
        personas: The personas offered.
        model: Live model name.
        max_calls: Concurrent calls this process accepts; more get HTTP 503.
    """

    def __init__(self, backend: LiveBackend, personas: PersonaBook, *, model: str, max_calls: int):
        if max_calls < 1:
            raise ValueError(f"max_calls must be at least 1, got {max_calls}")
        self.backend = backend
        self.personas = personas
        self.model = model
        self.max_calls = max_calls
        self.handler = SmallWebRTCRequestHandler(ice_servers=[])
        self._tasks: set[asyncio.Task] = set()
        self.started = 0

    @property
    def active(self) -> int:
        """Calls running now."""
        return len(self._tasks)

    async def start_call(self, connection: SmallWebRTCConnection) -> None:
        """Build and start the bot for a new peer connection (runs in the background)."""
        transport = SmallWebRTCTransport(
            connection,
            params=TransportParams(audio_in_enabled=True, audio_out_enabled=True),
        )
        service = make_service(self.backend, self.personas, model=self.model)
        call = build_webrtc_bot(transport, service, self.personas)
        task = asyncio.get_running_loop().create_task(self._run(call), name=f"call-{connection.pc_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        self.started += 1

    async def _run(self, call: BotCall) -> None:
        runner = WorkerRunner(handle_sigint=False)
        await runner.add_workers(call.worker)
        try:
            await runner.run()
        except Exception as e:
            logger.exception(f"{call.worker}: call failed: {e}")

    async def shutdown(self) -> None:
        """End every call and close every peer connection."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.handler.close()


def create_app(
    backend: LiveBackend,
    personas: PersonaBook | None = None,
    *,
    model: str = DEFAULT_MODEL,
    max_calls: int = 20,
    page_dir: Path = PAGE_DIR,
) -> FastAPI:
    """The browser bot's web app.

    Args:
        backend: Gemini or the emulator; started and stopped with the app.
        personas: The personas offered (the defaults when None).
        model: Live model name.
        max_calls: Concurrent calls accepted (see :class:`CallManager`).
        page_dir: The page's files (``index.html`` and its script).

    Raises:
        ValueError: ``max_calls`` below 1.
        FileNotFoundError: ``page_dir`` has no ``index.html``.
    """
    if not (page_dir / "index.html").is_file():
        raise FileNotFoundError(f"no index.html in {page_dir}")
    calls = CallManager(backend, personas or PersonaBook(), model=model, max_calls=max_calls)

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

    @app.get("/", include_in_schema=False)
    async def index():
        return FileResponse(page_dir / "index.html")

    @app.get("/api/status")
    async def status():
        return {"backend": backend.name, "active_calls": calls.active, "max_calls": calls.max_calls}

    @app.post("/api/offer")
    async def offer(request: SmallWebRTCRequest):
        if request.type != "offer":
            raise HTTPException(status_code=400, detail=f"expected an SDP offer, got type {request.type!r}")
        if not request.pc_id and calls.active >= calls.max_calls:
            raise HTTPException(status_code=503, detail=f"this server is at its limit of {calls.max_calls} calls")
        return await calls.handler.handle_web_request(request, calls.start_call)

    @app.patch("/api/offer")
    async def ice_candidates(request: SmallWebRTCPatchRequest):
        await calls.handler.handle_patch_request(request)
        return {"status": "success"}

    return app


def app_from_env() -> FastAPI:
    """The app for ``uvicorn --factory``: Gemini when ``GOOGLE_API_KEY`` is set, else the emulator."""
    return create_app(LiveBackend.from_env())


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="Browser (WebRTC) bot on Gemini Live (or the local emulator).")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on")
    p.add_argument("--port", type=int, default=7860, help="port to listen on")
    p.add_argument("--model", default=DEFAULT_MODEL, help="Live model name")
    p.add_argument("--max-calls", type=int, default=20, help="concurrent calls this process accepts")
    p.add_argument("--emulator", action="store_true", help="use the local emulator even if GOOGLE_API_KEY is set")
    p.add_argument("--think-ms", type=int, default=200, help="emulator: delay before each reply, ms")
    p.add_argument("--verbose", action="store_true", help="debug logs")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    import uvicorn

    args = parse_args(argv)
    logger.remove()
    logger.add(sys.stderr, level="DEBUG" if args.verbose else "INFO")
    backend = LiveBackend.from_env(force_emulator=args.emulator, think_ms=args.think_ms)
    app = create_app(backend, model=args.model, max_calls=args.max_calls)
    print(f"Browser bot on http://{args.host}:{args.port} (Live API: {backend.name})", flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level="info" if args.verbose else "warning")
    return 0


if __name__ == "__main__":
    sys.exit(main())
