"""A call timeline: what the caller says, what the bot's owner and the server do, and when.

Times are seconds of call time (the recording's clock; a run plays it time-scaled). Events are
anchored to the caller's speech so that "just before the caller speaks", "mid-sentence", "while
the bot answers" are reachable by small numbers: an event at ``turn=k, offset=x`` happens ``x``
seconds after utterance ``k`` ends (negative: before it ends; ``turn=-1``: after the call
starts). The bot's reply to utterance ``k`` comes about 0.6 s after it ends and lasts 4-6 s.

``repr()`` of a :class:`Timeline` is valid Python: a failing timeline printed by hypothesis can
be pasted into ``test_regressions.py`` as it is.
"""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import strategies as st

MODELS = (
    "gemini-2.5-flash-native-audio-preview-12-2025",
    "gemini-3.1-flash-live-preview",
    "gemini-3.8-live",
    "gemini-9.9-experimental",  # unknown to every table: the strictest rules
)
# Short real utterances (tests/data); long ones would make each timeline slower, not harder.
UTTERANCES = ("cards_001.wav", "cards_002.wav", "cards_003.wav", "cards_005.wav", "librivox_0880.wav", "librivox_0930.wav")
PERSONAS = (
    "You are a test assistant.",
    "You are a pirate. Talk like a pirate.",
    "You are a librarian.",
    "You are a weather reporter.",
)
# Pipeline-side events (frames the bot's owner queues, or the caller's line).
EVENT_KINDS = ("persona", "tools", "settings", "mute", "end", "cancel")
HANGUPS = ("end", "cancel")


@dataclass(frozen=True)
class Event:
    """One thing that happens to the call at a moment.

    Attributes:
        kind: ``persona`` (PersonaUpdateFrame, ``arg`` = index in PERSONAS), ``tools``
            (LLMSetToolsFrame; ``arg`` 0 = no tools, 1 = get_weather), ``settings``
            (LLMUpdateSettingsFrame, temperature), ``mute`` (no caller frames at all for
            ``arg`` seconds: a muted mic or a stalled track), ``end`` (EndFrame), ``cancel``
            (the worker is cancelled: CancelFrame).
        turn: Anchor utterance (0-based), or -1 for the start of the call.
        offset: Seconds after the anchor utterance ends (or after the call starts).
        arg: Kind-specific (see above).
    """

    kind: str
    turn: int
    offset: float
    arg: float = 0


@dataclass(frozen=True)
class Timeline:
    """One call to run.

    Attributes:
        model: Live model name (every profile, and one unknown name).
        speech: ``(silence before, utterance file)`` pairs: the caller's recording.
        events: What the owner, the line and the caller's hang-up do, and when.
        faults: Emulator faults (``close:1011@reply#1``, ``drop@t=3``, ``stall:8@reply``,
            ``slow_setup:1.5#1``, ``refuse:2``...; see gemini_live_emulator/faults.py).
        lifetime: ``(lifetime_s, goaway_before_s)`` of every connection, or None.
        tool_turns: Caller turns (1-based, over the conversation) on which the model calls
            get_weather.
        tool_delay: How long the get_weather handler takes, seconds of call time.
        tail: Silence after the last utterance, seconds.
        pace: How fast the emulated model sends its replies, relative to playback (1.0: as
            fast as they play, so a reply is still streaming while the caller hears it;
            more: sent ahead, as the real service often does).
    """

    model: str
    speech: tuple[tuple[float, str], ...]
    events: tuple[Event, ...] = ()
    faults: tuple[str, ...] = ()
    lifetime: tuple[float, float] | None = None
    tool_turns: tuple[int, ...] = ()
    tool_delay: float = 0.3
    tail: float = 8.0
    pace: float = 1.0

    def utterance_spans(self, durations: dict[str, float]) -> list[tuple[float, float]]:
        """``(start, end)`` of each utterance in the recording (file bounds, call time)."""
        spans, t = [], 0.0
        for gap, name in self.speech:
            t += gap
            spans.append((t, t + durations[name]))
            t += durations[name]
        return spans

    def event_time(self, event: Event, spans: list[tuple[float, float]]) -> float:
        """When ``event`` happens, seconds of call time (never before 0)."""
        base = 0.0 if event.turn < 0 or not spans else spans[min(event.turn, len(spans) - 1)][1]
        return max(0.0, base + event.offset)

    def hangup(self, spans: list[tuple[float, float]]) -> Event | None:
        """The earliest hang-up event, if any (later ones never happen)."""
        hangups = [e for e in self.events if e.kind in HANGUPS]
        return min(hangups, key=lambda e: self.event_time(e, spans)) if hangups else None


# -- strategies ------------------------------------------------------------------------------

def _tenths(lo: float, hi: float):
    return st.integers(int(round(lo * 10)), int(round(hi * 10))).map(lambda x: x / 10)


