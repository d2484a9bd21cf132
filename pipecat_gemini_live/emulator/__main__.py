"""``python -m pipecat_gemini_live.emulator``: the old spelling of ``python -m gemini_live_emulator``."""

from gemini_live_emulator.__main__ import main

if __name__ == "__main__":
    raise SystemExit(main())
