"""The README's code runs, and is the file it claims to be."""

from __future__ import annotations

import subprocess
import sys

from ..conftest import ROOT, build_call


def test_readme_shows_the_minimal_pipeline_verbatim():
    readme = (ROOT / "README.md").read_text()
    example = (ROOT / "pipelines" / "minimal.py").read_text()
    body = example.split('"""', 2)[2].strip()
    assert body in readme


def test_minimal_pipeline_runs(tmp_path):
    wav = build_call(tmp_path / "in.wav", [0.3, "cards_001.wav", 2.5])
    proc = subprocess.run(
        [sys.executable, "pipelines/minimal.py", str(wav)], capture_output=True, text=True, timeout=90, cwd=ROOT
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "friendly hotel concierge" in proc.stdout
