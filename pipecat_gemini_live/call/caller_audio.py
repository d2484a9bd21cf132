"""The caller's audio on its way to the Live session: checked, streamed, held, replayed.

Every ``InputAudioRawFrame`` goes to the session the call is on when one can take it;
otherwise it waits in the link's hold (:mod:`.link`) and is replayed in order, ahead of newer
audio, when one can. What was sent recently is remembered (:mod:`.replay_buffer`) so that a
switch or a resume can replay what the old session never answered.

Two turn-detection modes:

- **server VAD** (default): audio streams continuously; when it stops arriving for
  ``audio_stream_end_after_s`` (a muted mic, a paused or dropped track) ``audioStreamEnd`` tells
  the server so it closes the turn instead of waiting; the next audio reopens the stream.
- **local VAD** (``GeminiVADParams(disabled=True)``): the pipeline's own VAD drives the turns.
  ``UserStartedSpeakingFrame`` sends ``activityStart`` and ``UserStoppedSpeakingFrame``
  ``activityEnd``; audio is sent only in between (the server discards the rest). The last
  ``preroll_s`` of audio before the start is kept and sent right after ``activityStart``: the VAD
  confirms speech only after it began, and without the pre-roll the first syllable is lost.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

import numpy as np
from loguru import logger
from pipecat.frames.frames import InputAudioRawFrame

from ..audio.rates import LIVE_INPUT_RATE
from .audio_batcher import AudioBatcher
from .audio_hold import HeldChunk
from .connection import LiveSession
from .link import CallHooks, SessionLink
from .replay_buffer import CallerTail
from .voice_activity import SpeechClock

# Longest ``realtimeInput`` message in a long silence, seconds (after the end-of-speech window).
QUIET_BATCH_S = 0.2


class CallerAudio:
    """Caller audio accounting and routing for one call.

    Args:
        link: The seam to the session (the hold lives there).
        hooks: Error reporting, tasks and one-time warnings of the hosting processor.
        manual_turns: Whether the pipeline's VAD drives the turns (local-VAD mode), asked at
            each frame (a settings update can change it).
        preroll_s: Local VAD: audio kept before each turn start, seconds.
    """

    def __init__(self, link: SessionLink, hooks: CallHooks, manual_turns: Callable[[], bool], preroll_s: float = 0.5):
        self.link = link
        self.hooks = hooks
        self.manual_turns = manual_turns
        self.counters = link.counters
        self.hold = link.audio
        self.tail = CallerTail()
        self.clock = SpeechClock()
        self.paused = False
        self.preroll_s = preroll_s
        self.active = False  # local VAD: the caller is in a turn
        self.last_frame_at: float | None = None
        self.stream_ended = False
        self._preroll: deque[HeldChunk] = deque()
        self._preroll_len_s = 0.0
        self._draining = False
        # Long silences (the caller listening to a reply) go in 200 ms messages: nothing there
        # is decided on, and the next onset sends what is pending at once (audio_batcher.py).
        self.batcher = AudioBatcher(quiet_batch_s=QUIET_BATCH_S)
        self.on_audio: Callable[[], None] = lambda: None  # each frame that arrives (the watchdog's)
        self.messages = 0  # realtimeInput audio messages sent

    def can_stream(self) -> bool:
        """Whether a frame may go straight to the session (nothing waits ahead of it)."""
        return self.link.accepting() and not self._draining and not len(self.hold)

    async def on_frame(self, frame: InputAudioRawFrame) -> None:
        """Send, or hold, one caller frame."""
        if self.paused:
            return
        audio = self._mono_pcm16(frame)
        if audio is None:
            return
        voiced = self.clock.observe(audio)
        self.last_frame_at = time.monotonic()
        try:
            await self._route(frame, audio, voiced)
        finally:
            self.on_audio()

    async def _route(self, frame: InputAudioRawFrame, audio: bytes, voiced: bool) -> None:
        if self.manual_turns() and not self.active:
            self._keep_preroll(HeldChunk(audio, frame.sample_rate))
            return
        self.stream_ended = False
        chunk = HeldChunk(audio, frame.sample_rate)
        if self.can_stream():
            if not self.batcher.can_join(frame.sample_rate):
                await self.flush_batch()
            if self.batcher.add(chunk, voiced):
                await self.flush_batch()
            return
        await self.flush_batch()  # whatever was grouped goes first, then this frame waits
        self._hold_one(chunk)

    def _hold_one(self, chunk: HeldChunk) -> None:
        if self.hold.hold(chunk.audio, chunk.sample_rate):
            self.hooks.warn_once("hold-overflow", f"caller audio hold exceeded {self.hold.max_s}s; dropping oldest")

    async def flush_batch(self) -> None:
        """Send the grouped frames as one message (or hold them if the session cannot take it)."""
        group = self.batcher.take()
        if not group:
            return
        session = self.link.session
        if self.can_stream():
            try:
                await session.send_audio(b"".join(c.audio for c, _ in group), group[0][0].sample_rate)
                self.messages += 1
                for c, voiced in group:
                    self.counters.sent += 1
                    self.tail.sent(c.audio, c.sample_rate, voiced)
                return
            except Exception as e:
                # The session is going away; its own task reports how. Keep the audio.
                logger.debug(f"{self.link.session}: audio send failed ({e}); holding")
        for c, _ in group:
            self._hold_one(c)

    def _mono_pcm16(self, frame: InputAudioRawFrame) -> bytes | None:
        audio = frame.audio
        channels = max(1, int(frame.num_channels or 1))
        if len(audio) % (2 * channels):
            self.counters.dropped += 1
            self.hooks.create_task(
                self.hooks.push_error(
                    f"malformed InputAudioRawFrame: {len(audio)} bytes is not whole PCM16 samples "
                    f"for {channels} channel(s); frame dropped"
                )
            )
            return None
        if channels > 1:
            self.hooks.warn_once("channels", f"{channels}-channel input audio is mixed down to mono")
            samples = np.frombuffer(audio, dtype=np.int16).reshape(-1, channels)
            audio = samples.mean(axis=1).astype(np.int16).tobytes()
        if frame.sample_rate != LIVE_INPUT_RATE:
            self.hooks.warn_once(
                "rate",
                f"input audio is {frame.sample_rate} Hz; the Live API's native rate is {LIVE_INPUT_RATE} Hz "
                "(it is sent as declared; put an AudioResampler before this service)",
            )
        return audio

    def _keep_preroll(self, chunk: HeldChunk) -> None:
        self._preroll.append(chunk)
        self._preroll_len_s += chunk.duration_s
        while self._preroll_len_s > self.preroll_s and len(self._preroll) > 1:
            self._preroll_len_s -= self._preroll.popleft().duration_s
        self.counters.outside_turn += 1

    async def user_started(self) -> None:
        """Local VAD: the caller's turn began. Pre-roll first, then live audio."""
        if self.active:
            return
        self.active = True
        for chunk in self._preroll:
            self.hold.push_back(chunk)
        self.counters.preroll += len(self._preroll)
        self._preroll.clear()
        self._preroll_len_s = 0.0
        await self.drain_now()

    async def user_stopped(self) -> None:
        """Local VAD: the caller's turn ended."""
        if not self.active:
            return
        await self.flush_batch()
        self.active = False
        await self.drain_now()

    async def drain_now(self) -> None:
        """Drain into the session the call is on, if one can take audio now."""
        if self.link.accepting() and not self._draining:
            await self.drain(self.link.session)

    async def end_stream_if_quiet(self, after_s: float) -> bool:
        """Server VAD: ``audioStreamEnd`` once no audio has arrived for ``after_s`` seconds."""
        session = self.link.session
        if self.batcher.pending and self.last_frame_at is not None and time.monotonic() - self.last_frame_at >= after_s / 2:
            await self.flush_batch()  # the input stopped mid-group: what was said goes out first
        if (
            self.manual_turns()
            or self.stream_ended
            or self.last_frame_at is None
            or time.monotonic() - self.last_frame_at < after_s
            or not self.link.accepting()
            or len(self.hold)
        ):
            return False
        self.stream_ended = True
        try:
            await session.send_audio_stream_end()
        except Exception as e:
            logger.debug(f"{self.link.session}: audioStreamEnd not sent ({e})")
            return False
        return True

    def quiet_deadline(self, after_s: float) -> float | None:
        """When :meth:`end_stream_if_quiet` may next have something to do (monotonic), or None
        when only new audio (or a session that can take it) can change that."""
        if self.last_frame_at is None:
            return None
        now = time.monotonic()
        times = []
        if self.batcher.pending:
            times.append(self.last_frame_at + after_s / 2)
        if not self.manual_turns() and not self.stream_ended:
            times.append(self.last_frame_at + after_s)
        future = [t for t in times if t > now]
        return min(future) if future else None

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
            self.hold.push_front(HeldChunk(chunk.audio, chunk.sample_rate, replay=True, seq=-1))
        self.counters.replayed += len(chunks)

    async def drain(self, session: LiveSession) -> int:
        """Send what waits to ``session``: held audio and the link's messages, in the order
        they arrived (:meth:`~.link.SessionLink.release`); returns audio frames sent."""
        sent = 0
        self._draining = True
        try:
            manual = self.manual_turns()
            if manual and (self.active or len(self.hold)) and not session.activity_open:
                await session.send_activity(start=True)
            sent = await self.link.release(lambda chunk: self._send_held(session, chunk))
            if manual and not self.active and session.activity_open and not len(self.hold):
                await session.send_activity(start=False)
        except Exception as e:
            logger.warning(f"{self.link.session}: activity signal not sent ({e})")
        finally:
            self._draining = False
        return sent

    async def _send_held(self, session: LiveSession, chunk: HeldChunk) -> bool:
        try:
            await session.send_audio(chunk.audio, chunk.sample_rate)
        except Exception as e:
            logger.warning(f"{self.link.session}: replaying held audio failed ({e}); keeping it held")
            return False
        if not chunk.replay:
            self.counters.sent += 1
        self.tail.sent(chunk.audio, chunk.sample_rate, self.clock.is_voiced(chunk.audio))
        return True
