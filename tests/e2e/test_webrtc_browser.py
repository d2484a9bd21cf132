"""The browser bot end to end: headless Chromium with a real speech WAV as its microphone.

The server runs as users run it (``python pipelines/webrtc_bot.py``, embedded emulator).
Debian's Chromium, driven by Playwright, opens the bot's own page, connects over WebRTC,
speaks two turns from the WAV, and presses a persona button between them. What the browser
received is checked: the bot's audio is recorded inside the page (WebAudio on the remote
track), and the page's live transcript is read.
"""

from __future__ import annotations

import asyncio
import base64
import os
import socket
import subprocess
import sys
import time

import httpx
import numpy as np
import pytest
import soundfile as sf

from ..conftest import ROOT, build_call
from .browser_setup import CHROMIUM_ARGS, BrowserUnavailable, ensure_chromium

SERVER = ROOT / "pipelines" / "webrtc_bot.py"
LEAD_S, FIRST, GAP_S, SECOND, TAIL_S = 3.0, "cards_005.wav", 9.0, "librivox_0880.wav", 8.0

# Test-side instrumentation, injected into the page (the page itself has no test hooks):
# when the fake microphone starts, and a recorder for the bot's audio as the browser plays it.
MIC_CLOCK = """
const realGetUserMedia = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
navigator.mediaDevices.getUserMedia = async (constraints) => {
  const stream = await realGetUserMedia(constraints);
  window.__micStartedAt = performance.now();
  return stream;
};
"""
START_RECORDER = """
() => {
  const stream = document.getElementById('bot-audio').srcObject;
  const ctx = new AudioContext();
  const source = ctx.createMediaStreamSource(stream);
  const tap = ctx.createScriptProcessor(4096, 1, 1);
  const rec = { chunks: [], rate: ctx.sampleRate, startedAt: performance.now() };
  tap.onaudioprocess = (e) => rec.chunks.push(new Float32Array(e.inputBuffer.getChannelData(0)));
  source.connect(tap);
  tap.connect(ctx.destination);
  window.__rec = rec;
  return ctx.state;
}
"""
DUMP_RECORDER = """
() => {
  const rec = window.__rec;
  let n = 0;
  for (const c of rec.chunks) n += c.length;
  const pcm = new Int16Array(n);
  let i = 0;
  for (const c of rec.chunks) for (const v of c) pcm[i++] = Math.max(-32768, Math.min(32767, Math.round(v * 32767)));
  const bytes = new Uint8Array(pcm.buffer);
  let s = '';
  for (let k = 0; k < bytes.length; k += 0x8000) s += String.fromCharCode.apply(null, bytes.subarray(k, k + 0x8000));
  return { rate: rec.rate, startedAt: rec.startedAt, micStartedAt: window.__micStartedAt, pcm: btoa(s) };
}
"""


