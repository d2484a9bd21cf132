"""Vertex AI through the real SDK: the LlmBidiService path, a bearer token, the project model path."""

from __future__ import annotations

import pytest
from google.oauth2.credentials import Credentials

from gemini_live_emulator import EmulatorConfig, LiveEmulator
from pipecat_gemini_live import GeminiLiveVertexLLMService

from ..conftest import build_call
from .call_helpers import run_call

MODEL = "gemini-live-2.5-flash-native-audio"


async def test_a_vertex_call_is_answered(tmp_path):
    wav = build_call(tmp_path / "in.wav", [0.3, "cards_001.wav", 3.0])
    async with LiveEmulator(EmulatorConfig(think_ms=100, pace=2.0)) as emu:
        service = GeminiLiveVertexLLMService(
            credentials=Credentials(token=emu.api_key),  # what google-auth hands the SDK
            project_id="my-project",
            location="us-east4",
            http_options=emu.http_options(api_version="v1beta1"),
            model=MODEL,
            system_instruction="You are on Vertex.",
        )
        result = await run_call(emu, wav, tmp_path / "out.wav", service=service)
        await emu.wait_closed(timeout=5)
        (record,) = emu.records
    assert record.method == "BidiGenerateContent" and record.api_version == "v1beta1"
    assert record.auth == "bearer"
    assert record.model == f"projects/my-project/locations/us-east4/publishers/google/models/{MODEL}"
    assert result.service.replies and result.service.replies[0].text.startswith("You are on Vertex")
    assert record.close_code == 1000
    # Vertex refuses NON_BLOCKING declarations: none are sent, whatever the profile says.
    assert service.profile.non_blocking_tools is False


async def test_a_wrong_bearer_token_is_refused_with_a_reason(tmp_path):
    wav = build_call(tmp_path / "in.wav", [1.5])
    async with LiveEmulator(EmulatorConfig(think_ms=100)) as emu:
        service = GeminiLiveVertexLLMService(
            credentials=Credentials(token="not-the-token"), project_id="p", location="us-east4",
            http_options=emu.http_options(api_version="v1beta1"), model=MODEL,
        )
        result = await run_call(emu, wav, tmp_path / "out.wav", service=service)
    assert any("1008" in e for e in result.errors), result.errors


def test_credentials_that_are_not_json_are_refused():
    with pytest.raises(ValueError, match="service account JSON"):
        GeminiLiveVertexLLMService(credentials="{not json", project_id="p", location="us-east4")
