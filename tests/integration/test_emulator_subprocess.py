"""The emulator as a process: `python -m gemini_live_emulator` prints what a client needs."""

from __future__ import annotations

import asyncio
import json
import ssl
import sys

from google import genai
from google.genai import types

from .sdk_helpers import collect_turn, live_config, speak, transcript


async def test_subprocess_emulator_serves_the_sdk(tmp_path):
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "gemini_live_emulator", "--port", "0", "--think-ms", "50",
        "--ca-dir", str(tmp_path), "--pace", "4",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        line = await asyncio.wait_for(proc.stdout.readline(), 30)
        info = json.loads(line)
        assert info["base_url"].startswith("https://127.0.0.1:")
        assert info["ca_file"] == str(tmp_path / "ca.pem")
        ctx = ssl.create_default_context(cafile=info["ca_file"])
        client = genai.Client(
            api_key=info["api_key"],
            http_options=types.HttpOptions(base_url=info["base_url"], async_client_args={"ssl": ctx}),
        )
        config = live_config("You are the subprocess persona.")
        async with client.aio.live.connect(model="gemini-3.8-live", config=config) as session:
            await speak(session)
            reply = transcript(await collect_turn(session))
        assert "subprocess persona" in reply
    finally:
        proc.terminate()
        await asyncio.wait_for(proc.wait(), 10)
    assert proc.returncode == 0


async def test_subprocess_refuses_a_public_address():
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "gemini_live_emulator", "--host", "0.0.0.0",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 2 and b"loopback only" in err
