"""TelephonyAudio: what a Twilio pipeline is configured with, ours and Pipecat's stock."""

from unittest.mock import MagicMock

import pytest
from pipecat.serializers.twilio import TwilioFrameSerializer

from pipecat_gemini_live.audio.polyphase import PolyphaseResampler
from pipecat_gemini_live.audio.resampler import AudioResampler, OutputResampler
from pipecat_gemini_live.telephony.twilio_input import EdgeTwilioSerializer
from pipecat_gemini_live.telephony.audio import TelephonyAudio
from pipecat_gemini_live.telephony.twilio_serializer import CheckedTwilioSerializer


def test_ours_resamples_and_groups_caller_audio_in_the_serializer():
    audio = TelephonyAudio()
    params = audio.serializer_params(auto_hang_up=False)
    assert (
        params.twilio_sample_rate == 8000 and params.sample_rate == 16000 and not params.auto_hang_up
    )
    serializer = audio.serializer("MZ1", params=params)
    assert isinstance(serializer, EdgeTwilioSerializer) and serializer.batcher is not None
    assert isinstance(serializer._input_resampler, PolyphaseResampler)
    t = audio.transport_params(serializer)
    assert (t.audio_in_sample_rate, t.audio_out_sample_rate) == (16000, 8000)
    assert t.audio_out_10ms_chunks == 4  # 40 ms: the first reply chunk fills one at once (lead silence)
    assert (
        t.serializer is serializer
        and t.audio_in_enabled
        and t.audio_out_enabled
        and not t.add_wav_header
    )
    assert audio.input_processors() == []
    (out,) = audio.output_processors()
    assert isinstance(out, OutputResampler) and out.sample_rate == 8000 and out.quality == "polyphase"
    assert out.lead_silence
    unbatched = TelephonyAudio(batch_input=False).serializer("MZ1", params=params)
    assert isinstance(unbatched, EdgeTwilioSerializer) and unbatched.batcher is None


def test_stock_leaves_resampling_to_pipecat():
    audio = TelephonyAudio.pipecat_stock()
    assert audio.serializer_params(auto_hang_up=False).sample_rate == 16000
    stock = audio.serializer("MZ1", params=audio.serializer_params(auto_hang_up=False))
    assert isinstance(stock, CheckedTwilioSerializer) and not isinstance(stock, EdgeTwilioSerializer)
    t = audio.transport_params(
        TwilioFrameSerializer("MZ1", params=audio.serializer_params(auto_hang_up=False))
    )
    assert (t.audio_in_sample_rate, t.audio_out_sample_rate, t.audio_out_10ms_chunks) == (
        16000,
        8000,
        4,
    )
    assert audio.input_processors() == [] and audio.output_processors() == []


def test_pipeline_order():
    audio = TelephonyAudio()
    transport = MagicMock()
    service, user, assistant = MagicMock(), MagicMock(), MagicMock()
    procs = audio.pipeline_processors(transport, service, user=user, assistant=assistant)
    assert (
        procs[0] is transport.input() and procs[-2] is transport.output() and procs[-1] is assistant
    )
    assert procs[1] is user and procs[2] is service
    assert isinstance(procs[3], OutputResampler)
    assert len(TelephonyAudio.pipecat_stock().pipeline_processors(transport, service)) == 3


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"quality": "great"}, "unknown resampler quality"),
        ({"out_chunk_ms": 25}, "multiple of 10"),
        ({"out_chunk_ms": 0}, "multiple of 10"),
        ({"wire_rate": 0}, "rates must be positive"),
    ],
)
def test_bad_settings_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        TelephonyAudio(**kwargs)


def test_caller_audio_ends_at_the_service_on_our_path_only():
    assert TelephonyAudio().live_options().forward_caller_audio is False
    assert TelephonyAudio(caller_audio_past_service=True).live_options().forward_caller_audio is True
    assert TelephonyAudio.pipecat_stock().live_options(barge_in=False).forward_caller_audio is True
