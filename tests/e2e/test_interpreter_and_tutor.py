"""Template personas in the main job on real speech: the live interpreter (three caller turns,
each answered in the target language's voice, the pair switched mid-call) and the tutor (its
rendered instruction reaches the session), on the 2.5 and 3.1 profiles.

The emulator does not translate: told to (the interpreter's instruction), it answers each turn
with the words it heard marked with the target language (``[es-ES] ...``), spoken in that
language's voice. What is asserted is that mark on every reply, the words heard (with recognition
on), the setup's ``speechConfig.languageCode``, and that no connection was refused.
"""

from __future__ import annotations

import asyncio
import re

import pytest

from gemini_live_emulator import EmulatorConfig, LiveEmulator
from gemini_live_emulator.model.asr import word_error_rate
from gemini_live_emulator.wire import get
from pipecat_gemini_live.apps.personas.interpreter import LanguagePair
from pipecat_gemini_live.apps.personas.specs import persona_from_spec
from pipecat_gemini_live.service import GeminiLiveLLMService
from pipecat_gemini_live.apps.wav_call import WavCallOptions, run_wav_call
from pipelines.interpreter import interpret
from pipelines.wav_call import main as main_job
from pipelines.wav_call import template_change

from ..conftest import ROOT

CALLER = ROOT / "pipelines" / "audio" / "caller_3turns_16k.wav"
MODELS = ["gemini-2.5-flash-native-audio-preview-09-2025", "gemini-3.1-flash-live-preview"]
TUTOR_SPEC = 'tutor:{"age": 7, "level": 3, "guidelines": ["Give hints, not direct answers."]}'


def language_code(record) -> str | None:
    speech = get(get(record.setup, "generationConfig", {}), "speechConfig", {})
    return get(speech, "languageCode")


def instruction(record) -> str:
    content = get(record.setup, "systemInstruction", {})
    return "".join(p.get("text", "") for p in get(content, "parts", []))


async def interpreter_call(model: str, tmp_path):
    spanish = LanguagePair.parse("en-US:es-ES")
    async with LiveEmulator(EmulatorConfig(think_ms=200, pace=2.0)) as emu:
        opts = WavCallOptions(
            input=CALLER,
            output=tmp_path / f"{model}.wav",
            model=model,
            system_instruction=spanish.instruction(),
            # Between turn 2's reply and turn 3 (the caller speaks at 19.5 s).
            persona_changes=[template_change("19.1=en-US:fr-FR", "interpreter:")],
        )
        settings = GeminiLiveLLMService.Settings(language=spanish.target)
        report = await run_wav_call(opts, emulator=emu, say=None, service_kwargs={"settings": settings})
        await asyncio.sleep(0.2)  # let the emulator see the last close
        return report, list(emu.records)


@pytest.mark.timeout(150)
async def test_the_interpreter_answers_every_turn_in_the_target_language(tmp_path):
    results = await asyncio.gather(*(interpreter_call(model, tmp_path) for model in MODELS))
    for (report, records), model in zip(results, MODELS):
        where = f"[{model}]"
        turns = report["turns"]
        assert len(turns) == 3 and all(t["bot_audio_start_s"] for t in turns), (where, turns)
        heads = [t["output_transcript"] for t in turns]
        # Each reply is an interpretation into its pair's target language...
        assert heads[0].startswith("[es-ES] "), (where, heads)
        assert heads[1].startswith("[es-ES] "), (where, heads)
        assert heads[2].startswith("[fr-FR] "), (where, heads)
        # ...spoken with the target language's voice: the setup's languageCode.
        assert [language_code(r) for r in records] == ["es-ES", "fr-FR"], where
        assert "say only the Spanish translation" in instruction(records[0]), where
        assert "say only the French translation" in instruction(records[1]), where
        # The pair switch is a persona switch (a new setup, since the language changes).
        (switch,) = report["persona_switches"]
        assert switch["ok"] and switch["method"] == "handover" and switch["in_frames_dropped"] == 0, where
        # No turn was refused: no 1007, no close by the server, every session ended by us.
        assert all(r.server_close_code is None and not r.silenced for r in records), (where, records)
        assert all(r.client_close_code == 1000 for r in records), where


async def test_the_tutor_persona_reaches_the_session_from_the_main_job(tmp_path, capsys):
    tutor = persona_from_spec(TUTOR_SPEC)
    async with LiveEmulator(EmulatorConfig(think_ms=100, pace=2.0)) as emu:
        # The main job's own command line, its emulator swapped for this one.
        from pipelines import wav_call as job

        async def on_this_emulator(opts, **kwargs):
            return await run_wav_call(opts, emulator=emu, **kwargs)

        original = job.run_wav_call
        job.run_wav_call = on_this_emulator
        try:
            status = await asyncio.to_thread(
                main_job,
                [
                    "--input", str(CALLER), "--output", str(tmp_path / "tutor.wav"),
                    "--model", MODELS[1],
                    "--template-at", "9.8=" + TUTOR_SPEC,
                ],
            )
        finally:
            job.run_wav_call = original
        await asyncio.sleep(0.2)
        records = list(emu.records)
    out = capsys.readouterr().out
    assert status == 0, out
    # The switch is printed at the time it happened: 9.8 s, give or take a scheduling tick.
    assert re.search(r"persona at 9\.[89]\ds: handover", out), out
    # The rendered instruction, every parameter in it, is what the new session was set up with.
    assert instruction(records[1]) == tutor.system_instruction
    assert "7-year-old" in tutor.system_instruction and "level 3" in tutor.system_instruction
    assert "- Give hints, not direct answers." in tutor.system_instruction
    voice = get(get(get(get(records[1].setup, "generationConfig", {}), "speechConfig", {}), "voiceConfig", {}), "prebuiltVoiceConfig", {})
    assert get(voice, "voiceName") == "Aoede"
    assert records[1].replies[0].text.startswith("You are a patient, cheerful voice tutor")


SAID = [
    "he was not an ill disposed young man",
    "he might even have been made amiable himself",
    "unless to be rather cold hearted and rather selfish is to be ill disposed",
]


@pytest.mark.asr
@pytest.mark.timeout(150)
async def test_the_interpreter_pipeline_answers_three_turns_with_no_1007(tmp_path):
    async with LiveEmulator(EmulatorConfig(think_ms=100, pace=2.0)) as emu:
        replies = await interpret(
            CALLER, tmp_path / "out.wav", LanguagePair.parse("en-US:de-DE"), model=MODELS[1], emulator=emu
        )
        await asyncio.sleep(0.2)
        records = list(emu.records)
    assert len(replies) == 3 and not any(r.interrupted for r in replies), replies
    # Each turn answered with the words heard, marked as a German translation...
    for reply, said in zip(replies, SAID):
        marker, _, words = reply.text.partition(" ")
        assert marker == "[de-DE]" and word_error_rate(said, words) <= 0.5, (reply.text, said)
    (record,) = records
    # ...and spoken with the German voice (tests/integration/test_emulator_interpreting.py
    # hears that the voice follows the language).
    assert [t["language"] for t in record.extra["translations"]] == ["de-DE"] * 3
    assert language_code(record) == "de-DE"
    assert [r.audio_s > 0.5 for r in record.replies] == [True, True, True]  # spoken, in its voice
    assert record.server_close_code is None and record.client_close_code == 1000
    assert (tmp_path / "out.wav").stat().st_size > 44
