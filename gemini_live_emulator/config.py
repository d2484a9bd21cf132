"""Emulator settings: timing, VAD, limits. Faults and scenarios live in their own modules."""

from __future__ import annotations

import os
import secrets
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from .behaviour import ServerBehaviour, behaviour_named
from .faults import Fault
from .model.pacing import Pacing
from .scenario import Scenario


class EmulatorConfig(BaseModel):
    """How the emulated Live API behaves.

    Attributes:
        api_key: The key clients must send (``x-goog-api-key`` or ``?key=``). Random per run
            unless set; it guards nothing but loopback, yet a wrong key must fail like the real
            service (close 1008).
        think_ms: Time between the end of the caller's turn and the first reply chunk, ms.
        default_silence_ms: End-of-speech silence when the setup sets no ``silenceDurationMs``.
        vad_threshold_dbfs: Speech threshold of the energy VAD (RMS per 10 ms, dBFS).
        chunk_ms: Duration of audio in each reply message, ms (24 kHz PCM16: 48 bytes per ms).
        pace: Reply audio is sent at ``pace`` times real time (1.0 = as fast as it plays).
        pacing: Delivery profile of reply audio (:mod:`.model.pacing`): ``realtime``, ``burst:N``
            (N seconds ahead of real time), ``slow:F`` (F x real time with gaps), ``jitter``.
        words_per_minute: Speaking rate of the synthesized replies.
        asr: Recognise the caller's words (offline PocketSphinx, :mod:`.model.asr`): input
            transcription carries them and replies quote them. False describes speech by its
            length only (``"(caller speech, 2.7 seconds)"``): much cheaper (no recogniser
            processes). Unset, it follows the environment variable
            ``GEMINI_LIVE_EMULATOR_ASR`` (``0``/``off``/``false`` turn it off; on by default).
            The project's test suite turns it off except in the tests that check words.
        listen_timeout_s: How long a reply waits for the recogniser's words after the
            caller's turn ends, seconds (one deadline for the turn, divided by ``time_scale``
            like every emulator duration). Past it (a machine too loaded to keep up) the reply
            goes on without quoting them, and the words still go out as input transcription
            when they come (as the real service's transcription may trail its reply). Unset,
            ``GEMINI_LIVE_EMULATOR_LISTEN_TIMEOUT_S`` or 1.0. Tests that check a reply's
            quote (or a tool chosen by the words) set it generously.
        choose_tools: Call the declared function the caller's words (heard or typed) ask for,
            with arguments from the same words (:mod:`.model.tool_choice`). A ``scenario`` with steps
            takes over: then only the script calls functions.
        unheard_turns: What the model does with a caller turn in which the recogniser made out
            no words (noise, a tone, a cough; with ``asr`` on, and nothing typed, shown or
            returned by a tool in it): ``"answer"`` says so ("I could not make out any
            words"); ``"wait"`` answers nothing and ends the turn with ``waitingForInput`` and
            ``turnCompleteReason: NEED_MORE_INPUT`` (the SDK types' fields for a model that
            waits for the user to go on), the turn's audio kept for the caller's next words.
        setup_timeout_s: How long a connection may wait before sending ``setup``.
        handle_ttl_s: How long a resumption handle stays valid (the real service: about 2 h).
        lifetime_s: Connection lifetime (the real service: about 10 min); None for no limit.
            ``goAway`` is sent ``goaway_before_s`` ahead, then the connection closes with 1000.
        goaway_before_s: How long before the end of the lifetime ``goAway`` comes (50-60 s).
        time_scale: Every emulator duration (think time, the wait for words, lifetime,
            ``goAway`` lead, handle TTL, stalls) is divided by this, and replies are sent this much faster, so a long call
            can be simulated in seconds.
        faults: Faults to inject (:class:`~.faults.Fault` or their text form, ``close:1011@reply``).
        scenario: Scripted tool calls (a :class:`~.scenario.Scenario` or step strings,
            ``2:get_weather{"city": "Paris"}``).
        model_behaviours: Server rules per model, ahead of the built-in table: ``fnmatch``
            pattern on the bare model name -> family name (``"2.5"``, ``"3.1"``, ``"3.8"``,
            ``"strict"``; see :func:`~.behaviour.behaviour_named`) or a
            :class:`~.behaviour.ServerBehaviour`. How to emulate a model the table does not
            know yet, e.g. ``{"gemini-4.0-live*": "3.8"}``.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    api_key: str = Field(default_factory=lambda: "emu-" + secrets.token_urlsafe(12))
    think_ms: int = Field(default=200, ge=0)
    default_silence_ms: int = Field(default=500, ge=20)
    vad_threshold_dbfs: float = -45.0
    chunk_ms: int = Field(default=40, ge=10, le=2000)
    pace: float = Field(default=1.0, gt=0)
    pacing: Pacing = Field(default_factory=Pacing)
    words_per_minute: int = Field(default=190, ge=80, le=450)
    asr: bool = Field(default_factory=lambda: asr_from_environment())
    listen_timeout_s: float = Field(default_factory=lambda: listen_timeout_from_environment(), gt=0)
    choose_tools: bool = True
    unheard_turns: Literal["answer", "wait"] = "answer"
    setup_timeout_s: float = Field(default=30.0, gt=0)
    handle_ttl_s: float = Field(default=7200.0, gt=0)
    lifetime_s: float | None = Field(default=None, gt=0)
    goaway_before_s: float = Field(default=50.0, ge=0)
    time_scale: float = Field(default=1.0, gt=0)
    faults: list[Fault] = Field(default_factory=list)
    scenario: Scenario = Field(default_factory=Scenario)
    model_behaviours: dict[str, str | ServerBehaviour] = Field(default_factory=dict)

    @field_validator("faults", mode="before")
    @classmethod
    def _parse_faults(cls, value):
        return [Fault.parse(v) if isinstance(v, str) else v for v in value or []]

    @field_validator("pacing", mode="before")
    @classmethod
    def _parse_pacing(cls, value):
        return Pacing.parse(value)

    @field_validator("model_behaviours")
    @classmethod
    def _check_behaviours(cls, value):
        for family in value.values():
            if isinstance(family, str):
                behaviour_named(family)  # raises ValueError for an unknown family
        return value

    @field_validator("scenario", mode="before")
    @classmethod
    def _parse_scenario(cls, value):
        if isinstance(value, (list, tuple)):
            return Scenario.parse(list(value))
        return value or Scenario()


ASR_ENV = "GEMINI_LIVE_EMULATOR_ASR"


def asr_from_environment() -> bool:
    """The default of :attr:`EmulatorConfig.asr`: off when ``GEMINI_LIVE_EMULATOR_ASR`` is
    ``0``, ``off``, ``false`` or ``no`` (any case), on otherwise (unset included)."""
    return os.environ.get(ASR_ENV, "").strip().lower() not in {"0", "off", "false", "no"}


LISTEN_TIMEOUT_ENV = "GEMINI_LIVE_EMULATOR_LISTEN_TIMEOUT_S"


def listen_timeout_from_environment() -> float:
    """The default of :attr:`EmulatorConfig.listen_timeout_s`: ``GEMINI_LIVE_EMULATOR_LISTEN_TIMEOUT_S``
    (seconds) or 1.0.

    Raises:
        ValueError: When the variable is set but is not a positive number.
    """
    raw = os.environ.get(LISTEN_TIMEOUT_ENV, "").strip()
    if not raw:
        return 1.0
    value = float(raw)
    if not value > 0:
        raise ValueError(f"{LISTEN_TIMEOUT_ENV} must be a positive number of seconds, not {raw!r}")
    return value
