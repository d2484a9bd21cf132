"""Camera and screen images for the Live session: JPEG, at most 1 fps, at most 1024 px.

The Live API takes video as a stream of still images (``realtimeInput.video``, ``image/jpeg``)
at about one per second, no larger than 1024 pixels on a side (docs/live-api.md). Frames
arriving faster are skipped, larger ones are scaled down keeping their aspect ratio. Images are
not held while the call moves between sessions: the next one, a second later, is fresher.
"""

from __future__ import annotations

import io
import time
from collections.abc import Awaitable, Callable

from loguru import logger
from PIL import Image
from pipecat.frames.frames import InputImageRawFrame

from .link import SessionLink

MAX_SIDE_PX = 1024
MIN_INTERVAL_S = 1.0


def to_jpeg(frame: InputImageRawFrame, max_side: int = MAX_SIDE_PX, quality: int = 80) -> bytes:
    """Encode a raw image frame as JPEG, scaled down to ``max_side`` pixels.

    Args:
        frame: ``frame.image`` raw bytes of ``frame.size`` (width, height) in ``frame.format``
            (``"RGB"``, ``"RGBA"``...).
        max_side: Longest side allowed, pixels.
        quality: JPEG quality, 1-95.

    Raises:
        ValueError: When the bytes do not match the declared size and format.
    """
    image = Image.frombytes(frame.format or "RGB", tuple(frame.size), frame.image)
    if image.mode != "RGB":
        image = image.convert("RGB")
    if max(image.size) > max_side:
        image.thumbnail((max_side, max_side))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


class VideoInput:
    """Sends at most one image per ``min_interval_s`` to the session the call is on.

    Args:
        link: The seam to the session.
        push_error: Reports an image that cannot be encoded (Pipecat's ``push_error``).
        min_interval_s: Shortest time between two images sent, seconds.
    """

    def __init__(
        self,
        link: SessionLink,
        push_error: Callable[[str], Awaitable[None]],
        min_interval_s: float = MIN_INTERVAL_S,
    ):
        self.link = link
        self.push_error = push_error
        self.min_interval_s = min_interval_s
        self.paused = False
        self.sent = 0
        self.skipped = 0
        self._last_sent = 0.0

    async def on_frame(self, frame: InputImageRawFrame) -> None:
        """Send the image if it is time for one and a session can take it."""
        session = self.link.session
        now = time.monotonic()
        if self.paused or not self.link.accepting():
            self.skipped += 1
            return
        if now - self._last_sent < self.min_interval_s:
            self.skipped += 1
            return
        try:
            jpeg = to_jpeg(frame)
        except Exception as e:
            self.skipped += 1
            await self.push_error(f"image frame not sent: {e} (size={frame.size}, format={frame.format})")
            return
        try:
            await session.send_video(jpeg)
        except Exception as e:
            logger.debug(f"{session}: image not sent ({e})")
            self.skipped += 1
            return
        self._last_sent = now
        self.sent += 1
