"""``python -m gemini_live_emulator``: the emulator as a process (see :mod:`.server.cli`)."""

import sys

from .server.cli import main

if __name__ == "__main__":
    sys.exit(main())
