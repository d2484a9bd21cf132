"""The telephony audio path: 8 kHz G.711 on the wire, 16 kHz to the Live API, 24 kHz back.

One job: say how a phone pipeline converts its audio, so that it adds no more latency than
the filters need, and carries it in as few frames as timing allows. A Twilio pipeline asks
:class:`TelephonyAudio` for its serializer, its transport params and the processors to put on
each side of the service::

    audio = TelephonyAudio()
    serializer = audio.serializer(stream_sid, call_sid=call_sid, params=audio.serializer_params(auto_hang_up=False))
    transport = FastAPIWebsocketTransport(websocket, audio.transport_params(serializer))
    pipeline = Pipeline(audio.pipeline_processors(transport, service, user=user, assistant=assistant))

What it changes against Pipecat's stock Twilio setup (:meth:`TelephonyAudio.pipecat_stock`,
kept for comparison), and why (numbers from ``bench/telephony.py``):

- Input: the serializer (:class:`~.audio.twilio_input.EdgeTwilioSerializer`) decodes mu-law and
  goes 8 -> 16 kHz with the polyphase FIR (:mod:`.audio.polyphase`, ~2 ms hold) in place of
  Pipecat's soxr VHQ stream, which emits ~95 ms blocks here (the server heard the end of
  speech 60-80 ms late); it also groups caller frames the way the service groups its messages
  (:mod:`.audio.frame_batcher`), so the pipeline carries two to five times fewer of them and
  needs no resampling stage.
- Output: :class:`~.resampler.OutputResampler` goes 24 -> 8 kHz (polyphase) before the
  transport, whose own resampler then passes audio through. Stock, the transport's soxr VHQ
  stream emits 137.5 ms blocks and its first output needs ~160 ms of input.
- Output chunks are 40 ms, as Pipecat's default: each is one ``media`` message, one pass
  through the transport's sender and one socket write, so 20 ms chunks cost twice that per
  second of reply (``bench/telephony_cpu.py``). The output resampler gives a reply's first
  chunk its whole length (the filter's ~2 ms hold as leading silence), so a 40 ms server chunk
  fills a 40 ms chunk at once instead of waiting for the next one.

Pipecat's serializer (``TwilioFrameSerializer``) and transport (``FastAPIWebsocketTransport``)
are used as they are; only their configuration differs.
"""

from __future__ import annotations

from dataclasses import dataclass

from pipecat.processors.frame_processor import FrameProcessor
from pipecat.serializers.base_serializer import FrameSerializer
from pipecat.serializers.twilio import TwilioFrameSerializer
from pipecat.transports.base_transport import BaseTransport
from pipecat.transports.websocket.fastapi import FastAPIWebsocketParams

from ..call.frame_batcher import CallerFrameBatcher
from ..call.live_options import LiveOptions
from ..audio.rates import LIVE_INPUT_RATE, TWILIO_RATE
from ..audio.resampler import AudioResampler, OutputResampler
from ..audio.stream_resampler import check_quality
from .twilio_input import EdgeTwilioSerializer
from .twilio_serializer import CheckedTwilioSerializer



