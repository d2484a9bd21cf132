"""The main job when its service can no longer work: it ends, says so, and claims nothing."""

from __future__ import annotations

import json

from .test_main_job import CALLER_16K, run_cli


def test_a_call_whose_sessions_are_all_refused_ends_early_and_answers_nothing(tmp_path):
    """Every connect refused (HTTP 503): after the retry budget (about 24 s of backoff) the
    service reports a permanent error, the call ends before the 30 s recording does, the job
    exits non-zero, and no turn is counted as answered (once, the transport's closing silence
    was taken for a reply)."""
    report_path = tmp_path / "r.json"
    proc = run_cli(
        "--input", str(CALLER_16K), "--output", str(tmp_path / "o.wav"), "--report", str(report_path),
        "--emulator-fault", "refuse:100", timeout=120,
    )
    assert proc.returncode != 0, proc.stdout[-2000:]
    report = json.loads(report_path.read_text())
    assert [t["bot_audio_start_s"] for t in report["turns"]] == [None] * len(report["turns"]), report["turns"]
    assert any("could not open a Live session" in e for e in report["errors"]), report["errors"]
    assert "Done: 0 of" in proc.stdout
    # Ended by the failure, not by the end of the recording (call time, not wall time).
    assert report["output"]["duration_s"] < report["input"]["duration_s"] - 3, (report["output"], report["input"])
