"""Server -> client messages of the Live API, as plain dicts with camelCase keys (no I/O).

The SDK's parser raises a ``TypeError`` on an unknown top-level key, so the emulator never sends
one (errors are close codes only). Source: docs/live-api.md, checked against google-genai 2.34.
"""

from __future__ import annotations

import json

from .wire import b64encode

def setup_complete(session_id: str | None = None) -> dict:
    """``{"setupComplete": {}}``."""
    return {"setupComplete": {"sessionId": session_id} if session_id else {}}


def audio_chunk(pcm: bytes, rate: int = 24000) -> dict:
    """A model-turn message carrying one chunk of PCM16 audio."""
    return {
        "serverContent": {
            "modelTurn": {
                "parts": [{"inlineData": {"mimeType": f"audio/pcm;rate={rate}", "data": b64encode(pcm)}}]
            }
        }
    }


def text_part(text: str) -> dict:
    """A model-turn message carrying text (TEXT modality)."""
    return {"serverContent": {"modelTurn": {"parts": [{"text": text}]}}}


def output_transcription(text: str) -> dict:
    """``serverContent.outputTranscription``."""
    return {"serverContent": {"outputTranscription": {"text": text}}}


def input_transcription(text: str, *, finished: bool = False) -> dict:
    """``serverContent.inputTranscription``; ``finished`` marks the last piece of a turn."""
    body: dict = {"text": text}
    if finished:
        body["finished"] = True
    return {"serverContent": {"inputTranscription": body}}


def generation_complete() -> dict:
    """``serverContent.generationComplete``."""
    return {"serverContent": {"generationComplete": True}}


def interrupted() -> dict:
    """``serverContent.interrupted``: the caller barged in; the reply stops here."""
    return {"serverContent": {"interrupted": True}}


def turn_complete(usage: dict | None = None, *, reason: str | None = None, waiting_for_input: bool = False) -> dict:
    """``serverContent.turnComplete``, with ``usageMetadata`` riding along.

    ``interactionStatus`` goes with it: the SDK's ``LiveServerContent`` documents it as
    "always sent alongside turn_complete". The emulator never works on in the background
    after a turn (no thinking), so it is always ``IDLE`` (Pipecat 1.14 holds a turn open
    while a 3.8 thinking model reports ``IN_PROGRESS``).

    Args:
        usage: ``usageMetadata`` of the turn, if any.
        reason: ``turnCompleteReason`` (a ``TurnCompleteReason`` name of the SDK types, such as
            ``NEED_MORE_INPUT``); sent only when a turn ends for a reason other than a reply.
        waiting_for_input: ``waitingForInput``: the model generates nothing because it waits for
            the user to go on.
    """
    body: dict = {"turnComplete": True}
    if reason is not None:
        body["turnCompleteReason"] = reason
    if waiting_for_input:
        body["waitingForInput"] = True
    body["interactionStatus"] = "IDLE"
    msg: dict = {"serverContent": body}
    if usage is not None:
        msg["usageMetadata"] = usage
    return msg


def voice_activity(started: bool, audio_offset_s: float) -> dict:
    """``voiceActivity``: the server's activity detection heard the caller start or stop.

    Args:
        started: ``ACTIVITY_START`` when True, ``ACTIVITY_END`` when False.
        audio_offset_s: Where in the caller's audio stream, seconds from its start; sent as a
            protobuf Duration string (``"1.23s"``).
    """
    offset = f"{max(0.0, audio_offset_s):.3f}".rstrip("0").rstrip(".") + "s"
    return {"voiceActivity": {"type": "ACTIVITY_START" if started else "ACTIVITY_END", "audioOffset": offset}}


def usage_metadata(prompt_audio: int, prompt_text: int, response_audio: int) -> dict:
    """``usageMetadata`` with per-modality details, token counts as ints."""
    prompt = prompt_audio + prompt_text
    return {
        "promptTokenCount": prompt,
        "responseTokenCount": response_audio,
        "totalTokenCount": prompt + response_audio,
        "promptTokensDetails": [
            {"modality": "AUDIO", "tokenCount": prompt_audio},
            {"modality": "TEXT", "tokenCount": prompt_text},
        ],
        "responseTokensDetails": [{"modality": "AUDIO", "tokenCount": response_audio}],
    }


def tool_call(calls: list[dict]) -> dict:
    """``toolCall.functionCalls``: each ``{"id", "name", "args"}``."""
    return {"toolCall": {"functionCalls": calls}}


def tool_call_cancellation(ids: list[str]) -> dict:
    """``toolCallCancellation.ids``."""
    return {"toolCallCancellation": {"ids": ids}}


def go_away(time_left_s: float) -> dict:
    """``goAway.timeLeft`` as a protobuf Duration string (``"50s"``)."""
    return {"goAway": {"timeLeft": f"{time_left_s:.3f}".rstrip("0").rstrip(".") + "s"}}


def resumption_update(new_handle: str | None, resumable: bool) -> dict:
    """``sessionResumptionUpdate``."""
    body: dict = {"resumable": resumable}
    if new_handle:
        body["newHandle"] = new_handle
    return {"sessionResumptionUpdate": body}


def dumps(msg: dict) -> str:
    """Serialise a server message compactly."""
    return json.dumps(msg, separators=(",", ":"), ensure_ascii=False)
