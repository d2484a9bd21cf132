"""A tiny Gemini Live bot: asks by text, answers weather tool calls, returns what it said.

Nothing here knows about the emulator: it takes a ``genai.Client`` like any code would.
"""

from google import genai
from google.genai import types

WEATHER = types.FunctionDeclaration(
    name="get_weather",
    description="Current weather in a city.",
    parameters={"type": "OBJECT", "properties": {"city": {"type": "STRING"}}},
)


def lookup_weather(city: str) -> dict:
    return {"city": city, "temp_c": 21}


async def ask(client: genai.Client, question: str, model: str = "gemini-3.1-flash-live-preview") -> str:
    """Ask one question; return the transcript of the spoken answer."""
    config = types.LiveConnectConfig(
        response_modalities=["AUDIO"],
        system_instruction="You are a weather bot.",
        output_audio_transcription={},
        tools=[types.Tool(function_declarations=[WEATHER])],
    )
    said = ""
    async with client.aio.live.connect(model=model, config=config) as session:
        await session.send_realtime_input(text=question)
        while True:
            async for message in session.receive():
                if message.tool_call:
                    await session.send_tool_response(
                        function_responses=[
                            types.FunctionResponse(id=call.id, name=call.name, response=lookup_weather(**call.args))
                            for call in message.tool_call.function_calls
                        ]
                    )
                content = message.server_content
                if content and content.output_transcription:
                    said += content.output_transcription.text
                if content and content.turn_complete:
                    return said
