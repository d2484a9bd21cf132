"""One call of a room bot (Daily, browser WebRTC...): the pipeline around the service.

::

    transport.input() -> PersonaMessageSwitcher -> AudioResampler -> user aggregator
        -> TranscriptMessenger (caller) -> GeminiLiveLLMService -> TranscriptMessenger (bot)
        -> transport.output() -> assistant aggregator

One :class:`BotCall` per call; a process runs as many as it has calls. The transport-specific
parts (when the call starts and ends) stay in each bot.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from loguru import logger
from pipecat.frames.frames import OutputTransportMessageUrgentFrame
from pipecat.observers.base_observer import BaseObserver
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.worker import PipelineParams, PipelineWorker
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.processors.aggregators.llm_response_universal import (
    LLMContextAggregatorPair,
    LLMUserAggregatorParams,
)
from pipecat.transports.base_transport import BaseTransport
from pipecat.turns.user_turn_strategies import ExternalUserTurnStrategies

from ...audio.resampler import AudioResampler
from ...service import GeminiLiveLLMService
from . import messages
from .backend import LiveBackend
from .personas import Persona, PersonaBook
from .processors import PersonaMessageSwitcher, TranscriptMessenger
from ...audio.rates import LIVE_INPUT_RATE, LIVE_OUTPUT_RATE

DEFAULT_MODEL = "gemini-2.5-flash-native-audio-preview-09-2025"

# The Live API takes 16 kHz PCM16 mono and answers at 24 kHz; transports convert to and from
# whatever their peers speak.
IN_SAMPLE_RATE = LIVE_INPUT_RATE
OUT_SAMPLE_RATE = LIVE_OUTPUT_RATE


def make_service(
    backend: LiveBackend, personas: PersonaBook, *, model: str = DEFAULT_MODEL, **kwargs
) -> GeminiLiveLLMService:
    """The service for one call, opening with the first persona.

    Args:
        backend: Where the Live API is (started).
        personas: The call starts as ``personas.first``.
        model: Live model name.
        **kwargs: More ``GeminiLiveLLMService`` arguments (``settings``, ``tools``, ``options``...).

    Raises:
        RuntimeError: An emulator backend that was not started.
    """
    first = personas.first
    if first.language and "settings" not in kwargs:
        kwargs["settings"] = GeminiLiveLLMService.Settings(language=first.language)
    return GeminiLiveLLMService(
        **backend.service_kwargs(),
        model=model,
        system_instruction=first.system_instruction,
        voice_id=first.voice,
        **kwargs,
    )


@dataclass
class BotCall:
    """A built call: its pipeline, worker and the pieces tests and handlers reach for.

    Attributes:
        transport: The call's transport.
        service: The Gemini Live service.
        worker: The pipeline worker (queue frames, cancel).
        personas: The personas clients may ask for.
        switcher: Turns clients' persona messages into persona updates.
        persona: The persona the call is in now.
        switches: Names of personas switched to, in order (failed ones excluded).
    """

    transport: BaseTransport
    service: GeminiLiveLLMService
    worker: PipelineWorker
    personas: PersonaBook
    switcher: PersonaMessageSwitcher
    persona: Persona
    switches: list[str] = field(default_factory=list)

    async def send(self, message: dict) -> None:
        """Send an app message to the client(s) right away."""
        await self.worker.queue_frame(OutputTransportMessageUrgentFrame(message=message))

    async def announce(self) -> None:
        """Tell the client(s) the bot is here and which personas they may ask for."""
        await self.send(messages.bot_ready(self.persona, self.personas))

    async def hang_up(self, reason: str) -> None:
        """End the call now (the client left): the service closes its session with 1000."""
        logger.info(f"{self.worker}: ending call ({reason})")
        await self.worker.cancel(reason=reason)


def build_bot_call(
    transport: BaseTransport,
    service: GeminiLiveLLMService,
    personas: PersonaBook,
    *,
    observers: Sequence[BaseObserver] = (),
    live_transcript: bool = True,
) -> BotCall:
    """Build one call's pipeline and worker around ``transport`` and ``service``.

    The worker runs at 16 kHz in / 24 kHz out, with metrics on, no idle timeout (the bot ends
    the call when the client leaves) and no RTVI (the bots speak the small protocol of
    :mod:`.messages`).

    Args:
        transport: A Pipecat transport with app messages (Daily, SmallWebRTC...).
        service: The call's service (see :func:`make_service`).
        personas: The personas clients may ask for.
        observers: Pipecat observers to attach to the worker.
        live_transcript: Send the bot's words as they are spoken, not only whole replies.
    """
    switcher = PersonaMessageSwitcher(personas)
    context = LLMContext()
    user, assistant = LLMContextAggregatorPair(
        context,
        # The Live API detects turns itself; the default strategies would load a local
        # smart-turn model (tens of ms and ~10 MiB per call) that a realtime service never uses.
        user_params=LLMUserAggregatorParams(user_turn_strategies=ExternalUserTurnStrategies()),
    )
    pipeline = Pipeline(
        [
            transport.input(),
            switcher,
            AudioResampler(),
            user,
            TranscriptMessenger(send_partial=live_transcript),
            service,
            TranscriptMessenger(send_partial=live_transcript),
            transport.output(),
            assistant,
        ]
    )
    worker = PipelineWorker(
        pipeline,
        params=PipelineParams(
            audio_in_sample_rate=IN_SAMPLE_RATE,
            audio_out_sample_rate=OUT_SAMPLE_RATE,
            enable_metrics=True,
            enable_usage_metrics=True,
        ),
        idle_timeout_secs=None,
        enable_rtvi=False,
        observers=list(observers),
    )
    call = BotCall(transport, service, worker, personas, switcher, personas.first)

    @service.event_handler("on_switch")
    async def _on_switch(_service, record):
        if record.reason != "persona":
            return
        if record.ok:
            persona = personas.by_instruction(record.system_instruction)
            if persona is not None:
                call.persona = persona
                call.switches.append(persona.name)
            name = persona.name if persona is not None else None
        else:
            # The record names the instruction still active; say which request failed.
            name = switcher.last_request.name if switcher.last_request else None
            logger.warning(f"{service}: persona switch to {name!r} failed: {record.error}")
        await call.send(messages.persona_changed(name, ok=record.ok, switch_gap_ms=record.switch_gap_ms))

    return call
