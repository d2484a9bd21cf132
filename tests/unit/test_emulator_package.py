"""The emulator is a package of its own: no Pipecat, no client code, importable as documented."""

from __future__ import annotations

import subprocess
import sys

CHECK = """
import importlib, pkgutil, sys
import gemini_live_emulator
from gemini_live_emulator import EmulatorConfig, EmulatorThread, LiveEmulator, LocalCA, Reply, SessionRecord
for info in pkgutil.walk_packages(gemini_live_emulator.__path__, "gemini_live_emulator."):
    if info.name.endswith("__main__"):
        continue
    importlib.import_module(info.name)
leaked = sorted(m for m in sys.modules if m.split(".")[0] in ("pipecat", "pipecat_gemini_live"))
print("LEAKED", leaked)
"""


def test_importing_every_emulator_module_imports_neither_pipecat_nor_the_client():
    proc = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "LEAKED []" in proc.stdout, proc.stdout


def test_the_old_import_path_still_works():
    from gemini_live_emulator import LiveEmulator
    from pipecat_gemini_live.emulator import LiveEmulator as Old

    assert Old is LiveEmulator
