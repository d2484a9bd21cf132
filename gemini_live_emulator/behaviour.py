"""How each model family behaves on the server side, as the emulator reproduces it.

This is the emulator's own table, kept apart from any client's model table on purpose: tests
that prove a client never sends what a model forbids need a server that enforces the rule
independently, not one that reads the client's beliefs.

Behaviours marked ``field report`` come from public issue threads rather than documentation;
the emulator's README lists them with their sources.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import Enum
from fnmatch import fnmatchcase

from .names import bare_model_name, model_version


class OnViolation(str, Enum):
    """What the server does with a message the model does not accept."""

    ACCEPT = "accept"
    CLOSE_1007 = "close_1007"
    GO_SILENT = "go_silent"


@dataclass(frozen=True)
class ServerBehaviour:
    """One model family's server-side rules.

    Attributes:
        name: Family name for logs and records.
        patterns: ``fnmatch`` patterns on the bare model name.
        min_version: Lowest ``gemini-X.Y`` version the family covers, when open-ended.
        late_client_content: What happens to ``clientContent`` after realtime input started
            (or without ``initialHistoryInClientContent`` where initial history needs it).
        client_content_needs_history_config: ``clientContent`` is only accepted as initial
            history declared by ``historyConfig.initialHistoryInClientContent`` (3.1).
        system_role_turn: What a ``role: "system"`` turn in ``clientContent`` does.
        seed_must_end_with_user: ``clientContent`` with ``turnComplete`` whose last turn is not
            ``user`` is refused (1007, "Precondition check failed."); with ``turnComplete``
            false (the server waits for more) it is accepted.
        context_update: What a ``contextUpdate`` does (ACCEPT applies it in place).
        non_blocking_tools: Whether ``behavior: NON_BLOCKING`` declarations are accepted.
        cancel_tool_calls_on_barge_in: Caller speech during a pending blocking tool call sends
            ``toolCallCancellation`` for it (reported for 3.1).
        default_tool_behavior: How a function declared without ``behavior`` is called
            (``BLOCKING``: the model waits for the result; ``NON_BLOCKING``: it goes on).
        manual_activity: When ``activityStart`` / ``activityEnd`` are accepted:
            ``"detection_disabled"`` (only with automatic activity detection disabled, as the SDK
            types describe them; otherwise 1007) or ``"detection_enabled"`` (only with it on,
            where the client's marks then decide the turns; with it disabled, 1007).
        voice_activity: The server tells the client what its activity detection heard
            (``voiceActivity``: ``ACTIVITY_START`` / ``ACTIVITY_END`` with the audio offset).

    Each rule's dated source is in docs/model-rules.md; where reports conflict, each reading
    is a variant of its own (``3.1@2026-08``, ``3.1@2026-09``; see :data:`VARIANTS`).
    """

    name: str
    patterns: tuple[str, ...]
    late_client_content: OnViolation
    client_content_needs_history_config: bool
    system_role_turn: OnViolation
    seed_must_end_with_user: bool
    context_update: OnViolation
    non_blocking_tools: bool
    cancel_tool_calls_on_barge_in: bool
    min_version: tuple[int, int] | None = None
    default_tool_behavior: str = "BLOCKING"
    manual_activity: str = "detection_disabled"
    voice_activity: bool = False

    def matches(self, model: str) -> bool:
        """Whether the family covers ``model``."""
        bare = bare_model_name(model)
        if not any(fnmatchcase(bare, p) for p in self.patterns):
            return False
        if self.min_version is not None:
            version = model_version(bare)
            return version is not None and version >= self.min_version
        return True


NATIVE_AUDIO_2_5 = ServerBehaviour(
    name="gemini-2.5-native-audio",
    patterns=(
        "gemini-2.5-flash-native-audio*",
        "gemini-live-2.5-flash*",
        "gemini-2.5-flash-live*",
        "gemini-2.0-flash-live*",
    ),
    late_client_content=OnViolation.ACCEPT,
    client_content_needs_history_config=False,
    system_role_turn=OnViolation.GO_SILENT,  # field report: no error, no more answers
    seed_must_end_with_user=True,
    context_update=OnViolation.CLOSE_1007,
    non_blocking_tools=True,
    cancel_tool_calls_on_barge_in=False,
)

LIVE_3_1 = ServerBehaviour(
    name="gemini-3.1-flash-live",
    patterns=("gemini-3.1-*",),
    late_client_content=OnViolation.CLOSE_1007,  # field report
    client_content_needs_history_config=True,
    system_role_turn=OnViolation.CLOSE_1007,
    seed_must_end_with_user=False,
    context_update=OnViolation.CLOSE_1007,
    non_blocking_tools=False,
    cancel_tool_calls_on_barge_in=True,  # field report
)

LIVE_3_8 = ServerBehaviour(
    name="gemini-3.8-live",
    patterns=("gemini-*live*",),
    min_version=(3, 8),
    late_client_content=OnViolation.ACCEPT,
    client_content_needs_history_config=False,
    system_role_turn=OnViolation.CLOSE_1007,
    seed_must_end_with_user=False,
    context_update=OnViolation.ACCEPT,
    non_blocking_tools=True,
    cancel_tool_calls_on_barge_in=False,
)

# A Gemini model the emulator has no family for gets the strictest rules.
UNKNOWN_GEMINI = ServerBehaviour(
    name="gemini (unknown family: strictest rules)",
    patterns=("gemini*",),
    late_client_content=OnViolation.CLOSE_1007,
    client_content_needs_history_config=True,
    system_role_turn=OnViolation.CLOSE_1007,
    seed_must_end_with_user=False,
    context_update=OnViolation.CLOSE_1007,
    non_blocking_tools=False,
    cancel_tool_calls_on_barge_in=True,
)

BEHAVIOURS: tuple[ServerBehaviour, ...] = (LIVE_3_1, LIVE_3_8, NATIVE_AUDIO_2_5, UNKNOWN_GEMINI)

# Readings of the same model at different dates, where the reports conflict (docs/model-rules.md).
# The plain family names keep the stricter, older reading; a test or an emulator picks a
# variant by name (``model_behaviours={"gemini-3.1-*": "3.1@2026-09"}``, ``--model-behaviour``).
LIVE_3_1_MUTABLE = replace(
    LIVE_3_1,
    name="gemini-3.1-flash-live@2026-09",
    # Instruction and chat-context updates accepted throughout the session (LiveKit's plugin
    # sends them to 3.1 from its PR #7289, merged 2026-09-15: "now supported").
    late_client_content=OnViolation.ACCEPT,
    client_content_needs_history_config=False,
)
# Sends voiceActivity (python-genai issue #2981, 2026-09-18: 3.1 "emits voiceActivity" on
# v1alpha and v1beta; an earlier campaign, issue #1285 on 2026-08-18, saw none from 3.1).
LIVE_3_1_MUTABLE = replace(LIVE_3_1_MUTABLE, voice_activity=True)
LIVE_3_1_MARKS_WITH_DETECTION = replace(
    LIVE_3_1_MUTABLE,
    name="gemini-3.1-flash-live@2026-11",
    # One report (recorded 2026-11-30, undated) has 3.1 refusing activityStart / activityEnd
    # with automatic detection disabled (1007) and accepting them with detection on.
    manual_activity="detection_enabled",
)
LIVE_3_8_NON_BLOCKING_DEFAULT = replace(
    LIVE_3_8,
    name="gemini-3.8-live@2026-10",
    # LiveKit's plugin 1.8.9 (2026-10) treats 3.8 functions declared without a behavior as
    # NON_BLOCKING on the real server, as Pipecat 1.14 does ("the 3.8 Live family flipped
    # the default").
    default_tool_behavior="NON_BLOCKING",
)
VARIANTS: dict[str, ServerBehaviour] = {
    "2.5@2026-10": NATIVE_AUDIO_2_5,
    "3.1@2026-08": LIVE_3_1,
    "3.1@2026-09": LIVE_3_1_MUTABLE,
    "3.1@2026-11": LIVE_3_1_MARKS_WITH_DETECTION,
    "3.8@2026-08": LIVE_3_8,
    "3.8@2026-10": LIVE_3_8_NON_BLOCKING_DEFAULT,
}


def behaviour_for(model: str) -> ServerBehaviour | None:
    """The family serving ``model``, or None for a model the service would not find (1008)."""
    for behaviour in BEHAVIOURS:
        if behaviour.matches(model):
            return behaviour
    return None


_NAMES = {
    "2.5": NATIVE_AUDIO_2_5,
    "3.1": LIVE_3_1,
    "3.8": LIVE_3_8,
    "strict": UNKNOWN_GEMINI,
    **VARIANTS,
}


def behaviour_named(name: str) -> ServerBehaviour:
    """A family by short name (``2.5``, ``3.1``, ``3.8``, ``strict``), dated variant
    (``3.1@2026-08``, ``3.1@2026-09``, ... :data:`VARIANTS`) or full ``name``.

    Raises:
        ValueError: For a name no family has.
    """
    if name in _NAMES:
        return _NAMES[name]
    for behaviour in BEHAVIOURS:
        if behaviour.name == name:
            return behaviour
    raise ValueError(f"unknown model family {name!r} (one of {', '.join(_NAMES)})")
