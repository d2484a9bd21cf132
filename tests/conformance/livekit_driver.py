"""Drives LiveKit's Google realtime plugin (``livekit-plugins-google``) against the emulator.

The plugin is a client nobody here wrote, built against the real server: its
``RealtimeSession`` is used as LiveKit's ``AgentSession`` uses it (``push_audio`` with
``rtc.AudioFrame``, ``generation_created`` events carrying the reply's audio and text streams,
function calls answered through ``update_chat_ctx``), without a LiveKit room or server.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field

import numpy as np
from livekit import rtc
from livekit.agents import llm
from livekit.plugins import google

from ..conftest import speech

FRAME_S = 0.05  # the plugin's own input chunk (50 ms at 16 kHz)


@dataclass
class Generation:
    """One reply as the plugin delivered it."""

    text: str = ""
    audio_bytes: int = 0
    calls: list[llm.FunctionCall] = field(default_factory=list)
    done: asyncio.Event = field(default_factory=asyncio.Event)


class PluginSession:
    """A ``google.realtime.RealtimeModel`` session pointed at ``emu``, and what it reported.

    Attributes:
        generations: Replies in arrival order.
        inputs: Final input transcriptions (``is_final``) in order.
        interim_inputs: Non-final input transcriptions.
        speech_started: How many ``input_speech_started`` events (the plugin's barge-in signal).
        errors: ``error`` events.
    """

    def __init__(self, emu, model: str, instructions: str, tools: list | None = None, **kwargs):
        self.model = google.realtime.RealtimeModel(
            model=model,
            api_key=emu.api_key,
            http_options=emu.http_options(),
            instructions=instructions,
            input_audio_transcription={},
            output_audio_transcription={},
            **kwargs,
        )
        self.session = self.model.session()
        self.generations: list[Generation] = []
        self.inputs: list[str] = []
        self.interim_inputs: list[str] = []
        self.speech_started = 0
        self.errors: list = []
        self._readers: list[asyncio.Task] = []
        self.session.on("generation_created", self._on_generation)
        self.session.on("input_audio_transcription_completed", self._on_input)
        self.session.on("input_speech_started", self._on_speech_started)
        self.session.on("error", self.errors.append)
        self._tools = tools

    async def start(self) -> "PluginSession":
        if self._tools:
            await self.session.update_tools(self._tools)
        return self

    def _on_speech_started(self, _event) -> None:
        self.speech_started += 1

    def _on_input(self, event: llm.InputTranscriptionCompleted) -> None:
        (self.inputs if event.is_final else self.interim_inputs).append(event.transcript)

    def _on_generation(self, event: llm.GenerationCreatedEvent) -> None:
        gen = Generation()
        self.generations.append(gen)
        self._readers.append(asyncio.create_task(self._read(event, gen)))

    async def _read(self, event: llm.GenerationCreatedEvent, gen: Generation) -> None:
        async def messages():
            async for message in event.message_stream:
                async def audio(stream=message.audio_stream):
                    async for frame in stream:
                        gen.audio_bytes += len(frame.data.tobytes())

                async def text(stream=message.text_stream):
                    async for piece in stream:
                        gen.text += piece

                await asyncio.gather(audio(), text())

        async def calls():
            async for call in event.function_stream:
                gen.calls.append(call)

        try:
            await asyncio.gather(messages(), calls())
        finally:
            gen.done.set()

    async def speak(self, name: str, silence_s: float = 1.0, realtime: bool = True) -> None:
        """Push a recording from tests/data, then silence, as 16 kHz mono frames."""
        pcm = np.concatenate([speech(name), np.zeros(int(16000 * silence_s), dtype=np.int16)])
        step = int(16000 * FRAME_S)
        for i in range(0, pcm.size, step):
            chunk = pcm[i : i + step]
            self.session.push_audio(
                rtc.AudioFrame(data=chunk.tobytes(), sample_rate=16000, num_channels=1, samples_per_channel=chunk.size)
            )
            await asyncio.sleep(FRAME_S if realtime else 0.005)

    async def reply(self, index: int, timeout: float = 30.0) -> Generation:
        """The ``index``-th reply, once its streams ended."""
        async def wait():
            while len(self.generations) <= index:
                await asyncio.sleep(0.02)
            await self.generations[index].done.wait()

        await asyncio.wait_for(wait(), timeout)
        return self.generations[index]

    async def answer_calls(self, gen: Generation, result: dict) -> None:
        """Answer every call of ``gen`` with ``result``, as the agent's tool execution does."""
        ctx = self.session.chat_ctx.copy()
        for call in gen.calls:
            ctx.items.append(call)
            ctx.items.append(
                llm.FunctionCallOutput(call_id=call.call_id, name=call.name, output=json.dumps(result), is_error=False)
            )
        await self.session.update_chat_ctx(ctx)

    async def aclose(self) -> None:
        await self.session.aclose()
        for task in self._readers:
            task.cancel()
        await asyncio.gather(*self._readers, return_exceptions=True)
        await self.model.aclose()
