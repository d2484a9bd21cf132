"""One emulated Live session: the server's side of a WebSocket connection.

Driven only by what it receives: the setup picks the model family's rules
(:mod:`..behaviour`), caller audio goes to the VAD and recogniser (:mod:`.listening`), turns and replies
are the :class:`~.turns.TurnTaker`'s, and rule violations raise
:class:`~..wire.ProtocolError`, which closes the connection the way the real service does.
This module also runs the connection's limits (lifetime with ``goAway`` ahead of the close) and
fires the configured faults (:mod:`..faults`).
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import time
from typing import TYPE_CHECKING

from loguru import logger
from websockets.exceptions import ConnectionClosed

from .. import server_messages, wire
from ..behaviour import OnViolation, ServerBehaviour
from ..faults import Fault, FaultKind
from ..records import SessionRecord
from .conversation import Conversation, HistoryTurn
from .listening import Listener
from .tool_desk import summarise
from .turns import TurnTaker

if TYPE_CHECKING:
    from .ports import EmulatorPort


class _Dropped(Exception):
    """The connection was dropped on purpose (a fault)."""


class EmulatedSession:
    """Serves one connection until it closes.

    Args:
        ws: The server-side websockets connection.
        emulator: The owning emulator (config, faults, scenario, resumption store, records).
        record: Where this connection's observations go.
    """

    def __init__(self, ws, emulator: EmulatorPort, record: SessionRecord):
        self.ws = ws
        self.emu = emulator
        self.cfg = emulator.config
        self.faults = emulator.faults
        self.scenario = emulator.scenario
        self.record = record
        self.id = f"emu-session-{record.index}"
        self.behaviour: ServerBehaviour | None = None
        self.setup: wire.Setup | None = None
        self.conv = Conversation()
        self.turns = TurnTaker(self)
        self.ear = Listener(self)
        self.realtime_started = False
        self.silenced = False
        self._images: list[str] = []
        self._results: dict[str, str] = {}
        self._send_lock = asyncio.Lock()
        self._stalled_until = 0.0
        self._timers: list[asyncio.Task] = []
        self._messages = 0
        self._main: asyncio.Task | None = None

    @property
    def recognising(self) -> bool:
        """Whether caller speech is being recognised (words, not only its length)."""
        return self.ear.asr is not None

    def scaled(self, seconds: float) -> float:
        """An emulator duration under the configured time scale."""
        return seconds / self.cfg.time_scale

    # -- wire --------------------------------------------------------------------------------

    async def send(self, msg: dict) -> None:
        """Send one server message (serialised; held back while a stall fault lasts)."""
        async with self._send_lock:
            delay = self._stalled_until - time.monotonic()
            if delay > 0:
                await self.pause(delay)
            await self.ws.send(server_messages.dumps(msg))

    async def pause(self, seconds: float) -> None:
        """Wait ``seconds`` (a stall, a slow setup), or less if the client goes away meanwhile:
        the real server forgets a closed connection at once; a session asleep in a fault would
        keep its record open long after the client hung up."""
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self.ws.wait_closed(), seconds)

    async def close(self, code: int, reason: str) -> None:
        """Close the connection from the server side.

        From the connection's own task nothing else reads the socket while the closing handshake
        waits, so incoming messages are read and dropped meanwhile: left unread, a client
        streaming audio fills websockets' receive queue, reading pauses, the client's close
        frame behind its audio is never seen, and both ends hang for the close timeout (10 s)
        before the client learns the session ended. The real server ends at once.
        """
        if self.record.server_close_code is None and self.record.client_close_code is None:
            self.record.server_close_code = code
            self.record.close_reason = reason
        if asyncio.current_task() is not self._main:
            await self.ws.close(code, reason)
            return
        drain = asyncio.create_task(self._drop_incoming())
        try:
            await self.ws.close(code, reason)
        finally:
            drain.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await drain

    async def _drop_incoming(self) -> None:
        with contextlib.suppress(ConnectionClosed):
            async for _ in self.ws:
                pass

    # -- faults ------------------------------------------------------------------------------

    async def fault_phase(self, phase: str) -> None:
        """Fire a fault configured for this phase of this connection, if any.

        From the connection's own task the fault ends the message loop; from a reply task it
        closes the connection and ends that task quietly (the loop then sees the close).
        """
        fault = self.faults.at_phase(self.record.index, phase)
        if fault is None:
            return
        if asyncio.current_task() is self._main:
            await self._fire(fault)
            return
        await self._interrupt_with(lambda: self._fire(fault))
        if fault.kind in (FaultKind.CLOSE, FaultKind.DROP):
            raise asyncio.CancelledError()

    async def _fire(self, fault: Fault) -> None:
        logger.debug(f"emulator {self.id}: fault {fault.kind.value} fires")
        self.record.extra.setdefault("faults", []).append(fault.kind.value)
        if fault.kind is FaultKind.CLOSE:
            reason = fault.reason or {
                1000: wire.REASON_CANCELLED,
                1007: wire.REASON_INVALID_ARGUMENT,
                1008: wire.REASON_NOT_FOUND,
            }.get(fault.code, wire.REASON_INTERNAL)
            raise wire.ProtocolError(fault.code, reason)
        if fault.kind is FaultKind.DROP:
            self.ws.transport.abort()
            raise _Dropped()
        if fault.kind in (FaultKind.STALL, FaultKind.SLOW_SETUP):
            self._stalled_until = max(self._stalled_until, time.monotonic() + self.scaled(fault.duration_s))
            if fault.kind is FaultKind.SLOW_SETUP:
                await self.pause(self.scaled(fault.duration_s))
        elif fault.kind is FaultKind.MALFORMED:
            async with self._send_lock:
                await self.ws.send('{"serverContent": {"modelTurn": ')

    def _after_timer(self, coro_fn, delay: float) -> None:
        async def run():
            await asyncio.sleep(delay)
            await coro_fn()

        self._timers.append(asyncio.create_task(run()))

    # -- lifecycle ---------------------------------------------------------------------------

    async def run(self) -> None:
        """Setup, then the message loop; always leaves a record of how it ended."""
        self._main = asyncio.current_task()
        try:
            raw = await asyncio.wait_for(self.ws.recv(), self.cfg.setup_timeout_s)
            # Key or ephemeral token, judged once the setup is in (a token may rewrite it).
            raw = self.emu.admit(self.ws.request, raw, self.record)
            kind = wire.message_kind(raw)
            if kind is None:
                wire.parse_client_message(raw)  # not one JSON message: raises its own 1007
            if kind != "setup":  # judged before the body: its faults are moot
                raise wire.ProtocolError(wire.CLOSE_INVALID, "The first message must be setup.")
            events = wire.parse_client_message(raw)
            self.record.note("setup")
            await self._on_setup(events[0])
            async for raw in self.ws:
                self._messages += 1
                fault = self.faults.after_messages(self.record.index, self._messages)
                if fault is not None:
                    await self._fire(fault)
                for event in wire.parse_client_message(raw):
                    await self._dispatch(event)
        except wire.ProtocolError as e:
            logger.debug(f"emulator {self.id}: closing {e.code} ({e.reason})")
            with contextlib.suppress(ConnectionClosed):
                await self.close(e.code, e.wire_reason())
        except (ConnectionClosed, asyncio.TimeoutError, _Dropped, asyncio.CancelledError):
            pass
        except Exception as e:  # a bug: say so once, close like the real service's 500
            logger.opt(exception=e).error(f"emulator {self.id}: internal error")
            with contextlib.suppress(ConnectionClosed):
                await self.close(wire.CLOSE_INTERNAL, wire.REASON_INTERNAL)
        finally:
            for timer in self._timers:
                timer.cancel()
            await self.turns.stop()
            self.ear.close()
            self._finish_record()

    def _finish_record(self) -> None:
        protocol = self.ws.protocol
        rcvd, sent = protocol.close_rcvd, protocol.close_sent
        if rcvd is not None and (sent is None or protocol.close_rcvd_then_sent):
            self.record.client_close_code = rcvd.code
            self.record.close_reason = rcvd.reason
        elif sent is not None and self.record.server_close_code is None:
            self.record.server_close_code = sent.code
            self.record.close_reason = sent.reason
        self.record.closed_at = time.monotonic()
        self.record.silenced = self.silenced
        self.emu.resumption.connection_closed(self.id)

    async def _interrupt_with(self, fault_or_close) -> None:
        """Run a timed fault or the lifetime close from a timer: end the main loop with it."""
        try:
            await fault_or_close()
        except wire.ProtocolError as e:
            with contextlib.suppress(ConnectionClosed):
                await self.close(e.code, e.wire_reason())
        except _Dropped:
            pass

    # -- setup -------------------------------------------------------------------------------

    async def _on_setup(self, setup: wire.Setup) -> None:
        self.record.model = setup.model
        self.record.setup = setup.raw
        behaviour = self.emu.behaviour_for(setup.model)
        if behaviour is None:
            raise wire.ProtocolError(
                wire.CLOSE_POLICY,
                f"models/{setup.model.removeprefix('models/')} is not found for API version "
                f"{self.record.api_version}, or is not supported for bidiGenerateContent.",
            )
        if not behaviour.non_blocking_tools and any(t.behavior.upper() == "NON_BLOCKING" for t in setup.tools):
            raise wire.ProtocolError(wire.CLOSE_INVALID, wire.REASON_INVALID_ARGUMENT)
        self.behaviour = behaviour
        self.setup = setup
        self._tools = list(setup.tools)
        if setup.resumption_handle:
            self.conv = self.emu.resumption.restore(setup.resumption_handle)
            self.record.resumed_from = setup.resumption_handle
            self.realtime_started = bool(self.conv.history)
        if setup.system_instruction is not None or not setup.resumption_handle:
            self.conv.system_instruction = setup.system_instruction
        self.conv.language_code = setup.language_code
        await self.fault_phase("setup")
        await self.send(server_messages.setup_complete(self.id))
        await self.send_resumption_handle()
        self.ear.start()
        self._start_timers()

    def _start_timers(self) -> None:
        for fault in self.faults.timed(self.record.index):
            self._after_timer(lambda f=fault: self._interrupt_with(lambda: self._fire(f)), self.scaled(fault.at_s))
        lifetime = self.cfg.lifetime_s
        if lifetime:
            lead = min(self.cfg.goaway_before_s, lifetime)
            self._after_timer(lambda: self._go_away(lead), self.scaled(lifetime - lead))

    async def _go_away(self, lead: float) -> None:
        self.record.extra["go_away_at"] = time.monotonic()
        with contextlib.suppress(ConnectionClosed):
            await self.send(server_messages.go_away(self.scaled(lead)))
        await asyncio.sleep(self.scaled(lead))
        await self._interrupt_with(self._lifetime_over)

    async def _lifetime_over(self) -> None:
        raise wire.ProtocolError(wire.CLOSE_NORMAL, wire.REASON_CANCELLED)

    async def send_resumption_handle(self) -> None:
        """A fresh handle, when the setup asked for resumption (after setup and each turn)."""
        if self.setup and self.setup.resumption_enabled:
            handle = self.emu.resumption.issue(self.id, self.conv)
            await self.send(server_messages.resumption_update(handle, True))

    def declared_tools(self) -> list[wire.FunctionDeclaration]:
        """Functions the model may call (setup, or the latest ``contextUpdate``)."""
        return self._tools

    def take_images(self) -> list[str]:
        """Images received since the last caller turn (for the reply to acknowledge)."""
        images, self._images = self._images, []
        return images

    def take_results(self, ids) -> list[str]:
        """Summaries of the answered calls among ``ids``."""
        return [self._results.pop(i) for i in list(ids) if i in self._results]

    # -- dispatch ----------------------------------------------------------------------------

    async def _dispatch(self, event) -> None:
        rec = self.record
        if isinstance(event, wire.RealtimeAudio):
            rec.note("audio")
            rec.audio_bytes += len(event.pcm)
            rec.audio_rates.add(event.rate)
            await self._on_audio(event)
        elif isinstance(event, wire.Setup):
            raise wire.ProtocolError(wire.CLOSE_INVALID, "setup may only be sent once.")
        elif isinstance(event, wire.AudioStreamEnd):
            rec.note("audio_stream_end")
            await self.ear.stream_end()
        elif isinstance(event, wire.RealtimeText):
            rec.note("text")
            rec.texts.append(event.text)
            self.realtime_started = True
            await self.turns.text(event.text)
        elif isinstance(event, wire.RealtimeVideo):
            rec.note("video")
            self._on_video(event)
        elif isinstance(event, (wire.ActivityStart, wire.ActivityEnd)):
            await self._on_activity(event)
        elif isinstance(event, wire.ClientContent):
            rec.note("client_content")
            await self._on_client_content(event)
        elif isinstance(event, wire.ToolResponse):
            rec.note("tool_response")
            await self._on_tool_response(event)
        elif isinstance(event, wire.ContextUpdate):
            rec.note("context_update")
            await self._on_context_update(event)

    async def _on_audio(self, event: wire.RealtimeAudio) -> None:
        self.realtime_started = True
        await self.ear.audio(event)

    async def _on_activity(self, event) -> None:
        name = "activity_start" if isinstance(event, wire.ActivityStart) else "activity_end"
        self.record.note(name)
        self.record.activity.append(name)
        with_detection = self.behaviour.manual_activity == "detection_enabled"
        if self.setup.vad.disabled == with_detection:
            state = "enabled" if with_detection else "disabled"
            raise wire.ProtocolError(
                wire.CLOSE_INVALID, f"{name} is only valid with automatic activity detection {state}."
            )
        self.realtime_started = True
        if isinstance(event, wire.ActivityStart):
            await self.ear.activity_start()
        else:
            await self.ear.activity_end()

    def _on_video(self, event: wire.RealtimeVideo) -> None:
        self.realtime_started = True
        try:
            from PIL import Image

            with Image.open(io.BytesIO(event.data)) as image:
                size = f"{image.width}x{image.height}"
        except Exception as e:
            raise wire.ProtocolError(wire.CLOSE_INVALID, f"Unreadable image: {e}") from e
        self.record.images.append(size)
        self._images = [size]

    # -- content, tools, context ---------------------------------------------------------------

    async def _on_client_content(self, event: wire.ClientContent) -> None:
        self.record.client_content.append(
            {"turns": [{"role": t.role, "text": t.text} for t in event.turns], "turnComplete": event.turn_complete}
        )
        for turn in event.turns:
            for part in turn.parts:
                if wire.has(part, "functionCall") or wire.has(part, "functionResponse"):
                    raise wire.ProtocolError(
                        wire.CLOSE_INVALID,
                        f"{wire.REASON_INVALID_ARGUMENT} (function parts are not allowed in "
                        "client_content; use tool_response)",
                    )
        b = self.behaviour
        if b.client_content_needs_history_config:
            if not self.setup.initial_history_in_client_content or self.realtime_started:
                raise wire.ProtocolError(wire.CLOSE_INVALID, wire.REASON_INVALID_ARGUMENT)
        elif self.realtime_started and b.late_client_content is OnViolation.CLOSE_1007:
            raise wire.ProtocolError(wire.CLOSE_INVALID, wire.REASON_INVALID_ARGUMENT)
        turns = []
        for turn in event.turns:
            if turn.role == "system":
                if b.system_role_turn is OnViolation.GO_SILENT:
                    logger.debug(f"emulator {self.id}: system-role content; going silent (field report)")
                    self.silenced = True
                    continue
                if b.system_role_turn is OnViolation.CLOSE_1007:
                    raise wire.ProtocolError(wire.CLOSE_INVALID, wire.REASON_INVALID_ARGUMENT)
            turns.append(turn)
        # Only content that asks for a reply (turnComplete) must end with the caller: content
        # the server is told to wait on may end with the model (LiveKit's Google plugin sends
        # instructions as a lone model turn and syncs histories ending with the assistant,
        # turnComplete false; docs/model-rules.md).
        if b.seed_must_end_with_user and event.turn_complete and turns and turns[-1].role != "user":
            raise wire.ProtocolError(wire.CLOSE_INVALID, wire.REASON_PRECONDITION)
        answer = None
        if event.turn_complete and turns and turns[-1].role == "user":
            answer = turns.pop()
        for turn in turns:
            self.conv.history.append(HistoryTurn("model" if turn.role == "model" else "user", turn.text))
        if answer is not None:
            await self.turns.barge_in()
            self.turns.current.texts.append(answer.text)
            self.turns.end_turn()
        elif not self.turns.busy:
            # The history changed: a handle issued now restores it (the real service sends
            # updates as its state changes; a handle from before a seed would lose the seed).
            await self.send_resumption_handle()

    async def _on_tool_response(self, event: wire.ToolResponse) -> None:
        for response in event.responses:
            entry = {
                "id": response.id,
                "name": response.name,
                "response": response.response,
                "scheduling": response.scheduling,
                "willContinue": response.will_continue,
            }
            self.record.tool_responses.append(entry)
            call = self.turns.desk.resolve(response.id, response.response, response.will_continue)
            if call is None:
                if response.id not in {c["id"] for c in self.record.tool_calls}:
                    self.record.extra.setdefault("unknown_tool_responses", []).append(response.id)
                continue
            if call.blocking:
                self._results[call.id] = summarise(call.name, response.response)
            else:
                await self.turns.tool_result(call, response.response, response.scheduling)

    async def _on_context_update(self, event: wire.ContextUpdate) -> None:
        self.record.context_updates.append(
            {"systemInstruction": event.system_instruction, "tools": [t.name for t in event.tools or []]}
        )
        if self.behaviour.context_update is not OnViolation.ACCEPT:
            raise wire.ProtocolError(wire.CLOSE_INVALID, wire.REASON_INVALID_ARGUMENT)
        if event.system_instruction is not None:
            self.conv.system_instruction = event.system_instruction
        if event.tools is not None:
            self._tools = list(event.tools)
