"""Scale-out: three Twilio bot instances behind Debian's HAProxy with deploy/haproxy.cfg, all on
loopback. Calls are placed through the load balancer with streamdouble (webhook, then the media
stream at the URL the webhook answered), as Twilio would.

Two instances are separate processes (``pipelines/twilio_bot.py``), the third is uvicorn with
two workers. Webhooks go round-robin and streams are hashed on their path, so a call's webhook
and stream land on different instances; nothing but the shared token secret connects them.
Then one instance is killed (SIGKILL) with calls on it: those calls end at once, the calls on
the other instances carry on, and new calls are answered by the survivors.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from streamdouble.protocol import StreamIdentity
from streamdouble.session import SessionConfig

from bench.harness import Served, free_port, place_call, ulaw_frames
from gemini_live_emulator.config import ASR_ENV
from pipecat_gemini_live.apps.transports.wav import load_wav

from ..conftest import ROOT, build_call
from .lb_setup import LoadBalancerUnavailable, ensure_haproxy

AUTH_TOKEN = "tw-auth-ScaleOut-55e1"
pytestmark = [pytest.mark.timeout(240), pytest.mark.xdist_group("scale-out")]


@pytest.fixture(scope="module")
def haproxy() -> str:
    try:
        return ensure_haproxy(log=lambda m: None)
    except LoadBalancerUnavailable as e:
        pytest.skip(f"no load balancer: {e}")


class Instance:
    """One bot instance: a process group we started, its port and its log file."""

    def __init__(self, name: str, port: int, env: dict, log: Path, workers: int = 0):
        self.name, self.port, self.log = name, port, log
        if workers:
            cmd = [sys.executable, "-m", "uvicorn", "--factory", "pipelines.twilio_bot:create_app",
                   "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
                   "--ws-max-size", "65536", "--ws-max-queue", "8", "--log-level", "warning"]
        else:
            cmd = [sys.executable, "pipelines/twilio_bot.py", "--port", str(port)]
        self.proc = subprocess.Popen(
            cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=open(log, "w"), start_new_session=True
        )

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def calls(self, what: str) -> set[str]:
        """CallSids this instance logged ``answered`` (webhook), ``streaming`` or ``ended`` for."""
        return set(re.findall(rf"twilio-bot: call (CA[0-9a-f]{{32}}) {what}", self.text()))

    def kill(self) -> None:
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()


async def wait_healthy(url: str, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    async with httpx.AsyncClient(timeout=2) as http:
        while True:
            try:
                if (await http.get(url + "/healthz")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, f"{url} did not come up"
            await asyncio.sleep(0.2)


@pytest.fixture
async def cluster(haproxy, tmp_path):
    lb_port = free_port()
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "PUBLIC_URL": f"http://127.0.0.1:{lb_port}",
        "STREAM_TOKEN_SECRET": "shared-by-every-instance",
        "TWILIO_API_BASE_URL": "http://127.0.0.1:9",  # hang-ups never leave loopback
        "PYTHONPATH": str(ROOT),
        ASR_ENV: os.environ.get(ASR_ENV, "0"),  # recognition off, as in the rest of the suite
    }
    instances = [
        Instance("bot1", free_port(), env, tmp_path / "bot1.log"),
        Instance("bot2", free_port(), env, tmp_path / "bot2.log"),
        Instance("bot3", free_port(), env, tmp_path / "bot3.log", workers=2),
    ]
    lb_env = {
        **env,
        "LB_BIND": f"127.0.0.1:{lb_port}",
        **{i.name.upper(): f"127.0.0.1:{i.port}" for i in instances},
    }
    lb = None
    try:
        await asyncio.gather(*(wait_healthy(f"http://127.0.0.1:{i.port}", 90) for i in instances))
        lb = subprocess.Popen(
            [haproxy, "-db", "-f", str(ROOT / "deploy" / "haproxy.cfg")],
            env=lb_env, stdout=subprocess.DEVNULL, stderr=open(tmp_path / "haproxy.log", "w"), start_new_session=True,
        )
        await wait_healthy(f"http://127.0.0.1:{lb_port}", 20)
        yield Served(f"http://127.0.0.1:{lb_port}"), instances
    finally:
        if lb is not None:
            os.killpg(lb.pid, signal.SIGTERM)
            lb.wait(10)
        for i in instances:
            i.stop()
    for i in instances:
        assert "Traceback" not in i.text() or i.proc.returncode == -signal.SIGKILL, i.text()[-3000:]


async def call(served: Served, frames: list[bytes]):
    identity = StreamIdentity()
    result = await place_call(
        served, frames=frames, identity=identity, auth_token=AUTH_TOKEN,
        config=SessionConfig(response_timeout_s=8.0, quiet_period_s=0.5),
    )
    return identity.call_sid, result


def where(instances: list[Instance], call_sid: str, what: str) -> list[str]:
    return [i.name for i in instances if call_sid in i.calls(what)]


async def test_calls_through_the_load_balancer_survive_losing_an_instance(cluster, tmp_path):
    served, instances = cluster
    short = ulaw_frames(load_wav(build_call(tmp_path / "s.wav", [0.3, "cards_001.wav", 2.5], rate=8000, subtype="ULAW")))
    long = ulaw_frames(load_wav(build_call(
        tmp_path / "l.wav", [0.3, "cards_001.wav", 3.0, "cards_003.wav", 3.0, "cards_005.wav", 3.0], rate=8000,
        subtype="ULAW",
    )))

    # 1. Six calls at once through the load balancer: all answered; webhooks round-robin, each
    #    call's stream on one instance, and some calls' webhook and stream on different ones.
    results = await asyncio.gather(*(call(served, short) for _ in range(6)))
    for sid, r in results:
        assert r.closed_by is None and r.audio_received, (sid, r.closed_by)
        assert len(where(instances, sid, "answered")) == 1 and len(where(instances, sid, "streaming")) == 1
    assert {where(instances, sid, "answered")[0] for sid, _ in results} == {"bot1", "bot2", "bot3"}
    crossed = [sid for sid, _ in results if where(instances, sid, "answered") != where(instances, sid, "streaming")]
    assert crossed, "every call's webhook and stream landed on the same instance"

    # 2. Calls in progress; one instance that carries some of them is killed.
    running = [asyncio.create_task(call(served, long)) for _ in range(5)]
    deadline = time.monotonic() + 20
    live: dict[str, set[str]] = {}
    while time.monotonic() < deadline:
        live = {i.name: i.calls("streaming") - i.calls("ended") - {s for s, _ in results} for i in instances}
        if sum(len(v) for v in live.values()) == 5:
            break
        await asyncio.sleep(0.2)
    assert sum(len(v) for v in live.values()) == 5, live
    busy = sorted((i for i in instances if live[i.name]), key=lambda i: len(live[i.name]))
    victim = busy[0]  # the least busy instance with calls, so others keep some
    await asyncio.sleep(1.0)
    killed_at = time.monotonic()
    victim.kill()
    ended = await asyncio.wait_for(asyncio.gather(*running), 60)
    lost = 0
    for sid, r in ended:
        if sid in live[victim.name]:
            # The dead instance's calls end at once: the stream closes, nobody waits on silence.
            assert r.closed_by is not None, sid
            assert max(e.at for e in r.events) - killed_at < 5.0  # the recording had ~10 s left
            lost += 1
        else:
            # The others' calls carry on to the end, every turn answered.
            assert r.closed_by is None and r.audio_received, (sid, r.closed_by)
            assert len(r.events_of("media_received")) > 0

    assert lost == len(live[victim.name]) >= 1
    print(f"calls per instance at the kill: { {k: len(v) for k, v in live.items()} }; killed {victim.name}")

    # 3. New calls go to the survivors and are answered.
    survivors = {i.name for i in instances if i is not victim}
    fresh = await asyncio.gather(*(call(served, short) for _ in range(4)))
    for sid, r in fresh:
        assert r.closed_by is None and r.audio_received, (sid, r.closed_by)
        assert set(where(instances, sid, "streaming")) <= survivors and where(instances, sid, "streaming")
