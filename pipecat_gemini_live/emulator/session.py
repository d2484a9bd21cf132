"""One emulated Live session: the server's side of a WebSocket connection.

Driven only by what it receives: the setup picks the model family's rules
(:mod:`.behaviour`), caller audio goes through the energy VAD (:mod:`.vad`), a finished caller
turn gets a reply composed by :mod:`.conversation` and streamed by :mod:`.reply`, and caller
speech during a reply barges in. Rule violations raise :class:`~.wire.ProtocolError`, which
closes the connection the way the real service does.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import time
from typing import TYPE_CHECKING

from loguru import logger
from websockets.exceptions import ConnectionClosed

from . import wire
from .behaviour import OnViolation, ServerBehaviour, behaviour_for
from .conversation import AUDIO_TOKENS_PER_S, Conversation, HistoryTurn, UserTurn
from .records import Reply, SessionRecord
from .reply import ReplyStream
from .vad import EnergyVAD, VadParams
from .voice import synthesize

if TYPE_CHECKING:
    from .server import LiveEmulator


class EmulatedSession:
    """Serves one connection until it closes.

    Args:
        ws: The server-side websockets connection.
        emulator: The owning emulator (config, resumption store, records).
        record: Where this connection's observations go.
    """

    def __init__(self, ws, emulator: "LiveEmulator", record: SessionRecord):
        self.ws = ws
        self.emu = emulator
        self.cfg = emulator.config
        self.record = record
        self.id = f"emu-session-{record.index}"
        self.behaviour: ServerBehaviour | None = None
        self.setup: wire.Setup | None = None
        self.conv = Conversation()
        self.vad: EnergyVAD | None = None
        self.realtime_started = False
        self.silenced = False
        self.current = UserTurn()
        self._speech_started_at: float | None = None
        self._manual_active = False
        self._manual_samples = 0.0
        self._reply_task: asyncio.Task | None = None
        self._reply_turn: UserTurn | None = None
        self._reply: ReplyStream | None = None
        self._pending_images: list[str] = []
        self._send_lock = asyncio.Lock()

    # -- wire --------------------------------------------------------------------------------

    async def send(self, msg: dict) -> None:
        """Send one server message (serialised, so replies and updates never interleave)."""
        async with self._send_lock:
            await self.ws.send(wire.dumps(msg))

    async def close(self, code: int, reason: str) -> None:
        """Close the connection from the server side."""
        if self.record.server_close_code is None and self.record.client_close_code is None:
            self.record.server_close_code = code
            self.record.close_reason = reason
        await self.ws.close(code, reason)

    # -- lifecycle ---------------------------------------------------------------------------

    async def run(self) -> None:
        """Handshake, setup, then the message loop; always leaves a record of how it ended."""
        try:
            raw = await asyncio.wait_for(self.ws.recv(), self.cfg.setup_timeout_s)
            # Like the real service: the key is judged once the setup is in, so a client that
            # sends setup straight after the handshake sees the close on its receive side.
            if not self.emu.authorised(self.ws.request):
                raise wire.ProtocolError(wire.CLOSE_POLICY, wire.REASON_BAD_KEY)
            events = wire.parse_client_message(raw)
            if not isinstance(events[0], wire.Setup):
                raise wire.ProtocolError(wire.CLOSE_INVALID, "The first message must be setup.")
            self.record.note("setup")
            await self._on_setup(events[0])
            async for raw in self.ws:
                for event in wire.parse_client_message(raw):
                    await self._dispatch(event)
        except wire.ProtocolError as e:
            logger.debug(f"emulator {self.id}: closing {e.code} ({e.reason})")
            with contextlib.suppress(ConnectionClosed):
                await self.close(e.code, e.wire_reason())
        except (ConnectionClosed, asyncio.TimeoutError):
            pass
        finally:
            await self._stop_reply()
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

    # -- setup -------------------------------------------------------------------------------

    async def _on_setup(self, setup: wire.Setup) -> None:
        self.record.model = setup.model
        self.record.setup = setup.raw
        behaviour = behaviour_for(setup.model)
        if behaviour is None:
            raise wire.ProtocolError(
                wire.CLOSE_POLICY,
                f"models/{setup.model.removeprefix('models/')} is not found for API version "
                f"{self.record.api_version}, or is not supported for bidiGenerateContent.",
            )
        if not behaviour.non_blocking_tools and any(
            t.behavior.upper() == "NON_BLOCKING" for t in setup.tools
        ):
            raise wire.ProtocolError(wire.CLOSE_INVALID, wire.REASON_INVALID_ARGUMENT)
        self.behaviour = behaviour
        self.setup = setup
        if setup.resumption_handle:
            snapshot = self.emu.resumption.restore(setup.resumption_handle)
            self.conv = snapshot
            self.record.resumed_from = setup.resumption_handle
        if setup.system_instruction is not None or not setup.resumption_handle:
            self.conv.system_instruction = setup.system_instruction
        self.conv.language_code = setup.language_code
        await self.send(wire.setup_complete(self.id))
        await self._send_resumption_handle()

    async def _send_resumption_handle(self) -> None:
        if self.setup and self.setup.resumption_enabled:
            handle = self.emu.resumption.issue(self.id, self.conv)
            await self.send(wire.resumption_update(handle, True))

    # -- dispatch ----------------------------------------------------------------------------

    async def _dispatch(self, event) -> None:
        if isinstance(event, wire.RealtimeAudio):
            self.record.note("audio")
            self.record.audio_bytes += len(event.pcm)
            self.record.audio_rates.add(event.rate)
            await self._on_audio(event)
        elif isinstance(event, wire.Setup):
            raise wire.ProtocolError(wire.CLOSE_INVALID, "setup may only be sent once.")
        elif isinstance(event, wire.AudioStreamEnd):
            self.record.note("audio_stream_end")
            await self._on_audio_stream_end()
        elif isinstance(event, wire.RealtimeText):
            self.record.note("text")
            self.record.texts.append(event.text)
            await self._on_text(event.text)
        elif isinstance(event, wire.RealtimeVideo):
            self.record.note("video")
            self._on_video(event)
        elif isinstance(event, (wire.ActivityStart, wire.ActivityEnd)):
            await self._on_activity(event)
        elif isinstance(event, wire.ClientContent):
            self.record.note("client_content")
            await self._on_client_content(event)
        elif isinstance(event, wire.ToolResponse):
            self.record.note("tool_response")
            await self._on_tool_response(event)
        elif isinstance(event, wire.ContextUpdate):
            self.record.note("context_update")
            await self._on_context_update(event)

    # -- caller audio and turns --------------------------------------------------------------

    async def _on_audio(self, event: wire.RealtimeAudio) -> None:
        self.realtime_started = True
        assert self.setup is not None
        if self.setup.vad.disabled:
            if self._manual_active:
                self._manual_samples += len(event.pcm) / 2 / event.rate
            return
        if self.vad is None or self.vad.rate != event.rate:
            params = VadParams.from_setup(
                default_silence_ms=self.cfg.default_silence_ms,
                silence_duration_ms=self.setup.vad.silence_duration_ms,
                start_sensitivity=self.setup.vad.start_sensitivity,
                end_sensitivity=self.setup.vad.end_sensitivity,
                threshold_dbfs=self.cfg.vad_threshold_dbfs,
            )
            self.vad = EnergyVAD(params, event.rate)
        for change in self.vad.feed(event.pcm):
            if change.kind == "start":
                await self._caller_started(change.at_s)
            else:
                await self._caller_stopped(change.at_s)

    async def _on_audio_stream_end(self) -> None:
        assert self.setup is not None
        if self.setup.vad.disabled:
            raise wire.ProtocolError(
                wire.CLOSE_INVALID,
                "audioStreamEnd is only valid with automatic activity detection enabled.",
            )
        if self.vad is not None:
            for change in self.vad.flush():
                await self._caller_stopped(change.at_s)

    async def _on_activity(self, event) -> None:
        assert self.setup is not None
        name = "activity_start" if isinstance(event, wire.ActivityStart) else "activity_end"
        self.record.note(name)
        self.record.activity.append(name)
        if not self.setup.vad.disabled:
            raise wire.ProtocolError(
                wire.CLOSE_INVALID,
                f"{name} is only valid with automatic activity detection disabled.",
            )
        self.realtime_started = True
        if isinstance(event, wire.ActivityStart):
            self._manual_active = True
            self._manual_samples = 0.0
            await self._caller_started(0.0)
        elif self._manual_active:
            self._manual_active = False
            self.current.speech_s += self._manual_samples
            self._speech_started_at = None
            await self._end_turn()

    async def _caller_started(self, at_s: float) -> None:
        self._speech_started_at = at_s
        if self._reply_task is None or self._reply_task.done():
            return
        assert self.setup is not None
        if (self.setup.vad.activity_handling or "").upper() == "NO_INTERRUPTION":
            return
        await self._barge_in()

    async def _caller_stopped(self, at_s: float) -> None:
        if self._speech_started_at is not None:
            self.current.speech_s += max(0.0, at_s - self._speech_started_at)
        self._speech_started_at = None
        await self._end_turn()

    async def _end_turn(self) -> None:
        turn, self.current = self.current, UserTurn()
        turn.images.extend(self._pending_images)
        self._pending_images = []
        previous = self._reply_task
        self._reply_task = asyncio.create_task(self._respond(turn, previous))

    async def _on_text(self, text: str) -> None:
        self.realtime_started = True
        self.current.texts.append(text)
        if self._speech_started_at is not None or self._manual_active:
            return  # part of the turn the caller is speaking
        await self._barge_in()
        await self._end_turn()

    def _on_video(self, event: wire.RealtimeVideo) -> None:
        self.realtime_started = True
        try:
            from PIL import Image

            with Image.open(io.BytesIO(event.data)) as image:
                size = f"{image.width}x{image.height}"
        except Exception as e:
            raise wire.ProtocolError(wire.CLOSE_INVALID, f"Unreadable image: {e}") from e
        self.record.images.append(size)
        self._pending_images = [size]

    # -- replies -----------------------------------------------------------------------------

    async def _respond(self, turn: UserTurn, previous: asyncio.Task | None) -> None:
        if previous is not None and not previous.done():
            with contextlib.suppress(asyncio.CancelledError):
                await previous
        self._reply_turn = turn
        if self.silenced:
            self.conv.history.append(HistoryTurn("user", turn.transcript(), turn.speech_s))
            return
        assert self.setup is not None
        text = self.conv.compose_reply(turn)
        remembered = len(self.conv.history)
        synth = asyncio.create_task(
            synthesize(text, self.setup.language_code, self.cfg.words_per_minute)
        )
        try:
            await asyncio.sleep(self.cfg.think_ms / 1000.0)
            pcm = await synth
        except asyncio.CancelledError:
            synth.cancel()
            raise
        if self.setup.input_transcription and turn.transcript():
            await self.send(wire.input_transcription(turn.transcript()))
        if self.setup.resumption_enabled:
            await self.send(wire.resumption_update(None, False))
        self._reply = ReplyStream(
            text=text,
            pcm=pcm,
            chunk_ms=self.cfg.chunk_ms,
            pace=self.cfg.pace,
            send=self.send,
            transcribe=self.setup.output_transcription,
        )
        self.record.replies.append(Reply(text=text, persona=self.conv.persona, remembered_turns=remembered))
        await self._reply.run()
        await self.send(wire.generation_complete())
        await self._finish_reply(turn, interrupted=False)

    async def _finish_reply(self, turn: UserTurn, *, interrupted: bool) -> None:
        reply = self._reply
        assert reply is not None
        spoken = reply.text if not interrupted else reply.spoken_text
        audio_s = reply.audio_s if not interrupted else reply.spoken_s
        record = self.record.replies[-1]
        record.interrupted = interrupted
        record.spoken_text = spoken
        record.audio_s = audio_s
        prompt_audio, prompt_text = self.conv.prompt_tokens()
        prompt_audio += int(turn.speech_s * AUDIO_TOKENS_PER_S)
        usage = wire.usage_metadata(prompt_audio, prompt_text, int(audio_s * AUDIO_TOKENS_PER_S))
        self.conv.record(turn, spoken, audio_s)
        self._reply = None
        self._reply_turn = None
        await self.send(wire.turn_complete(usage))
        await self._send_resumption_handle()

    async def _barge_in(self) -> None:
        """Stop the reply in progress; tell the client if any of it was already sent."""
        task = self._reply_task
        if task is None or task.done():
            return
        reply, turn = self._reply, self._reply_turn
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        if reply is not None and reply.started and turn is not None:
            await self.send(wire.interrupted())
            await self._finish_reply(turn, interrupted=True)
        elif turn is not None:
            # Still thinking: the caller simply kept talking, so the turn goes on.
            self.current.speech_s += turn.speech_s
            self.current.texts[:0] = turn.texts
            self.current.images[:0] = turn.images
            self.conv.replies -= 1
            self._reply_turn = None

    async def _stop_reply(self) -> None:
        if self._reply_task is not None and not self._reply_task.done():
            self._reply_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, ConnectionClosed):
                await self._reply_task

    # -- content, tools, context ---------------------------------------------------------------

    async def _on_client_content(self, event: wire.ClientContent) -> None:
        assert self.behaviour is not None and self.setup is not None
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
                    logger.debug(f"emulator {self.id}: system-role content; going silent")
                    self.silenced = True
                    continue
                if b.system_role_turn is OnViolation.CLOSE_1007:
                    raise wire.ProtocolError(wire.CLOSE_INVALID, wire.REASON_INVALID_ARGUMENT)
            turns.append(turn)
        if b.seed_must_end_with_user and turns and turns[-1].role != "user":
            raise wire.ProtocolError(wire.CLOSE_INVALID, wire.REASON_PRECONDITION)
        answer = None
        if event.turn_complete and turns and turns[-1].role == "user":
            answer = turns.pop()
        for turn in turns:
            role = "model" if turn.role == "model" else "user"
            self.conv.history.append(HistoryTurn(role, turn.text))
        if answer is not None:
            await self._barge_in()
            self.current.texts.append(answer.text)
            await self._end_turn()

    async def _on_tool_response(self, event: wire.ToolResponse) -> None:
        for response in event.responses:
            self.record.tool_responses.append(
                {
                    "id": response.id,
                    "name": response.name,
                    "response": response.response,
                    "scheduling": response.scheduling,
                    "willContinue": response.will_continue,
                }
            )

    async def _on_context_update(self, event: wire.ContextUpdate) -> None:
        assert self.behaviour is not None
        self.record.context_updates.append(
            {"systemInstruction": event.system_instruction, "tools": [t.name for t in event.tools or []]}
        )
        if self.behaviour.context_update is not OnViolation.ACCEPT:
            raise wire.ProtocolError(wire.CLOSE_INVALID, wire.REASON_INVALID_ARGUMENT)
        if event.system_instruction is not None:
            self.conv.system_instruction = event.system_instruction
