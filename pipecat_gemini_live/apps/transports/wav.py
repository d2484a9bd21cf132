"""WAV file transports: a recorded caller in, the bot's side of the call out.

``WavInputTransport`` plays a WAV (PCM16, G.711 mu-law or A-law, float; any rate; mono or
stereo) into the pipeline as 20 ms ``InputAudioRawFrame``s paced in real time, then keeps the
line open with silence, as a phone line does, until the bot's last reply has drained, and ends
the call with an ``EndWorkerFrame``. ``WavOutputTransport`` writes the bot's audio into a WAV
aligned to the call's timeline (silence where the bot is quiet), optionally stereo with the
caller on the left and the bot on the right. Decoding and encoding go through ``soundfile``
(libsndfile).

The call clock (:class:`CallClock`) starts at the first input frame; both transports and the
report use it.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr
from loguru import logger
from pipecat.frames.frames import (
    BotStartedSpeakingFrame,
    BotStoppedSpeakingFrame,
    CancelFrame,
    EndFrame,
    EndWorkerFrame,
    Frame,
    InputAudioRawFrame,
    OutputAudioRawFrame,
    StartFrame,
)
from pipecat.processors.frame_processor import FrameDirection
from pipecat.transports.base_input import BaseInputTransport
from pipecat.transports.base_output import BaseOutputTransport
from pipecat.transports.base_transport import BaseTransport, TransportParams

from ...call.frame_batcher import CallerFrameBatcher
from .output_path import WavOutputError, check_writable  # noqa: F401  (re-exported for the job)
from .timeline import TimelineWavWriter
from ...audio.rates import LIVE_OUTPUT_RATE


class WavInputError(ValueError):
    """A WAV file that cannot be played as a caller (missing, not WAV, empty, unreadable)."""


@dataclass
class CallClock:
    """The call's clock: 0 is the first input frame (``time.monotonic()`` based).

    A time-scaled call (``speed`` > 1) plays the recording faster than real time; the clock
    then reads in the recording's time, so reports line up with the input file.
    """

    t0: float | None = None
    speed: float = 1.0

    def start(self, at: float | None = None) -> None:
        """Start the clock (first input frame)."""
        if self.t0 is None:
            self.t0 = at if at is not None else time.monotonic()

    def now(self) -> float:
        """Seconds since the clock started (0 before it starts)."""
        return self.at(time.monotonic())

    def at(self, monotonic: float) -> float:
        """A ``time.monotonic()`` value on the call clock."""
        return 0.0 if self.t0 is None else (monotonic - self.t0) * self.speed


@dataclass
class WavAudio:
    """Decoded audio: ``samples`` int16 of shape (frames, channels)."""

    path: Path
    samples: np.ndarray
    sample_rate: int
    subtype: str

    @property
    def channels(self) -> int:
        """Channel count."""
        return self.samples.shape[1]

    @property
    def duration_s(self) -> float:
        """Length in seconds."""
        return self.samples.shape[0] / self.sample_rate

    def mono(self) -> np.ndarray:
        """The audio mixed down to one int16 channel."""
        if self.channels == 1:
            return self.samples[:, 0]
        return self.samples.mean(axis=1).astype(np.int16)


MIN_SAMPLE_RATE = 4000
MAX_SAMPLE_RATE = 192_000
MAX_CHANNELS = 8
_FLOAT_SUBTYPES = {"FLOAT", "DOUBLE"}


def load_wav(path: str | Path) -> WavAudio:
    """Decode a WAV file to int16 samples (PCM of any width, G.711, or float scaled from +-1.0).

    Args:
        path: The file.

    Returns:
        The decoded audio.

    Raises:
        WavInputError: Missing file, not a WAV, a sample rate outside 4-192 kHz, over 8
            channels, no audio frames, or undecodable data.
    """
    p = Path(path)
    if not p.is_file():
        raise WavInputError(f"{p}: no such file")
    try:
        info = sf.info(str(p))
        if info.format != "WAV":
            raise WavInputError(f"{p}: not a WAV file (libsndfile sees {info.format_info})")
        if not MIN_SAMPLE_RATE <= info.samplerate <= MAX_SAMPLE_RATE:
            raise WavInputError(
                f"{p}: a sample rate of {info.samplerate} Hz is not audio a call can carry "
                f"(expected {MIN_SAMPLE_RATE}-{MAX_SAMPLE_RATE} Hz)"
            )
        if info.channels > MAX_CHANNELS:
            raise WavInputError(f"{p}: {info.channels} channels (at most {MAX_CHANNELS})")
        if info.subtype in _FLOAT_SUBTYPES:
            # libsndfile converts floats to int16 without scaling (0.5 -> 0): read floats, scale.
            floats = sf.read(str(p), dtype="float32", always_2d=True)[0]
            samples = np.clip(np.round(floats * 32767.0), -32768, 32767).astype(np.int16)
        else:
            samples = sf.read(str(p), dtype="int16", always_2d=True)[0]
    except WavInputError:
        raise
    except Exception as e:  # soundfile.LibsndfileError, RuntimeError, ...
        raise WavInputError(f"{p}: not a readable WAV file ({e})") from e
    if samples.shape[0] == 0:
        raise WavInputError(f"{p}: the WAV file holds no audio frames")
    return WavAudio(path=p, samples=samples, sample_rate=int(info.samplerate), subtype=info.subtype)


class WavInputTransport(BaseInputTransport):
    """Plays a WAV file as the caller, in real time.

    Args:
        audio: The decoded file (see :func:`load_wav`).
        clock: The call clock to start at the first frame.
        frame_ms: Duration of each frame, ms.
        end_when_done: End the call once the file has played and the bot is quiet.
        tail_quiet_s: How long the bot must have been quiet after the file ends.
        max_tail_s: Longest time to keep the line open after the file ends.
        speed: Playback speed factor (1.0 = real time; tests may go faster).
        params: Transport params (audio input is always enabled).
        batcher: Groups the ``frame_ms`` frames into larger ones where the Live API's timing
            allows (:class:`~pipecat_gemini_live.call.frame_batcher.CallerFrameBatcher`; mono
            files only), as a phone bot's serializer does. None: every frame is pushed.
    """

    def __init__(
        self,
        audio: WavAudio,
        *,
        clock: CallClock,
        frame_ms: int = 20,
        end_when_done: bool = True,
        tail_quiet_s: float = 3.0,
        max_tail_s: float = 30.0,
        speed: float = 1.0,
        params: TransportParams | None = None,
        batcher: CallerFrameBatcher | None = None,
        **kwargs,
    ):
        params = params or TransportParams()
        params.audio_in_enabled = True
        params.audio_in_sample_rate = audio.sample_rate
        params.audio_in_channels = audio.channels
        super().__init__(params, **kwargs)
        self.audio = audio
        self.clock = clock
        self.frame_ms = frame_ms
        self.end_when_done = end_when_done
        self.tail_quiet_s = tail_quiet_s
        self.max_tail_s = max_tail_s
        self.speed = speed
        self.batcher = batcher if audio.channels == 1 else None
        self.frames_pushed = 0
        self.finished_file_at: float | None = None
        self._bot_speaking = False
        self._bot_quiet_since = 0.0
        self._play_task: asyncio.Task | None = None

    async def start(self, frame: StartFrame):
        """Start playing once the pipeline has started."""
        await super().start(frame)
        await self.set_transport_ready(frame)
        if self._play_task is None:
            self._play_task = self.create_task(self._play(), "wav-input-play")

    async def stop(self, frame: EndFrame):
        """Stop playing (the call is over)."""
        await self._stop_playing()
        await super().stop(frame)

    async def cancel(self, frame: CancelFrame):
        """Stop playing at once."""
        await self._stop_playing()
        await super().cancel(frame)

    async def _stop_playing(self) -> None:
        if self._play_task is not None and self._play_task is not asyncio.current_task():
            await self.cancel_task(self._play_task)
        self._play_task = None

    async def process_frame(self, frame: Frame, direction: FrameDirection):
        """Watch the bot's speaking state on its way upstream (for the end of the call)."""
        if isinstance(frame, BotStartedSpeakingFrame):
            self._bot_speaking = True
        elif isinstance(frame, BotStoppedSpeakingFrame):
            self._bot_speaking = False
            self._bot_quiet_since = time.monotonic()
        await super().process_frame(frame, direction)

    def _frames(self):
        rate, ch = self.audio.sample_rate, self.audio.channels
        n = max(1, rate * self.frame_ms // 1000)
        samples = self.audio.samples
        for i in range(0, samples.shape[0], n):
            block = samples[i : i + n]
            if block.shape[0] < n:
                block = np.vstack([block, np.zeros((n - block.shape[0], ch), dtype=np.int16)])
            yield block.tobytes()

    async def _play(self) -> None:
        rate, ch = self.audio.sample_rate, self.audio.channels
        period = self.frame_ms / 1000.0 / self.speed
        t0 = time.monotonic()
        self.clock.start(t0)
        k = 0
        for chunk in self._frames():
            await self._sleep_until(t0 + k * period)
            await self._push(chunk, rate, ch)
            k += 1
        self.finished_file_at = time.monotonic()
        self._bot_quiet_since = max(self._bot_quiet_since, self.finished_file_at)
        silence = bytes(2 * ch * max(1, rate * self.frame_ms // 1000))
        while True:
            now = time.monotonic()
            quiet_for = now - self._bot_quiet_since
            if self.end_when_done and not self._bot_speaking and quiet_for >= self.tail_quiet_s:
                break
            if now - self.finished_file_at >= self.max_tail_s:
                logger.warning(f"{self}: line kept open {self.max_tail_s}s after the file ended; hanging up")
                break
            await self._sleep_until(t0 + k * period)
            await self._push(silence, rate, ch)
            k += 1
        if self.batcher is not None and (rest := self.batcher.take()):
            await self.push_audio_frame(InputAudioRawFrame(audio=rest, sample_rate=rate, num_channels=ch))
        if self.end_when_done:
            await self.push_frame(EndWorkerFrame(reason="caller recording finished"))

    async def _push(self, chunk: bytes, rate: int, ch: int) -> None:
        self.frames_pushed += 1
        if self.batcher is not None:
            chunk = self.batcher.add(chunk, rate)
            if chunk is None:
                return
        await self.push_audio_frame(InputAudioRawFrame(audio=chunk, sample_rate=rate, num_channels=ch))

    @staticmethod
    async def _sleep_until(when: float) -> None:
        delay = when - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)


class WavOutputTransport(BaseOutputTransport):
    """Writes the bot's audio into a WAV on the call's timeline.

    Audio is written as a device would play it: each chunk at the time it starts playing,
    paced in real time, so a pause in the bot's output is silence in the file and the file lines
    up with the input. The file is written as the call goes (:mod:`.timeline`), so a long call
    is not held in memory.

    Args:
        path: Where to write the WAV (PCM16).
        clock: The call clock.
        sample_rate: Output rate in Hz (the bot's 24 kHz by default).
        stereo: Caller on the left, bot on the right (else the bot alone, mono).
        speed: Playback speed, matching a time-scaled input (1.0 = real time).
        end_silence_s: Silence Pipecat's output writes after the ``EndFrame``, whole seconds
            of call time. Pipecat's default (2) lets a device play out its buffer; a file has
            none, so 0 here: the call ends when its last reply has played. Ignored when
            ``params`` is given (its ``audio_out_end_silence_secs`` holds).
        params: Transport params (audio output is always enabled).
    """

    def __init__(
        self,
        path: str | Path,
        *,
        clock: CallClock,
        sample_rate: int = LIVE_OUTPUT_RATE,
        stereo: bool = False,
        speed: float = 1.0,
        end_silence_s: int = 0,
        params: TransportParams | None = None,
        **kwargs,
    ):
        params = params or TransportParams(audio_out_end_silence_secs=end_silence_s)
        params.audio_out_enabled = True
        params.audio_out_sample_rate = sample_rate
        super().__init__(params, **kwargs)
        self.path = Path(path)
        self.clock = clock
        self.out_rate = sample_rate
        self.stereo = stereo
        self.speed = speed
        self.writer = TimelineWavWriter(self.path, sample_rate, stereo)
        self.writes: list[tuple[float, float]] = []  # bot audio spans, back-to-back chunks merged
        self._caller_resampler: soxr.ResampleStream | None = None
        self._caller_rate: int | None = None
        self._next_play = 0.0
        self._last_flush = 0.0

    @property
    def written(self) -> bool:
        """Whether the file has been finished."""
        return self.writer.closed

    async def start(self, frame: StartFrame):
        """Become ready to play."""
        await super().start(frame)
        await self.set_transport_ready(frame)

    async def process_frame(self, frame: Frame, direction: FrameDirection):
        """Record caller audio passing by (for the stereo file); play the bot's."""
        if self.stereo and isinstance(frame, InputAudioRawFrame) and direction == FrameDirection.DOWNSTREAM:
            self._record_caller(frame)
        await super().process_frame(frame, direction)

    def _record_caller(self, frame: InputAudioRawFrame) -> None:
        if self._caller_rate is None:
            self._caller_rate = frame.sample_rate
            if frame.sample_rate != self.out_rate:
                self._caller_resampler = soxr.ResampleStream(frame.sample_rate, self.out_rate, 1, dtype="int16")
        if frame.sample_rate != self._caller_rate:
            return  # a rate change mid-call would shift the caller track; keep the first rate
        samples = np.frombuffer(frame.audio, dtype=np.int16)
        if frame.num_channels > 1:
            samples = samples.reshape(-1, frame.num_channels).mean(axis=1).astype(np.int16)
        if self._caller_resampler is not None:
            samples = self._caller_resampler.resample_chunk(samples)
        self.writer.caller(samples)

    async def write_audio_frame(self, frame: OutputAudioRawFrame) -> bool:
        """Place one chunk on the timeline and wait for it to "play"."""
        now = time.monotonic()
        if self._next_play < now:
            self._next_play = now  # the bot was quiet (or fell behind): a gap in the file
        start_s = self.clock.at(self._next_play)
        duration = len(frame.audio) / 2 / max(1, frame.num_channels) / frame.sample_rate
        self.writer.bot(start_s, frame.audio)
        if not frame.audio.strip(b"\x00"):
            pass  # digital silence (the transport's end-of-call padding) is not bot speech
        elif self.writes and start_s - self.writes[-1][1] < 0.001:
            self.writes[-1] = (self.writes[-1][0], start_s + duration)
        else:
            self.writes.append((start_s, start_s + duration))
        self._next_play += duration / self.speed
        if now - self._last_flush > 1.0:
            self._last_flush = now
            self.writer.flush(self.clock.at(now))
        # Like a socket transport: return when the next chunk is due to start playing.
        delay = self._next_play - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        return True

    async def stop(self, frame: EndFrame):
        """Flush the queued audio, then finish the file."""
        await super().stop(frame)
        self.write_file()

    async def cancel(self, frame: CancelFrame):
        """Finish the file with what was played so far."""
        await super().cancel(frame)
        self.write_file()

    def write_file(self) -> None:
        """Finish the WAV (idempotent)."""
        self.writer.close()

    @property
    def duration_s(self) -> float:
        """Length of the timeline, seconds."""
        return self.writer.length / self.out_rate


class WavTransport(BaseTransport):
    """A caller WAV in, the bot's WAV out, on one call clock.

    Args:
        input_path: The caller recording.
        output_path: Where the bot's side is written.
        output_sample_rate: Rate of the output WAV, Hz.
        stereo: Write caller (left) and bot (right).
        speed: Playback speed of both sides (1.0 = real time; a time-scaled call goes faster,
            and times on its clock are in the recording's time).
        tail_quiet_s: Bot quiet time after the recording before hanging up, seconds.
        end_silence_s: Silence written after the call ends, seconds (see
            :class:`WavOutputTransport`).

    Raises:
        WavInputError: The input file cannot be played.
    """

    def __init__(
        self,
        input_path: str | Path,
        output_path: str | Path,
        *,
        output_sample_rate: int = LIVE_OUTPUT_RATE,
        stereo: bool = False,
        speed: float = 1.0,
        tail_quiet_s: float = 3.0,
        end_silence_s: int = 0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.clock = CallClock(speed=speed)
        self.source = load_wav(input_path)
        self._input = WavInputTransport(self.source, clock=self.clock, speed=speed, tail_quiet_s=tail_quiet_s)
        self._output = WavOutputTransport(
            output_path, clock=self.clock, sample_rate=output_sample_rate, stereo=stereo, speed=speed,
            end_silence_s=end_silence_s,
        )

    def input(self) -> WavInputTransport:
        """The caller side."""
        return self._input

    def output(self) -> WavOutputTransport:
        """The bot side."""
        return self._output
