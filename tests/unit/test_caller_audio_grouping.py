"""How the service groups caller audio into messages: at once where the server decides, in
longer messages through long silences."""

from __future__ import annotations

import asyncio
import math
import struct

from pipecat.frames.frames import InputAudioRawFrame

from pipecat_gemini_live.call.caller_audio import QUIET_BATCH_S, CallerAudio
from pipecat_gemini_live.call.link import CallHooks, SessionLink

RATE = 16000
FRAME_S = 0.02


class FakeSession:
    ready = True

    def __init__(self):
        self.sent: list[int] = []  # bytes per message

    async def send_audio(self, audio: bytes, sample_rate: int) -> None:
        self.sent.append(len(audio))


def _frame(voiced: bool) -> InputAudioRawFrame:
    n = int(RATE * FRAME_S)
    amp = 8000 if voiced else 0
    pcm = b"".join(struct.pack("<h", int(amp * math.sin(2 * math.pi * 440 * i / RATE))) for i in range(n))
    return InputAudioRawFrame(audio=pcm, sample_rate=RATE, num_channels=1)


def _caller() -> tuple[CallerAudio, FakeSession]:
    async def nothing(*_a, **_k):
        return None

    hooks = CallHooks(nothing, nothing, nothing, nothing, lambda c, name=None: asyncio.ensure_future(c), nothing,
                      lambda _k, _m: None, lambda m=None: 0.0)  # fmt: skip
    link = SessionLink(5.0)
    session = FakeSession()
    link.session = session  # type: ignore[assignment]
    return CallerAudio(link, hooks, lambda: False), session


def test_long_silence_goes_in_longer_messages_and_an_onset_goes_at_once():
    caller, session = _caller()
    frame_bytes = int(RATE * FRAME_S) * 2

    async def run():
        for _ in range(4):  # speech: the onset at once, then 60 ms groups (nothing left pending)
            await caller.on_frame(_frame(True))
        session.sent.clear()
        for _ in range(50 + 40):  # 1 s end-of-speech window, then 0.8 s of long silence
            await caller.on_frame(_frame(False))
        per_message = round(QUIET_BATCH_S / FRAME_S)
        assert session.sent[:49] == [frame_bytes] * 49  # the window: every frame at once
        assert session.sent[-3:] == [per_message * frame_bytes] * 3  # then QUIET_BATCH_S each
        assert sum(session.sent) + frame_bytes * len(caller.batcher.pending) == 90 * frame_bytes
        caller.batcher.pending and await caller.flush_batch()
        for _ in range(3):
            await caller.on_frame(_frame(False))
        session.sent.clear()
        await caller.on_frame(_frame(True))  # the onset takes the pending silence with it, at once
        assert session.sent == [4 * frame_bytes]
        assert caller.counters.sent == 4 + 90 + 3 + 1

    asyncio.run(run())
