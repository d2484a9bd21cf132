"""The caller's audio on its way to the Live session: checked, streamed, held, replayed.

Every ``InputAudioRawFrame`` goes to the session the call is on when one can take it;
otherwise it waits in the hold (:mod:`.audio_hold`) and is replayed in order, ahead of newer
audio, when one can. What was sent recently is remembered (:mod:`.caller_tail`) so that a
switch or a resume can replay what the old session never answered.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from loguru import logger
from pipecat.frames.frames import InputAudioRawFrame

from .audio_hold import AudioCounters, AudioHold, HeldChunk
from .caller_tail import CallerTail
from .speech_clock import SpeechClock

if TYPE_CHECKING:
    from .service import GeminiLiveLLMService
    from .session import LiveSession


class CallerInput:
    """Caller audio accounting and routing for one service.

    Args:
        service: The owning service (its session, hand-over state, error reporting).
        max_held_s: Bound of the hold, seconds of audio.
    """

    def __init__(self, service: "GeminiLiveLLMService", max_held_s: float):
        self.svc = service
        self.counters = AudioCounters()
        self.hold = AudioHold(max_held_s, self.counters)
        self.tail = CallerTail()
        self.clock = SpeechClock()
        self.paused = False
        self._draining = False

    def can_stream(self) -> bool:
        """Whether a frame may go straight to the session (nothing waits ahead of it)."""
        s = self.svc.session
        return (
            s is not None
            and s.ready
            and not self.svc.handover.holding
            and not self._draining
            and not len(self.hold)
        )

    async def on_frame(self, frame: InputAudioRawFrame) -> None:
        """Send, or hold, one caller frame."""
        if self.paused:
            return
        audio = self._mono_pcm16(frame)
        if audio is None:
            return
        voiced = self.clock.observe(audio)
        if self.can_stream():
            session = self.svc.session
            try:
                await session.send_audio(audio, frame.sample_rate)
                self.counters.sent += 1
                self.tail.sent(audio, frame.sample_rate, voiced)
                return
            except Exception as e:
                # The session is going away; its own task reports how. Keep the audio.
                logger.debug(f"{self.svc}: audio send failed ({e}); holding")
        if self.hold.hold(audio, frame.sample_rate):
            self.svc.warn_once("hold-overflow", f"caller audio hold exceeded {self.hold.max_s}s; dropping oldest")

    def _mono_pcm16(self, frame: InputAudioRawFrame) -> bytes | None:
        audio = frame.audio
        channels = max(1, int(frame.num_channels or 1))
        if len(audio) % (2 * channels):
            self.counters.dropped += 1
            self.svc.create_task(
                self.svc.push_error(
                    f"malformed InputAudioRawFrame: {len(audio)} bytes is not whole PCM16 samples "
                    f"for {channels} channel(s); frame dropped"
                )
            )
            return None
        if channels > 1:
            self.svc.warn_once("channels", f"{channels}-channel input audio is mixed down to mono")
            samples = np.frombuffer(audio, dtype=np.int16).reshape(-1, channels)
            audio = samples.mean(axis=1).astype(np.int16).tobytes()
        if frame.sample_rate != 16000:
            self.svc.warn_once(
                "rate",
                f"input audio is {frame.sample_rate} Hz; the Live API's native rate is 16000 Hz "
                "(it is sent as declared; put an AudioResampler before this service)",
            )
        return audio

    def unanswered_since(self, end_of_turn_s: float = 1.0) -> float | None:
        """When a finished caller sentence started waiting for its answer (monotonic), or None.

        A sentence counts as finished after ``end_of_turn_s`` of silence (longer than any
        server end-of-speech window), so the model has had its chance to start answering.
        """
        silence = self.tail.unanswered_for()
        if silence is None or silence < end_of_turn_s or self.clock.last_voice_at is None:
            return None
        return self.clock.last_voice_at + end_of_turn_s

    def replay_first(self, chunks: list[HeldChunk]) -> None:
        """Queue already-sent audio ahead of the hold (it goes to the next session first)."""
        for chunk in reversed(chunks):
            self.hold.push_front(HeldChunk(chunk.audio, chunk.sample_rate, replay=True))
        self.counters.replayed += len(chunks)

    async def drain(self, session: "LiveSession") -> int:
        """Send held audio to ``session`` in order; returns frames sent."""
        sent = 0
        self._draining = True
        try:
            while (chunk := self.hold.pop()) is not None:
                try:
                    await session.send_audio(chunk.audio, chunk.sample_rate)
                except Exception as e:
                    self.hold.push_front(chunk)
                    logger.warning(f"{self.svc}: replaying held audio failed ({e}); keeping it held")
                    break
                sent += 1
                if not chunk.replay:
                    self.counters.sent += 1
                self.tail.sent(chunk.audio, chunk.sample_rate, self.clock.is_voiced(chunk.audio))
        finally:
            self._draining = False
        return sent
