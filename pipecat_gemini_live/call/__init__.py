"""The asyncio runtime of one call: the connection, the link to the active session, the
switcher, the watchdog, caller audio, replies, tools and content on their way to the server."""
