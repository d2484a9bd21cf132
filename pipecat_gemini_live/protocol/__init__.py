"""The Live API as data: model profiles, session setup, inbound and outbound messages, the
conversation history, close codes and the switch planner. No asyncio, no Pipecat processors."""
