"""The emulator as a server: the TLS WebSocket endpoint (:mod:`.emulator`), its REST endpoints,
the throwaway certificate authority, the background-thread runner and the command line.

Sessions themselves are :mod:`gemini_live_emulator.model`; the wire format is
:mod:`gemini_live_emulator.wire`.
"""
