"""The Live session's end of the trace: when the emulator received caller audio and sent replies.

:class:`TracedLiveEmulator` is a :class:`~gemini_live_emulator.LiveEmulator` whose
connections are watched on the server side: every ``realtimeInput`` audio message it receives
is marked ``live_in`` and every reply audio chunk it sends ``live_out`` on the trace in
:attr:`TracedLiveEmulator.trace` (set it before each call; calls traced this way run one at a
time). The emulator's behaviour is unchanged: the tap only reads what passes, using the
emulator's own wire parser so both client spellings and base64 alphabets are understood.
"""

from __future__ import annotations

import json

from gemini_live_emulator import LiveEmulator, wire
from .trace import AudioPathTrace, pcm_seconds
from ...audio.rates import LIVE_OUTPUT_RATE


class TracedLiveEmulator(LiveEmulator):
    """A ``LiveEmulator`` that marks ``live_in`` / ``live_out`` on :attr:`trace`.

    Args:
        *args: As ``LiveEmulator``.
        **kwargs: As ``LiveEmulator``.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.trace: AudioPathTrace | None = None

    async def _handle(self, ws) -> None:
        await super()._handle(_TappedConnection(ws, self))

    def note_client_message(self, raw: str | bytes) -> None:
        """Mark the caller audio a client message carries (``live_in``)."""
        trace = self.trace
        if trace is None or "audio" not in (
            raw if isinstance(raw, str) else raw.decode("utf-8", "replace")
        ):
            return
        try:
            events = wire.parse_client_message(raw)
        except wire.ProtocolError:
            return  # the session itself reports it
        for event in events:
            if isinstance(event, wire.RealtimeAudio):
                trace.mark("live_in", pcm_seconds(len(event.pcm), event.rate))

    def note_server_message(self, raw: str | bytes) -> None:
        """Mark the reply audio a server message carries (``live_out``)."""
        trace = self.trace
        if trace is None or "inlineData" not in (
            raw if isinstance(raw, str) else raw.decode("utf-8", "replace")
        ):
            return
        parts = json.loads(raw).get("serverContent", {}).get("modelTurn", {}).get("parts", [])
        for part in parts:
            blob = part.get("inlineData") or {}
            mime = blob.get("mimeType", "")
            if mime.startswith("audio/pcm"):
                rate = int(mime.partition("rate=")[2] or LIVE_OUTPUT_RATE)
                trace.mark(
                    "live_out", pcm_seconds(len(wire.b64decode_any(blob.get("data", ""))), rate)
                )


class _TappedConnection:
    """A server-side websockets connection that reports what passes through it."""

    def __init__(self, ws, emulator: TracedLiveEmulator):
        self._ws = ws
        self._emu = emulator

    def __getattr__(self, name):
        return getattr(self._ws, name)

    async def recv(self, *args, **kwargs):
        raw = await self._ws.recv(*args, **kwargs)
        self._emu.note_client_message(raw)
        return raw

    async def __aiter__(self):
        async for raw in self._ws:
            self._emu.note_client_message(raw)
            yield raw

    async def send(self, message, *args, **kwargs):
        self._emu.note_server_message(message)
        return await self._ws.send(message, *args, **kwargs)
