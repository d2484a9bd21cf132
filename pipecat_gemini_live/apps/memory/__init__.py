"""Callers remembered across calls: a SQL store (SQLAlchemy), caller keys, per-call wiring.

See :mod:`.store` (the table, load window, retention), :mod:`.keys` (phone, cookie and
participant keys), :mod:`.call` (one call's load and writes) and ``python -m
pipecat_gemini_live.apps.memory`` (forget a caller, purge).
"""

from .call import NEW_CALL_NOTE, CallMemory
from .deployment import CallerMemory
from .keys import CookieSigner, caller_secret, participant_caller_key, phone_caller_key
from .store import MemoryPolicy, MemoryStore, RememberedTurn, data_dir, default_url

__all__ = [
    "NEW_CALL_NOTE",
    "CallMemory",
    "CallerMemory",
    "CookieSigner",
    "MemoryPolicy",
    "MemoryStore",
    "RememberedTurn",
    "caller_secret",
    "data_dir",
    "default_url",
    "participant_caller_key",
    "phone_caller_key",
]
