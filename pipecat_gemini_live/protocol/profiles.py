"""What each Gemini Live model accepts: one table, read by the rest of the code.

Every model-dependent decision in this package (how to seed history, whether a persona change
can be applied in-session, whether tools may be ``NON_BLOCKING``, where typed text goes) reads a
:class:`ModelProfile`. There are no model-name checks anywhere else.

The facts come from field reports summarised in ``docs/design.md`` (the Live API does not
document them model by model):

- gemini-2.5 native-audio models take ``clientContent`` mid-session, but a seed must end with a
  user turn, and a ``role: "system"`` turn makes the model stop answering for the rest of the
  session (no error).
- gemini-3.1-flash-live-preview takes ``clientContent`` as initial history (with
  ``historyConfig.initialHistoryInClientContent``) before any realtime input; whether it takes
  any later is reported both ways, as is where it takes manual activity marks, so both are
  tried and given up on a 1007 (:attr:`ModelProfile.unsure`). Tools are synchronous only.
- gemini-3.8-live and newer take ``clientContent`` mid-session and ``contextUpdate``.
- An unknown model is treated like 3.1: the most restrictive profile is the one that cannot
  break a call.

A new model ships every few months, so users can add or override profiles::

    from pipecat_gemini_live import ModelProfile, HistorySeeding, register_profile

    register_profile(ModelProfile(
        name="gemini-4.0-live",
        patterns=("gemini-4.0-*live*",),
        mid_session_client_content=True,
        history_seeding=HistorySeeding.INITIAL_HISTORY,
        context_update=True,
        non_blocking_tools=True,
    ))

or pass ``profile=`` to the service to pin one for a single call.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from enum import Enum
from fnmatch import fnmatchcase


class HistorySeeding(str, Enum):
    """How a new session is given the conversation so far.

    Attributes:
        CLIENT_CONTENT: ``clientContent`` turns at any time; the seed must end with a user turn
            when the profile says so (``seed_must_end_with_user``).
        INITIAL_HISTORY: ``clientContent`` turns sent right after setup, before any realtime
            input, with ``historyConfig.initialHistoryInClientContent = true`` in the setup.
    """

    CLIENT_CONTENT = "client_content"
    INITIAL_HISTORY = "initial_history"


class TextInput(str, Enum):
    """Where typed user text goes.

    Attributes:
        REALTIME: ``realtimeInput.text`` (works on every model, interleaves with audio).
        CLIENT_CONTENT: a ``clientContent`` user turn with ``turnComplete``.
    """

    REALTIME = "realtime"
    CLIENT_CONTENT = "client_content"


@dataclass(frozen=True)
class ModelProfile:
    """What one family of Gemini Live models accepts.

    Attributes:
        name: Profile name, for logs and reports.
        patterns: ``fnmatch`` patterns matched against the bare model name (no ``models/``
            prefix, lower case), for example ``"gemini-2.5-flash-native-audio*"``.
        min_version: When set, the model name must also carry a ``gemini-X.Y`` version at least
            this high (for open-ended families such as "3.8 and newer").
        mid_session_client_content: Whether ``clientContent`` may be sent after the
            conversation has started (text turns, appended messages, re-seeding in place).
        history_seeding: How a new session receives earlier turns.
        seed_must_end_with_user: Whether a seed's last turn must have role ``user``.
        context_update: Whether ``contextUpdate`` (system instruction / tools in-session) is
            honoured, so a persona change needs no new session.
        non_blocking_tools: Whether function declarations may carry ``behavior: NON_BLOCKING``
            and responses a ``scheduling`` (INTERRUPT / WHEN_IDLE / SILENT).
        affective_dialog: Whether ``enableAffectiveDialog`` may be set in the setup.
        proactivity: Whether ``proactivity`` may be set in the setup.
        text_input: Where typed user text goes.
        system_role_turns: Whether a ``role: "system"`` turn in ``clientContent`` is safe. False
            everywhere we know of (2.5 goes silent for good); kept as data so the code that
            never sends one says why.
        manual_activity_with_detection: In local-VAD mode (``GeminiVADParams(disabled=True)``),
            send ``activityStart`` / ``activityEnd`` with the server's automatic detection left
            on, rather than disabled as the SDK types describe them (one 3.1 report).
        unsure: Capabilities the field reports disagree on, each ``(name, value to try)``. The
            service uses the value to try until the model refuses it (a 1007 right after that
            kind of message, :func:`learn_refusal`); from then on, in this process, the
            profile's own value, which is the reading that works where the other was refused.
            Sources: docs/model-rules.md.
    """

    name: str
    patterns: tuple[str, ...]
    mid_session_client_content: bool
    history_seeding: HistorySeeding
    context_update: bool
    non_blocking_tools: bool
    min_version: tuple[int, int] | None = None
    seed_must_end_with_user: bool = False
    affective_dialog: bool = False
    proactivity: bool = False
    text_input: TextInput = TextInput.REALTIME
    system_role_turns: bool = False
    manual_activity_with_detection: bool = False
    unsure: tuple[tuple[str, bool], ...] = ()
    notes: str = field(default="", compare=False)

    def matches(self, model: str) -> bool:
        """Whether this profile applies to ``model`` (with or without the ``models/`` prefix)."""
        bare = bare_model_name(model)
        if not any(fnmatchcase(bare, p.lower()) for p in self.patterns):
            return False
        if self.min_version is not None:
            version = model_version(bare)
            return version is not None and version >= self.min_version
        return True

    def with_overrides(self, **changes) -> "ModelProfile":
        """A copy of this profile with some capabilities changed (for example to try a new model)."""
        return replace(self, **changes)


def bare_model_name(model: str) -> str:
    """``"models/gemini-3.1-flash-live-preview"`` -> ``"gemini-3.1-flash-live-preview"``."""
    return model.strip().lower().removeprefix("models/")


_VERSION_RE = re.compile(r"gemini-(?:live-)?(\d+)(?:\.(\d+))?")


def model_version(model: str) -> tuple[int, int] | None:
    """The ``(major, minor)`` version a Gemini model name carries, or None."""
    m = _VERSION_RE.search(bare_model_name(model))
    if not m:
        return None
    return int(m.group(1)), int(m.group(2) or 0)


GEMINI_2_5_NATIVE_AUDIO = ModelProfile(
    name="gemini-2.5-native-audio",
    patterns=(
        "gemini-2.5-flash-native-audio*",
        "gemini-live-2.5-flash*",
        "gemini-2.5-flash-live*",
        "gemini-2.0-flash-live*",
    ),
    mid_session_client_content=True,
    history_seeding=HistorySeeding.CLIENT_CONTENT,
    seed_must_end_with_user=True,
    context_update=False,
    non_blocking_tools=True,
    affective_dialog=True,
    proactivity=True,
    text_input=TextInput.REALTIME,
    notes="A role 'system' clientContent mid-session silences the model for good (field report).",
)

GEMINI_3_1_LIVE = ModelProfile(
    name="gemini-3.1-live",
    patterns=("gemini-3.1-*",),
    mid_session_client_content=False,
    history_seeding=HistorySeeding.INITIAL_HISTORY,
    context_update=False,
    non_blocking_tools=False,
    text_input=TextInput.REALTIME,
    manual_activity_with_detection=True,
    # Reports disagree (docs/model-rules.md): clientContent mid-session is refused (March-August
    # 2026) or taken (LiveKit PR #7289, 2026-09-15); manual activity marks are taken with
    # automatic detection disabled (the SDK types) or only with it on (one report). The
    # in-session / documented path is tried first; a 1007 after it turns it off.
    unsure=(("mid_session_client_content", True), ("manual_activity_with_detection", False)),
    notes="clientContent after realtime input has started: refused with 1007 in the older reports, "
    "taken in the newer; tried, and given up for the process on a 1007.",
)

GEMINI_3_8_LIVE = ModelProfile(
    name="gemini-3.8-live",
    patterns=("gemini-*live*",),
    min_version=(3, 8),
    mid_session_client_content=True,
    history_seeding=HistorySeeding.INITIAL_HISTORY,
    context_update=True,
    non_blocking_tools=True,
    affective_dialog=True,
    proactivity=True,
    text_input=TextInput.REALTIME,
    notes="contextUpdate honoured in-session (assumed from SDK support; not documented per model).",
)

UNKNOWN_MODEL = replace(
    GEMINI_3_1_LIVE,
    name="unknown (conservative)",
    unsure=(),
    manual_activity_with_detection=False,
    patterns=("*",),
    notes="No profile matched: behave as 3.1, the most restrictive known model.",
)

_BUILTIN_PROFILES: tuple[ModelProfile, ...] = (
    GEMINI_3_1_LIVE,
    GEMINI_3_8_LIVE,
    GEMINI_2_5_NATIVE_AUDIO,
)

_user_profiles: list[ModelProfile] = []


def register_profile(profile: ModelProfile) -> None:
    """Add a profile that takes precedence over the built-in table (and earlier registrations).

    Args:
        profile: The profile. Its ``patterns`` decide which model names it covers.
    """
    _user_profiles.insert(0, profile)


def unregister_profile(name: str) -> None:
    """Remove user-registered profiles with this name (built-in ones stay)."""
    _user_profiles[:] = [p for p in _user_profiles if p.name != name]


def known_profiles() -> tuple[ModelProfile, ...]:
    """All profiles in match order: user-registered first, then built-in, then the default."""
    return (*_user_profiles, *_BUILTIN_PROFILES, UNKNOWN_MODEL)


def profile_for(model: str) -> ModelProfile:
    """The profile for a model name; the conservative default when nothing matches.

    Refusals learned in this process (:func:`learn_refusal`) are applied on top.

    Args:
        model: A Live model name, with or without the ``models/`` prefix.
    """
    for profile in known_profiles():
        if profile.matches(model):
            return corrected(profile, model)
    return corrected(UNKNOWN_MODEL, model)


# What a 1007 close proved a model refuses, by the kind of message last sent before it.
REFUSAL_CORRECTIONS: dict[str, dict[str, bool]] = {
    "client_content": {"mid_session_client_content": False},
    "context_update": {"context_update": False},
    "tool_scheduling": {"non_blocking_tools": False},
}

_learned: dict[str, dict[str, bool]] = {}


def refusal_changes(kind: str, *, marks_with_detection: bool | None = None) -> dict[str, bool] | None:
    """The capabilities a 1007 right after a ``kind`` message proves wrong, and their new
    values; None when the kind maps to none (see :func:`learn_refusal`)."""
    if kind == "activity":
        return None if marks_with_detection is None else {"manual_activity_with_detection": not marks_with_detection}
    return REFUSAL_CORRECTIONS.get(kind)


def trying(profile: ModelProfile) -> frozenset[str]:
    """The capabilities ``profile`` is trying: unsure, and still at the value to try."""
    return frozenset(name for name, value in profile.unsure if getattr(profile, name) == value)


def learn_refusal(model: str, kind: str, *, marks_with_detection: bool | None = None) -> dict[str, bool] | None:
    """Remember, for this process, that ``model`` closed a session with 1007 after ``kind``.

    The field reports behind the table drift (a model starts or stops taking a message), so a
    refusal seen on the wire wins over the table for the rest of the process. Manual activity
    marks (``activity``) refused under one reading move the model to the other one.

    Args:
        model: The model that refused.
        kind: The kind of the last non-audio message sent (``client_content``,
            ``context_update``, ``tool_scheduling``, ``activity``, ...).
        marks_with_detection: For ``activity``: whether the refused session had the server's
            automatic detection on while the marks were sent.

    Returns:
        The capabilities changed, or None when nothing new was learned: the kind maps to no
        capability, or this process knew it already (so it is logged once).
    """
    changes = refusal_changes(kind, marks_with_detection=marks_with_detection)
    if changes is None:
        return None
    known = _learned.setdefault(bare_model_name(model), {})
    if all(known.get(name) == value for name, value in changes.items()):
        return None
    known.update(changes)
    return changes


def forget_refusals() -> None:
    """Drop every refusal learned in this process (tests, or after upgrading a model)."""
    _learned.clear()


def corrected(profile: ModelProfile, model: str) -> ModelProfile:
    """``profile`` as this process uses it for ``model``: what it is unsure of set to the value
    to try, unless a refusal was learned for it; learned refusals applied on top."""
    learned = _learned.get(bare_model_name(model), {})
    changes = {name: value for name, value in profile.unsure if name not in learned}
    changes.update(learned)
    return profile.with_overrides(**changes) if changes else profile
