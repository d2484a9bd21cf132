"""A bot written as Pipecat's Gemini Live examples are, under Pipecat's own dev runner, with
either service: only the import differs (``examples/pipecat_example_bot/bot.py``).

The runner runs as a user would run it (``python bot.py -t webrtc``), in its own process, and a
WebRTC peer (aiortc, on loopback) calls it the way its prebuilt page does: ``POST /api/offer``,
a microphone playing real speech (silence first: room for the bot to speak first; then two
caller turns, with the example's settings change, ``temperature=0.1``, between them), and the
bot's audio received and timed.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time

import httpx
import numpy as np
import pytest
from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.contrib.media import MediaPlayer

from pipecat_gemini_live.apps.report import caller_segments
from pipecat_gemini_live.apps.transports.wav import load_wav

from ..conftest import ROOT, build_call

BOT = ROOT / "examples" / "pipecat_example_bot" / "bot.py"
MODEL = "gemini-2.5-flash-native-audio-preview-12-2025"
PARTS = [4.0, "cards_001.wav", 8.0, "cards_003.wav", 4.0]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def wait_listening(port: int, proc: subprocess.Popen, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the runner exited"
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        except OSError:
            await asyncio.sleep(0.2)
    raise TimeoutError("the runner did not start listening")


async def speech_onsets(track, t0: float, until: float, out: list[float]) -> None:
    """Times (s after ``t0``) of received audio frames louder than -40 dBFS."""
    while time.monotonic() < until:
        try:
            frame = await asyncio.wait_for(track.recv(), 1.0)
        except (asyncio.TimeoutError, Exception):
            continue
        pcm = frame.to_ndarray().astype(np.float32)
        if pcm.size and np.sqrt(np.mean(pcm**2)) > 327:
            out.append(time.monotonic() - t0)


async def call_through_the_runner(service: str, tmp_path, script=BOT) -> tuple[list, list[float], str]:
    wav = build_call(tmp_path / f"{service}.wav", PARTS, rate=48000)
    turns = caller_segments(load_wav(wav))
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("GOOGLE_API_KEY", "GEMINI_API_KEY")}
    env.update(GEMINI_LIVE_SERVICE=service, GEMINI_MODEL=MODEL, SETTINGS_CHANGE_AFTER_S="8")
    log = tmp_path / f"{service}-runner.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, str(script), "-t", "webrtc", "--host", "127.0.0.1", "--port", str(port)],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )
        onsets: list[float] = []
        pc = RTCPeerConnection()
        player = None
        try:
            await wait_listening(port, proc)
            player = MediaPlayer(str(wav))
            pc.addTrack(player.audio)
            received: asyncio.Future = asyncio.get_running_loop().create_future()
            pc.on("track", lambda track: received.done() or received.set_result(track))
            await pc.setLocalDescription(await pc.createOffer())
            async with httpx.AsyncClient(timeout=20) as http:
                answer = (
                    await http.post(
                        f"http://127.0.0.1:{port}/api/offer",
                        json={"sdp": pc.localDescription.sdp, "type": "offer"},
                    )
                ).json()
            await pc.setRemoteDescription(RTCSessionDescription(sdp=answer["sdp"], type=answer["type"]))
            t0 = time.monotonic()  # the microphone starts playing as the connection comes up
            track = await asyncio.wait_for(received, 20)
            duration = sum(p if isinstance(p, float) else 0 for p in PARTS) + 6.0
            await speech_onsets(track, t0, t0 + duration, onsets)
        finally:
            await pc.close()
            if player is not None and player.audio is not None:
                player.audio.stop()
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
    return turns, onsets, log.read_text(errors="replace")


@pytest.mark.timeout(120)
@pytest.mark.parametrize("service", ["builtin", "ours"])
async def test_the_example_bot_greets_and_answers_every_turn_under_the_runner(tmp_path, service):
    turns, onsets, log = await call_through_the_runner(service, tmp_path)
    assert len(turns) == 2
    assert "Traceback" not in log, log[-3000:]
    # The bot speaks first: audio long before the caller says anything (at 4 s).
    assert onsets and onsets[0] < 3.0, (onsets[:3], log[-2000:])
    # Every caller turn is answered (the settings change at 8 s falls between them).
    for i, (_, end) in enumerate(turns):
        limit = turns[i + 1][0] if i + 1 < len(turns) else float("inf")
        assert [a for a in onsets if end < a < limit], f"{service}: no bot audio after caller turn {i + 1}"


@pytest.mark.timeout(120)
async def test_the_ready_browser_bot_runs_under_the_runner(tmp_path):
    """``python pipelines/webrtc_bot.py -t webrtc``: the ready bot's ``bot(runner_args)`` under
    Pipecat's runner answers both caller turns."""
    turns, onsets, log = await call_through_the_runner("ours", tmp_path, script=ROOT / "pipelines" / "webrtc_bot.py")
    assert "Traceback" not in log, log[-3000:]
    for i, (_, end) in enumerate(turns):
        limit = turns[i + 1][0] if i + 1 < len(turns) else float("inf")
        assert [a for a in onsets if end < a < limit], f"no bot audio after caller turn {i + 1}: {log[-2000:]}"
