"""The emulated model's ears: caller audio -> speech start / end (VAD) and words (ASR).

With automatic activity detection the energy VAD (:mod:`.vad`) opens and closes each
utterance; with it disabled, the client's ``activityStart`` / ``activityEnd`` do. Only the audio
of an utterance (plus a short pre-roll before the detected start) reaches the recogniser
(:mod:`.asr`), so silence and idle lines cost nothing.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Protocol

from .. import server_messages, wire
from .vad import EnergyVAD, VadParams

if TYPE_CHECKING:
    from .ports import SessionPort
    from .turns import TurnTaker

    class ListenerSession(SessionPort, Protocol):
        """The session as the listener uses it: a turn taker to tell of caller speech."""

        turns: TurnTaker

PREROLL_S = 0.3  # audio kept before the VAD's start: the start is detected after start_ms


class Listener:
    """Hears one session's caller audio and tells its :class:`~.turns.TurnTaker`.

    Args:
        session: The session (setup, config, turn taker).
    """

    def __init__(self, session: ListenerSession):
        self.s = session
        self.vad: EnergyVAD | None = None
        self.asr = None
        self._preroll: deque[bytes] = deque()
        self._preroll_bytes = 0
        self._rate = 0
        self._manual_active = False
        self._manual_speech_s = 0.0
        self._in_utterance = False
        self._client_marks = False  # the client marks turns with automatic detection on
        self._offset_s = 0.0  # audio before the current detector (a rate change), seconds

    def start(self) -> None:
        """After setup: attach the session to a recogniser process when the config asks for it."""
        if self.s.cfg.asr:
            from .asr import StreamingRecognizer

            self.asr = StreamingRecognizer(on_interim=self.s.turns.interim)

    def close(self) -> None:
        """The connection ended: release the recogniser."""
        if self.asr is not None:
            self.asr.close()

    # -- automatic activity detection ----------------------------------------------------------

    async def audio(self, event: wire.RealtimeAudio) -> None:
        """``realtimeInput`` audio: PCM16 mono at ``event.rate`` Hz."""
        if self.s.setup.vad.disabled or self._client_marks:
            if self._manual_active:
                self._manual_speech_s += len(event.pcm) / 2 / event.rate
                self._hear(event.pcm, event.rate)
            return
        if self.vad is None or self.vad.rate != event.rate:
            self._new_vad(event.rate)
        was_speaking = self.vad.speaking
        changes = self.vad.feed(event.pcm)
        if self.asr is not None:
            if was_speaking or changes or self.vad.speaking:
                self._hear(event.pcm, event.rate)
            else:
                self._keep_preroll(event.pcm, event.rate)
        for change in changes:
            await self._signal(change.kind == "start", change.at_s)
            if change.kind == "start":
                await self.s.turns.caller_started(change.at_s)
            else:
                await self.s.turns.caller_stopped(change.at_s, heard=self._end_utterance())

    async def _signal(self, started: bool, at_s: float) -> None:
        # What the server's own activity detection decided, told to the client (voiceActivity;
        # docs/model-rules.md). Manual activity is the client's own decision: nothing to tell.
        if not self.s.behaviour.voice_activity:
            return
        await self.s.send(server_messages.voice_activity(started, self._offset_s + at_s))

    async def stream_end(self) -> None:
        """``audioStreamEnd``: close an open utterance at its last speech."""
        if self.s.setup.vad.disabled:
            raise wire.ProtocolError(
                wire.CLOSE_INVALID, "audioStreamEnd is only valid with automatic activity detection enabled."
            )
        if self.vad is not None:
            for change in self.vad.flush():
                await self._signal(False, change.at_s)
                await self.s.turns.caller_stopped(change.at_s, heard=self._end_utterance())

    def _new_vad(self, rate: int) -> None:
        if self.vad is not None:
            # A new rate starts a new detector at audio time 0; offsets stay on the stream's clock.
            self._offset_s += self.vad.position_s
        setup, cfg = self.s.setup, self.s.cfg
        params = VadParams.from_setup(
            default_silence_ms=cfg.default_silence_ms,
            silence_duration_ms=setup.vad.silence_duration_ms,
            start_sensitivity=setup.vad.start_sensitivity,
            end_sensitivity=setup.vad.end_sensitivity,
            threshold_dbfs=cfg.vad_threshold_dbfs,
        )
        self.vad = EnergyVAD(params, rate)

    # -- manual activity -----------------------------------------------------------------------

    async def activity_start(self) -> None:
        """``activityStart``: the caller's turn begins. Where the model takes the client's marks
        with its own detection on, the marks decide the turns from here on."""
        if not self.s.setup.vad.disabled and not self._client_marks:
            self._client_marks = True
            if self.vad is not None and self.vad.speaking:
                # The detector had opened a turn the client's mark now stands for.
                await self._signal(False, self.vad.position_s)
                self.vad = None
                self.s.turns.speech_started_at = None
                self._end_utterance()
        self._manual_active = True
        self._manual_speech_s = 0.0
        await self.s.turns.caller_started(0.0)

    async def activity_end(self) -> None:
        """``activityEnd``: the turn is over (ignored without an ``activityStart``)."""
        if not self._manual_active:
            return
        self._manual_active = False
        await self.s.turns.caller_stopped(0.0, speech_s=self._manual_speech_s, heard=self._end_utterance())

    # -- recogniser feeding ----------------------------------------------------------------------

    def _keep_preroll(self, pcm: bytes, rate: int) -> None:
        if rate != self._rate:
            self._preroll.clear()
            self._preroll_bytes, self._rate = 0, rate
        self._preroll.append(pcm)
        self._preroll_bytes += len(pcm)
        limit = int(PREROLL_S * rate) * 2
        while self._preroll and self._preroll_bytes - len(self._preroll[0]) >= limit:
            self._preroll_bytes -= len(self._preroll.popleft())

    def _hear(self, pcm: bytes, rate: int) -> None:
        if self.asr is None:
            return
        if not self._in_utterance or rate != self._rate:
            preroll = b"".join(self._preroll) if rate == self._rate else b""
            self._preroll.clear()
            self._preroll_bytes, self._rate = 0, rate
            self.asr.begin(rate, preroll)
            self._in_utterance = True
        self.asr.feed(pcm)

    def _end_utterance(self):
        """The pending words of the utterance just closed (None without a recogniser)."""
        if self.asr is None:
            return None
        self._in_utterance = False
        return self.asr.end()
