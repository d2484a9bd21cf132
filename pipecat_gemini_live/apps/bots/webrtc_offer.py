"""Checking a browser's WebRTC offer before any peer connection, pipeline or Live session exists.

Pipecat's SmallWebRTC signalling (``POST /api/offer``) takes ``{"sdp", "type", "pc_id"}``
(:class:`OfferBody`). Whatever arrives is checked here first: a JSON object of the right shape
and size, ``type`` ``"offer"``, and an SDP that aiortc parses into at least one audio section
with ICE credentials and a DTLS fingerprint (what a peer needs to ever connect: RFC 8829 §5.2,
RFC 8842). An offer without them could never carry a call, so it is refused with the reason.
"""

from __future__ import annotations

import json
from typing import Literal

from aiortc.sdp import SessionDescription
from pipecat.transports.smallwebrtc.request_handler import IceCandidate, SmallWebRTCPatchRequest
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .admission import RequestRefused

# A browser's offer with audio, a data channel and a dozen candidates is 3-8 KB; 64 KiB leaves
# room for video sections and many interfaces while bounding what an anonymous client costs.
MAX_OFFER_BYTES = 64 * 1024
MAX_PC_ID_CHARS = 128


class OfferBody(BaseModel):
    """The body of ``POST /api/offer`` (Pipecat's ``SmallWebRTCRequest``, validated).

    Attributes:
        sdp: The SDP offer text.
        type: Always ``"offer"``.
        pc_id: The peer connection's id for a renegotiation; None for a new call.
        restart_pc: Renegotiation only: restart the peer connection.
    """

    model_config = ConfigDict(extra="ignore", strict=True)

    sdp: str = Field(max_length=MAX_OFFER_BYTES)
    type: Literal["offer"]
    pc_id: str | None = Field(default=None, max_length=MAX_PC_ID_CHARS)
    restart_pc: bool | None = None


def parse_offer(body: bytes) -> OfferBody:
    """Parse and check an offer request body.

    Args:
        body: The raw request body (JSON, at most :data:`MAX_OFFER_BYTES`).

    Raises:
        RequestRefused: 400 with the reason (not JSON, wrong fields, not an offer, an SDP no
            peer could connect with).
    """
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        raise RequestRefused(400, "the body is not JSON") from None
    if not isinstance(data, dict):
        raise RequestRefused(400, "the body is not a JSON object")
    if data.get("type") not in (None, "offer") and isinstance(data.get("type"), str):
        raise RequestRefused(400, f"expected an SDP offer, got type {data['type'][:20]!r}")
    try:
        offer = OfferBody.model_validate(data)
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        raise RequestRefused(400, f"bad offer: {where}: {first['msg']}") from None
    check_offer_sdp(offer.sdp)
    return offer


def check_offer_sdp(sdp: str) -> None:
    """Refuse an SDP offer no peer connection could be made from.

    Args:
        sdp: The offer's SDP text.

    Raises:
        RequestRefused: 400: unparsable, no ``v=0``, no audio section, or a section without
            ICE credentials or a DTLS fingerprint.
    """
    if not sdp.lstrip().startswith("v=0"):
        raise RequestRefused(400, "bad offer: the SDP does not start with v=0")
    try:
        description = SessionDescription.parse(sdp)
    except Exception as e:  # aiortc's parser raises whatever its line handlers hit
        raise RequestRefused(400, f"bad offer: unparsable SDP ({type(e).__name__})") from None
    audio = [m for m in description.media if m.kind == "audio"]
    if not audio:
        raise RequestRefused(400, "bad offer: the SDP has no audio section (m=audio)")
    for media in description.media:
        if not (media.ice.usernameFragment and media.ice.password):
            raise RequestRefused(400, f"bad offer: the {media.kind} section has no ICE credentials")
        if not media.dtls or not media.dtls.fingerprints:
            raise RequestRefused(400, f"bad offer: the {media.kind} section has no DTLS fingerprint")


class _Candidate(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)

    candidate: str = Field(max_length=1024)
    sdp_mid: str = Field(max_length=64)
    sdp_mline_index: int = Field(ge=0, le=64)


class _Patch(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)

    pc_id: str = Field(max_length=MAX_PC_ID_CHARS)
    candidates: list[_Candidate] = Field(max_length=64)


def parse_patch(body: bytes) -> SmallWebRTCPatchRequest:
    """Parse and check a ``PATCH /api/offer`` body (trickled ICE candidates).

    Args:
        body: The raw request body (JSON ``{"pc_id", "candidates": [{"candidate", "sdp_mid",
            "sdp_mline_index"}]}``).

    Raises:
        RequestRefused: 400 with the reason.
    """
    try:
        patch = _Patch.model_validate_json(body)
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        raise RequestRefused(400, f"bad candidates: {where}: {first['msg']}") from None
    return SmallWebRTCPatchRequest(
        pc_id=patch.pc_id,
        candidates=[IceCandidate(c.candidate, c.sdp_mid, c.sdp_mline_index) for c in patch.candidates],
    )
