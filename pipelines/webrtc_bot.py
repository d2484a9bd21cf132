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

``--persona SPEC`` adds template personas to the page's buttons (``tutor:{"age": 7, "level": 3}``,
``interpreter:en-US:es-ES``). With ``CALLER_MEMORY=on`` a browser is remembered by a signed,
HttpOnly cookie (:mod:`pipecat_gemini_live.apps.memory`): its next call opens with its earlier turns.

Without ``GOOGLE_API_KEY`` every call talks to one embedded Live API emulator started with the
app. Browsers allow the microphone on ``http://localhost`` / ``127.0.0.1`` only; serve it over
HTTPS (a reverse proxy) to reach it from another machine.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import sys
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from loguru import logger
from pipecat.runner.types import WebSocketRunnerArguments
from pipecat.transports.base_transport import TransportParams
from pipecat.transports.smallwebrtc.transport import SmallWebRTCTransport
from pipecat.workers.runner import WorkerRunner

from pipecat_gemini_live.apps.bots import (
    DEFAULT_MODEL,
    LiveBackend,
    SharedBackend,
    PersonaBook,
    make_service,
)
from pipecat_gemini_live.apps.bots.admission import RequestRefused, bearer_ok, read_capped_body
from pipecat_gemini_live.apps.bots.webrtc_calls import CallManager, build_webrtc_bot
from pipecat_gemini_live.apps.bots.webrtc_offer import (
    MAX_OFFER_BYTES,
    parse_offer,
    parse_patch,
)
from pipecat_gemini_live.apps.memory import CallerMemory
from pipecat_gemini_live.apps.memory.keys import COOKIE_NAME
from pipecat_gemini_live.apps.personas.specs import persona_book

try:
    from pipelines.eval_calls import evals_enabled, refuse_eval, run_room_eval_call
except ModuleNotFoundError:  # run as a script: pipelines/ is on sys.path, the repository is not
    from eval_calls import evals_enabled, refuse_eval, run_room_eval_call  # type: ignore[no-redef]

PAGE_DIR = Path(__file__).parent / "webrtc_page"


def create_app(
    backend: LiveBackend,
    personas: PersonaBook | None = None,
    *,
    model: str = DEFAULT_MODEL,
    max_calls: int = 20,
    page_dir: Path = PAGE_DIR,
    auth_token: str | None = None,
    connect_timeout_s: float = 30.0,
    memory: CallerMemory | None = None,
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
        memory: Remember browsers across calls by a signed cookie (None: no memory, no cookie).

    Raises:
        ValueError: ``max_calls`` below 1.
        FileNotFoundError: ``page_dir`` has no ``index.html``.
    """
    if not (page_dir / "index.html").is_file():
        raise FileNotFoundError(f"no index.html in {page_dir}")
    calls = CallManager(
        backend, personas or PersonaBook(), model=model, max_calls=max_calls, connect_timeout_s=connect_timeout_s,
        memory=memory,
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
        if memory is None:
            return await calls.answer(offer)
        key, fresh = memory.browser_key(request.cookies.get(COOKIE_NAME))
        answer = JSONResponse(await calls.answer(offer, caller_key=key))
        if fresh:
            secure = request.url.scheme == "https"
            answer.set_cookie(COOKIE_NAME, fresh, max_age=memory.cookie_max_age_s, httponly=True, samesite="strict", secure=secure)
        return answer

    @app.patch("/api/offer")
    async def ice_candidates(request: Request):
        _authorize(request)
        await calls.add_candidates(parse_patch(await read_capped_body(request, MAX_OFFER_BYTES)))
        return {"status": "success"}

    return app


AUTH_TOKEN_ENV = "WEBRTC_AUTH_TOKEN"
_runner_backend = SharedBackend()


async def bot(runner_args) -> None:
    """Entry for Pipecat's runner and Pipecat Cloud: one call on a peer connection they made.

    ``runner_args`` is Pipecat's ``SmallWebRTCRunnerArguments`` (its ``webrtc_connection``
    answered by the platform's signalling, which then owns the offer checks and limits that
    :func:`create_app` applies; a ``WebSocketRunnerArguments`` is the evals harness, evals/,
    served only with ``BOT_EVALS=on``). The same pipeline as the app's, default personas;
    ``GEMINI_MODEL`` picks the model; without ``GOOGLE_API_KEY`` one embedded emulator serves
    every call of the process (started by the first, :class:`SharedBackend`).
    """
    model = os.environ.get("GEMINI_MODEL") or DEFAULT_MODEL
    if isinstance(runner_args, WebSocketRunnerArguments):  # Pipecat's evals harness (evals/)
        if not evals_enabled():
            return await refuse_eval(runner_args.websocket)
        return await run_room_eval_call(runner_args, await _runner_backend.get(), model=model)
    backend = await _runner_backend.get()
    personas = PersonaBook()
    transport = SmallWebRTCTransport(
        runner_args.webrtc_connection, params=TransportParams(audio_in_enabled=True, audio_out_enabled=True)
    )
    service = make_service(backend, personas, model=model)
    call = build_webrtc_bot(transport, service, personas)
    runner = WorkerRunner(handle_sigint=getattr(runner_args, "handle_sigint", False))
    await runner.add_workers(call.worker)
    await runner.run()


def app_from_env() -> FastAPI:
    """The app for ``uvicorn --factory``: Gemini when ``GOOGLE_API_KEY`` is set, else the emulator;
    signalling requires ``WEBRTC_AUTH_TOKEN`` as a bearer token when that is set."""
    return create_app(
        LiveBackend.from_env(), auth_token=os.environ.get(AUTH_TOKEN_ENV) or None, memory=CallerMemory.from_env()
    )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="Browser (WebRTC) bot on Gemini Live (or the local emulator).")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on")
    p.add_argument("--port", type=int, default=7860, help="port to listen on")
    p.add_argument("--model", default=DEFAULT_MODEL, help="Live model name")
    p.add_argument("--max-calls", type=int, default=20, help="concurrent calls this process accepts")
    p.add_argument("--emulator", action="store_true", help="use the local emulator even if GOOGLE_API_KEY is set")
    p.add_argument("--think-ms", type=int, default=200, help="emulator: delay before each reply, ms")
    p.add_argument("--connect-timeout-s", type=float, default=30.0, help="end a call whose peer has not connected by then")
    p.add_argument("--persona", action="append", default=[], metavar="SPEC", help="add a template persona (repeatable)")
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
    try:
        personas = persona_book(args.persona)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    app = create_app(
        backend, personas, model=args.model, max_calls=args.max_calls, auth_token=token,
        connect_timeout_s=args.connect_timeout_s, memory=CallerMemory.from_env(),
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