_gap = st.one_of(_tenths(0.3, 1.5), _tenths(2.5, 9.0))  # barge-in / merge range, or a pause
_offset = st.one_of(
    _tenths(-1.5, 0.0),  # during the utterance's end / just before the next one
    _tenths(0.0, 1.5),  # right after it: the end-of-turn window, the reply's start
    _tenths(1.5, 6.0),  # while the bot answers, or after
)


@st.composite
def events(draw, n_turns: int):
    kind = draw(st.sampled_from(EVENT_KINDS))
    turn = draw(st.integers(-1, n_turns - 1))
    offset = draw(_tenths(0.0, 2.0) if turn < 0 else _offset)
    arg: float = 0
    if kind == "persona":
        arg = draw(st.integers(1, len(PERSONAS) - 1))
    elif kind == "tools":
        arg = draw(st.integers(0, 1))
    elif kind == "mute":
        arg = draw(_tenths(0.3, 6.0))
    return Event(kind, turn, offset, arg)


_phase = st.sampled_from(["setup", "speaking", "reply", "tool_call"])
_conn = st.one_of(st.just(""), st.integers(0, 3).map(lambda i: f"#{i}"))


@st.composite
def faults(draw):
    kind = draw(st.sampled_from(["close", "drop", "stall", "slow_setup", "refuse", "outage"]))
    if kind == "close":
        code = draw(st.sampled_from([1000, 1007, 1011]))
        trigger = draw(st.one_of(_phase, _tenths(0.5, 15.0).map(lambda t: f"t={t}")))
        return (f"close:{code}@{trigger}{draw(_conn)}",)
    if kind == "drop":
        trigger = draw(st.one_of(_phase, _tenths(0.5, 15.0).map(lambda t: f"t={t}")))
        return (f"drop@{trigger}{draw(_conn)}",)
    if kind == "stall":
        return (f"stall:{draw(_tenths(1.0, 12.0))}@{draw(_phase)}{draw(_conn)}",)
    if kind == "slow_setup":
        return (f"slow_setup:{draw(_tenths(0.2, 3.0))}{draw(_conn)}",)
    if kind == "refuse":
        return (f"refuse:{draw(st.integers(1, 3))}",)
    # A server overloaded for a while: the next few connections are closed with 1011 at setup.
    return ("close:1011@setup",) * draw(st.integers(2, 8))


@st.composite
def timelines(draw, models=MODELS, max_turns: int = 4):
    """Random call timelines (see the module docs for the shape)."""
    model = draw(st.sampled_from(models))
    n = draw(st.integers(1, max_turns))
    speech = tuple((draw(_tenths(0.3, 1.5)) if i == 0 else draw(_gap), draw(st.sampled_from(UTTERANCES))) for i in range(n))
    evs = tuple(draw(st.lists(events(n), max_size=4)))
    fs = tuple(f for group in draw(st.lists(faults(), max_size=2)) for f in group)
    # Connections live at least 7 s of call time. The service's goAway margin is wall time (a
    # setup round trip is not time-scaled): at EXPLORE_SPEED 2-4 a 4 s lifetime left sessions
    # 0-2 s of call time before their forced move, shorter than one caller sentence, and no
    # session ever heard a whole turn (seed 9002: every session of a 3.2 s turn moved mid-turn).
    # Real connections live about ten minutes.
    lifetime = draw(st.one_of(st.none(), st.tuples(_tenths(7.0, 12.0), _tenths(1.0, 3.0))))
    tool_turns = tuple(sorted(set(draw(st.lists(st.integers(1, n), max_size=2)))))
    tool_delay = draw(_tenths(0.0, 4.0))
    pace = draw(st.sampled_from([1.0, 1.0, 1.5, 3.0]))
    return Timeline(model, speech, evs, fs, lifetime, tool_turns, tool_delay, pace=pace)


def describe(tl: Timeline, durations: dict[str, float]) -> str:
    """The timeline as a readable schedule (printed with a failure)."""
    spans = tl.utterance_spans(durations)
    lines = [f"model {tl.model}, replies sent at {tl.pace}x playback"]
    for i, ((s, e), (_, name)) in enumerate(zip(spans, tl.speech)):
        lines.append(f"  caller turn {i}: {s:6.2f}-{e:6.2f} s  {name}")
    for ev in sorted(tl.events, key=lambda e: tl.event_time(e, spans)):
        lines.append(f"  {tl.event_time(ev, spans):6.2f} s  {ev.kind} {ev.arg if ev.arg else ''}")
    if tl.faults:
        lines.append(f"  faults: {', '.join(tl.faults)}")
    if tl.lifetime:
        lines.append(f"  connection lifetime {tl.lifetime[0]} s, goAway {tl.lifetime[1]} s ahead")
    if tl.tool_turns:
        lines.append(f"  get_weather on turns {list(tl.tool_turns)}, handler takes {tl.tool_delay} s")
    return "\n".join(lines)


__all__ = ["Event", "Timeline", "timelines", "describe", "MODELS", "PERSONAS", "UTTERANCES"]
