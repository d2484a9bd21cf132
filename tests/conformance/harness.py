"""Run the conformance scenarios through one client and collect what both sides saw.

Every scenario gets an emulator of its own (its faults and scripts fire once), all served from
one background thread with one CA, so a client in another process (another virtualenv, Node)
connects exactly as it would to Google. The client runs every scenario in one process
(``clients/scenarios.py``, ``clients/node_client.mjs``) and prints its results as JSON.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf

from gemini_live_emulator import EmulatorConfig, SessionRecord
from gemini_live_emulator.threaded import EmulatorThread

CLIENTS_DIR = Path(__file__).parent / "clients"
DATA = Path(__file__).parent.parent / "data"

MODEL_25 = "gemini-2.5-flash-native-audio-preview-09-2025"
MODEL_31 = "gemini-3.1-flash-live-preview"
MODEL_38 = "gemini-3.8-live"

# Fast, but slow enough that a barge-in lands mid-reply: replies at 6x real time, 50 ms think.
BASE = {"think_ms": 50, "pace": 6.0}


@dataclass(frozen=True)
class Spec:
    """One scenario run: what the client does (``scenario``) against which emulator."""

    id: str
    scenario: str
    model: str = MODEL_38
    emulator: dict = field(default_factory=dict)


CLOSE_CODES = (1000, 1007, 1008, 1011)

SPECS: tuple[Spec, ...] = (
    Spec("setup", "setup"),
    # The one spec that checks words: recognition on, and the reply waits for the words
    # however late a loaded machine makes them (the rest of the suite runs without it).
    Spec("audio_turn", "audio_turn", MODEL_25, {"asr": True, "listen_timeout_s": 30}),
    Spec("text_turn", "text_turn"),
    # Slower replies here: the caller must talk over one that is still streaming.
    Spec("barge_in", "barge_in", MODEL_25, {"pace": 3.0}),
    Spec("tool_call", "tool_call", emulator={"scenario": ['1:get_weather{"city": "Paris"}']}),
    # 600 s lifetime at 100x: goAway 0.5 s before the close at 6 s (room for a loaded machine).
    Spec("resumption", "resumption", MODEL_25, {"lifetime_s": 600, "goaway_before_s": 50, "time_scale": 100}),
    *(Spec(f"close_{code}", "close", MODEL_25, {"faults": [f"close:{code}@reply"]}) for code in CLOSE_CODES),
    Spec("close_1006", "close", MODEL_25, {"faults": ["drop@reply"]}),
    Spec("client_content_31", "client_content_31", MODEL_31),
    Spec("initial_history_31", "initial_history_31", MODEL_31),
    Spec("ephemeral_token", "ephemeral_token"),
)


def write_audio(directory: Path) -> dict[str, str]:
    """Caller turns as raw 16 kHz PCM16 files (speech, then 0.7 s of silence to end the turn)."""
    out = {}
    for name, source in {"turn1": "cards_001.wav", "turn2": "cards_003.wav", "long": "cards_005.wav"}.items():
        audio, rate = sf.read(str(DATA / source), dtype="int16")
        assert rate == 16000
        pcm = np.concatenate([audio, np.zeros(int(0.7 * rate), dtype=np.int16)]).tobytes()
        path = directory / f"{name}.pcm"
        path.write_bytes(pcm)
        out[name] = str(path)
    return out


@dataclass
class Observed:
    """One scenario through one client: what the client printed, and the emulator's records."""

    spec: Spec
    client: dict
    records: list[SessionRecord]
    rest_calls: list = field(default_factory=list)


@dataclass
class ClientRun:
    """Every scenario through one client."""

    client: dict
    observed: dict[str, Observed]
    stderr: str


def run_client(command: list[str], thread: EmulatorThread, audio: dict[str, str], *, env: dict | None = None,
               specs: tuple[Spec, ...] = SPECS, timeout: float = 240) -> ClientRun:
    """Start an emulator per spec, run ``command`` with the plans on stdin, collect both sides.

    Raises:
        AssertionError: When the client process fails or prints no JSON result.
    """
    emulators, plans = [], []
    for spec in specs:
        emu = thread.start(EmulatorConfig(**{**BASE, **spec.emulator}))
        emulators.append(emu)
        plans.append({
            "scenario": spec.scenario,
            "base_url": emu.base_url,
            "ca_file": emu.ca_file,
            "api_key": emu.api_key,
            "model": spec.model,
            "audio": audio,
        })
    proc = subprocess.run(
        command,
        input=json.dumps({"plans": plans}),
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "NODE_EXTRA_CA_CERTS": thread.ca.ca_file.as_posix(), **(env or {})},
    )
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    assert proc.returncode == 0 and lines, f"client failed ({proc.returncode}):\n{proc.stderr[-3000:]}"
    printed = json.loads(lines[-1])
    observed = {}
    for spec, emu, result in zip(specs, emulators, printed["results"], strict=True):
        try:
            thread.call(emu.wait_closed(timeout=5))
        except TimeoutError:
            pass  # reported by the checks that read close codes
        observed[spec.id] = Observed(spec, result, list(emu.records), list(emu.rest_calls))
    return ClientRun(printed["client"], observed, proc.stderr)
