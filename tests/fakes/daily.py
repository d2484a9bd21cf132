"""A fake of daily-python's call client, so Pipecat's real ``DailyTransport`` runs offline.

Daily's cloud is unreachable from our machines. Everything of Pipecat's stays real (the
``DailyTransport``, its ``DailyTransportClient``, input/output transports, video sampling);
only the names it imports from ``daily`` (``CallClient``, ``Daily``, the custom audio/video
sources and tracks) are swapped for these fakes by :func:`install`.

The fake behaves like daily-python where Pipecat depends on it:

- completions are called with daily-python's arguments (``(data, error)`` for join, ``error``
  for the rest);
- events and media callbacks are delivered from another thread, as daily-python does (Pipecat
  blocks that thread until its event loop has queued the callback);
- audio written to the bot's microphone completes in real time (one 10 ms chunk per 10 ms), as
  a real custom audio source does, so the output transport paces its speech as in a room.

A test drives the room: :meth:`FakeCallClient.participant_joins`, :meth:`speak`,
:meth:`show_camera`, :meth:`app_message`, :meth:`participant_leaves`, and reads what the bot
did: :attr:`sent_messages`, the bot's audio in :attr:`microphone`, subscriptions, renderers.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass
class FakeAudioData:
    """daily.AudioData: PCM16 frames from a participant."""

    audio_frames: bytes
    sample_rate: int
    num_channels: int
    bits_per_sample: int = 16

    @property
    def num_audio_frames(self) -> int:
        return len(self.audio_frames) // (2 * self.num_channels)


@dataclass
class FakeVideoFrame:
    """daily.VideoFrame: one decoded camera frame."""

    buffer: bytes
    width: int
    height: int
    color_format: str
    timestamp_us: int


class FakeCustomAudioSource:
    """daily.CustomAudioSource: records what the bot says, completing writes in real time."""

    def __init__(self, sample_rate: int, channels: int, auto_silence: bool = True):
        self.sample_rate = sample_rate
        self.channels = channels
        self.written = bytearray()
        self._busy_until = 0.0

    def write_frames(self, frames: bytes, completion=None):
        self.written += frames
        n = len(frames) // (2 * self.channels)
        if completion is None:
            return n
        loop = asyncio.get_running_loop()
        now = loop.time()
        self._busy_until = max(self._busy_until, now) + n / self.sample_rate
        loop.call_later(self._busy_until - now, completion, n)

    def samples(self) -> np.ndarray:
        """Everything written so far, as int16 samples (mono)."""
        return np.frombuffer(bytes(self.written), dtype=np.int16)


class FakeCustomAudioTrack:
    def __init__(self, source):
        self.source = source
        self.id = f"audio-{uuid.uuid4().hex[:8]}"


class FakeCustomVideoSource:
    def __init__(self, width: int, height: int, color_format: str):
        self.width, self.height, self.color_format = width, height, color_format
        self.frames = 0

    def write_frame(self, frame: bytes):
        self.frames += 1


class FakeCustomVideoTrack(FakeCustomAudioTrack):
    pass


class FakeDaily:
    """daily.Daily: process-wide init and virtual devices."""

    initialised = 0

    @classmethod
    def init(cls, *args, **kwargs):
        cls.initialised += 1

    @staticmethod
    def create_speaker_device(*args, **kwargs):
        raise AssertionError("the bot should receive per-participant tracks, not a virtual speaker")

    @staticmethod
    def select_speaker_device(*args, **kwargs):
        raise AssertionError("the bot should receive per-participant tracks, not a virtual speaker")

    @staticmethod
    def set_log_level(level):
        pass


class FakeCallClient:
    """daily.CallClient for one bot in one fake room."""

    instances: list["FakeCallClient"] = []

    def __init__(self, event_handler):
        self.handler = event_handler
        self.user_name: str | None = None
        self.joined: tuple[str, str | None] | None = None
        self.client_settings: dict | None = None
        self.left = False
        self.released = False
        self.sent_messages: list[tuple[Any, str | None]] = []
        self.subscriptions: list[dict] = []
        self.audio_renderers: dict[tuple[str, str], dict] = {}
        self.video_renderers: dict[tuple[str, str], dict] = {}
        self._participants: dict[str, dict] = {}
        FakeCallClient.instances.append(self)

    # -- daily-python API used by Pipecat ------------------------------------------------------

    def update_subscription_profiles(self, profile_settings, completion=None):
        self.subscriptions.append({"profiles": profile_settings})
        if completion:
            completion(None)

    def set_user_name(self, user_name: str):
        self.user_name = user_name

    def join(self, meeting_url, meeting_token=None, client_settings=None, completion=None):
        self.joined = (meeting_url, meeting_token)
        self.client_settings = client_settings
        self._participants["local"] = {"id": "bot-local-id", "info": {"userName": self.user_name, "isLocal": True}}
        data = {"participants": {"local": self._participants["local"]}, "meetingSession": {"id": "fake-meeting"}}
        if completion:
            completion(data, None)

    def leave(self, completion=None):
        self.left = True
        if completion:
            completion(None)

    def release(self):
        self.released = True

    def participants(self):
        return dict(self._participants)

    def participant_counts(self):
        return {"present": len(self._participants), "hidden": 0}

    def send_app_message(self, message, participant_id=None, completion=None):
        self.sent_messages.append((message, participant_id))
        if completion:
            completion(None)

    def update_subscriptions(self, participant_settings=None, profile_settings=None, completion=None):
        self.subscriptions.append({"participants": participant_settings, "profiles": profile_settings})
        if completion:
            completion(None)

    def set_audio_renderer(
        self, participant_id, callback, audio_source="microphone", sample_rate=16000, callback_interval_ms=20
    ):
        self.audio_renderers[(participant_id, audio_source)] = {
            "callback": callback,
            "sample_rate": sample_rate,
            "interval_ms": callback_interval_ms,
        }

    def set_video_renderer(self, participant_id, callback, video_source="camera", color_format="RGB"):
        self.video_renderers[(participant_id, video_source)] = {"callback": callback, "color_format": color_format}

    # -- the room, driven by a test ------------------------------------------------------------

    def messages(self, kind: str | None = None) -> list[dict]:
        """App messages the bot sent (``kind``: only those of that ``type``)."""
        return [m for m, _ in self.sent_messages if isinstance(m, dict) and (kind is None or m.get("type") == kind)]

    async def _from_daily_thread(self, fn, *args):
        # daily-python calls back on its own thread; Pipecat blocks it until the loop has
        # queued the event, so calling from the loop thread would deadlock.
        await asyncio.to_thread(fn, *args)

    async def participant_joins(self, participant_id: str, name: str = "caller") -> None:
        participant = {"id": participant_id, "info": {"userName": name, "isLocal": False}, "media": {}}
        self._participants[participant_id] = participant
        await self._from_daily_thread(self.handler.on_participant_joined, participant)

    async def participant_leaves(self, participant_id: str, reason: str = "leftCall") -> None:
        participant = self._participants.pop(participant_id)
        await self._from_daily_thread(self.handler.on_participant_left, participant, reason)

    async def app_message(self, message: Any, sender: str) -> None:
        await self._from_daily_thread(self.handler.on_app_message, message, sender)

    async def wait_for_renderer(self, kind: str, participant_id: str, source: str, timeout: float = 5.0) -> dict:
        renderers = self.audio_renderers if kind == "audio" else self.video_renderers
        deadline = time.monotonic() + timeout
        while (participant_id, source) not in renderers:
            if time.monotonic() > deadline:
                raise AssertionError(f"the bot never subscribed to {participant_id}'s {source} {kind}")
            await asyncio.sleep(0.02)
        return renderers[(participant_id, source)]

    async def speak(self, participant_id: str, samples: np.ndarray, rate: int = 16000) -> None:
        """Deliver a participant's microphone audio (int16 mono at ``rate``) in real time."""
        renderer = await self.wait_for_renderer("audio", participant_id, "microphone")
        if renderer["sample_rate"] != rate:
            raise AssertionError(f"the bot asked for {renderer['sample_rate']} Hz audio; the test has {rate} Hz")
        step = rate * renderer["interval_ms"] // 1000
        start = time.monotonic()
        for i, at in enumerate(range(0, len(samples), step)):
            chunk = samples[at : at + step]
            if len(chunk) < step:
                chunk = np.pad(chunk, (0, step - len(chunk)))
            data = FakeAudioData(chunk.astype(np.int16).tobytes(), rate, 1)
            await self._from_daily_thread(renderer["callback"], participant_id, data, "microphone")
            delay = start + (i + 1) * renderer["interval_ms"] / 1000 - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)

    async def show_camera(
        self, participant_id: str, seconds: float, fps: int = 15, size: tuple[int, int] = (320, 240)
    ) -> int:
        """Deliver ``seconds`` of camera frames at ``fps``; returns how many were sent."""
        renderer = await self.wait_for_renderer("video", participant_id, "camera")
        width, height = size
        sent = 0
        start = time.monotonic()
        while time.monotonic() - start < seconds:
            shade = (sent * 8) % 256
            frame = FakeVideoFrame(
                bytes([shade]) * (width * height * 3), width, height, renderer["color_format"], int(time.time() * 1e6)
            )
            await self._from_daily_thread(renderer["callback"], participant_id, frame, "camera")
            sent += 1
            delay = start + sent / fps - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
        return sent


def install(monkeypatch) -> type[FakeCallClient]:
    """Swap daily-python for the fakes inside Pipecat's Daily transport module."""
    import pipecat.transports.daily.transport as daily_transport

    FakeCallClient.instances = []
    monkeypatch.setattr(daily_transport, "CallClient", FakeCallClient)
    monkeypatch.setattr(daily_transport, "Daily", FakeDaily)
    monkeypatch.setattr(daily_transport, "CustomAudioSource", FakeCustomAudioSource)
    monkeypatch.setattr(daily_transport, "CustomAudioTrack", FakeCustomAudioTrack)
    monkeypatch.setattr(daily_transport, "CustomVideoSource", FakeCustomVideoSource)
    monkeypatch.setattr(daily_transport, "CustomVideoTrack", FakeCustomVideoTrack)
    monkeypatch.setattr(daily_transport.DailyTransportClient, "_daily_initialized", False)
    return FakeCallClient
