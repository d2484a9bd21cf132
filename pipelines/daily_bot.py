"""Daily video bot: a caller in a Daily room talks (and shows their camera) to Gemini Live.

    DAILY_ROOM_URL=https://you.daily.co/room [DAILY_TOKEN=...] [GOOGLE_API_KEY=...] \\
        .venv/bin/python pipelines/daily_bot.py

Pipeline (one per call)::

    DailyTransport.input() -> PersonaMessageSwitcher -> AudioResampler -> user aggregator
        -> TranscriptMessenger -> GeminiLiveLLMService -> TranscriptMessenger
        -> DailyTransport.output() -> assistant aggregator

- audio in at 16 kHz and out at 24 kHz (Daily converts for the room);
- the caller's camera is sampled to 1 frame per second by the transport
  (``video_in_sources``) and reaches the service as ``UserImageRawFrame``;
- transcripts (caller turns, the bot's words as spoken) go to the room as app messages;
- an app message ``{"label": "pipecat-gemini-live", "type": "persona", "name": "pirate"}``
  switches persona mid-call;
- the bot announces itself (``bot-ready``) when the first participant joins and hangs up when
  the last one leaves.

Without ``GOOGLE_API_KEY`` the bot talks to the embedded Live API emulator. The token is never
logged. ``--persona SPEC`` adds template personas to the room's choices (``tutor:{"age": 7,
"level": 3}``, ``interpreter:en-US:es-ES``). With ``CALLER_MEMORY=on`` and the id of the user the
room is for (``--participant-id`` / ``DAILY_PARTICIPANT_ID``, the application's own user id), the
call opens with that user's earlier turns and keeps its own (:mod:`pipecat_gemini_live.apps.memory`).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlparse

from loguru import logger
from pipecat.observers.base_observer import BaseObserver
from pipecat.runner.types import WebSocketRunnerArguments
from pipecat.transports.base_transport import VideoInSourceParams
from pipecat.transports.daily.transport import DailyParams, DailyTransport
from pipecat.workers.runner import WorkerRunner

from pipecat_gemini_live import GeminiLiveLLMService
from pipecat_gemini_live.apps.bots import (
    DEFAULT_MODEL,
    BotCall,
    LiveBackend,
    SharedBackend,
    PersonaBook,
    build_bot_call,
    make_service,
)
from pipecat_gemini_live.apps.bots.call import IN_SAMPLE_RATE, OUT_SAMPLE_RATE
from pipecat_gemini_live.apps.memory import CallerMemory
from pipecat_gemini_live.apps.personas.specs import persona_book

try:
    from pipelines.eval_calls import evals_enabled, refuse_eval, run_room_eval_call
except ModuleNotFoundError:  # run as a script: pipelines/ is on sys.path, the repository is not
    from eval_calls import evals_enabled, refuse_eval, run_room_eval_call  # type: ignore[no-redef]


class ConfigError(ValueError):
    """The bot's settings are missing or wrong (the message says which)."""


@dataclass
class DailyBotConfig:
    """Where the bot joins and how it behaves.

    Attributes:
        room_url: The Daily room (``https://<domain>.daily.co/<room>``).
        token: A meeting token for private rooms (never logged), or None.
        bot_name: The bot's name in the room.
        model: Live model name.
        video_fps: Camera frames per second passed to the service (the Live API takes about 1).
        participant_id: The application's id of the user the room is for (their memory key).
        memory: Remember users across calls (``CALLER_MEMORY=on``); None: forget every call.
    """

    room_url: str
    token: str | None = field(default=None, repr=False)
    bot_name: str = "Gemini"
    model: str = DEFAULT_MODEL
    video_fps: int = 1
    participant_id: str | None = None
    memory: CallerMemory | None = None

    def __post_init__(self):
        url = urlparse(self.room_url or "")
        if url.scheme not in ("https", "http") or not url.netloc or url.path.strip("/") == "":
            raise ConfigError(
                f"DAILY_ROOM_URL must be a room URL like https://you.daily.co/room, got {self.room_url!r}"
            )
        if self.video_fps < 1:
            raise ConfigError(f"video_fps must be at least 1, got {self.video_fps}")

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ, **overrides) -> "DailyBotConfig":
        """Settings from ``DAILY_ROOM_URL`` and ``DAILY_TOKEN``; keyword overrides win.

        Raises:
            ConfigError: ``DAILY_ROOM_URL`` is unset or not a room URL.
        """
        room_url = overrides.pop("room_url", None) or env.get("DAILY_ROOM_URL")
        if not room_url:
            raise ConfigError("DAILY_ROOM_URL is not set (the Daily room the bot should join)")
        token = overrides.pop("token", None) or env.get("DAILY_TOKEN") or None
        overrides.setdefault("participant_id", env.get("DAILY_PARTICIPANT_ID") or None)
        overrides.setdefault("memory", CallerMemory.from_env(dict(env)))
        return cls(room_url=room_url, token=token, **overrides)


def daily_params(config: DailyBotConfig) -> DailyParams:
    """Transport settings: audio both ways, the camera in at ``video_fps``, no bot video."""
    return DailyParams(
        audio_in_enabled=True,
        audio_in_sample_rate=IN_SAMPLE_RATE,
        audio_out_enabled=True,
        audio_out_sample_rate=OUT_SAMPLE_RATE,
        video_in_enabled=True,
        video_in_sources={"camera": VideoInSourceParams(framerate=config.video_fps)},
        video_out_enabled=False,
        camera_out_enabled=False,
    )


