"""Model names as the server reads them: ``models/`` prefix, case, version.

The emulator keeps its own reading of model names rather than importing a client's: it stands
for the server, which knows nothing of any client's tables.
"""

from __future__ import annotations

import re

_VERSION_RE = re.compile(r"gemini-(?:live-)?(\d+)(?:\.(\d+))?")


def bare_model_name(model: str) -> str:
    """``"models/gemini-3.1-flash-live-preview"`` -> ``"gemini-3.1-flash-live-preview"``; a
    Vertex AI path (``projects/P/locations/L/publishers/google/models/M``) -> ``"m"``."""
    name = model.strip().lower()
    return name.rsplit("/models/", 1)[-1].removeprefix("models/")


def model_version(model: str) -> tuple[int, int] | None:
    """The ``(major, minor)`` version a Gemini model name carries, or None."""
    m = _VERSION_RE.search(bare_model_name(model))
    if not m:
        return None
    return int(m.group(1)), int(m.group(2) or 0)