@dataclass(frozen=True)
class TelephonyAudio:
    """How a telephony pipeline converts its audio.

    Attributes:
        wire_rate: The carrier's rate in Hz (Twilio Media Streams: 8000, mu-law).
        model_rate: Rate the Live API is sent, Hz (16000, its native input rate).
        quality: Resampler quality for both directions (:mod:`..audio.stream_resampler`), or None to
            leave resampling to Pipecat's serializer and output transport (the stock setup).
        out_chunk_ms: Audio the output transport writes at a time, ms (a multiple of 10).
        batch_input: Group caller frames in the serializer (:mod:`.audio.frame_batcher`).
        lead_silence: The output resampler pads a reply's first frame to its whole length
            (:class:`~.resampler.OutputResampler`), so a first server chunk as long as
            ``out_chunk_ms`` is written at once.
        caller_audio_past_service: Whether caller audio goes on down the pipeline after the
            service (``LiveOptions.forward_caller_audio``, see :meth:`live_options`). Nothing in
            this pipeline after the service reads it; set True to record the call there.

    Raises:
        ValueError: For an unknown quality, non-positive rates or a chunk that is not a
            positive multiple of 10 ms.
    """

    wire_rate: int = TWILIO_RATE
    model_rate: int = LIVE_INPUT_RATE
    quality: str | None = "polyphase"
    out_chunk_ms: int = 40
    batch_input: bool = True
    lead_silence: bool = True
    caller_audio_past_service: bool = False

    def __post_init__(self):
        if self.wire_rate <= 0 or self.model_rate <= 0:
            raise ValueError(
                f"rates must be positive, got wire {self.wire_rate}, model {self.model_rate}"
            )
        if self.out_chunk_ms <= 0 or self.out_chunk_ms % 10:
            raise ValueError(
                f"out_chunk_ms must be a positive multiple of 10, got {self.out_chunk_ms}"
            )
        if self.quality is not None:
            check_quality(self.quality)

    @classmethod
    def pipecat_stock(cls) -> TelephonyAudio:
        """Pipecat 1.14's stock Twilio setup, for comparison: the serializer resamples 8 -> 16 kHz
        and the output transport resamples 24 -> 8 kHz (soxr VHQ streams), 40 ms output chunks."""
        return cls(quality=None, out_chunk_ms=40, batch_input=False, lead_silence=False, caller_audio_past_service=True)

    @property
    def resamples_in_pipeline(self) -> bool:
        """Whether our resamplers do the conversions (else Pipecat's serializer and transport do)."""
        return self.quality is not None

    @property
    def pipeline_in_rate(self) -> int:
        """Rate of the caller audio the input transport pushes, Hz (the serializer resamples)."""
        return self.model_rate

    def serializer(self, stream_sid: str, **kwargs) -> TwilioFrameSerializer:
        """The call's serializer: :class:`~.audio.twilio_input.EdgeTwilioSerializer` on our
        path, ``CheckedTwilioSerializer`` (Pipecat's, behind a message check) stock.

        Args:
            stream_sid: The Media Stream's SID.
            **kwargs: ``TwilioFrameSerializer`` arguments (``call_sid``, ``params``...).
        """
        if not self.resamples_in_pipeline:
            return CheckedTwilioSerializer(stream_sid, **kwargs)
        assert self.quality is not None
        batcher = CallerFrameBatcher() if self.batch_input else None
        return EdgeTwilioSerializer(stream_sid, quality=self.quality, batcher=batcher, **kwargs)

    def serializer_params(
        self, *, auto_hang_up: bool, **kwargs
    ) -> TwilioFrameSerializer.InputParams:
        """``TwilioFrameSerializer.InputParams`` for this path.

        Args:
            auto_hang_up: Hang the call up through Twilio's REST API when the pipeline ends
                (needs the account SID, call SID and auth token on the serializer).
            **kwargs: Other ``InputParams`` fields.
        """
        return TwilioFrameSerializer.InputParams(
            twilio_sample_rate=self.wire_rate,
            sample_rate=self.pipeline_in_rate,
            auto_hang_up=auto_hang_up,
            **kwargs,
        )

    def transport_params(self, serializer: FrameSerializer, **kwargs) -> FastAPIWebsocketParams:
        """``FastAPIWebsocketParams`` for this path (audio in and out, no WAV header).

        Args:
            serializer: The call's ``TwilioFrameSerializer``.
            **kwargs: Other ``FastAPIWebsocketParams`` fields (``session_timeout``...).
        """
        return FastAPIWebsocketParams(
            audio_in_enabled=True,
            audio_out_enabled=True,
            add_wav_header=False,
            serializer=serializer,
            audio_in_sample_rate=self.pipeline_in_rate,
            audio_out_sample_rate=self.wire_rate,
            audio_out_10ms_chunks=self.out_chunk_ms // 10,
            **kwargs,
        )

    def live_options(self, **kwargs) -> LiveOptions:
        """The service's ``LiveOptions`` for this path (``forward_caller_audio`` set from
        :attr:`caller_audio_past_service`).

        Args:
            **kwargs: Other ``LiveOptions`` fields.
        """
        return LiveOptions(forward_caller_audio=self.caller_audio_past_service, **kwargs)

    def input_processors(self) -> list[FrameProcessor]:
        """Processors between ``transport.input()`` and the service: none (the serializer resamples)."""
        return []

    def output_processors(self) -> list[FrameProcessor]:
        """Processors between the service and ``transport.output()`` (bot audio -> wire rate)."""
        if not self.resamples_in_pipeline:
            return []
        assert self.quality is not None
        return [OutputResampler(self.wire_rate, quality=self.quality, lead_silence=self.lead_silence)]

    def pipeline_processors(
        self,
        transport: BaseTransport,
        service: FrameProcessor,
        *,
        user: FrameProcessor | None = None,
        assistant: FrameProcessor | None = None,
    ) -> list[FrameProcessor]:
        """The whole telephony pipeline, in order::

            transport.input() -> user -> service -> [output resampler]
                -> transport.output() -> assistant

        Args:
            transport: The call's transport (``FastAPIWebsocketTransport``).
            service: The Live service.
            user: The user context aggregator, if any.
            assistant: The assistant context aggregator, if any.
        """
        processors: list[FrameProcessor] = [transport.input()]
        if user is not None:
            processors.append(user)
        processors += [service, *self.output_processors(), transport.output()]
        if assistant is not None:
            processors.append(assistant)
        return processors
