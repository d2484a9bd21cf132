"""Offline speech recognition of the caller's audio: what the emulated model "heard".

PocketSphinx 5 (``pocketsphinx`` on PyPI) with the US English acoustic model, language model
and dictionary its wheel ships: nothing is downloaded at run time. Chosen by word error rate
and speed on the project's recorded speech (``docs/emulator-asr.md``, made by
``bench/asr_compare.py``).

Cost is kept low three ways: only voiced audio is decoded (the VAD opens and closes each
utterance, with a short pre-roll so the first phoneme is not cut), the second decoding passes
(``fwdflat``, ``bestpath``) are off so closing an utterance takes milliseconds instead of up to a
second, and decoders (about 0.3 s to load) are pooled per process and reused by the next session.

Decoding runs on one worker thread per session, in 20 ms pieces: the decoder holds the GIL
while it works, so small pieces keep the event loop's stalls to a few milliseconds.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from loguru import logger

ASR_RATE = 16000  # Hz: the bundled model's rate
_PIECE = ASR_RATE // 50  # samples per decoder call (20 ms)
_INTERIM_EVERY = ASR_RATE * 2 // 5  # samples between interim hypotheses (400 ms)
_POOL_MAX = 8

_pool: list = []
_pool_lock = threading.Lock()
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


def _acquire_decoder():
    with _pool_lock:
        if _pool:
            return _pool.pop()
    from pocketsphinx import Decoder  # imported on first use: ~0.3 s with the model load

    return Decoder(fwdflat=False, bestpath=False, loglevel="FATAL")


def _release_decoder(decoder) -> None:
    with _pool_lock:
        if len(_pool) < _POOL_MAX:
            _pool.append(decoder)


def warm_up() -> None:
    """Load one decoder into the pool (blocking, ~0.3 s; 2 s with a cold disk cache).

    Safe to call from any thread; the emulator calls it at start so the first session does not
    wait for the model to load.
    """
    _release_decoder(_acquire_decoder())


_warming: threading.Thread | None = None


def warm_up_in_background() -> None:
    """Start loading a decoder on a daemon thread, once per process (no-op if one is pooled)."""
    global _warming
    with _pool_lock:
        if _pool or _warming is not None:
            return
        _warming = threading.Thread(target=_warm_quietly, name="emu-asr-warm-up", daemon=True)
    _warming.start()


def _warm_quietly() -> None:
    try:
        warm_up()
    except Exception as e:  # reported again, with the session, when a session needs it
        logger.warning(f"emulator: speech recogniser failed to load: {e!r}")


def available() -> bool:
    """Whether the recogniser's package is installed."""
    try:
        import pocketsphinx  # noqa: F401
    except ImportError:
        return False
    return True


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


def _words(hyp) -> list[str]:
    text = hyp.hypstr if hyp is not None else ""
    # Fillers and noise tokens are not words the caller said.
    return [w for w in text.split() if not w.startswith(("<", "[", "++"))]


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


class Utterance:
    """One stretch of caller speech being recognised (thread-confined to its recogniser).

    Attributes:
        emitted: Words already reported as interim transcription.
    """

    def __init__(self, rate: int):
        self.resample = Resampler(rate)
        self.emitted: list[str] = []
        self.previous: list[str] = []
        self.samples = 0
        self.next_interim = _INTERIM_EVERY


