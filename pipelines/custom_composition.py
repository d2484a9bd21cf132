"""Your own processors around the service: a keyword persona switcher and a transcript logger.

    .venv/bin/python pipelines/custom_composition.py                      # emulator, sample call
    .venv/bin/python pipelines/custom_composition.py --input my_call.wav --log out/transcript.jsonl \\
        --on-caller "pirate=pirate" --on-bot "transfer you to the concierge=concierge"

The pipeline::

    WavTransport.input() -> AudioResampler -> user aggregator
        -> TranscriptLogger -> KeywordPersonaSwitcher          (caller side)
        -> GeminiLiveLLMService
        -> TranscriptLogger -> KeywordPersonaSwitcher          (bot side)
        -> WavTransport.output() -> assistant aggregator

The service pushes the caller's transcript **upstream** and its own words **downstream**, so
a processor that wants to hear the caller sits before the service and one that wants to hear
the bot sits after it. Both processors here build on :class:`TranscriptWatcher`, which turns
those frames into whole turns; the switcher pushes a ``PersonaUpdateFrame`` back toward the
service (downstream from the caller side, upstream from the bot side).

Rules: ``--on-caller WORDS=PERSONA`` switches when the caller says WORDS (real Gemini
transcribes the caller; the emulator, which understands no words, reports "(caller speech,
2.7 seconds)"); ``--on-bot WORDS=PERSONA`` switches after a bot reply containing WORDS: the
hand-off pattern ("let me transfer you to the concierge"). The default bot rule fires on the
emulator, whose first reply ends "I remember no earlier turns", so the sample call shows a
switch offline. Each rule fires at most once per call.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from loguru import logger
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.worker import PipelineParams, PipelineWorker
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.processors.aggregators.llm_response_universal import (
    LLMContextAggregatorPair,
    LLMUserAggregatorParams,
)
from pipecat.processors.frame_processor import FrameDirection
from pipecat.turns.user_turn_strategies import ExternalUserTurnStrategies
from pipecat.workers.runner import WorkerRunner

from pipecat_gemini_live import AudioResampler
from pipecat_gemini_live.apps.bots import (
    DEFAULT_MODEL,
    LiveBackend,
    PersonaBook,
    TranscriptEvent,
    TranscriptWatcher,
    make_service,
)
from pipecat_gemini_live.apps.transports import WavTransport

SAMPLE_CALL = Path(__file__).parent / "audio" / "caller_3turns_16k.wav"


@dataclass
class KeywordRule:
    """Switch to ``persona`` when ``speaker`` says ``words`` (a phrase, case-insensitive).

    Attributes:
        words: Whole words to look for (``"transfer you"`` does not match ``"transferring"``).
        persona: Name of the persona to switch to.
        speaker: ``"caller"`` (their turn's transcript) or ``"bot"`` (a whole reply).
        fired: Whether the rule has fired in this call.

    Raises:
        ValueError: Empty words or persona, or another speaker.
    """

    words: str
    persona: str
    speaker: str = "caller"
    fired: bool = False
    _pattern: re.Pattern = field(init=False, repr=False)

    def __post_init__(self):
        if not self.words.strip() or not self.persona.strip():
            raise ValueError(f"a keyword rule needs words and a persona, got {self.words!r}={self.persona!r}")
        if self.speaker not in ("caller", "bot"):
            raise ValueError(f"speaker must be 'caller' or 'bot', got {self.speaker!r}")
        self._pattern = re.compile(r"\b" + r"\s+".join(map(re.escape, self.words.split())) + r"\b", re.IGNORECASE)

    @classmethod
    def parse(cls, text: str, speaker: str) -> "KeywordRule":
        """``"hotel=concierge"`` -> KeywordRule("hotel", "concierge", speaker).

        Raises:
            ValueError: Without ``=``, or empty on either side.
        """
        words, sep, persona = text.rpartition("=")
        if not sep:
            raise ValueError(f"expected WORDS=PERSONA, got {text!r}")
        return cls(words.strip(), persona.strip(), speaker)

    def matches(self, speaker: str, text: str) -> bool:
        """Whether this rule (not yet fired) is triggered by ``speaker`` saying ``text``."""
        return not self.fired and speaker == self.speaker and bool(self._pattern.search(text))


class KeywordPersonaSwitcher(TranscriptWatcher):
    """Pushes a ``PersonaUpdateFrame`` when a rule's words are said.

    Place one before the service (it hears the caller) and/or one after it (it hears the bot),
    sharing the same rules. Frames pass through unchanged.

    Args:
        rules: The keyword rules (shared between instances, so each fires once per call).
        personas: Where rule persona names are looked up.

    Raises:
        KeyError: A rule names a persona that ``personas`` lacks.
    """

    def __init__(self, rules: Sequence[KeywordRule], personas: PersonaBook, **kwargs):
        super().__init__(**kwargs)
        for rule in rules:
            personas.get(rule.persona)
        self._rules = rules
        self._personas = personas

    async def on_transcript(self, event: TranscriptEvent) -> None:
        """Check finished turns against the rules; switch on the first that matches."""
        if not event.final:
            return
        speaker = "caller" if event.role == "user" else "bot"
        rule = next((r for r in self._rules if r.matches(speaker, event.text)), None)
        if rule is None:
            return
        rule.fired = True
        logger.info(f"{self}: {speaker} said {rule.words!r}: switching to {rule.persona!r}")
        # Toward the service: it is downstream of a caller-side switcher, upstream of a bot-side one.
        direction = FrameDirection.DOWNSTREAM if speaker == "caller" else FrameDirection.UPSTREAM
        await self.push_frame(self._personas.get(rule.persona).update_frame(), direction)


class TranscriptLog:
    """The call's transcript, in order, from any number of :class:`TranscriptLogger`\\ s.

    Args:
        path: A JSON Lines file to append each finished turn to (None: memory only).
    """

    def __init__(self, path: Path | None = None):
        self.path = path
        self.turns: list[dict] = []
        self._started = time.monotonic()
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("")

    def add(self, event: TranscriptEvent) -> None:
        """Record one finished turn (role, text, cut or not, seconds since the log began)."""
        turn = {
            "t_s": round(time.monotonic() - self._started, 2),
            "role": event.role,
            "text": event.text,
            "interrupted": event.interrupted,
        }
        self.turns.append(turn)
        if self.path is not None:
            with self.path.open("a") as f:
                f.write(json.dumps(turn) + "\n")


class TranscriptLogger(TranscriptWatcher):
    """Logs every finished turn it sees and records it in a shared :class:`TranscriptLog`."""

    def __init__(self, log: TranscriptLog, **kwargs):
        super().__init__(**kwargs)
        self._log = log

    async def on_transcript(self, event: TranscriptEvent) -> None:
        """Record finished turns; pieces of a reply being spoken are skipped."""
        if event.final:
            cut = " [cut]" if event.interrupted else ""
            logger.info(f"{self}: {event.role}: {event.text}{cut}")
            self._log.add(event)


async def run_custom_call(
    input_wav: Path,
    output_wav: Path,
    rules: Sequence[KeywordRule],
    backend: LiveBackend,
    *,
    personas: PersonaBook | None = None,
    log_path: Path | None = None,
    model: str = DEFAULT_MODEL,
) -> TranscriptLog:
    """Play ``input_wav`` as the caller through the composed pipeline; return the transcript.

    Args:
        input_wav: The caller (WAV: PCM16 or G.711, any rate).
        output_wav: Where the bot's side is written (24 kHz WAV).
        rules: Keyword rules for both switchers.
        backend: Gemini or the emulator (started and stopped here).
        personas: The personas rules may name (the defaults when None).
        log_path: A JSON Lines transcript file (None: not written).
        model: Live model name.

    Raises:
        WavInputError: The input cannot be played.
        KeyError: A rule names an unknown persona.
    """
    personas = personas or PersonaBook()
    log = TranscriptLog(log_path)
    async with backend:
        transport = WavTransport(input_wav, output_wav)
        llm = make_service(backend, personas, model=model)
        user, assistant = LLMContextAggregatorPair(
            LLMContext(), user_params=LLMUserAggregatorParams(user_turn_strategies=ExternalUserTurnStrategies())
        )
        pipeline = Pipeline(
            [
                transport.input(),
                AudioResampler(),
                user,
                TranscriptLogger(log),
                KeywordPersonaSwitcher(rules, personas),
                llm,
                TranscriptLogger(log),
                KeywordPersonaSwitcher(rules, personas),
                transport.output(),
                assistant,
            ]
        )
        worker = PipelineWorker(
            pipeline, params=PipelineParams(enable_metrics=True), idle_timeout_secs=None, enable_rtvi=False
        )
        runner = WorkerRunner(handle_sigint=False)
        await runner.add_workers(worker)
        await runner.run()
        transport.output().write_file()
    return log


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="A custom pipeline: keyword persona switcher + transcript logger.")
    p.add_argument("--input", type=Path, default=SAMPLE_CALL, help="caller recording (WAV)")
    p.add_argument("--output", type=Path, default=Path("out/custom.wav"), help="the bot's side (WAV)")
    p.add_argument("--log", type=Path, default=Path("out/transcript.jsonl"), help="transcript, JSON Lines")
    p.add_argument("--on-caller", action="append", metavar="WORDS=PERSONA", help="switch when the caller says WORDS")
    p.add_argument("--on-bot", action="append", metavar="WORDS=PERSONA", help="switch after a bot reply with WORDS")
    p.add_argument("--model", default=DEFAULT_MODEL, help="Live model name")
    p.add_argument("--emulator", action="store_true", help="use the local emulator even if GOOGLE_API_KEY is set")
    p.add_argument("--verbose", action="store_true", help="debug logs")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logger.remove()
    logger.add(sys.stderr, level="DEBUG" if args.verbose else "WARNING")
    personas = PersonaBook()
    try:
        rules = [KeywordRule.parse(t, "caller") for t in args.on_caller or ["pirate=pirate", "hotel=concierge"]]
        rules += [KeywordRule.parse(t, "bot") for t in args.on_bot or ["no earlier turns=pirate"]]
        for rule in rules:
            personas.get(rule.persona)
    except (ValueError, KeyError) as e:
        print(f"error: {e.args[0]}", file=sys.stderr)
        return 2
    backend = LiveBackend.from_env(force_emulator=args.emulator)
    print(f"Calling {args.model} on the {backend.name} with {args.input} ...")
    log = asyncio.run(
        run_custom_call(args.input, args.output, rules, backend, personas=personas, log_path=args.log, model=args.model)
    )
    for turn in log.turns:
        cut = " [cut]" if turn["interrupted"] else ""
        print(f"[{turn['t_s']:6.2f}s] {turn['role']:>4}: {turn['text']}{cut}")
    fired = [f"{r.speaker} said {r.words!r} -> {r.persona}" for r in rules if r.fired]
    print(f"Persona switches: {', '.join(fired) or 'none'}")
    print(f"Output WAV: {args.output}\nTranscript: {args.log}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
