"""The ready bots' calls under Pipecat's evals harness (``pipecat eval``; evals/ in this repository).

The harness connects to the dev runner's ``/ws`` route, opens with an ``eval-connect`` message
and then speaks RTVI: the user's turns arrive as ``raw-audio`` (recorded speech) or ``dtmf``, and
it reads the bot's behaviour from RTVI events (user/bot started and stopped speaking, the bot's
text, function calls). So under an eval a bot keeps its pipeline but gets Pipecat's eval
transport in place of its own, and RTVI (which the ready bots leave off: they speak their own app
messages) on:

- :func:`phone_eval_worker`: the Twilio bot's telephony pipeline (output resampled to the 8 kHz
  wire rate, 20 ms chunks; :mod:`pipecat_gemini_live.telephony`) with ``EvalSerializer`` in
  place of Twilio's serializer.
- :func:`room_eval_worker` (:func:`run_room_eval_call`): the Daily / browser bots' pipeline (persona requests in, 16 kHz in,
  24 kHz out), without their transcript app messages, which the harness does not read.

Either way the call ends when the harness disconnects.

**Off unless enabled**: the handshake runs a call on the bot's Live API key for anyone who can
reach the runner's ``/ws`` route and send ``eval-connect``, and an internet-facing bot must not
offer that. A bot serves it only when ``BOT_EVALS=on`` (``make eval`` sets it); otherwise the
connection is closed with 1008 and the reason, before any Live session is prepared. The bots import this module as
``pipelines.eval_calls``, or as ``eval_calls`` when run as scripts (``pipelines/`` is then the
script's directory on ``sys.path``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

from loguru import logger
from pipecat.evals.fastapi_transport import EvalFastAPIWebsocketTransport
from pipecat.evals.serializer import EvalConnectionFlags, EvalSerializer, parse_eval_connect
from pipecat.evals.transport import EvalTransportParams
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.worker import PipelineParams, PipelineWorker, ProcessorUnusablePolicy
from pipecat.runner.types import WebSocketRunnerArguments
from pipecat.runner.utils import create_transport
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.processors.aggregators.llm_response_universal import (
    LLMContextAggregatorPair,
    LLMUserAggregatorParams,
)
from pipecat.transports.base_transport import BaseTransport
from pipecat.turns.user_turn_strategies import ExternalUserTurnStrategies
from pipecat.workers.runner import WorkerRunner

from pipecat_gemini_live import GeminiLiveLLMService
from pipecat_gemini_live.apps.bots import LiveBackend, PersonaBook, PersonaMessageSwitcher, make_service
from pipecat_gemini_live.audio.resampler import AudioResampler
from pipecat_gemini_live.telephony import TelephonyAudio

# The Live API takes 16 kHz and answers at 24 kHz (the room bots' worker rates).
ROOM_IN_RATE = 16000
ROOM_OUT_RATE = 24000
# For ``create_transport``: the eval transport, audio both ways, Pipecat's EvalSerializer.
EVAL_TRANSPORT_PARAMS = {"eval": lambda: EvalTransportParams(audio_in_enabled=True, audio_out_enabled=True)}


EVALS_ENV = "BOT_EVALS"
EVALS_OFF = f"Pipecat's evals handshake is off on this bot (set {EVALS_ENV}=on to serve it)"


def evals_enabled(env: Mapping[str, str] | None = None) -> bool:
    """Whether the bots serve Pipecat's evals harness: ``BOT_EVALS`` is ``on`` / ``1`` /
    ``true`` / ``yes`` (off by default)."""
    value = (os.environ if env is None else env).get(EVALS_ENV, "")
    return value.strip().lower() in ("on", "1", "true", "yes")


async def refuse_eval(websocket: Any) -> None:
    """Close a harness connection the bot does not serve: 1008 with :data:`EVALS_OFF`."""
    logger.warning(f"eval connection refused: {EVALS_OFF}")
    try:
        await websocket.close(code=1008, reason=EVALS_OFF[:120])
    except (RuntimeError, OSError):  # the client already left
        pass


def eval_connect_flags(first_message: str) -> EvalConnectionFlags | None:
    """The harness's connection flags when ``first_message`` is its ``eval-connect``, else None.

    Raises:
        ValueError: An ``eval-connect`` message whose flags are not valid (pydantic's
            ``ValidationError`` is a ``ValueError``).
    """
    try:
        message = json.loads(first_message)
    except (ValueError, RecursionError):  # deeply nested JSON is not an eval-connect either
        return None
    return parse_eval_connect(message)


def _aggregators():
    # The Live API detects turns itself; the default strategies would load a local smart-turn
    # model that a realtime service never uses (as in the bots' own calls).
    return LLMContextAggregatorPair(
        LLMContext(), user_params=LLMUserAggregatorParams(user_turn_strategies=ExternalUserTurnStrategies())
    )


def phone_eval_worker(
    websocket: Any, flags: EvalConnectionFlags, service: GeminiLiveLLMService, audio: TelephonyAudio
) -> tuple[BaseTransport, PipelineWorker]:
    """The phone bot's pipeline on the eval transport, with RTVI.

    Args:
        websocket: The accepted WebSocket, its ``eval-connect`` already read.
        flags: The connection's flags (from :func:`eval_connect_flags`).
        service: The call's service.
        audio: The bot's telephony audio path.
    """
    params = EvalTransportParams(**audio.transport_params(EvalSerializer()).model_dump())
    transport = EvalFastAPIWebsocketTransport(websocket, params, flags)
    user, assistant = _aggregators()
    worker = PipelineWorker(
        Pipeline(audio.pipeline_processors(transport, service, user=user, assistant=assistant)),
        params=PipelineParams(enable_metrics=True, enable_usage_metrics=True),
        idle_timeout_secs=None,
        processor_unusable_policy=ProcessorUnusablePolicy.END,
    )
    return transport, worker


def room_eval_worker(
    transport: BaseTransport, service: GeminiLiveLLMService, personas: PersonaBook
) -> PipelineWorker:
    """The room bots' pipeline around an eval transport, with RTVI.

    Args:
        transport: The eval transport ``create_transport`` built for the connection.
        service: The call's service (opening with ``personas.first``).
        personas: The personas a client may ask for.
    """
    user, assistant = _aggregators()
    pipeline = Pipeline(
        [
            transport.input(),
            PersonaMessageSwitcher(personas),
            AudioResampler(),
            user,
            service,
            transport.output(),
            assistant,
        ]
    )
    return PipelineWorker(
        pipeline,
        params=PipelineParams(
            audio_in_sample_rate=ROOM_IN_RATE,
            audio_out_sample_rate=ROOM_OUT_RATE,
            enable_metrics=True,
            enable_usage_metrics=True,
        ),
        idle_timeout_secs=None,
        processor_unusable_policy=ProcessorUnusablePolicy.END,
    )


async def run_eval_call(transport: BaseTransport, worker: PipelineWorker, *, handle_sigint: bool = False) -> None:
    """Run an eval call until the harness disconnects."""

    @transport.event_handler("on_client_disconnected")
    async def _gone(_transport, _client):
        await worker.cancel()

    logger.info(f"{worker}: a call from Pipecat's evals harness")
    runner = WorkerRunner(handle_sigint=handle_sigint)
    await runner.add_workers(worker)
    await runner.run()


async def run_room_eval_call(runner_args: WebSocketRunnerArguments, backend: LiveBackend, *, model: str) -> None:
    """A room bot's call from the evals harness, start to end, with the default personas (the
    caller checked :func:`evals_enabled`).

    Raises:
        ValueError: The connection is not the harness's (``create_transport`` found another
            protocol, e.g. a Twilio media stream, which a room bot does not serve).
    """
    personas = PersonaBook()
    transport = await create_transport(runner_args, EVAL_TRANSPORT_PARAMS)
    service = make_service(backend, personas, model=model)
    worker = room_eval_worker(transport, service, personas)
    await run_eval_call(transport, worker, handle_sigint=getattr(runner_args, "handle_sigint", False))
