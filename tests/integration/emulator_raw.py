"""A raw WebSocket client of the emulator (no SDK): for malformed and hostile messages."""

from __future__ import annotations

import asyncio
import json
import ssl

import websockets

PATH = "/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent"
MODEL = "gemini-3.8-live"


async def exchange(emu, messages: list, *, key: str | None = None, timeout: float = 5.0) -> tuple[int | None, str, list]:
    """Send ``messages`` (dicts are JSON-encoded, str/bytes sent as they are), then read until the
    server closes. Returns (close code, reason, server messages seen)."""
    ctx = ssl.create_default_context(cafile=emu.ca_file)
    url = emu.base_url.replace("https", "wss") + PATH
    seen = []
    async with websockets.connect(
        url, ssl=ctx, additional_headers={"x-goog-api-key": key or emu.api_key}, max_size=None
    ) as ws:
        try:
            for m in messages:
                await ws.send(json.dumps(m) if isinstance(m, dict) else m)
            while True:
                seen.append(await asyncio.wait_for(ws.recv(), timeout))
        except websockets.exceptions.ConnectionClosed:
            pass
        except asyncio.TimeoutError:
            return None, "", seen
        return ws.close_code, ws.close_reason or "", seen


async def good_call(emu) -> bool:
    """A setup and a typed turn answered: the emulator still serves calls."""
    ctx = ssl.create_default_context(cafile=emu.ca_file)
    url = emu.base_url.replace("https", "wss") + PATH
    async with websockets.connect(url, ssl=ctx, additional_headers={"x-goog-api-key": emu.api_key}) as ws:
        await ws.send(json.dumps({"setup": {"model": f"models/{MODEL}"}}))
        assert "setupComplete" in json.loads(await asyncio.wait_for(ws.recv(), 5))
        await ws.send(json.dumps({"realtimeInput": {"text": "Hello there."}}))
        while True:
            msg = json.loads(await asyncio.wait_for(ws.recv(), 10))
            if msg.get("serverContent", {}).get("turnComplete"):
                return True
