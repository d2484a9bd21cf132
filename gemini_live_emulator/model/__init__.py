"""What the emulated model does within a session: hearing (VAD, speech recognition), turn-taking,
replies and their pacing, voices, tools, conversation history, resumption and ephemeral tokens.

Nothing here opens a socket: :mod:`gemini_live_emulator.server` feeds a session the parsed client
events and sends what it returns.
"""
