"""A Twilio phone bot: Twilio Media Streams <-> Gemini Live, as a FastAPI app under uvicorn.

    .venv/bin/python pipelines/twilio_bot.py --port 8000        # then point Twilio at it

Two routes:

- ``POST /twiml``: the webhook Twilio calls when a call comes in ("A call comes in" on the
  phone number). Reads at most 16 KiB (413 beyond), checks ``X-Twilio-Signature`` against
  ``PUBLIC_URL`` when ``TWILIO_AUTH_TOKEN`` is set (403), and answers
  ``<Connect><Stream url="wss://HOST/media-stream/CALLSID">`` with a fresh per-call token as a
  ``<Parameter>``.
- ``WS /media-stream[/CALLSID]``: the call's audio (8 kHz mu-law both ways). At most
  ``max_pending_streams`` sockets may wait for their ``start`` and ``max_streams`` be open at
  once (HTTP 403 beyond); messages before ``start`` are capped at 4 KiB (1009). The ``start``
  is validated (:mod:`pipecat_gemini_live.telephony.twilio_messages`) and must carry a token the webhook
  issued for that call, for a call with no other live stream here; otherwise the socket is
  closed with 1008 and the reason. Each admitted call runs its own pipeline::

      FastAPIWebsocketTransport(EdgeTwilioSerializer: mu-law -> 16 kHz polyphase, grouped frames)
          -> user aggregator -> GeminiLiveLLMService -> OutputResampler(24 -> 8 kHz)
          -> transport.output() -> assistant aggregator

  (the low-latency telephony path of :mod:`pipecat_gemini_live.telephony.audio`). A caller who barges
  in gets Twilio's ``clear`` (the serializer's answer to ``InterruptionFrame``), so queued bot
  audio stops at once. The caller switches persona with the phone's keys: ``*`` then ``N``
  picks the Nth persona (``--persona SPEC`` adds template personas to the defaults, as the
  browser and Daily bots do; :mod:`pipecat_gemini_live.apps.bots.keypad`); other keys reach
  the model as before.

Environment: ``GOOGLE_API_KEY`` (Gemini; without it the embedded Live API emulator answers),
``TWILIO_AUTH_TOKEN`` (signature checks; and when the bot ends a call itself, e.g. because the
Live service refused it, the hang-up through Twilio's REST API), ``STREAM_TOKEN_SECRET`` (the
stream tokens' key for several workers and instances; derived from the auth token when unset),
``PUBLIC_URL`` (e.g. ``https://abc.ngrok.app``: the address Twilio uses, for the signature and
the stream URL; required with ``TWILIO_AUTH_TOKEN``), ``FORWARDED_ALLOW_IPS``, ``MAX_STREAMS``,
``MAX_PENDING_STREAMS``, ``TWILIO_API_BASE_URL``, ``GEMINI_MODEL``, ``SYSTEM_INSTRUCTION``,
``CALLER_MEMORY=on`` (remember callers, :mod:`pipecat_gemini_live.apps.memory.phone`).
Secrets are never logged. ``bot(runner_args)`` is the entry for Pipecat's runner and Pipecat Cloud.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import sys
from collections.abc import Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from fastapi import FastAPI, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import PlainTextResponse, Response
from loguru import logger
from pipecat.serializers.base_serializer import FrameSerializer
from twilio.twiml.voice_response import Connect, Stream, VoiceResponse

from gemini_live_emulator import EmulatorConfig, LiveEmulator
from pipecat_gemini_live import GeminiLiveLLMService
from pipecat_gemini_live.apps.bots.admission import RequestRefused, read_capped_body
from pipecat_gemini_live.apps.bots.backend import SharedBackend
from pipecat_gemini_live.apps.bots.personas import PersonaBook
from pipecat_gemini_live.apps.bots.twilio_call import TwilioCall, build_twilio_call, run_twilio_call
from pipecat_gemini_live.apps.bots.twilio_stream import close_quietly as _close
from pipecat_gemini_live.apps.bots.twilio_stream import receive_opening as _receive_opening
from pipecat_gemini_live.apps.bots.twilio_urls import STREAM_PATH, request_url, stream_url
from pipecat_gemini_live.apps.memory.phone import CALLER_PARAMETER, PhoneMemory
from pipecat_gemini_live.apps.personas.specs import persona_book
from pipecat_gemini_live.telephony.audio import TelephonyAudio
from pipecat_gemini_live.telephony.twilio_calls import (
    TOKEN_PARAMETER,
    CallTokens,
    StreamGate,
    StreamRefused,
    StreamStart,
    check_media_format,
    read_stream_start,
    signature_ok,
    token_key,
)

try:
    from pipelines.eval_calls import EVALS_OFF, eval_connect_flags, evals_enabled, phone_eval_worker, run_eval_call
except ModuleNotFoundError:  # run as a script: pipelines/ is on sys.path, the repository is not
    from eval_calls import EVALS_OFF, eval_connect_flags, evals_enabled, phone_eval_worker, run_eval_call  # type: ignore[no-redef]

DEFAULT_MODEL = "gemini-2.5-flash-native-audio-preview-09-2025"
DEFAULT_INSTRUCTION = "You are a friendly phone assistant. Answer briefly and kindly."
# Twilio's webhook form is about 1-2 KB; nothing legitimate comes near 16 KiB.
MAX_WEBHOOK_BYTES = 16 * 1024
MAX_FRAME_BYTES = 64 * 1024
CALL_SID = re.compile(r"CA[0-9a-fA-F]{32}")


@dataclass
class TwilioBotConfig:
    """The bot's settings (``from_env`` reads them from the environment).

    Attributes:
        api_key: Google AI API key; None: the embedded Live API emulator.
        auth_token: Twilio auth token; None: webhooks are not verified, calls are not hung up
            through Twilio's API.
        public_url: Base URL Twilio reaches the app at (``https://abc.ngrok.app``); None: taken
            from the request's ``Host`` / ``X-Forwarded-*`` headers.
        model: Live model name.
        system_instruction: The bot's persona.
        audio: The telephony audio path (the low-latency one by default).
        twilio_api_base_url: Twilio REST API root for the hang-up (None: Twilio's own).
        stream_token_secret: Key material for the per-call stream tokens, shared by all workers
            (None: derived from ``auth_token``; without either, each process has its own key).
        think_ms: Emulator only: delay before each reply, ms.
        max_streams: Media-stream sockets at once (``MAX_STREAMS``); more get HTTP 403.
        max_pending_streams: Sockets not yet past ``start`` (``MAX_PENDING_STREAMS``).
        memory: Remember callers across calls (``CALLER_MEMORY=on``); None: forget every call.
        personas: The personas a caller may switch to with ``*`` and a digit (the call opens
            with ``system_instruction``); None: no switching, every key reaches the model.
    """

    api_key: str | None = field(default=None, repr=False)
    auth_token: str | None = field(default=None, repr=False)
    public_url: str | None = None
    model: str = DEFAULT_MODEL
    system_instruction: str = DEFAULT_INSTRUCTION
    audio: TelephonyAudio = field(default_factory=TelephonyAudio)
    twilio_api_base_url: str | None = None
    stream_token_secret: str | None = field(default=None, repr=False)
    think_ms: int = 200
    max_streams: int = 100
    max_pending_streams: int = 16
    memory: PhoneMemory | None = None
    personas: PersonaBook | None = field(default_factory=PersonaBook)

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> TwilioBotConfig:
        """Settings from ``GOOGLE_API_KEY`` (or ``GEMINI_API_KEY``), ``TWILIO_AUTH_TOKEN``,
        ``PUBLIC_URL``, ``GEMINI_MODEL``, ``SYSTEM_INSTRUCTION``, ``STREAM_TOKEN_SECRET``,
        ``TWILIO_API_BASE_URL``, ``MAX_STREAMS`` and ``MAX_PENDING_STREAMS``."""
        env = dict(os.environ if env is None else env)
        return cls(
            api_key=env.get("GOOGLE_API_KEY") or env.get("GEMINI_API_KEY") or None,
            auth_token=env.get("TWILIO_AUTH_TOKEN") or None,
            public_url=env.get("PUBLIC_URL") or None,
            model=env.get("GEMINI_MODEL") or DEFAULT_MODEL,
            system_instruction=env.get("SYSTEM_INSTRUCTION") or DEFAULT_INSTRUCTION,
            stream_token_secret=env.get("STREAM_TOKEN_SECRET") or None,
            twilio_api_base_url=env.get("TWILIO_API_BASE_URL") or None,
            max_streams=int(env.get("MAX_STREAMS") or 100),
            max_pending_streams=int(env.get("MAX_PENDING_STREAMS") or 16),
            memory=PhoneMemory.from_env(env),
        )


def create_app(
    config: TwilioBotConfig | None = None,
    *,
    emulator: LiveEmulator | None = None,
    wrap_serializer: Callable[[FrameSerializer], FrameSerializer] | None = None,
    on_call: Callable[[TwilioCall], None] | None = None,
) -> FastAPI:
    """The bot's FastAPI app.

    Args:
        config: Settings (default: from the environment).
        emulator: A running Live API emulator to answer calls (tests). Without one and without
            ``config.api_key``, the app starts its own for its lifetime.
        wrap_serializer: Wraps each call's serializer (a trace tap, in benchmarks).
        on_call: Called with each call's pieces before it runs (tests, benchmarks).
    """
    config = config or TwilioBotConfig.from_env()
    if config.auth_token and not config.public_url:
        raise ValueError(
            "PUBLIC_URL is required with TWILIO_AUTH_TOKEN: the signature covers the URL Twilio "
            "used, and Host / X-Forwarded-* headers are the client's to choose"
        )
    key = token_key(config.stream_token_secret, config.auth_token)
    tokens = CallTokens(key)
    gate = StreamGate(max_pending=config.max_pending_streams, max_streams=config.max_streams)
    state: dict = {"emulator": emulator, "workers": set()}

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        own = None
        if config.api_key is None and state["emulator"] is None:
            own = state["emulator"] = await LiveEmulator(
                EmulatorConfig(think_ms=config.think_ms)
            ).start()
        if config.auth_token is None:
            logger.warning(
                "twilio-bot: TWILIO_AUTH_TOKEN is not set; webhook signatures are NOT checked"
            )
        backend = "Gemini" if config.api_key else "the Live API emulator"
        logger.info(f"twilio-bot: answering calls with {config.model} on {backend}")
        try:
            yield
        finally:
            for worker in list(state["workers"]):
                await worker.cancel()
            if own is not None:
                await own.stop()
            if config.memory is not None:
                await asyncio.to_thread(config.memory.close)  # the engine disposed

    app = FastAPI(title="Gemini Live Twilio bot", lifespan=lifespan)
    app.state.tokens = tokens
    app.state.gate = gate

    @app.exception_handler(RequestRefused)
    async def _refused(request: Request, e: RequestRefused) -> Response:
        logger.warning(f"twilio-bot: {request.url.path} refused ({e.status}): {e.reason}")
        return PlainTextResponse(f"{e.reason}\n", status_code=e.status)

    @app.get("/healthz")
    async def healthz() -> dict:
        """For load balancers and container health checks: up, and how busy."""
        return {"status": "ok", "streams": gate.live, "pending": gate.pending, "max_streams": gate.max_streams}

    @app.post("/twiml")
    async def twiml(request: Request) -> Response:
        body = await read_capped_body(request, MAX_WEBHOOK_BYTES)
        params = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
        if config.auth_token is not None:
            url = request_url(request, config.public_url)
            signature = request.headers.get("x-twilio-signature")
            settings = request.headers.get("x-twilio-webhooks-signature-settings")
            if not signature_ok(config.auth_token, url, params, signature, settings):
                raise RequestRefused(403, "Forbidden: bad or missing X-Twilio-Signature")
        call_sid = (params.get("CallSid") or [""])[0]
        if not call_sid:
            raise RequestRefused(400, "Bad request: no CallSid")
        if not CALL_SID.fullmatch(call_sid):
            raise RequestRefused(400, "Bad request: malformed CallSid")
        stream = Stream(url=stream_url(request, config.public_url, call_sid))
        caller = config.memory.caller_key(params) if config.memory else None
        stream.parameter(name=TOKEN_PARAMETER, value=tokens.issue(PhoneMemory.token_subject(call_sid, caller)))
        if caller:
            stream.parameter(name=CALLER_PARAMETER, value=caller)
        connect = Connect()
        connect.append(stream)
        answer = VoiceResponse()
        answer.append(connect)
        logger.info(f"twilio-bot: call {call_sid} answered with a media stream")
        return Response(str(answer), media_type="application/xml")

    @app.websocket(STREAM_PATH)
    async def media_stream(websocket: WebSocket) -> None:
        await _stream(websocket, None)

    @app.websocket(STREAM_PATH + "/{call_sid}")
    async def media_stream_of(websocket: WebSocket, call_sid: str) -> None:
        await _stream(websocket, call_sid)

    async def _stream(websocket: WebSocket, path_call_sid: str | None) -> None:
        try:
            gate.arrive()
        except StreamRefused as e:
            # Refused before the handshake completes: the client gets HTTP 403, costing one socket.
            logger.warning(f"twilio-bot: media stream refused: {e.reason}")
            await websocket.close(code=e.code)
            return
        try:
            await websocket.accept()
            start = await read_stream_start(lambda: _receive_opening(websocket))
            if path_call_sid is not None and path_call_sid != start.call_sid:
                raise StreamRefused("the start message names another call than the stream URL")
            caller = start.parameters.get(CALLER_PARAMETER) if config.memory else None
            subject = PhoneMemory.token_subject(start.call_sid, caller)
            if not tokens.redeem(start.parameters.get(TOKEN_PARAMETER), subject):
                raise StreamRefused(
                    "no valid per-call token (streams must come from this app's webhook)"
                )
            check_media_format(start.media_format)
            gate.admit(start.call_sid)
        except StreamRefused as e:
            if e.disconnected:
                logger.info(f"twilio-bot: media stream left before it was admitted: {e.reason}")
            else:
                logger.warning(f"twilio-bot: media stream refused: {e.reason}")
                await _close(websocket, e.code, e.reason)
            return
        except (OSError, WebSocketDisconnect) as e:
            logger.info(f"twilio-bot: media stream left before it was admitted ({type(e).__name__})")
            return
        finally:
            gate.started()
        try:
            await _run_call(websocket, start)
        finally:
            gate.ended(start.call_sid)

    async def _run_call(websocket: WebSocket, start: StreamStart) -> None:
        if config.api_key is not None:
            service_kwargs = {"api_key": config.api_key, "http_options": None}
        else:
            emu = state["emulator"]
            service_kwargs = {"api_key": emu.api_key, "http_options": emu.http_options()}
        call = build_twilio_call(
            websocket,
            start,
            service_kwargs=service_kwargs,
            model=config.model,
            system_instruction=config.system_instruction,
            audio=config.audio,
            auth_token=config.auth_token,
            twilio_api_base_url=config.twilio_api_base_url,
            wrap_serializer=wrap_serializer,
            personas=config.personas,
        )
        if on_call is not None:
            on_call(call)
        state["workers"].add(call.worker)
        caller = start.parameters.get(CALLER_PARAMETER) if config.memory else None
        memory = None
        try:  # whatever ends the call (even a cancel while memory loads) releases its memory
            memory = await config.memory.open_call(call.service, caller, start.call_sid) if caller else None
            await run_twilio_call(call)
        finally:
            state["workers"].discard(call.worker)
            if memory is not None:
                await memory.close()

    return app


def uvicorn_options() -> dict:
    """uvicorn settings the bot is meant to run with (``--ws-max-size 65536 --ws-max-queue 8``):
    Twilio's messages are under 1 KiB, so no WebSocket message may be larger than 64 KiB, and at
    most 8 wait per socket (uvicorn's defaults are 16 MiB and 32)."""
    return {"ws_max_size": MAX_FRAME_BYTES, "ws_max_queue": 8}


_runner_backend = SharedBackend()  # the process's calls share one, started by the first


async def bot(runner_args: Any) -> None:
    """Entry for Pipecat's runner and Pipecat Cloud: one call on a media stream they accepted.

    ``runner_args`` is Pipecat's ``WebSocketRunnerArguments``. The platform answered the
    webhook, so there is no stream token to ask for; the ``start`` message is still read and
    validated like the app's (1008 with the reason), and the call runs the same pipeline. A
    connection opening with the evals harness's ``eval-connect`` instead runs that pipeline on
    Pipecat's eval transport (:mod:`pipelines.eval_calls`), when ``BOT_EVALS=on`` (else 1008).
    Settings come from the environment (:meth:`TwilioBotConfig.from_env`); without
    ``GOOGLE_API_KEY`` one embedded emulator serves every call of the process.
    """
    # No caller memory here (no webhook hands the caller's key to the stream): a store opened
    # per call would only cost a connection pool and a purge each time.
    config = TwilioBotConfig.from_env({**os.environ, "CALLER_MEMORY": "off"})
    websocket = runner_args.websocket
    try:
        opening = [await asyncio.wait_for(_receive_opening(websocket), 10.0)]  # read_stream_start's
        flags = eval_connect_flags(opening[0])
        if flags is not None and not evals_enabled():
            raise StreamRefused(EVALS_OFF)
        if flags is None:
            start = await read_stream_start(lambda: _receive_opening(websocket, opening))
            check_media_format(start.media_format)
    except (StreamRefused, ValueError, TimeoutError) as e:  # ValueError: bad eval-connect flags
        if not isinstance(e, StreamRefused):
            e = StreamRefused(f"bad eval-connect: {e}" if isinstance(e, ValueError) else "no message within 10 s")
        logger.warning(f"twilio-bot: media stream refused: {e.reason}")
        if not e.disconnected:
            await _close(websocket, e.code, e.reason)
        return
    backend = await _runner_backend.get()
    sigint = getattr(runner_args, "handle_sigint", False)
    if flags is not None:  # Pipecat's evals harness: the same pipeline on its transport (evals/)
        service = GeminiLiveLLMService(
            **backend.service_kwargs(), model=config.model, system_instruction=config.system_instruction,
            options=config.audio.live_options(),  # as a phone call's: caller audio stops at the service
        )
        transport, worker = phone_eval_worker(websocket, flags, service, config.audio)
        await run_eval_call(transport, worker, handle_sigint=sigint)
        return
    call = build_twilio_call(
        websocket, start, service_kwargs=backend.service_kwargs(), model=config.model,
        system_instruction=config.system_instruction, audio=config.audio, auth_token=config.auth_token,
        twilio_api_base_url=config.twilio_api_base_url, personas=config.personas,
    )
    await run_twilio_call(call, handle_sigint=sigint)


def main(argv: list[str] | None = None) -> None:
    """Run the bot under uvicorn."""
    import uvicorn

    p = argparse.ArgumentParser(description="Twilio phone bot on Gemini Live (or its local emulator).")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (behind a tunnel or proxy)")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument(
        "--forwarded-allow-ips",
        default=os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1"),
        help="proxies whose X-Forwarded-Proto/For uvicorn trusts (comma-separated; default 127.0.0.1)",
    )
    p.add_argument(
        "--persona", action="append", default=[], metavar="SPEC",
        help="add a template persona, picked with * and its number (repeatable)",
    )
    p.add_argument("--verbose", action="store_true", help="debug logs")
    args = p.parse_args(argv)
    logger.remove()
    logger.add(sys.stderr, level="DEBUG" if args.verbose else "INFO")
    config = TwilioBotConfig.from_env()
    try:
        config.personas = persona_book(args.persona)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
    if config.auth_token is None and args.host not in ("127.0.0.1", "::1", "localhost"):
        print(
            f"error: listening on {args.host} (not loopback) needs TWILIO_AUTH_TOKEN and PUBLIC_URL: "
            "without them anyone who reaches the port can start calls on your Live API key",
            file=sys.stderr,
        )
        sys.exit(2)
    try:
        app = create_app(config)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        log_level="info",
        forwarded_allow_ips=args.forwarded_allow_ips,
        **uvicorn_options(),
    )


if __name__ == "__main__":
    if {"-t", "--transport"} & set(sys.argv[1:]):
        from pipecat.runner.run import main as runner_main  # Pipecat's dev runner calls bot()

        runner_main()
    else:
        main()
