"""Caller audio already sent to a session that the next session may still need.

Holding audio during a switch covers what arrives *during* it; this covers what was sent just
*before* it and that the old session never answered:

- a persona switch while the caller is mid-sentence: the start of the sentence went to the old
  session, which is being retired, so it is replayed into the new one (the unanswered
  utterance);
- a resume after a drop: the handle restores the server as it was when the handle was issued,
  so everything sent since that checkpoint is replayed.

Utterances are found with the same cheap energy test the latency clock uses. A reply starting,
or the model calling a function, marks everything before it as answered, with two exceptions:

- the reply that goes on after a function call (the model's turn resumes once the result is in)
  was begun before the caller's later words, so speech that started after the call counts as
  answered only when that reply finishes. Explorer seed 9201 had a caller speak while a tool
  call was pending; the resumed reply was cut by a goAway, and the next session was given none
  of it. A call the server withdraws (``toolCallCancellation``) resumes nothing: the next reply
  answers outright (seed 9918);
- a reply a switch cuts before the caller heard more than a word of it is withdrawn: what it
  was counted as answering is owed again (explorer seed 9505).

A resumed session gets what was sent since the handle's checkpoint, and also, when it began
earlier, speech still owed an answer (as a session seeded with the conversation does): a
handle restores the conversation, and a sentence the server heard but had not answered is not
a turn of it. Owed speech includes, for a short while
(``covered_window_s``), speech said during a function call that the resumed reply was only
assumed to cover: a model may answer it separately right after (the emulated one does), and a
goAway resume at that boundary, with a handle issued as the resumed reply ended, left it
unanswered (seed 9201, a third time). A model that did cover it answers it again if a switch
falls in that window: a repeated answer is the lesser fault than a sentence never answered.
"""

from __future__ import annotations

import time
from collections import deque

from .audio_hold import HeldChunk


