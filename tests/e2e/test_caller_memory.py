"""A caller remembered across calls: the Twilio bot with ``CALLER_MEMORY`` on, called twice from
the same number with streamdouble, then told to forget them with the memory CLI.

The second call's first Live session must be seeded with the first call's turns as the database
holds them (the emulator records what the session was sent), and the number must appear nowhere
in the database.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys

import pytest
from streamdouble.protocol import StreamIdentity
from streamdouble.session import SessionConfig

from bench.harness import free_port, place_call, serve, ulaw_frames, webhook_form
from gemini_live_emulator import EmulatorConfig, LiveEmulator
from pipecat_gemini_live.apps.memory import NEW_CALL_NOTE, MemoryStore, caller_secret, phone_caller_key
from pipecat_gemini_live.apps.memory.phone import PhoneMemory
from pipecat_gemini_live.apps.transports.wav import load_wav
from pipelines.twilio_bot import TwilioBotConfig, TwilioCall, create_app

from ..conftest import ROOT, build_call
from .test_twilio_bot import AUTH_TOKEN, wait_finished

NUMBER = webhook_form("CA" + "0" * 32)["From"]  # the number the harness's webhook carries


def seeded_texts(record) -> list[str]:
    """The text of every turn the session was sent in ``clientContent``, in order (the
    emulator records each turn as ``{"role", "text"}``)."""
    return [turn["text"] for body in record.client_content for turn in body.get("turns", [])]


@pytest.mark.parametrize("model", ["gemini-2.5-flash-native-audio-preview-09-2025", "gemini-3.1-flash-live-preview"])
async def test_a_caller_is_remembered_across_calls_and_forgotten_on_request(tmp_path, model):
    caller = load_wav(
        build_call(tmp_path / "caller.wav", [0.5, "cards_001.wav", 3.0, "cards_003.wav", 3.0], rate=8000, subtype="ULAW")
    )
    env = {**os.environ, "CALLER_KEY_SECRET": "memory-test-secret", "GEMINI_LIVE_DATA_DIR": str(tmp_path / "data")}
    url = f"sqlite:///{tmp_path / 'memory.sqlite3'}"
    store = MemoryStore(url)
    key = phone_caller_key(NUMBER, caller_secret(env))
    calls: list[TwilioCall] = []

    async with LiveEmulator(EmulatorConfig(think_ms=100, words_per_minute=400)) as emu:
        port = free_port()
        bot = TwilioBotConfig(
            auth_token=AUTH_TOKEN,
            public_url=f"http://127.0.0.1:{port}",
            model=model,
            system_instruction="Be brief.",
            memory=PhoneMemory(store, caller_secret(env)),
        )

        async def call() -> list:
            """One call from NUMBER; returns the emulator records of its sessions."""
            before = len(emu.records)
            calls.clear()
            result = await place_call(
                served,
                frames=ulaw_frames(caller),
                identity=StreamIdentity(),
                auth_token=AUTH_TOKEN,
                config=SessionConfig(response_timeout_s=10.0, quiet_period_s=1.0),
            )
            await wait_finished(calls)
            assert result.violations == [] and result.closed_by is None
            return list(emu.records)[before:]

        async with serve(create_app(bot, emulator=emu, on_call=calls.append), port=port) as served:
            first = await call()
            remembered = store.recent(key)
            # Both caller turns and both replies were written while the call ran.
            assert [t.role for t in remembered].count("model") == 2, remembered
            assert {t.role for t in remembered} == {"user", "model"}
            assert not seeded_texts(first[0])  # a stranger's first call starts with no memory

            second = await call()
            # The second call's first session opened with the first call's turns, from the database.
            texts = seeded_texts(second[0])
            for turn in remembered:
                assert turn.text in "\n".join(texts)
            assert texts[-1].endswith(NEW_CALL_NOTE)
            # Taken as the profile's seed (3.1: initial history before any audio), never a 1007.
            assert second[0].server_close_code is None and second[0].client_close_code == 1000
            assert len(second) == 1  # no hand-over was needed to carry the memory

            stored = store.count(key)
            assert stored >= 2 * len(remembered)  # the second call's turns were written too
            # Forget the caller with the CLI, by their number and the deployment's secret.
            forget = await asyncio.to_thread(
                subprocess.run,
                [sys.executable, "-m", "pipecat_gemini_live.apps.memory", "--db", url, "forget", "--phone", NUMBER],
                env=env, cwd=ROOT, capture_output=True, text=True, timeout=60,
            )
            assert forget.returncode == 0, forget.stderr
            assert forget.stdout.strip() == f"forgot {stored} turns"
            assert store.count(key) == 0

            third = await call()
            assert not seeded_texts(third[0])  # forgotten: the third call starts afresh
            assert store.engine.pool.checkedin() > 0
        assert store.engine.pool.checkedin() == 0  # the app's shutdown disposed of the store's connections
    assert store.count(key) > 0  # ...and is remembered from now on
    raw = (tmp_path / "memory.sqlite3").read_bytes()
    assert NUMBER.encode() not in raw and NUMBER[2:].encode() not in raw
    store.close()


async def test_a_stream_cannot_claim_another_callers_memory(tmp_path):
    """The caller key rides in the stream's parameters, bound to the call's token: a stream that
    swaps it (or drops it) for another caller's is refused before anything runs."""
    from bench.harness import post_webhook, stream_parameters, stream_target

    from .test_twilio_hostile import closed_with, start_json

    store = MemoryStore(f"sqlite:///{tmp_path / 'memory.sqlite3'}")
    memory = PhoneMemory(store, b"t" * 32)
    async with LiveEmulator() as emu:
        port = free_port()
        bot = TwilioBotConfig(auth_token=AUTH_TOKEN, public_url=f"http://127.0.0.1:{port}", memory=memory)
        async with serve(create_app(bot, emulator=emu), port=port) as served:
            identity = StreamIdentity()
            answer = await post_webhook(served, identity.call_sid, auth_token=AUTH_TOKEN)
            params = stream_parameters(answer.text)
            assert params["caller"] == phone_caller_key(NUMBER, b"t" * 32)
            assert NUMBER not in answer.text and NUMBER[2:] not in answer.text
            url = stream_target(answer.text)
            for forged in ({**params, "caller": "tel:" + "0" * 64}, {"token": params["token"]}):
                start = json.loads(start_json(identity, None))
                start["start"]["customParameters"] = forged
                close = await closed_with(url, json.dumps(start))
                assert close.code == 1008 and "token" in close.reason, close
            assert not emu.records  # no Live session was opened for them
    store.close()
