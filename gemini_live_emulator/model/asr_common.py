"""What both sides of the speech recogniser share: rates, the line's CMN start, resampling,
and :class:`Heard` (:mod:`.asr` runs in the emulator, :mod:`.asr_worker` in its own process)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

ASR_RATE = 16000  # Hz: the bundled model's rate

# Cepstral mean normalisation (CMN) adapts to the line as speech comes; from the model's
# generic starting estimate the first second or two are misheard (WER 34% against 21% on our
# recordings). Each session therefore starts from an estimate calibrated on a synthetic
# utterance sent through the same resampling (``python -m bench.emulator_asr --calibrate``
# prints these): the same for every session, so the same audio is always heard as the same
# words. 16, 24 and 48 kHz lines calibrate alike; a telephone-band line does not.
CMN_WIDEBAND = "52.7208,2.9507,-3.60216,16.7194,-8.61119,1.57697,-3.67527,-14.924,-3.0283,-7.32997,6.29183,-1.91389,-4.73197"
CMN_NARROWBAND = "46.3931,22.8408,-24.6522,26.6671,-3.40517,-14.3539,12.3207,-21.7534,-7.63335,4.532,-5.7969,5.33217,-5.88464"
CALIBRATION_TEXT = (
    "Hello, this is the emulator. It is listening to the line before the caller speaks, "
    "so that the first words are heard well."
)


def line_cmn(rate: int) -> str:
    """The starting CMN estimate for a line at ``rate`` Hz."""
    return CMN_WIDEBAND if rate >= ASR_RATE else CMN_NARROWBAND


class Resampler:
    """Streaming conversion of PCM16 mono at ``rate`` Hz to float32 at ``to`` Hz (libsamplerate)."""

    def __init__(self, rate: int, to: int = ASR_RATE):
        self.rate = rate
        self.to = to
        self._conv = None
        if rate != to:
            import samplerate

            self._conv = samplerate.Resampler("sinc_fastest", channels=1)

    def __call__(self, pcm: bytes, end: bool = False) -> np.ndarray:
        x = np.frombuffer(pcm, dtype=np.int16).astype(np.float32) / 32768.0
        if self._conv is None:
            return x
        return self._conv.process(x, self.to / self.rate, end_of_input=end).astype(np.float32)


@dataclass(frozen=True)
class Heard:
    """What one utterance was recognised as.

    Attributes:
        text: The words, lower case, space separated ("" when none were made out).
        interim_words: How many of the leading words already went out as interim pieces.
    """

    text: str
    interim_words: int

    def sent(self) -> "Heard":
        """The same words, all of them marked as sent."""
        return Heard(self.text, len(self.text.split()))

    def rest(self) -> str:
        """The words not yet sent as interim transcription (with a leading space if any were)."""
        words = self.text.split()
        rest = words[self.interim_words :]
        if not rest:
            return ""
        return (" " if self.interim_words else "") + " ".join(rest)


