"""A per-stage trace of a call's audio path, cheap enough to leave on in benchmarks.

Each stage of the path keeps a :class:`MediaClock`: for every piece of audio that passes it,
the ``time.monotonic()`` it passed and how many seconds of audio have passed so far. "When did
the caller's end of speech (second 4.62 of the call's audio) get through stage S" is then a
binary search, whatever the frame sizes, sample rates or blocking of the stages in between; a
resampler that holds 95 ms shows up as its clock reaching 4.62 s later than the stage before it.

Stages, in the order audio meets them (:data:`INBOUND`, :data:`OUTBOUND`)::

    wire_in -> input_transport -> input_resampler -> service_in -> live_in      (caller audio)
    live_out -> service_out -> output_resampler -> wire_out                     (bot audio)

A stage that a path does not have (no separate resampler in Pipecat's stock Twilio setup, no
emulator tap against the real API) is simply absent. The hooks are Pipecat's synchronous
``on_before_push_frame`` / ``on_before_process_frame`` event handlers (one ``isinstance`` and
one list append per frame), a wrapper around an output transport's ``write_audio_frame``, a
serializer wrapper for the wire (:class:`TwilioWireTap`) and, for the Live session,
:mod:`.emulator_tap`. :mod:`.breakdown` turns a trace into per-turn milliseconds.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from bisect import bisect_left
from dataclasses import dataclass, field

from pipecat.frames.frames import AudioRawFrame, Frame, InputAudioRawFrame, OutputAudioRawFrame
from pipecat.processors.frame_processor import FrameProcessor, FrameProcessorSetup
from pipecat.serializers.base_serializer import FrameSerializer
from pipecat.transports.base_output import BaseOutputTransport
from ...audio.rates import TWILIO_RATE

INBOUND = ("wire_in", "input_transport", "input_resampler", "service_in", "live_in")
OUTBOUND = ("live_out", "service_out", "output_resampler", "wire_out")
STAGES = INBOUND + OUTBOUND

# Half a sample at 48 kHz: float sums of frame durations must not miss a position by rounding.
_EPS = 1e-5


@dataclass
class MediaClock:
    """When the audio through one stage passed: parallel lists, one entry per piece of audio.

    Attributes:
        times: ``time.monotonic()`` of each piece, seconds.
        ends: Seconds of audio passed so far, including that piece.
    """

    times: list[float] = field(default_factory=list)
    ends: list[float] = field(default_factory=list)

    def add(self, seconds: float, at: float | None = None) -> None:
        """Record ``seconds`` of audio passing now (or at ``at``)."""
        if seconds <= 0:
            return
        total = (self.ends[-1] if self.ends else 0.0) + seconds
        self.times.append(time.monotonic() if at is None else at)
        self.ends.append(total)

    @property
    def total_s(self) -> float:
        """Seconds of audio passed in all."""
        return self.ends[-1] if self.ends else 0.0

    def reached(self, position_s: float) -> float | None:
        """When the audio at ``position_s`` (seconds into the stream) had passed, or None."""
        i = bisect_left(self.ends, position_s - _EPS)
        return self.times[i] if i < len(self.ends) else None

    def bursts(self, gap_s: float) -> list[float]:
        """Start times of bursts: pieces that follow the previous one by more than ``gap_s``."""
        starts: list[float] = []
        last = None
        for t in self.times:
            if last is None or t - last > gap_s:
                starts.append(t)
            last = t
        return starts


def pcm_seconds(nbytes: int, sample_rate: int, channels: int = 1) -> float:
    """Duration of ``nbytes`` of PCM16 audio, seconds."""
    return nbytes / (2 * max(1, channels) * sample_rate) if sample_rate > 0 else 0.0


class AudioPathTrace:
    """The media clocks of one call's audio path, and the hooks that feed them."""

    def __init__(self):
        self.clocks: dict[str, MediaClock] = {}

    def clock(self, stage: str) -> MediaClock:
        """The clock of ``stage`` (created empty on first use)."""
        c = self.clocks.get(stage)
        if c is None:
            c = self.clocks[stage] = MediaClock()
        return c

    def has(self, stage: str) -> bool:
        """Whether any audio passed ``stage``."""
        c = self.clocks.get(stage)
        return bool(c and c.times)

    def mark(self, stage: str, seconds: float, at: float | None = None) -> None:
        """Record ``seconds`` of audio passing ``stage``."""
        self.clock(stage).add(seconds, at)

    def mark_frame(self, stage: str, frame: AudioRawFrame, at: float | None = None) -> None:
        """Record an audio frame passing ``stage``."""
        self.clock(stage).add(
            pcm_seconds(len(frame.audio), frame.sample_rate, frame.num_channels), at
        )

    # -- hooks ---------------------------------------------------------------------------------

    def tap_push(self, processor: FrameProcessor, stage: str, frame_type: type[Frame]) -> None:
        """Mark every ``frame_type`` audio frame ``processor`` pushes (``on_before_push_frame``).

        The handler runs synchronously, before the frame moves on, so a processor further down
        that changes the frame in place cannot change what was measured.
        """

        @processor.event_handler("on_before_push_frame")
        async def _pushed(_processor, frame):
            if isinstance(frame, frame_type):
                self.mark_frame(stage, frame)

    def tap_arrival(self, processor: FrameProcessor, stage: str, frame_type: type[Frame]) -> None:
        """Mark every ``frame_type`` audio frame as ``processor`` starts on it."""

        @processor.event_handler("on_before_process_frame")
        async def _arrived(_processor, frame):
            if isinstance(frame, frame_type):
                self.mark_frame(stage, frame)

    def tap_writes(self, output: BaseOutputTransport, stage: str = "wire_out") -> None:
        """Mark audio as ``output`` starts writing it to its destination.

        Wraps the instance's ``write_audio_frame`` (Pipecat has no event for a write); the
        transport's own pacing sleep comes after the mark, so it is not counted.
        """
        write = output.write_audio_frame

        async def traced_write(frame: OutputAudioRawFrame) -> bool:
            self.mark_frame(stage, frame)
            return await write(frame)

        output.write_audio_frame = traced_write  # type: ignore[method-assign]

    def tap_pipeline(
        self,
        *,
        input_transport: FrameProcessor,
        service: FrameProcessor,
        input_resampler: FrameProcessor | None = None,
        output_resampler: FrameProcessor | None = None,
        output_transport: BaseOutputTransport | None = None,
        input_is_wire: bool = False,
    ) -> None:
        """Hook the usual stages of a pipeline.

        Args:
            input_transport: Its pushes of caller audio are ``input_transport`` (``wire_in``
                instead when ``input_is_wire``: a WAV input has no wire before it).
            service: Caller audio reaching it is ``service_in``; bot audio it pushes is ``service_out``.
            input_resampler: Its caller audio pushes are ``input_resampler``.
            output_resampler: Its bot audio pushes are ``output_resampler``.
            output_transport: Its writes are ``wire_out``.
            input_is_wire: Mark the input transport's pushes as ``wire_in``.
        """
        self.tap_push(
            input_transport, "wire_in" if input_is_wire else "input_transport", InputAudioRawFrame
        )
        if input_resampler is not None:
            self.tap_push(input_resampler, "input_resampler", InputAudioRawFrame)
        self.tap_arrival(service, "service_in", InputAudioRawFrame)
        self.tap_push(service, "service_out", OutputAudioRawFrame)
        if output_resampler is not None:
            self.tap_push(output_resampler, "output_resampler", OutputAudioRawFrame)
        if output_transport is not None:
            self.tap_writes(output_transport)


