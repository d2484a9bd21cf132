"""A live interpreter: every caller turn is answered only with its translation, spoken in the
target language. Copy it into your bot, or run it on a recording:

    .venv/bin/python pipelines/interpreter.py --pair en-US:es-ES \\
        --input pipelines/audio/caller_3turns_16k.wav --output out/interpreted.wav \\
        --switch-at 19=en-US:fr-FR

The pair is a persona (:mod:`pipecat_gemini_live.apps.personas.interpreter`): its instruction goes in the
setup and the target language sets the voice's ``languageCode``; ``--switch-at`` changes the
pair mid-call with a ``PersonaUpdateFrame``, like any persona switch. Uses the embedded Live API
emulator unless ``GOOGLE_API_KEY`` is set (the emulator does not translate: it answers each turn
with the words it heard, marked ``[es-ES] ...``, spoken in the target language's voice).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path

from loguru import logger
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.worker import PipelineWorker
from pipecat.workers.runner import WorkerRunner

from gemini_live_emulator import EmulatorConfig, LiveEmulator
from pipecat_gemini_live import AudioResampler, GeminiLiveLLMService
from pipecat_gemini_live.apps.personas.interpreter import LanguagePair
from pipecat_gemini_live.call.replies import ReplyRecord
from pipecat_gemini_live.apps.transports import WavTransport

DEFAULT_MODEL = "gemini-2.5-flash-native-audio-preview-09-2025"


async def interpret(
    caller_wav: Path,
    output_wav: Path,
    pair: LanguagePair,
    switches: list[tuple[float, LanguagePair]] = (),
    *,
    model: str = DEFAULT_MODEL,
    emulator: LiveEmulator | None = None,
) -> list[ReplyRecord]:
    """Interpret one recorded call; returns the bot's replies (``.text``: what it said).

    Args:
        caller_wav: The caller (WAV, any rate).
        output_wav: Where the interpreter's voice is written (WAV).
        pair: The language pair the call opens with.
        switches: ``(call time in seconds, new pair)``, in order.
        model: Live model name.
        emulator: A running emulator (None: Gemini with ``GOOGLE_API_KEY``, else one started here).
    """
    key = os.environ.get("GOOGLE_API_KEY")
    own = None
    if emulator is None and not key:
        own = emulator = await LiveEmulator(EmulatorConfig(pace=2.0)).start()
    try:
        backend = {"api_key": key} if emulator is None else {"api_key": emulator.api_key, "http_options": emulator.http_options()}
        transport = WavTransport(caller_wav, output_wav, tail_quiet_s=3.0)
        llm = GeminiLiveLLMService(
            **backend,
            model=model,
            system_instruction=pair.instruction(),
            settings=GeminiLiveLLMService.Settings(language=pair.target),
        )
        pipeline = Pipeline([transport.input(), AudioResampler(), llm, transport.output()])
        worker = PipelineWorker(pipeline, idle_timeout_secs=None, enable_rtvi=False)

        async def switch_at(at_s: float, new: LanguagePair) -> None:
            while transport.clock.t0 is None:
                await asyncio.sleep(0.01)
            await asyncio.sleep(max(0.0, at_s - transport.clock.now()))
            await worker.queue_frame(new.persona().update_frame())

        tasks = [asyncio.create_task(switch_at(at, new)) for at, new in switches]
        runner = WorkerRunner(handle_sigint=False)
        await runner.add_workers(worker)
        try:
            await runner.run()
        finally:
            for task in tasks:
                task.cancel()
        transport.output().write_file()
        return llm.replies
    finally:
        if own is not None:
            await own.stop()


def _switch(text: str) -> tuple[float, LanguagePair]:
    at, sep, pair = text.partition("=")
    try:
        return float(at), LanguagePair.parse(pair)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e) if sep else f"expected SECONDS=SOURCE:TARGET, got {text!r}") from None


def _pair(text: str) -> LanguagePair:
    try:
        return LanguagePair.parse(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="A live interpreter on Gemini Live (or its local emulator).")
    p.add_argument("--pair", type=_pair, default="en-US:es-ES", help="SOURCE:TARGET language codes")
    p.add_argument("--input", type=Path, default=Path("pipelines/audio/caller_3turns_16k.wav"))
    p.add_argument("--output", type=Path, default=Path("out/interpreted.wav"))
    p.add_argument("--switch-at", type=_switch, action="append", default=[], metavar="SECONDS=SOURCE:TARGET")
    p.add_argument("--model", default=DEFAULT_MODEL)
    args = p.parse_args(argv)
    logger.remove()
    logger.add(sys.stderr, level="WARNING")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    replies = asyncio.run(interpret(args.input, args.output, args.pair, args.switch_at, model=args.model))
    for reply in replies:
        print(f"[{reply.index + 1}] {reply.text}")
    print(f"Output WAV: {args.output}")
    return 0 if replies else 1


if __name__ == "__main__":
    sys.exit(main())
