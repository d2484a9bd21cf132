"""The evals/ scenario files and manifest, read by Pipecat's own evals loaders.

Cheap checks for `make test` (no bot is started; `make eval` runs the scenarios): every file
parses, every turn plays a recording that is there, nothing needs what this project cannot run
offline (a judge LLM, a TTS for the user, an STT for the bot), and the manifest runs every
scenario file against bots that exist.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import soundfile
from pipecat.evals.scenario import EvalScenarioFile, is_scenario_file
from pipecat.evals.script import EvalScriptScenario
from pipecat.evals.suite import EvalManifest

from gemini_live_emulator import EmulatorConfig

EVALS = Path(__file__).resolve().parents[2] / "evals"
SCENARIO_FILES = sorted(p for p in (EVALS / "scenarios").rglob("*.yaml") if is_scenario_file(p))


def test_there_are_scenario_files():
    assert len(SCENARIO_FILES) >= 6
    # The shared turns are fragments that scenario files include, not scenarios themselves.
    assert not any(p.parent.name == "turns" for p in SCENARIO_FILES)


@pytest.mark.parametrize("path", SCENARIO_FILES, ids=lambda p: p.stem)
def test_a_scenario_file_loads_and_needs_no_judge_tts_or_stt(path: Path):
    scenarios = EvalScenarioFile.load(path).scenarios
    assert scenarios
    for scenario in scenarios:
        assert isinstance(scenario, EvalScriptScenario)
        assert scenario.user_audio and scenario.user_speech is None  # recordings: no user TTS
        assert not scenario.bot_audio and scenario.transcriber is None  # no STT of the bot
        expectations = [e for turn in scenario.turns for e in turn.expect]
        assert expectations
        assert all(e.eval is None for e in expectations)  # no judge LLM
        # Every expectation has its own budget: the harness default (60 s) hides a slow bot.
        assert all(e.within_ms is not None and e.within_ms <= 40_000 for e in expectations)
        for turn in scenario.turns:
            if turn.user is not None:
                info = soundfile.info(turn.audio)
                assert info.samplerate >= 8000 and info.duration > 0.5, turn.audio


def test_the_manifest_runs_every_scenario_file_on_bots_that_exist():
    manifest = EvalManifest.load(EVALS / "manifest.yaml")
    assert "{bot}" in manifest.spawn and "{port}" in manifest.spawn
    for run in manifest.runs:
        assert run.loaded is not None, f"{run.scenario_path} did not load"
        assert run.bot_path is not None and run.bot_path.is_file(), run.bot
        if run.runner_body is not None:
            EmulatorConfig.model_validate(run.runner_body["emulator"])
    assert {run.scenario_path for run in manifest.runs} == set(SCENARIO_FILES)
    bots = {run.bot_path.name for run in manifest.runs}
    assert {"bot.py", "twilio_bot.py", "webrtc_bot.py", "daily_bot.py"} <= bots


def test_the_loader_refuses_a_broken_scenario(tmp_path: Path):
    """What the checks above rely on: Pipecat's loader refuses a malformed file."""
    broken = tmp_path / "broken.yaml"
    broken.write_text(
        "name: broken\nuser: {modality: audio}\n"
        "scenarios:\n  - name: one\n    turns:\n      - user: hi\n        expect: [{event: response}]\n"
    )
    with pytest.raises(ValueError, match="speech"):
        EvalScenarioFile.load(broken)
