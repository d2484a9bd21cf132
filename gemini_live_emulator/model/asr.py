"""Offline speech recognition of the caller's audio: what the emulated model "heard".

PocketSphinx 5 (``pocketsphinx`` on PyPI) with the US English acoustic model, language model
and dictionary its wheel ships: nothing is downloaded at run time. Chosen by word error rate
and speed on the project's recorded speech (``docs/emulator-asr.md``, made by
``bench/emulator_asr.py``).

Cost is kept low: only voiced audio is decoded (the VAD opens and closes each utterance, with a
short pre-roll so the first phoneme is not cut), the second decoding passes (``fwdflat``,
``bestpath``) are off so closing an utterance takes milliseconds instead of up to a second, and
decoders (about 0.3 s to load) are pooled and reused by the next session.

Decoding runs in a child process (``python -m gemini_live_emulator.model.asr_worker``; :data:`PROCESSES` of
them per emulator process, sessions spread over them by id, started on first use), never on the event loop's thread: PocketSphinx holds
the GIL while it works. Audio goes there in 100 ms batches over a pipe; calls are answered in
order. (A plain subprocess rather than ``multiprocessing``: no main-module re-import, so it
works from any script.)
"""

from __future__ import annotations

import asyncio
import atexit
import collections
import contextlib
import itertools
import pickle
import queue
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future

from loguru import logger
from tenacity import RetryCallState, wait_exponential

from .asr_common import ASR_RATE, CALIBRATION_TEXT, Heard, Resampler, line_cmn  # noqa: F401

BATCH_S = 0.1  # audio gathered before a trip to the recogniser's process

class _Recogniser:
    """The recogniser's child process (``python -m gemini_live_emulator.model.asr_worker``) and the
    thread that reads its answers; requests are answered in the order they were sent."""

    def __init__(self):
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gemini_live_emulator.model.asr_worker"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        )
        self._lock = threading.Lock()
        self._waiting: collections.deque[Future] = collections.deque()
        # Writes go through a thread: a recogniser that falls behind fills the pipe, and a
        # blocked write must never stall the event loop.
        self._outbox: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
        self.alive = True
        self.answered = False  # it decoded something: it was working, whatever ended it
        self.ended_at: float | None = None  # time.monotonic() when its output closed
        threading.Thread(target=self._read, name="emu-asr-reader", daemon=True).start()
        threading.Thread(target=self._write, name="emu-asr-writer", daemon=True).start()

    def submit(self, call: str, sid: int, *args) -> Future:
        future: Future = Future()
        body = pickle.dumps((call, sid, args))
        with self._lock:
            if not self.alive:
                raise RuntimeError("the speech recogniser's process has ended")
            self._waiting.append(future)
            self._outbox.put(struct.pack("<I", len(body)) + body)
        return future

    def _write(self) -> None:
        while (data := self._outbox.get()) is not None:
            try:
                self.proc.stdin.write(data)
                self.proc.stdin.flush()
            except (OSError, ValueError):  # the process ended: the reader fails the futures
                return

    def _read(self) -> None:
        out = self.proc.stdout
        try:
            while True:
                head = out.read(4)
                if len(head) < 4:
                    break
                ok, value = pickle.loads(out.read(struct.unpack("<I", head)[0]))
                with self._lock:
                    future = self._waiting.popleft()
                self.answered = True
                if ok:
                    future.set_result(value)
                else:
                    future.set_exception(RuntimeError(value))
        finally:
            with self._lock:
                self.alive = False
                self.ended_at = _now()
                waiting, self._waiting = list(self._waiting), collections.deque()
            for future in waiting:
                future.set_exception(RuntimeError("the speech recogniser's process has ended"))

    def stop(self) -> None:
        self._outbox.put(None)
        with contextlib.suppress(Exception):
            self.proc.stdin.close()
        with contextlib.suppress(Exception):
            self.proc.wait(timeout=2)
        if self.proc.poll() is None:
            self.proc.kill()


PROCESSES = 2  # sessions are spread over this many recogniser processes (by session id)
_procs: list[_Recogniser | None] = [None] * PROCESSES
_recogniser_lock = threading.Lock()
_ids = itertools.count(1)
_warned = False


# Restarts of a recogniser that keeps dying are spaced out (0.5 s, 1 s, 2 s... at most 30 s), so
# a broken one (a missing model, a crash at start) cannot spin a process per request. The count
# goes back to one once a process has decoded something.
RESTART_WAIT = wait_exponential(multiplier=0.5, min=0.5, max=30)
_now = time.monotonic  # the restart clock (a test moves it)
_failed_starts = [0] * PROCESSES


def _restart_delay(failures: int) -> float:
    state = RetryCallState(retry_object=None, fn=None, args=(), kwargs={})
    state.attempt_number = failures
    return RESTART_WAIT(state)


def _recogniser(sid: int = 0) -> _Recogniser:
    """The live recogniser process serving session ``sid``, started (or restarted) as needed.

    Raises:
        RuntimeError: The slot's process ended and its restart is not due yet (see
            :data:`RESTART_WAIT`); the caller goes on without words.
    """
    with _recogniser_lock:
        slot = sid % PROCESSES
        proc = _procs[slot]
        if proc is not None and proc.alive:
            return proc
        if proc is not None:
            if proc.answered:
                _failed_starts[slot] = 0
            if _failed_starts[slot]:
                due = (proc.ended_at or 0.0) + _restart_delay(_failed_starts[slot])
                if _now() < due:
                    raise RuntimeError(
                        f"the speech recogniser's process ended; restarting it in {due - _now():.1f} s"
                    )
            logger.warning(f"emulator: restarting the speech recogniser (slot {slot}, {_failed_starts[slot]} failed before)")
        _failed_starts[slot] += 1  # until it decodes something
        proc = _procs[slot] = _Recogniser()
        atexit.register(proc.stop)
        return proc


