"""Interpreter mode: when told to translate, the emulated model answers with the words it heard,
marked as a translation and spoken in the target language's voice.

The emulator does not translate. What it can show a client is that an interpreter set-up
reached the model and that each turn's answer goes out in the target language: the reply is
``"[es-ES] <the caller's words>"`` (``outputTranscription`` carries the same text), and the
words (not the marker) are spoken with the target language's eSpeak NG voice (:mod:`.voice`).

How the mode is detected (simple and documented, never a test's wording): an instruction that
has a word starting ``translat`` or ``interpret`` followed, in the same sentence, by
``to`` / ``into`` and a language's English name: "You are a live interpreter from English to
Spanish.", "Translate this from English to Spanish:". It is looked for in

- the session's system instruction (setup, or a later ``sessionUpdate``): every turn is
  translated;
- a turn's ``realtimeInput.text`` (a per-turn cue): that turn and the ones after it are
  translated, until another cue names another language (a cue wins over the instruction). Text after the cue's colon is part of
  what is translated; a cue alone is a text turn of its own, answered as any text turn (the
  real service answers it too), and holds for the caller's next turns.

The target's code is the setup's ``speechConfig.languageCode`` when it is the same language,
else the language's usual code (:data:`LANGUAGES`). With no words heard (recognition off, or
nothing made out) the reply says in the target language how long the caller spoke.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .phrases import PHRASES

# English name -> the usual BCP-47 code, for the languages eSpeak NG speaks.
LANGUAGES = {
    "arabic": "ar-XA", "bengali": "bn-IN", "chinese": "cmn-CN", "dutch": "nl-NL", "english": "en-US",
    "french": "fr-FR", "german": "de-DE", "gujarati": "gu-IN", "hindi": "hi-IN", "indonesian": "id-ID",
    "italian": "it-IT", "japanese": "ja-JP", "kannada": "kn-IN", "korean": "ko-KR", "malayalam": "ml-IN",
    "marathi": "mr-IN", "polish": "pl-PL", "portuguese": "pt-BR", "russian": "ru-RU", "spanish": "es-ES",
    "tamil": "ta-IN", "telugu": "te-IN", "thai": "th-TH", "turkish": "tr-TR", "ukrainian": "uk-UA",
    "vietnamese": "vi-VN",
}  # fmt: skip

_CUE = re.compile(
    r"\b(?:translat|interpret)\w*\b[^.!?;\n]*?\b(?:to|into)\s+(" + "|".join(LANGUAGES) + r")\b[^:\n]*(:?)",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Cue:
    """A request to translate: into ``language`` (BCP-47), and the text after it (a per-turn
    cue's own words, "" when none)."""

    language: str
    rest: str = ""


def find_cue(text: str | None, language_code: str | None = None) -> Cue | None:
    """The translation ``text`` asks for, or None.

    Args:
        text: An instruction or a ``realtimeInput.text``.
        language_code: The setup's ``speechConfig.languageCode`` (its region is kept when it
            is the same language as the target).
    """
    if not text:
        return None
    m = _CUE.search(text)
    if m is None:
        return None
    code = LANGUAGES[m.group(1).lower()]
    if language_code and language_code.split("-")[0].lower() == code.split("-")[0].lower():
        code = language_code
    rest = text[m.end() :].strip() if m.group(2) else ""
    return Cue(code, rest)


@dataclass(frozen=True)
class Translation:
    """One interpreted reply: ``text`` (marked, what is transcribed), ``speech`` (what is
    spoken), ``language`` (the voice's BCP-47 code)."""

    text: str
    speech: str
    language: str


def interpret(turn, system_instruction: str | None, standing: str | None, language_code: str | None):
    """The interpreted reply to ``turn``, or None when nothing asks for one.

    Args:
        turn: The caller's turn (:class:`~.conversation.UserTurn`).
        system_instruction: The session's active instruction.
        standing: The last per-turn cue's target from earlier turns (None: none yet).
        language_code: The setup's ``speechConfig.languageCode``.

    Returns:
        ``(translation or None, the standing target after this turn)``.
    """
    cue, texts = None, []
    for text in turn.texts:
        found = find_cue(text, language_code)
        if found is None:
            texts.append(text)
        else:
            cue = found
            if found.rest:
                texts.append(found.rest)
    if cue is not None:
        standing = cue.language
        if turn.speech_s <= 0 and not texts:
            return None, standing  # a cue of its own: a text turn, answered as one
    # The most specific request wins: this turn's cue, then an earlier one, then the instruction.
    target = cue.language if cue is not None else standing
    if target is None:
        from_instruction = find_cue(system_instruction, language_code)
        target = from_instruction.language if from_instruction is not None else None
    if target is None or not (turn.speech_s > 0 or texts):
        return None, standing
    words = " ".join(w for w in [turn.words(), *texts] if w)
    if not words:
        phrase = PHRASES.get(target.split("-")[0].lower(), {}).get("heard", "I heard you for {s} seconds.")
        words = phrase.format(s=f"{turn.speech_s:.1f}")
    return Translation(f"[{target}] {words}", words, target), standing
