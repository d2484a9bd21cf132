"""A call's clock: seconds since the pipeline started, or on a clock the application shares."""

from __future__ import annotations

import time
from collections.abc import Callable


class CallClock:
    """Seconds on the call's clock for ``time.monotonic()`` values.

    0 is the moment :meth:`start` was called (the pipeline's start), unless an application set
    :attr:`shared` (a function of a monotonic time returning seconds), as the WAV call does so
    that switch times and its transport's turn times are on one clock.
    """

    def __init__(self) -> None:
        self.started_at: float | None = None
        self.shared: Callable[[float], float] | None = None

    def start(self) -> None:
        """The call starts now."""
        self.started_at = time.monotonic()

    def __call__(self, at: float | None = None) -> float:
        """Seconds on the call's clock for monotonic time ``at`` (now when None)."""
        at = at if at is not None else time.monotonic()
        if self.shared is not None:
            return self.shared(at)
        return at - (self.started_at or at)