def warm_up_in_background() -> None:
    """Start the recogniser's process and load a decoder (returns at once)."""
    try:
        for slot in range(PROCESSES):
            _recogniser(slot).submit("warm", slot)
    except Exception as e:  # reported again, with the session, when a session needs it
        logger.warning(f"emulator: speech recogniser failed to start: {e!r}")


def warm_up(timeout_s: float = 60.0) -> bool:
    """Start the recogniser's processes and wait until each has a decoder loaded.

    For a caller that must not count the first start (seconds on a loaded machine) in a call:
    a test whose timing depends on when words are made out. Returns whether every process
    answered within ``timeout_s`` seconds (wall); never raises.
    """
    deadline = time.monotonic() + timeout_s
    try:
        futures = [_recogniser(slot).submit("warm", slot) for slot in range(PROCESSES)]
        return all(f.result(timeout=max(deadline - time.monotonic(), 0.0)) for f in futures)
    except Exception as e:  # reported again, with the session, when a session needs it
        logger.warning(f"emulator: speech recogniser did not warm up: {e!r}")
        return False


def available() -> bool:
    """Whether the recogniser's package is installed."""
    try:
        import pocketsphinx  # noqa: F401
    except ImportError:
        return False
    return True


def _call_soon(loop: asyncio.AbstractEventLoop, fn, *args) -> None:
    try:
        loop.call_soon_threadsafe(fn, *args)
    except RuntimeError:  # the loop closed while the recogniser worked: nobody is waiting
        pass


class StreamingRecognizer:
    """Recognises one session's caller speech, utterance by utterance, off the event loop.

    Calls are made from the event loop and return at once.

    Args:
        on_interim: Called on the event loop with newly stable words (a text piece with a
            leading space when it continues earlier words) while an utterance is under way.
    """

    def __init__(self, on_interim: Callable[[str], None] | None = None):
        self._loop = asyncio.get_running_loop()
        self._on_interim = on_interim
        self._sid = next(_ids)
        self._batch: list[bytes] = []
        self._batch_bytes = 0
        self._batch_limit = 0
        self._open = False
        self._closed = False

    def _submit(self, call: str, *args) -> Future | None:
        global _warned
        try:
            return _recogniser(self._sid).submit(call, self._sid, *args)
        except Exception as e:  # the process could not start or died: the turn goes on without words
            if not _warned:
                _warned = True
                logger.warning(f"emulator: speech recogniser unavailable: {e!r}")
            return None

    def _interim_from(self, future: Future | None) -> None:
        if future is None or self._on_interim is None:
            return

        def done(f: Future) -> None:
            if f.cancelled() or f.exception() is not None:
                return
            for piece in f.result():
                _call_soon(self._loop, self._deliver, piece)

        future.add_done_callback(done)

    def _deliver(self, piece: str) -> None:
        if not self._closed and self._on_interim is not None:
            self._on_interim(piece)

    def begin(self, rate: int, preroll: bytes = b"") -> None:
        """Open an utterance of PCM16 mono audio at ``rate`` Hz, starting with ``preroll``."""
        if self._closed:
            return
        self._batch, self._batch_bytes = [], 0
        self._batch_limit = int(rate * BATCH_S) * 2
        self._open = True
        self._interim_from(self._submit("begin", rate, preroll))

    def feed(self, pcm: bytes) -> None:
        """More audio of the open utterance (ignored when none is open)."""
        if self._closed or not self._open or not pcm:
            return
        self._batch.append(pcm)
        self._batch_bytes += len(pcm)
        if self._batch_bytes >= self._batch_limit:
            self._flush()

    def _flush(self) -> None:
        if self._batch:
            pcm = b"".join(self._batch)
            self._batch, self._batch_bytes = [], 0
            self._interim_from(self._submit("feed", pcm))

    def end(self) -> asyncio.Future:
        """Close the utterance; the future gives a :class:`Heard` (no words if recognition failed)."""
        result = self._loop.create_future()
        if self._closed or not self._open:
            result.set_result(Heard("", 0))
            return result
        self._flush()
        self._open = False
        future = self._submit("end")
        if future is None:
            result.set_result(Heard("", 0))
            return result

        def done(f: Future) -> None:
            def settle():
                if result.done():
                    return
                if f.cancelled() or f.exception() is not None:
                    logger.warning(f"emulator: speech recognition failed: {f.exception() if not f.cancelled() else 'cancelled'!r}")
                    result.set_result(Heard("", 0))
                else:
                    result.set_result(Heard(*f.result()))

            _call_soon(self._loop, settle)

        future.add_done_callback(done)
        return result

    def close(self) -> None:
        """The session ended: its decoder goes back to the pool."""
        if self._closed:
            return
        self._closed = True
        self._submit("close")


def word_error_rate(reference: str, hypothesis: str) -> float:
    """Word error rate: (substitutions + deletions + insertions) / words of ``reference``.

    Case and punctuation are ignored. Returns 0.0 for two empty texts and 1.0 per inserted
    word against an empty reference.
    """
    ref = _norm(reference)
    hyp = _norm(hypothesis)
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        prev, row[0] = row[0], i
        for j, h in enumerate(hyp, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (r != h))
    return row[-1] / max(1, len(ref)) if ref or hyp else 0.0


def _norm(text: str) -> list[str]:
    return "".join(c if c.isalnum() or c in "' " else " " for c in text.lower()).split()
