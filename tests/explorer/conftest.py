"""Worker groups of the explorer's regression timelines.

Each regression is a whole call at 2-4x speed, timed like the explorer's runs. One worker
running all of them in turn became the suite's longest path (about 30 calls back to back);
two groups, dealt alternately in file order, halve it while never running more than two of
them (beside one seeded run of the explorer) at once on CI's two cores.
"""

from __future__ import annotations

import pytest

GROUPS = 2


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist names each item's group in its node id
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    regressions = [item for item in items if item.path.name == "test_regressions.py"]
    for i, item in enumerate(regressions):
        item.add_marker(pytest.mark.xdist_group(f"explorer-regressions-{i % GROUPS}"))
