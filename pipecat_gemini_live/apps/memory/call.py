"""One call's memory: the caller's earlier turns given to the service at connect, and the
call's own turns written to the store as they happen.

Only the conversation is kept (:data:`WRITTEN_KINDS`): words said and typed, never tool calls'
arguments or tool results. The earlier turns go into the service's :class:`~pipecat_gemini_live.protocol.history.ConversationHistory`
before the pipeline starts, so the call's first session is seeded with them in the form its
model's profile takes (initial history, or ``clientContent`` ending with a user turn), exactly
as a hand-over seeds a new session. The call's turns are written from that same history (its
listener), so hand-overs, reconnects and model fallbacks change nothing: the store follows the
conversation, not the sessions. Writes run one at a time on a worker thread, each committed on
its own as soon as the thread reaches it; a crash loses what was still queued (with a healthy
database, the turn in flight).
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from loguru import logger

from ...protocol.history import HistoryEntry
from .store import MemoryStore, RememberedTurn

if TYPE_CHECKING:
    from ...service import GeminiLiveLLMService

# What was said in the call: the caller's and the model's words ("speech"), typed text, and
# turns the application added ("app"). Not the seed itself ("context"), the opening cue, or the
# markers a seed adds; and not tool calls' arguments or tool results: they carry whatever the
# application's systems returned (account numbers, addresses, records about other people),
# kept for as long as the retention allows, while what a returning caller's context needs is
# what they were told, which the model's spoken reply already holds.
WRITTEN_KINDS = frozenset({"speech", "text", "app"})

# Ends the remembered turns: the model is told the call is new (and a profile whose seed must
# end with a user turn gets one that says something true).
# A caller waits on the load before hearing the bot: past this, the call starts without memory.
LOAD_TIMEOUT_S = 3.0

NEW_CALL_NOTE = "(The turns above are from earlier calls with this caller. A new call starts now.)"


class CallMemory:
    """Memory for one call of one caller.

    Use :meth:`open` before the call's pipeline runs, :meth:`close` when it has ended.

    Attributes:
        caller_key: The caller's key (:mod:`.keys`).
        call_id: This call's id in the store (a Twilio CallSid, a room session id).
        loaded: The earlier turns given to the call.
        written: Turns written so far.
        failed_writes: Turns the store refused (logged; the call went on).
    """

    def __init__(self, store: MemoryStore, caller_key: str, call_id: str):
        self.store = store
        self.caller_key = caller_key
        self.call_id = call_id
        self.loaded: list[RememberedTurn] = []
        self.written = 0
        self.failed_writes = 0
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="memory-write")
        self._closed = False

    @classmethod
    async def open(
        cls,
        service: "GeminiLiveLLMService",
        store: MemoryStore,
        caller_key: str,
        call_id: str,
        *,
        load_timeout_s: float = LOAD_TIMEOUT_S,
    ) -> "CallMemory":
        """Load the caller's turns into ``service`` and start writing its new ones.

        Must run before the service starts (its first session is seeded at start). A store that
        cannot be read, or not within ``load_timeout_s`` seconds, does not stop or hold up the
        call: it starts with no memory (logged), and its own turns are still written.
        """
        memory = cls(store, caller_key, call_id)
        try:
            memory.loaded = await asyncio.wait_for(asyncio.to_thread(store.recent, caller_key), load_timeout_s)
        except Exception as e:
            logger.warning(f"memory: could not load the caller's turns ({type(e).__name__}); the call starts without them")
        for turn in memory.loaded:
            service.history.add_turn(turn.role, turn.text, kind="context")
        if memory.loaded:
            service.history.add_turn("user", NEW_CALL_NOTE, kind="context")
            logger.info(f"memory: call {call_id} opens with {len(memory.loaded)} remembered turns")
        service.history.add_listener(memory._on_entry)
        return memory

    def _on_entry(self, entry: HistoryEntry) -> None:
        if self._closed or entry.kind not in WRITTEN_KINDS:
            return
        self._writer.submit(self._write, entry.role, entry.text, entry.kind)

    def _write(self, role: str, text: str, kind: str) -> None:
        try:
            self.store.append(self.caller_key, self.call_id, role, text, kind)
            self.written += 1
        except Exception as e:
            self.failed_writes += 1
            # The text stays out of the log: it is what the caller said.
            logger.warning(f"memory: a {role} turn of call {self.call_id} was not stored ({type(e).__name__})")

    async def close(self) -> None:
        """Stop taking turns and wait until the queued ones are written."""
        if self._closed:
            return
        self._closed = True
        await asyncio.to_thread(self._writer.shutdown, True)
