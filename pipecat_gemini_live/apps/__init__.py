"""Applications built on the service: the WAV call, reports, transports, ready-made bots and
latency tracing."""