class TwilioWireTap(FrameSerializer):
    """Wraps a ``TwilioFrameSerializer``: marks each media message's audio as ``wire_in``.

    The mark is made before the wrapped serializer decodes (and, stock, resamples) the audio,
    so whatever the serializer holds shows up in the next stage. Everything else is delegated.

    Args:
        inner: The serializer that does the work.
        trace: Where ``wire_in`` is recorded.
        wire_rate: Samples per second of the mu-law payload (one byte per sample).
    """

    def __init__(self, inner: FrameSerializer, trace: AudioPathTrace, wire_rate: int = TWILIO_RATE):
        super().__init__()
        self.inner = inner
        self.trace = trace
        self.wire_rate = wire_rate

    async def setup(self, setup: FrameProcessorSetup):
        """Set the wrapped serializer up."""
        await self.inner.setup(setup)

    async def serialize(self, frame: Frame):
        """Delegate."""
        return await self.inner.serialize(frame)

    async def deserialize(self, data):
        """Mark the message's audio, then delegate."""
        seconds = twilio_media_seconds(data, self.wire_rate)
        if seconds:
            self.trace.mark("wire_in", seconds)
        return await self.inner.deserialize(data)


def twilio_media_seconds(data: str | bytes, wire_rate: int = TWILIO_RATE) -> float:
    """Seconds of audio in a Twilio ``media`` message (0 for any other or a malformed one)."""
    try:
        message = json.loads(data)
        payload = message["media"]["payload"] if message.get("event") == "media" else None
        if not payload:
            return 0.0
        return len(base64.b64decode(payload)) / wire_rate
    except (ValueError, KeyError, TypeError, binascii.Error):
        return 0.0
