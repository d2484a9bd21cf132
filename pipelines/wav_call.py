"""The main job: a real call from a WAV file through the Gemini Live service.

    python pipelines/wav_call.py --input pipelines/audio/caller_3turns_16k.wav \\
        --output out/call.wav --report out/report.json

Template personas: ``--persona 'tutor:{"age": 7, "level": 3}'`` opens the call as the tutor,
``--interpreter en-US:es-ES`` as a live interpreter (every caller turn answered only with its
Spanish translation); ``--template-at SECONDS=SPEC`` and ``--interpreter-at SECONDS=en-US:fr-FR``
switch mid-call.

Uses the embedded Live API emulator unless ``GOOGLE_API_KEY`` is set (then Google's Live API;
``--emulator`` forces the emulator). Prints a line per bot reply as the call goes, then where
the output WAV and the JSON report went.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from loguru import logger

from gemini_live_emulator.faults import Fault
from pipecat_gemini_live.apps.bots.personas import Persona
from pipecat_gemini_live.apps.personas.specs import persona_from_spec
from pipecat_gemini_live.service import GeminiLiveLLMService
from pipecat_gemini_live.apps.transports.wav import WavInputError, WavOutputError
from pipecat_gemini_live.apps.wav_call import (
    DEFAULT_INSTRUCTION,
    PersonaChange,
    WavCallOptions,
    api_key_from_env,
    run_wav_call,
)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="A call from a WAV file through Gemini Live (or its local emulator).")
    p.add_argument("--input", required=True, type=Path, help="caller recording (WAV: PCM16 or G.711 mu-law, any rate)")
    p.add_argument("--output", required=True, type=Path, help="where to write the bot's side of the call (WAV)")
    p.add_argument("--report", type=Path, help="where to write the JSON report")
    p.add_argument("--model", default="gemini-2.5-flash-native-audio-preview-09-2025", help="Live model name")
    p.add_argument("--system-instruction", default=DEFAULT_INSTRUCTION, help="the first persona")
    p.add_argument("--think-ms", type=int, default=200, help="emulator: delay before each reply, ms")
    p.add_argument("--emulator", action="store_true", help="use the local emulator even if GOOGLE_API_KEY is set")
    p.add_argument("--stereo", action="store_true", help="output caller on the left, bot on the right")
    p.add_argument(
        "--persona-at",
        action="append",
        default=[],
        metavar="SECONDS[@LANG]=INSTRUCTION",
        help="switch persona at that call time, optionally with a new speech language (repeatable)",
    )
    p.add_argument(
        "--persona",
        metavar="SPEC",
        help='open as a template persona: tutor:{"age": 7, "level": 3} or interpreter:en-US:es-ES',
    )
    p.add_argument("--interpreter", metavar="SOURCE:TARGET", help="open as a live interpreter, e.g. en-US:es-ES")
    p.add_argument(
        "--template-at",
        action="append",
        default=[],
        metavar="SECONDS=SPEC",
        help="switch to a template persona at that call time (repeatable)",
    )
    p.add_argument(
        "--interpreter-at",
        action="append",
        default=[],
        metavar="SECONDS=SOURCE:TARGET",
        help="switch the interpreter's language pair at that call time (repeatable)",
    )
    p.add_argument(
        "--emulator-lifetime-s",
        type=float,
        help="emulator: connection lifetime, s (goAway comes --emulator-goaway-s ahead; real: about 600)",
    )
    p.add_argument("--emulator-goaway-s", type=float, default=None, help="emulator: goAway lead, s (real: 50-60)")
    p.add_argument(
        "--emulator-fault",
        action="append",
        default=[],
        metavar="SPEC",
        help="emulator: inject a fault, e.g. close:1011@reply, drop@t=12, stall:15@reply, refuse:2 (repeatable)",
    )
    p.add_argument(
        "--tools-demo",
        action="store_true",
        help="register get_weather and get_time; on the emulator the model calls one when the caller asks for it",
    )
    p.add_argument("--verbose", action="store_true", help="debug logs")
    return p.parse_args(argv)


def emulator_settings(args: argparse.Namespace) -> dict:
    """``EmulatorConfig`` fields from the ``--emulator-*`` flags."""
    settings: dict = {}
    if args.emulator_lifetime_s:
        settings["lifetime_s"] = args.emulator_lifetime_s
        settings["goaway_before_s"] = args.emulator_goaway_s or min(50.0, args.emulator_lifetime_s / 3)
    if args.emulator_fault:
        settings["faults"] = args.emulator_fault
    return settings


def template_change(text: str, prefix: str = "") -> PersonaChange:
    """``SECONDS=SPEC`` -> the persona change to that rendered persona.

    Raises:
        ValueError: Not ``SECONDS=SPEC``, or a spec :func:`persona_from_spec` refuses.
    """
    at, sep, spec = text.partition("=")
    try:
        at_s = float(at)
    except ValueError:
        at_s = None
    if not sep or at_s is None:
        raise ValueError(f"expected SECONDS=SPEC, got {text!r}")
    persona = persona_from_spec(prefix + spec)
    return PersonaChange(at_s, persona.system_instruction, language=persona.language, voice=persona.voice)


def opening_persona(args: argparse.Namespace) -> Persona | None:
    """The template persona the call opens as (``--persona`` / ``--interpreter``), if any.

    Raises:
        ValueError: Both given, or a bad spec.
    """
    if args.persona and args.interpreter:
        raise ValueError("--persona and --interpreter both name the opening persona: give one")
    if args.interpreter:
        return persona_from_spec("interpreter:" + args.interpreter)
    return persona_from_spec(args.persona) if args.persona else None


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logger.remove()
    logger.add(sys.stderr, level="DEBUG" if args.verbose else "WARNING")
    try:
        changes = [PersonaChange.parse(text) for text in args.persona_at]
        changes += [template_change(text) for text in args.template_at]
        changes += [template_change(text, "interpreter:") for text in args.interpreter_at]
        changes.sort(key=lambda c: c.at_s)
        first = opening_persona(args)
        for spec in args.emulator_fault:
            Fault.parse(spec)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    opts = WavCallOptions(
        input=args.input,
        output=args.output,
        report=args.report,
        model=args.model,
        system_instruction=first.system_instruction if first else args.system_instruction,
        think_ms=args.think_ms,
        force_emulator=args.emulator,
        api_key=api_key_from_env(),
        stereo=args.stereo,
        persona_changes=changes,
        emulator=emulator_settings(args),
        tools_demo=args.tools_demo,
    )
    service_kwargs: dict = {}
    if first is not None:
        print(f"Persona: {first.title} ({first.name})")
        service_kwargs = {"voice_id": first.voice} if first.voice else {}
        if first.language:
            service_kwargs["settings"] = GeminiLiveLLMService.Settings(language=first.language)
    print(f"Calling {opts.model} on the {opts.backend} with {args.input} ...")
    try:
        report = asyncio.run(run_wav_call(opts, service_kwargs=service_kwargs))
    except (WavInputError, WavOutputError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if not report["turns"]:
        print(
            f"error: no caller speech found in {args.input} (silence, or too quiet to hear): nothing was asked",
            file=sys.stderr,
        )
        return 1
    answered = sum(1 for t in report["turns"] if t["bot_audio_start_s"] is not None)
    print(f"Done: {answered} of {len(report['turns'])} caller turns answered.")
    for turn in report["turns"]:
        latency = f"{turn['response_latency_ms']:.0f} ms" if turn["response_latency_ms"] is not None else "no answer"
        print(f"  turn {turn['index']}: caller {turn['user_speech_start_s']:.2f}-{turn['user_speech_end_s']:.2f}s -> {latency}")
    frames = report["audio_frames"]
    print(
        f"Caller frames: {frames['in_sent']} sent, {frames['in_held']} held, {frames['in_dropped']} dropped; "
        f"bot frames received: {frames['out_received']}"
    )
    for call in report["tool_calls"]:
        latency = f"{call['latency_ms']:.0f} ms" if call["latency_ms"] is not None else "no result"
        print(f"  tool {call['name']}({call['args']}) on turn {call['turn']}: {call['result']} ({latency})")
    for seam in report["seams"]:
        gap = f", bot audio gap {seam['bot_audio_gap_ms']:.0f} ms" if seam["bot_audio_gap_ms"] else ""
        print(f"  {seam['reason']} at {seam['at_s']:.2f}s: {seam['method']}, {seam['switch_gap_ms']:.0f} ms{gap}")
    if report["errors"]:
        print(f"Errors: {len(report['errors'])} (see the report)")
    print(f"Output WAV: {args.output}")
    if args.report:
        print(f"Report:     {args.report}")
    return 0 if answered == len(report["turns"]) and not report["errors"] else 1


if __name__ == "__main__":
    sys.exit(main())
