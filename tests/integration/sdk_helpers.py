"""Drive the emulator with the unmodified google-genai SDK."""

from __future__ import annotations

import asyncio

import numpy as np
from google import genai
from google.genai import types

from ..conftest import speech


def client_for(emu, api_version: str | None = None, api_key: str | None = None) -> genai.Client:
    return genai.Client(api_key=api_key or emu.api_key, http_options=emu.http_options(api_version))


def live_config(system_instruction: str | None = "You are a test assistant.", **kw) -> types.LiveConnectConfig:
    return types.LiveConnectConfig(
        response_modalities=["AUDIO"],
        system_instruction=system_instruction,
        input_audio_transcription={},
        output_audio_transcription={},
        **kw,
    )


async def speak(session, name: str = "cards_001.wav", silence_s: float = 0.7, realtime: bool = False) -> None:
    """Send a recording then silence, as 20 ms chunks (faster than real time unless asked)."""
    audio = np.concatenate([speech(name), np.zeros(int(16000 * silence_s), dtype=np.int16)])
    for i in range(0, len(audio), 320):
        await session.send_realtime_input(
            audio=types.Blob(data=audio[i : i + 320].tobytes(), mime_type="audio/pcm;rate=16000")
        )
        if realtime:
            await asyncio.sleep(0.02)


async def collect_turn(session, timeout: float = 15.0) -> list[types.LiveServerMessage]:
    """Messages up to and including the next turnComplete."""
    out: list[types.LiveServerMessage] = []

    async def _read():
        async for message in session.receive():
            out.append(message)
            if message.server_content and message.server_content.turn_complete:
                return

    await asyncio.wait_for(_read(), timeout)
    return out


def transcript(messages) -> str:
    return "".join(
        m.server_content.output_transcription.text
        for m in messages
        if m.server_content and m.server_content.output_transcription
    )


def audio_bytes(messages) -> int:
    total = 0
    for m in messages:
        if m.server_content and m.server_content.model_turn:
            for p in m.server_content.model_turn.parts or []:
                if p.inline_data:
                    total += len(p.inline_data.data)
    return total
