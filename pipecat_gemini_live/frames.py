"""The project's own frames."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pipecat.frames.frames import SystemFrame


@dataclass
class PersonaUpdateFrame(SystemFrame):
    """Change who the bot is, mid-call.

    A system frame, so it jumps the queue as an urgent change should. The service applies it
    in-session where the model profile allows (``contextUpdate``), and otherwise moves the call
    to a new session that carries the new setup, with the conversation so far, without losing
    caller audio (see :mod:`pipecat_gemini_live.call.switcher`).

    Parameters:
        system_instruction: The new system instruction (None keeps the current one).
        voice: New prebuilt voice name (``"Puck"``), or None to keep it.
        language: New speech language (``"ko-KR"`` or a Pipecat ``Language``), or None.
        tools: New tools (a Pipecat ``ToolsSchema``, or Gemini-format tool dicts), or None.
        label: A name for logs and reports (``"pirate"``).
    """

    system_instruction: str | None = None
    voice: str | None = None
    language: Any = None
    tools: Any = None
    label: str | None = None
