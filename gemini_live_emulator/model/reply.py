"""Streaming one spoken reply: paced audio chunks with output transcription alongside.

A normal turn on the wire is: audio chunks (with ``outputTranscription`` pieces as the words
are reached) -> ``generationComplete`` -> ``turnComplete`` + ``usageMetadata``. An interrupted
one stops at the chunk being sent and is closed by the session with ``interrupted`` ->
``turnComplete`` (no ``generationComplete``). Source: docs/live-api.md.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable

from .. import server_messages, wire
from .pacing import Pacing, schedule
from .voice import OUTPUT_RATE

Send = Callable[[dict], Awaitable[None]]


class ReplyStream:
    """Sends ``pcm`` in ``chunk_ms`` pieces at ``pace`` times real time.

    Args:
        text: The reply's words (output transcription follows the audio proportionally).
        pcm: 24 kHz PCM16 mono audio of the reply.
        chunk_ms: Audio per message, ms.
        pace: Real-time factor of sending (1.0 sends as fast as it plays).
        send: Coroutine that puts one server message on the wire.
        transcribe: Whether to send ``outputTranscription``.
        on_first_chunk: Awaited once the first chunk is out (a mid-reply fault fires there).
        pacing: Delivery profile (:mod:`.pacing`); ``pace`` scales its schedule.
        connection: The connection's index (varies jitter between connections).
        text_only: TEXT modality: the words go out as text parts (about ``chunk_ms`` apart at
            the speaking rate of ``pcm``), with no audio and no output transcription.
    """

    def __init__(
        self,
        *,
        text: str,
        pcm: bytes,
        chunk_ms: int,
        pace: float,
        send: Send,
        transcribe: bool,
        on_first_chunk: Callable[[], Awaitable[None]] | None = None,
        pacing: Pacing | None = None,
        connection: int = 0,
        text_only: bool = False,
    ):
        self.text = text
        self.words = text.split()
        self.pcm = pcm
        self.chunk_bytes = OUTPUT_RATE * chunk_ms // 1000 * 2
        self.chunk_s = chunk_ms / 1000.0
        self.pace = pace
        self._send = send
        self._transcribe = transcribe
        self._on_first_chunk = on_first_chunk
        self.pacing = pacing or Pacing()
        self.connection = connection
        self.text_only = text_only
        self.chunks_sent = 0
        self.words_sent = 0
        self.started = False

    @property
    def audio_s(self) -> float:
        """Duration of the whole reply's audio, seconds (0 in TEXT modality: none is sent)."""
        return 0.0 if self.text_only else len(self.pcm) / 2 / OUTPUT_RATE

    @property
    def spoken_s(self) -> float:
        """Audio sent so far, seconds."""
        return min(self.chunks_sent * self.chunk_s, self.audio_s)

    @property
    def spoken_text(self) -> str:
        """The words sent so far."""
        return " ".join(self.words[: self.words_sent])

    async def run(self) -> None:
        """Send every chunk on the pacing's schedule (cancellable between chunks)."""
        loop = asyncio.get_running_loop()
        n = max(1, math.ceil(len(self.pcm) / self.chunk_bytes))
        offsets = schedule(self.pacing, n, self.chunk_s, self.connection)
        t0 = loop.time()
        self.started = True
        for i in range(n):
            delay = t0 + offsets[i] / self.pace - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            words_due = math.ceil(len(self.words) * (i + 1) / n)
            piece = ""
            if words_due > self.words_sent:
                piece = (" " if self.words_sent else "") + " ".join(self.words[self.words_sent : words_due])
            if self.text_only:
                if piece:
                    await self._send(server_messages.text_part(piece))
            else:
                await self._send(server_messages.audio_chunk(self.pcm[i * self.chunk_bytes : (i + 1) * self.chunk_bytes], OUTPUT_RATE))
            self.chunks_sent = i + 1
            if i == 0 and self._on_first_chunk is not None:
                await self._on_first_chunk()
            if piece:
                self.words_sent = words_due
                if self._transcribe and not self.text_only:
                    # Transcription goes out with the audio that says it: aligned with what
                    # was sent, whatever the pacing.
                    await self._send(server_messages.output_transcription(piece))
