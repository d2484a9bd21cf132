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
SEEDS = [3, 5, 8, 13, 21, 34]


@pytest.mark.parametrize("model", MODELS)
def test_a_call_with_nothing_going_wrong_passes_every_invariant(model):
    run_and_check(Timeline(model, CALM))


@pytest.mark.parametrize("seed", SEEDS)
def test_random_timelines(seed):
    seeded(seed, examples=2)()