@pytest.fixture(scope="session")
def chromium() -> str:
    try:
        return ensure_chromium()
    except BrowserUnavailable as e:
        pytest.skip(f"headless Chromium unavailable: {e}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("GOOGLE_API_KEY", "GEMINI_API_KEY")}
    log = open(tmp_path / "server.log", "w")
    proc = subprocess.Popen(
        [sys.executable, str(SERVER), "--host", "127.0.0.1", "--port", str(port), "--think-ms", "200"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"{base}/api/status", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise AssertionError(f"the bot server did not start:\n{(tmp_path / 'server.log').read_text()}")
        time.sleep(0.2)
    yield base
    proc.terminate()
    try:
        code = proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
        code = None
    log.close()
    text = (tmp_path / "server.log").read_text()
    # SIGTERM is how a process manager stops it: the app ends its calls and the emulator, then
    # uvicorn re-raises the signal (exit -15) as process managers expect.
    assert code in (0, -15) and "browser bot shut down after 1 call(s)" in text, f"exit {code}:\n{text[-3000:]}"
    assert "Traceback" not in text, text[-3000:]


def loud_segments(pcm: np.ndarray, rate: int, threshold: float = 300.0, window_s: float = 0.05, bridge_s: float = 0.5):
    """(start_s, end_s, rms) of the stretches above ``threshold`` RMS, short gaps bridged."""
    n = int(rate * window_s)
    frames = pcm[: len(pcm) // n * n].astype(float).reshape(-1, n)
    rms = np.sqrt((frames**2).mean(axis=1))
    segments: list[list[float]] = []
    for i in np.flatnonzero(rms > threshold):
        t = i * window_s
        if segments and t - segments[-1][1] <= bridge_s:
            segments[-1][1] = t + window_s
        else:
            segments.append([t, t + window_s])
    return [(s, e, float(np.sqrt((pcm[int(s * rate) : int(e * rate)].astype(float) ** 2).mean()))) for s, e in segments]


@pytest.mark.timeout(600)  # includes installing Chromium on a fresh machine
async def test_browser_call_with_persona_switch(chromium, server, tmp_path):
    from playwright.async_api import async_playwright

    wav = build_call(tmp_path / "caller.wav", [LEAD_S, FIRST, GAP_S, SECOND, TAIL_S])
    caller, caller_rate = sf.read(str(wav), dtype="int16")
    # Where turn 1's speech really ends (recordings carry some silence of their own).
    first_end_s = max(e for _, e, _ in loud_segments(caller, caller_rate, window_s=0.01) if e < LEAD_S + GAP_S / 2)
    assert LEAD_S + 2 < first_end_s < LEAD_S + 4
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=chromium,
            headless=True,
            args=[
                *CHROMIUM_ARGS,
                "--use-fake-device-for-media-stream",
                "--use-fake-ui-for-media-stream",
                f"--use-file-for-fake-audio-capture={wav}%noloop",
            ],
        )
        try:
            page = await browser.new_page()
            await page.add_init_script(MIC_CLOCK)
            await page.goto(server)
            await page.click("#connect")
            await page.wait_for_function("document.getElementById('bot-audio').srcObject !== null", timeout=20000)
            assert await page.evaluate(START_RECORDER) == "running"
            await page.wait_for_selector("#personas button[data-persona=pirate]", timeout=10000)
            assert await page.get_attribute("#personas", "data-current") == "assistant"

            # Turn 1 is answered; then the caller presses "Pirate" before their second turn.
            await page.wait_for_selector(".line.bot:not(.speaking)", timeout=30000)
            await page.click("#personas button[data-persona=pirate]")
            await page.wait_for_function(
                "document.getElementById('personas').dataset.current === 'pirate'", timeout=10000
            )
            await page.wait_for_function(
                "document.querySelectorAll('.line.bot:not(.speaking)').length >= 2", timeout=40000
            )
            await asyncio.sleep(0.5)
            bot_lines = await page.locator(".line.bot").all_inner_texts()
            user_lines = await page.locator(".line.user").all_inner_texts()
            notes = await page.locator(".line.note").all_inner_texts()
            errors = await page.locator(".line.error").all_inner_texts()
            recorded = await page.evaluate(DUMP_RECORDER)

            # Hanging up ends the call on the server promptly.
            await page.click("#disconnect")
            async with httpx.AsyncClient() as http:
                deadline = time.monotonic() + 10
                while (await http.get(f"{server}/api/status")).json()["active_calls"]:
                    assert time.monotonic() < deadline, "the server kept the call after the page hung up"
                    await asyncio.sleep(0.2)
        finally:
            await browser.close()

    # The transcript the page showed: who answered, in which persona, and what it heard.
    assert errors == []
    assert len(bot_lines) == 2 and len(user_lines) == 2, (bot_lines, user_lines)
    assert bot_lines[0].startswith("You are a helpful assistant") and "no earlier turns" in bot_lines[0]
    assert bot_lines[1].startswith("You are a cheerful pirate captain")
    assert all("caller speech" in line for line in user_lines)  # recognition off: the suite's default
    assert len(notes) == 1 and "pirate" in notes[0]

    # The audio the browser received: two audible replies, each seconds long, silence around.
    pcm = np.frombuffer(base64.b64decode(recorded["pcm"]), dtype=np.int16)
    rate = recorded["rate"]
    sf.write(str(tmp_path / "received.wav"), pcm, rate)
    segments = loud_segments(pcm, rate)
    assert len(segments) == 2, segments
    for start, end, rms in segments:
        assert end - start > 2.0, segments
        assert rms > 800, segments  # about -32 dBFS: speech, not noise
    assert np.abs(pcm[: int(segments[0][0] * rate) - rate // 10]).max() < 100

    # The first reply reached the browser after the caller's first turn ended (the emulator
    # waits 500 ms of silence and thinks 200 ms; WebRTC adds its buffering), not before and
    # not seconds late.
    reply_at_ms = recorded["startedAt"] + segments[0][0] * 1000
    latency_ms = reply_at_ms - (recorded["micStartedAt"] + first_end_s * 1000)
    print(f"browser-side response latency, turn 1: {latency_ms:.0f} ms")
    assert 700 < latency_ms < 2500, latency_ms
