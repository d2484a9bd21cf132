"""The smallest useful pipeline: a WAV caller, our service, a WAV out. Copy it into your bot."""

import asyncio
import sys

from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.worker import PipelineWorker
from pipecat.workers.runner import WorkerRunner

from pipecat_gemini_live import AudioResampler, GeminiLiveLLMService
from gemini_live_emulator import LiveEmulator
from pipecat_gemini_live.apps.transports import WavTransport


async def main(caller_wav: str) -> None:
    async with LiveEmulator() as emu:  # for Gemini: drop this, pass api_key=os.environ["GOOGLE_API_KEY"]
        transport = WavTransport(caller_wav, "out/minimal.wav")
        llm = GeminiLiveLLMService(
            api_key=emu.api_key,
            http_options=emu.http_options(),
            model="gemini-3.1-flash-live-preview",
            system_instruction="You are a friendly hotel concierge.",
        )
        pipeline = Pipeline([transport.input(), AudioResampler(), llm, transport.output()])
        runner = WorkerRunner(handle_sigint=False)
        await runner.add_workers(PipelineWorker(pipeline, idle_timeout_secs=None))
        await runner.run()
        for reply in llm.replies:
            print(reply.text)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else "pipelines/audio/caller_3turns_16k.wav"))
