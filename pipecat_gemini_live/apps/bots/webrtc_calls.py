"""The browser bot's calls: one pipeline per WebRTC peer connection, up to a limit.

:class:`CallManager` answers SDP offers with Pipecat's ``SmallWebRTCRequestHandler`` and runs
each new connection's call (:func:`build_webrtc_bot`); ``pipelines/webrtc_bot.py`` puts it
behind its web app. With a :class:`~..memory.CallerMemory`, a call whose browser carries a
signed caller cookie opens with that caller's earlier turns and keeps its own.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

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

from ..memory import CallerMemory
from ...service import GeminiLiveLLMService
from .admission import CallSlot, CallSlots, RequestRefused
from .backend import LiveBackend
from .call import BotCall, build_bot_call, make_service
from .personas import PersonaBook
from .webrtc_offer import OfferBody


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
        memory: Where callers' turns are kept (None: calls are not remembered).

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
        memory: CallerMemory | None = None,
    ):
        if max_calls < 1:
            raise ValueError(f"max_calls must be at least 1, got {max_calls}")
        if not connect_timeout_s > 0:
            raise ValueError(f"connect_timeout_s must be positive, got {connect_timeout_s}")
        self.backend = backend
        self.memory = memory
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

    async def answer(self, offer: OfferBody, caller_key: str | None = None) -> dict:
        """Answer a checked offer: a new call, or a renegotiation of one of this server's calls.

        ``caller_key`` (a checked cookie's, :meth:`.CallerMemory.browser_key`) names whose
        memory a new call opens with.

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
            started.append(self._start_call(connection, slot, caller_key))

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

    def _start_call(self, connection: SmallWebRTCConnection, slot: CallSlot, caller_key: str | None = None) -> asyncio.Task:
        transport = SmallWebRTCTransport(
            connection,
            params=TransportParams(audio_in_enabled=True, audio_out_enabled=True),
        )
        service = make_service(self.backend, self.personas, model=self.model)
        call = build_webrtc_bot(transport, service, self.personas)
        pc_id = connection.pc_id
        task = asyncio.get_running_loop().create_task(self._run(call, connection, caller_key), name=f"call-{pc_id}")
        self._tasks.add(task)
        self._connections[pc_id] = connection

        def _ended(t: asyncio.Task) -> None:
            self._tasks.discard(t)
            self._connections.pop(pc_id, None)
            slot.release()

        task.add_done_callback(_ended)
        self.started += 1
        return task

    async def _run(self, call: BotCall, connection: SmallWebRTCConnection, caller_key: str | None = None) -> None:
        # The connect handler and its watchdog first, then the caller's memory: the watchdog's
        # clock runs from the offer, not from whenever a slow database answered (Pipecat holds
        # the peer's connect event until the transport starts, so none is lost meanwhile).
        # Whatever ends the call (the peer, a failure, a cancel during the load), the finally
        # releases the watchdog and the memory.
        connected = asyncio.Event()
        connection.add_event_handler("connected", lambda _c: connected.set())
        watchdog = asyncio.get_running_loop().create_task(self._watch_connect(call, connection, connected))
        memory = None
        try:
            if self.memory is not None:
                memory = await self.memory.open_call(call.service, caller_key, connection.pc_id)
            runner = WorkerRunner(handle_sigint=False)
            await runner.add_workers(call.worker)
            await runner.run()
        except Exception as e:
            logger.exception(f"{call.worker}: call failed: {e}")
        finally:
            watchdog.cancel()
            await asyncio.gather(watchdog, return_exceptions=True)
            if memory is not None:
                await memory.close()

    async def _watch_connect(self, call: BotCall, connection: SmallWebRTCConnection, connected: asyncio.Event) -> None:
        try:
            await asyncio.wait_for(connected.wait(), self.connect_timeout_s)
        except TimeoutError:
            self.never_connected += 1
            logger.warning(f"browser {connection.pc_id} did not connect within {self.connect_timeout_s:g}s; ending its call")
            await call.worker.cancel(reason="the peer never connected")
            await connection.disconnect()

    async def shutdown(self) -> None:
        """End every call and close every peer connection, then the memory store (its engine
        disposed: no pooled connection outlives the app)."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.handler.close()
        if self.memory is not None:
            await asyncio.to_thread(self.memory.close)


async def _no_new_call(connection: SmallWebRTCConnection) -> None:
    raise RuntimeError(f"renegotiation of {connection.pc_id} built a new connection")