def make_transport(config: DailyBotConfig) -> DailyTransport:
    """The Daily transport for ``config`` (joins when the pipeline starts)."""
    return DailyTransport(config.room_url, config.token, config.bot_name, params=daily_params(config))


def build_daily_bot(
    transport: DailyTransport,
    service: GeminiLiveLLMService,
    personas: PersonaBook,
    *,
    observers: Sequence[BaseObserver] = (),
) -> BotCall:
    """The call's pipeline plus Daily's event handlers (greet, hang up on the last leave).

    Args:
        transport: A ``DailyTransport`` (tests pass one whose call client is a fake).
        service: The call's service.
        personas: The personas room participants may ask for.
        observers: Pipecat observers for the worker.
    """
    call = build_bot_call(transport, service, personas, observers=observers)

    @transport.event_handler("on_first_participant_joined")
    async def _on_first_participant_joined(_transport, participant):
        logger.info(f"{transport}: first participant {participant.get('id')} joined; greeting")
        await call.announce()

    @transport.event_handler("on_participant_left")
    async def _on_participant_left(_transport, participant, reason):
        others = [pid for pid in transport.participants() if pid not in ("local", participant.get("id"))]
        if not others:
            await call.hang_up(f"last participant left ({reason})")

    return call


async def run_daily_bot(config: DailyBotConfig, backend: LiveBackend, personas: PersonaBook | None = None) -> BotCall:
    """Join the room and run the call until the last participant leaves (or Ctrl-C).

    Args:
        config: Room and bot settings.
        backend: Gemini or the emulator (started here if needed, stopped on return).
        personas: The personas offered (the defaults when None).
    """
    personas = personas or PersonaBook()
    async with backend:
        transport = make_transport(config)
        service = make_service(backend, personas, model=config.model)
        call = build_daily_bot(transport, service, personas)
        memory = None
        try:  # whatever ends the call releases its memory, and the store at the end of the bot
            if config.memory is not None and config.participant_id:
                key = config.memory.participant_key(config.participant_id)
                memory = await config.memory.open_call(service, key, call_id(config.room_url))
            # A long-running bot: Ctrl-C cancels the call cleanly (the Live session closes with 1000).
            runner = WorkerRunner(handle_sigint=True)
            await runner.add_workers(call.worker)
            await runner.run()
        finally:
            if memory is not None:
                await memory.close()
            if config.memory is not None:
                await asyncio.to_thread(config.memory.close)
        return call


def call_id(room_url: str) -> str:
    """A unique id for one call in the memory store: the room's name (where the call was) and a
    random suffix, so two calls in one room (one after the other, or at once) never share one."""
    room = urlparse(room_url).path.strip("/")[:31]
    return f"{room}@{uuid.uuid4().hex}"


_runner_backend = SharedBackend()


async def bot(runner_args) -> None:
    """Entry for Pipecat's runner (``python pipelines/daily_bot.py -t daily``) and Pipecat Cloud.

    ``runner_args`` is Pipecat's ``DailyRunnerArguments`` (the room and token the runner made);
    a ``WebSocketRunnerArguments`` is Pipecat's evals harness on the runner's ``/ws`` route
    (evals/), which gets the same call pipeline on the eval transport, only with ``BOT_EVALS=on``.
    Without ``GOOGLE_API_KEY`` one embedded emulator serves every call of the process (started
    by the first, :class:`SharedBackend`).
    """
    if isinstance(runner_args, WebSocketRunnerArguments):
        if not evals_enabled():
            return await refuse_eval(runner_args.websocket)
        model = os.environ.get("GEMINI_MODEL") or DEFAULT_MODEL
        return await run_room_eval_call(runner_args, await _runner_backend.get(), model=model)
    backend = await _runner_backend.get()
    config = DailyBotConfig(room_url=runner_args.room_url, token=runner_args.token)
    personas = PersonaBook()
    transport = make_transport(config)
    call = build_daily_bot(transport, make_service(backend, personas, model=config.model), personas)
    runner = WorkerRunner(handle_sigint=getattr(runner_args, "handle_sigint", False))
    await runner.add_workers(call.worker)
    await runner.run()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="Daily video bot on Gemini Live (or the local emulator).")
    p.add_argument("--room-url", help="Daily room URL (default: $DAILY_ROOM_URL)")
    p.add_argument("--bot-name", default="Gemini", help="the bot's name in the room")
    p.add_argument("--model", default=DEFAULT_MODEL, help="Live model name")
    p.add_argument("--emulator", action="store_true", help="use the local emulator even if GOOGLE_API_KEY is set")
    p.add_argument("--persona", action="append", default=[], metavar="SPEC", help="add a template persona (repeatable)")
    p.add_argument("--participant-id", help="the app's id of the user the room is for (memory key; $DAILY_PARTICIPANT_ID)")
    p.add_argument("--verbose", action="store_true", help="debug logs")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logger.remove()
    logger.add(sys.stderr, level="DEBUG" if args.verbose else "INFO")
    try:
        config = DailyBotConfig.from_env(room_url=args.room_url, bot_name=args.bot_name, model=args.model)
        if args.participant_id:
            config.participant_id = args.participant_id
        personas = persona_book(args.persona)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    backend = LiveBackend.from_env(force_emulator=args.emulator)
    print(f"Joining {config.room_url} as {config.bot_name!r}; Live API: {backend.name}")
    asyncio.run(run_daily_bot(config, backend, personas))
    return 0


if __name__ == "__main__":
    if {"-t", "--transport", "-d", "--direct"} & set(sys.argv[1:]):
        from pipecat.runner.run import main as runner_main  # Pipecat's dev runner calls bot()

        runner_main()
    else:
        sys.exit(main())
