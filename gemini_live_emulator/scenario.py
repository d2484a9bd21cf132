"""Scripted tool calls: "on caller turn N, call get_weather with these args".

The emulated model has no language understanding, so when it calls a function is scripted per
run. Turns are counted over the whole conversation (a resumed or re-seeded session continues
the count), so a script reads like the call it describes::

    Scenario.parse(["2:get_weather", '3:book_table{"people": 4}', "4:get_weather,get_time"])

A step whose functions are not declared in the session's setup is skipped (a real model only
calls what it was given), unless ``force`` is set: that is how a test makes the model call a
function the client has no handler for.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class ToolStep:
    """One scripted ``toolCall``.

    Attributes:
        turn: Caller turn (1-based, over the conversation) that triggers the call.
        calls: Functions to call in one ``toolCall`` (parallel calls): ``{"name", "args"}``.
        force: Call even functions the setup did not declare.
    """

    turn: int
    calls: list[dict]
    force: bool = False


@dataclass
class Scenario:
    """The tool-call script of an emulator run."""

    steps: list[ToolStep] = field(default_factory=list)

    def calls_for(self, turn: int) -> ToolStep | None:
        """The step scripted for caller turn ``turn``, if any."""
        return next((s for s in self.steps if s.turn == turn), None)

    @classmethod
    def parse(cls, specs: list[str]) -> "Scenario":
        """Steps from ``TURN:NAME[{json args}][,NAME...]`` strings (``!`` after TURN forces).

        Raises:
            ValueError: For a malformed step.
        """
        steps = []
        for spec in specs:
            m = re.fullmatch(r"\s*(\d+)(!?):(.+)", spec)
            if not m:
                raise ValueError(f"not a tool step: {spec!r} (e.g. 2:get_weather{{\"city\": \"Paris\"}})")
            calls = []
            for name, args in re.findall(r"([A-Za-z_][\w.-]*)(\{[^{}]*\})?", m.group(3)):
                try:
                    calls.append({"name": name, "args": json.loads(args) if args else {}})
                except json.JSONDecodeError as e:
                    raise ValueError(f"bad JSON args for {name} in {spec!r}: {e}") from e
            if not calls:
                raise ValueError(f"no function in tool step {spec!r}")
            steps.append(ToolStep(turn=int(m.group(1)), calls=calls, force=bool(m.group(2))))
        return cls(steps)

    @classmethod
    def load(cls, path: str | Path) -> "Scenario":
        """A scenario from a JSON file: ``{"steps": [{"turn": 2, "calls": [...], "force": false}]}``."""
        data = json.loads(Path(path).read_text())
        return cls([ToolStep(**step) for step in data.get("steps", [])])
