"""The explorer in `make test`: a fixed, deterministic set of random call timelines.

Each seed gives the same timelines on every run (hypothesis with a fixed seed and no example
database), so a failure here is reproducible by its seed; `make explore` runs the same
generator for as long as asked, shrinking what fails (tests/explorer/explore.py). Timelines
that break a known service fault live in test_regressions.py instead, as their minimal form.
"""

from __future__ import annotations

import pytest

from .explore import run_and_check, seeded
from .timeline import MODELS, Timeline

# One worker runs them one after another: they are timed calls, and four at once on two cores
# would measure the machine rather than the service.
pytestmark = [pytest.mark.xdist_group("explorer"), pytest.mark.timeout(300)]

CALM = ((0.5, "cards_001.wav"), (4.0, "cards_003.wav"), (4.0, "librivox_0880.wav"))
# Each seed's first timeline is hypothesis's simplest (one caller turn, nothing else); the second
# is the varied one: 16 goAways (3.1), 21 a 1011 mid-call with tool calls (3.8), 26 persona and
# tool switches with tool calls (3.8), 34 a muted mic and dropped connections (3.8).
# Seeds 9 and 36 belong here too once the suppressed-answer fault is fixed (test_regressions:
# a change that opens a new session mid-reply silences the next answer); on a busy machine
# their change lands mid-reply and they fail with it.
SEEDS = [16, 21, 26, 34]


@pytest.mark.parametrize("model", MODELS)
def test_a_call_with_nothing_going_wrong_passes_every_invariant(model):
    run_and_check(Timeline(model, CALM))


@pytest.mark.parametrize("seed", SEEDS)
def test_random_timelines(seed):
    seeded(seed, examples=2)()
