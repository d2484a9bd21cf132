"""A user's project, not ours: pip-install pipecat-gemini-live, use the fixture, run pytest.

``examples/emulator_fixture_project`` is copied to a temporary folder and its tests run in a
virtualenv that has only what a user would install: this repository (built from its path,
as pip would from PyPI) plus pytest and pytest-asyncio. The virtualenv's dependencies are
installed once and cached in ``.venv-fixture-example/`` (keyed by a hash of pyproject.toml and
constraints.txt); this repository itself is rebuilt and reinstalled on every run, so the test
always sees the current code. The first run takes about 40 s here (pip finds most wheels in its cache), later ones about 6 s.
"""

from __future__ import annotations

import hashlib
import shutil
import sys

from ..envcache import ROOT, cached, run

EXAMPLE = ROOT / "examples" / "emulator_fixture_project"
VENV = ROOT / ".venv-fixture-example"
PIP = ["-m", "pip", "install", "-q", "--disable-pip-version-check"]


def test_the_fixture_works_in_a_fresh_project(tmp_path):
    python = VENV / "bin" / "python"
    spec = hashlib.sha256((ROOT / "pyproject.toml").read_bytes() + (ROOT / "constraints.txt").read_bytes()).hexdigest()

    def build():
        run([sys.executable, "-m", "venv", VENV])
        run([python, *PIP, "-c", ROOT / "constraints.txt", ROOT, "pytest", "pytest-asyncio"])

    if not cached(VENV, spec, build):
        run([python, *PIP, "--no-deps", "--force-reinstall", ROOT])  # today's code, not the cached build's

    project = tmp_path / "weather-bot"
    shutil.copytree(EXAMPLE, project)
    proc = run([python, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=project, timeout=300)
    assert "3 passed" in proc.stdout, proc.stdout[-3000:]
    # The plugin came from the installed package, not from this checkout.
    where = run([python, "-c", "import gemini_live_emulator.pytest_plugin as p; print(p.__file__)"], cwd=project)
    assert str(VENV) in where.stdout
