"""Which session ends are worth retrying, and how long to wait between attempts.

Close codes as users see them (docs/live-api.md):

- 1000 from the server at the connection lifetime (about 10 min), 1001, 1006 (no close frame:
  a network drop), 1011 ("Internal error", "Deadline expired", quota), 1012-1014 and network
  errors: retried with exponential backoff and jitter, up to a cap.
- 1007 (a request the model rejects) and 1008 (wrong model or API, bad key): never retried; the
  pipeline gets a fatal ``ErrorFrame`` that says what was rejected and the likely cause.

The waiting itself is ``tenacity``'s (already a dependency of google-genai).
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel, Field, model_validator
from tenacity import wait_exponential_jitter
from websockets.exceptions import InvalidStatus

FATAL_CODES = {1002, 1003, 1007, 1008, 1009, 1010}


class RetryPolicy(BaseModel):
    """Backoff for reconnecting and for the first connect.

    An overloaded server answers 1011 for tens of seconds at a time, so the default keeps
    trying for about 30 s (waits of 0.5, 1, 2, 4, 8, 8... s, each with up to ``jitter_s`` of
    random extra) while the caller's audio is held (bounded by
    ``LiveOptions.max_held_audio_s``), then gives up and the call ends with a reason.

    Attributes:
        max_attempts: Attempts per outage before giving up (the first one included); None for
            no count limit (``max_elapsed_s`` bounds it).
        initial_delay_s: Wait before the second attempt (the first is immediate), seconds.
        max_delay_s: Cap on one wait, seconds.
        jitter_s: Random extra added to each wait, up to this many seconds.
        max_elapsed_s: Stop once the waits so far add up to this many seconds; None for no
            time limit (``max_attempts`` bounds it).
    """

    max_attempts: int | None = Field(default=None, ge=1)
    initial_delay_s: float = Field(default=0.5, ge=0)
    max_delay_s: float = Field(default=8.0, ge=0)
    jitter_s: float = Field(default=0.25, ge=0)
    max_elapsed_s: float | None = Field(default=30.0, gt=0)

    @model_validator(mode="after")
    def _bounded(self) -> "RetryPolicy":
        if self.max_attempts is None and self.max_elapsed_s is None:
            raise ValueError("set max_attempts or max_elapsed_s: retries must end")
        return self

    def delays(self):
        """Seconds to wait before attempts 2, 3, ... (exponential, capped, jittered, bounded)."""
        wait = wait_exponential_jitter(
            initial=self.initial_delay_s, max=self.max_delay_s, jitter=self.jitter_s
        )

        class _State:  # tenacity's wait strategies only read attempt_number
            def __init__(self, n):
                self.attempt_number = n

        elapsed = 0.0
        n = 1
        while self.max_attempts is None or n < self.max_attempts:
            delay = wait(_State(n))
            if self.max_elapsed_s is not None and elapsed + delay > self.max_elapsed_s:
                return
            elapsed += delay
            n += 1
            yield delay


@dataclass(frozen=True)
class Verdict:
    """Whether an end is retryable, and what to tell the pipeline when it is not."""

    retry: bool
    explanation: str


def classify(code: int | None, reason: str, error: BaseException | None = None) -> Verdict:
    """Decide what a session end or failed connect means.

    Args:
        code: WebSocket close code, or None when no connection was made.
        reason: Close reason or error text.
        error: The exception, when there is one (HTTP status errors are judged by status).
    """
    if isinstance(error, InvalidStatus):
        status = error.response.status_code
        if status in (401, 403, 404):
            return Verdict(False, f"the Live endpoint answered HTTP {status}: check the API key and base URL")
        return Verdict(True, f"HTTP {status}")
    if code is None:
        return Verdict(True, reason or "connection failed")
    if code == 1007:
        return Verdict(
            False,
            f"the model rejected a request (1007 {reason!r}): a field or message this model "
            "does not accept (for example clientContent after the conversation started on "
            "3.1, function parts in clientContent, or an unsupported setup field)",
        )
    if code == 1008:
        return Verdict(
            False,
            f"the service refused the session (1008 {reason!r}): wrong model name or API "
            "version, a model without Live support, or an invalid API key",
        )
    if code in FATAL_CODES:
        return Verdict(False, f"protocol error {code} ({reason!r})")
    return Verdict(True, f"{code} {reason}".strip())


def model_unavailable(code: int | None, reason: str | None) -> bool:
    """Whether a refused connect says the model itself is unknown or not served (1008 "not
    found" / "not supported", HTTP 404 before the upgrade, where ``code`` is None), as opposed
    to a bad key or a policy refusal."""
    reason = (reason or "").lower()
    if code == 1008:
        return "not found" in reason or "not supported" in reason
    return code is None and "http 404" in reason