class CallerTail:
    """Recent caller audio of the active session.

    Chunks are numbered as they are sent; the checkpoint and the start of the latest utterance
    are sequence numbers, so forgetting old audio never moves them.

    Args:
        max_s: Most audio kept, seconds (older audio is forgotten first).
        utterance_gap_s: Silence that separates two utterances, seconds.
        covered_window_s: How long after a resumed reply finished the speech it was assumed to
            cover (said during the function call) is still replayed to a session the call moves
            to, in case the model answers it separately; seconds. A reply that begins ends it
            sooner.
    """

    # A reply that begins within this much audio of caller speech, while the caller's audio is
    # still flowing, began while the caller was speaking (seconds of audio; of wall time for
    # the flow). Server VAD needs longer silence than this to end a turn.
    SPEAKING_S = 0.15
    FLOWING_S = 0.1

    def __init__(self, max_s: float = 15.0, utterance_gap_s: float = 0.7, covered_window_s: float = 3.0):
        self.max_s = max_s
        self.utterance_gap_s = utterance_gap_s
        self.covered_window_s = covered_window_s
        self._last_sent_at = 0.0
        self._chunks: deque[HeldChunk] = deque()
        self._first = 0  # sequence number of _chunks[0]
        self._kept_s = 0.0
        self._silence_s = utterance_gap_s
        self._checkpoint = 0
        self._utterance_start: int | None = None
        self._answered = True
        self._function_call_at: int | None = None  # sequence number when the model called a function
        self._answered_when_finished = False
        self._before_reply: tuple[int | None, bool] | None = None  # (utterance start, answered)
        # Speech a resumed reply was assumed to cover when it finished: (its start, when).
        self._covered: tuple[int, float] | None = None

    @property
    def _next(self) -> int:
        return self._first + len(self._chunks)

    def reset(self) -> None:
        """A new session starts: nothing of the old one is owed."""
        self._first = self._next
        self._chunks.clear()
        self._kept_s = 0.0
        self._checkpoint = self._first
        self._utterance_start = None
        self._answered = True
        self._function_call_at = None
        self._answered_when_finished = False
        self._before_reply = None
        self._covered = None
        self._silence_s = self.utterance_gap_s

    def sent(self, audio: bytes, sample_rate: int, voiced: bool) -> None:
        """Note one chunk sent to the session (``voiced``: it carried speech energy)."""
        chunk = HeldChunk(audio, sample_rate)
        self._last_sent_at = time.monotonic()
        if voiced:
            # Speech after a function call is new even after a pause shorter than the gap: the
            # call acted on the words before it (a second sentence 1 s after the first, with
            # the call in between, otherwise joined the answered one and was never replayed).
            after_call = self._function_call_at is not None and (
                self._utterance_start is None or self._utterance_start < self._function_call_at
            )
            if self._silence_s >= self.utterance_gap_s or after_call:
                if self._answered:
                    self._utterance_start = self._next
                    self._answered = False
                # (An utterance after an unanswered one joins it: a replay carries everything
                # the caller is still owed an answer for.) Speech that begins after a resumed
                # reply started is not covered by that reply finishing.
                self._answered_when_finished = False
            self._silence_s = 0.0
        else:
            self._silence_s += chunk.duration_s
        self._chunks.append(chunk)
        self._kept_s += chunk.duration_s
        while self._kept_s > self.max_s and len(self._chunks) > 1:
            self._kept_s -= self._chunks.popleft().duration_s
            self._first += 1

    def checkpoint(self) -> None:
        """The server's state now covers everything sent (a resumable handle was issued)."""
        self._checkpoint = self._next

    def function_called(self) -> None:
        """The model called a function: its turn pauses until the result is in.

        The call is the model acting on what the caller said so far: that speech is answered
        (the call and its result are in the history any next session gets), and speech from
        here on is a new utterance, owed until the resumed reply finishes. Without this, words
        said while the function ran joined the unanswered utterance before the call, and the
        resumed reply's start counted them answered (explorer seed 9201, again: a call with no
        spoken reply before it)."""
        if self._function_call_at is None:
            self._function_call_at = self._next
        self._answered = True
        self._answered_when_finished = False

    def function_cancelled(self) -> None:
        """The server withdrew the model's pending calls (``toolCallCancellation``, sent when the
        caller spoke over them): the turn will not resume from a result, so the next reply
        answers what the caller said since, as any reply does. Treating it as a resumed reply
        kept those words owed after it was heard, and a goAway move just after replayed them
        into a session that answered them again (explorer seed 9918)."""
        self._function_call_at = None
        self._answered_when_finished = False

    def caller_speaking(self) -> bool:
        """Whether caller speech is arriving now: the latest audio carried speech (within
        ``SPEAKING_S``) and audio is still flowing (a muted mic is not speaking)."""
        return self._silence_s < self.SPEAKING_S and time.monotonic() - self._last_sent_at < self.FLOWING_S

    def reply_started(self) -> None:
        """The bot began answering: the utterances so far are answered, except speech that
        began after a function call this reply resumes from, and speech the caller is still
        saying as it begins (see :meth:`reply_finished`). A reply that begins mid-sentence
        answers something else (a function result, a message) or is cut by the caller; the
        model answers the sentence after it (explorer seed 10300's GOAWAY_LOOP replay: the
        sentence, counted answered by such a reply, was queued behind it, lost with its
        session at a goAway, and never replayed)."""
        resumed_from, self._function_call_at = self._function_call_at, None
        start = self._utterance_start
        self._before_reply = (start, self._answered)
        if self._covered is not None:
            # The reply after a resumed one: it answers what that one was assumed to cover (if
            # a switch withdraws it, that speech is owed again).
            if self._answered:
                self._before_reply = (self._covered[0], False)
            self._covered = None
        resumes = resumed_from is not None and start is not None and start >= resumed_from
        if (resumes or self.caller_speaking()) and start is not None and not self._answered:
            self._answered_when_finished = True
            return
        self._answered = True
        self._answered_when_finished = False

    def reply_finished(self) -> None:
        """A reply was spoken to its end (not cut): a resumed reply now covers what the caller
        said while the function ran (a model that answers those words separately starts
        another reply, which counts anyway)."""
        self._before_reply = None
        if self._answered_when_finished:
            self._answered = True
            self._answered_when_finished = False
            if self._utterance_start is not None:
                self._covered = (self._utterance_start, time.monotonic())

    def reply_withdrawn(self) -> None:
        """The reply that last began was cut (a switch) before the caller heard more than a word
        of it: the speech it was counted as answering is owed again, from where it began (with
        anything said since)."""
        before, self._before_reply = self._before_reply, None
        if before is None:
            return
        start, answered = before
        if answered or start is None:
            return  # nothing was owed when it began
        if self._answered or self._utterance_start is None or start < self._utterance_start:
            self._utterance_start = start
        self._answered = False
        self._answered_when_finished = False

    def _from(self, seq: int) -> list[HeldChunk]:
        return list(self._chunks)[max(0, seq - self._first) :]

    def unanswered_for(self) -> float | None:
        """Seconds of silence after an utterance no reply has started for (None if answered)."""
        if self._answered or self._utterance_start is None:
            return None
        return self._silence_s

    def since_checkpoint(self) -> list[HeldChunk]:
        """Everything sent since the last checkpoint."""
        return self._from(self._checkpoint)

    def _owed_from(self) -> int | None:
        """Where the speech still owed an answer begins: the first unanswered utterance, or,
        within ``covered_window_s`` of the resumed reply that was assumed to cover it, speech
        said during a function call (whichever began first); None when nothing is owed."""
        starts = []
        if not self._answered and self._utterance_start is not None:
            starts.append(self._utterance_start)
        if self._covered is not None and time.monotonic() - self._covered[1] < self.covered_window_s:
            starts.append(self._covered[0])
        return min(starts) if starts else None

    def unanswered_utterance(self) -> list[HeldChunk]:
        """The caller's unanswered speech, from the start of its first utterance no reply has
        answered (replayed to a new session seeded with the conversation)."""
        start = self._owed_from()
        return [] if start is None else self._from(start)

    def for_resume(self) -> list[HeldChunk]:
        """What a resumed session is replayed: everything since the checkpoint, from earlier
        when speech still owed an answer began before it (see the module's notes)."""
        start = self._owed_from()
        return self._from(self._checkpoint if start is None else min(start, self._checkpoint))