class StreamingRecognizer:
    """Recognises one session's caller speech, utterance by utterance, off the event loop.

    Calls are made from the event loop and return at once; the work runs in order on the
    session's own worker thread.

    Args:
        on_interim: Called on the event loop with newly stable words (a text piece with a
            leading space when it continues earlier words) while an utterance is under way.
    """

    def __init__(self, on_interim: Callable[[str], None] | None = None):
        self._loop = asyncio.get_running_loop()
        self._on_interim = on_interim
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="emu-asr")
        self._decoder = None
        self._utt: Utterance | None = None
        self._line_rate = 0
        self._closed = False
        self._executor.submit(self._load)

    # -- event loop side ---------------------------------------------------------------------

    def begin(self, rate: int, preroll: bytes = b"") -> None:
        """Open an utterance of PCM16 mono audio at ``rate`` Hz, starting with ``preroll``."""
        if not self._closed:
            self._executor.submit(self._begin, rate, preroll)

    def feed(self, pcm: bytes) -> None:
        """More audio of the open utterance (ignored when none is open)."""
        if not self._closed and pcm:
            self._executor.submit(self._feed, pcm)

    def end(self) -> asyncio.Future:
        """Close the utterance; the future gives a :class:`Heard`."""
        if self._closed:
            future = self._loop.create_future()
            future.set_result(Heard("", 0))
            return future
        return asyncio.wrap_future(self._executor.submit(self._end), loop=self._loop)

    def close(self) -> None:
        """Stop: pending work is dropped, the decoder goes back to the pool."""
        if self._closed:
            return
        self._closed = True
        self._executor.submit(self._release)
        self._executor.shutdown(wait=False, cancel_futures=True)

    # -- worker thread side --------------------------------------------------------------------

    def _load(self) -> None:
        self._decoder = _acquire_decoder()

    def _release(self) -> None:
        if self._decoder is not None:
            if self._utt is not None:
                self._decoder.end_utt()
            _release_decoder(self._decoder)
            self._decoder = None

    def _begin(self, rate: int, preroll: bytes) -> None:
        if self._utt is not None:
            self._decoder.end_utt()
        if rate != self._line_rate:  # a new line: start from its calibrated estimate
            self._decoder.set_cmn(line_cmn(rate))
            self._line_rate = rate
        self._utt = Utterance(rate)
        self._decoder.start_utt()
        if preroll:
            self._feed(preroll)

    def _feed(self, pcm: bytes) -> None:
        utt = self._utt
        if utt is None:
            return
        self._process(utt, utt.resample(pcm))
        if utt.samples >= utt.next_interim:
            utt.next_interim = utt.samples + _INTERIM_EVERY
            self._interim(utt)

    def _process(self, utt: Utterance, x: np.ndarray) -> None:
        pcm16 = (np.clip(x, -1.0, 1.0) * 32767.0).astype(np.int16)
        for i in range(0, pcm16.size, _PIECE):
            self._decoder.process_raw(pcm16[i : i + _PIECE].tobytes(), False, False)
        utt.samples += pcm16.size

    def _interim(self, utt: Utterance) -> None:
        words = _words(self._decoder.hyp())
        # A word is stable once two hypotheses in a row agree on it and it is not the last.
        stable = []
        for a, b in zip(words[:-1], utt.previous):
            if a != b:
                break
            stable.append(a)
        utt.previous = words
        if len(stable) > len(utt.emitted) and stable[: len(utt.emitted)] == utt.emitted:
            piece = stable[len(utt.emitted) :]
            self._post(piece, continuing=bool(utt.emitted))
            utt.emitted = stable

    def _post(self, words: list[str], continuing: bool) -> None:
        if self._on_interim is not None and words:
            text = (" " if continuing else "") + " ".join(words)
            self._loop.call_soon_threadsafe(self._on_interim, text)

    def _end(self) -> Heard:
        utt, self._utt = self._utt, None
        if utt is None:
            return Heard("", 0)
        self._process(utt, utt.resample(b"", end=True))
        self._decoder.end_utt()
        return Heard(" ".join(_words(self._decoder.hyp())), len(utt.emitted))


def word_error_rate(reference: str, hypothesis: str) -> float:
    """Word error rate: (substitutions + deletions + insertions) / words of ``reference``.

    Case and punctuation are ignored. Returns 0.0 for two empty texts and 1.0 per inserted
    word against an empty reference.
    """
    ref = _norm(reference)
    hyp = _norm(hypothesis)
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        prev, row[0] = row[0], i
        for j, h in enumerate(hyp, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (r != h))
    return row[-1] / max(1, len(ref)) if ref or hyp else 0.0


def _norm(text: str) -> list[str]:
    return "".join(c if c.isalnum() or c in "' " else " " for c in text.lower()).split()
