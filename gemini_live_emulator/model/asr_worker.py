"""The speech recogniser's own process: PocketSphinx decoders, one per emulated session.

PocketSphinx holds the GIL while it decodes, so decoding in the emulator's process would stall
its event loop (and, in tests, the client pipeline sharing it) by the whole decoding time of
every session. It therefore runs here, in child processes of the emulator's process
(:mod:`.asr` starts and drives them); calls for one session arrive in order and carry its ``sid``.
"""

from __future__ import annotations

import numpy as np

from .asr_common import ASR_RATE, Heard, Resampler, line_cmn

_PIECE = ASR_RATE // 50  # samples per decoder call (20 ms)
_INTERIM_EVERY = ASR_RATE * 2 // 5  # samples between interim hypotheses (400 ms)
_POOL_MAX = 4
_pool: list = []
DECODER_SETTINGS = {"fwdflat": False, "bestpath": False, "maxhmmpf": 3000, "loglevel": "FATAL"}
_sessions: dict[int, "Decoding"] = {}


def _acquire_decoder():
    if _pool:
        return _pool.pop()
    from pocketsphinx import Decoder  # imported on first use: ~0.3 s with the model load

    # maxhmmpf=3000 caps the active states per frame: about half the CPU, the same WER on
    # our recordings (docs/emulator-asr.md); 2000 is cheaper but mishears the weather question.
    return Decoder(**DECODER_SETTINGS)


def _release_decoder(decoder) -> None:
    if len(_pool) < _POOL_MAX:
        _pool.append(decoder)


WARM_DECODERS = 2  # loaded at start (~90 MB each): sessions starting together wait less


def warm() -> bool:
    """Fill the pool with :data:`WARM_DECODERS` decoders (~0.3-0.5 s each)."""
    from pocketsphinx import Decoder

    while len(_pool) < WARM_DECODERS:
        _pool.append(Decoder(**DECODER_SETTINGS))
    return True


def _words(hyp) -> list[str]:
    text = hyp.hypstr if hyp is not None else ""
    # Fillers and noise tokens are not words the caller said.
    return [w for w in text.split() if not w.startswith(("<", "[", "++"))]


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


class Decoding:
    """One session's decoder and its open utterance."""

    def __init__(self):
        self._decoder = _acquire_decoder()
        self._utt: Utterance | None = None
        self._line_rate = 0
        self._pieces: list[str] = []

    def release(self) -> None:
        if self._utt is not None:
            self._decoder.end_utt()
        _release_decoder(self._decoder)

    def take_pieces(self) -> list[str]:
        pieces, self._pieces = self._pieces, []
        return pieces

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
        if words:
            self._pieces.append((" " if continuing else "") + " ".join(words))

    def _end(self) -> Heard:
        utt, self._utt = self._utt, None
        if utt is None:
            return Heard("", 0)
        self._process(utt, utt.resample(b"", end=True))
        self._decoder.end_utt()
        return Heard(" ".join(_words(self._decoder.hyp())), len(utt.emitted))




# -- the calls the emulator's process makes (module functions: they cross the process boundary)


def begin(sid: int, rate: int, preroll: bytes) -> list[str]:
    """Open an utterance for session ``sid``; returns interim pieces (from the pre-roll)."""
    decoding = _sessions.get(sid)
    if decoding is None:
        decoding = _sessions[sid] = Decoding()
    decoding._begin(rate, preroll)
    return decoding.take_pieces()


def feed(sid: int, pcm: bytes) -> list[str]:
    """More audio of ``sid``'s utterance; returns the interim pieces it made stable."""
    decoding = _sessions.get(sid)
    if decoding is None:
        return []
    decoding._feed(pcm)
    return decoding.take_pieces()


def end(sid: int) -> tuple[str, int]:
    """Close ``sid``'s utterance: ``(words, how many went out as interim pieces)``."""
    decoding = _sessions.get(sid)
    if decoding is None:
        return "", 0
    heard = decoding._end()
    return heard.text, heard.interim_words


def close(sid: int) -> None:
    """The session ended: its decoder goes back to the pool."""
    decoding = _sessions.pop(sid, None)
    if decoding is not None:
        decoding.release()


CALLS = {"begin": begin, "feed": feed, "end": end, "close": close, "warm": lambda sid: warm()}


def serve(inp, out) -> None:
    """Answer length-prefixed pickled ``(call, sid, args)`` requests in order, until EOF."""
    import pickle
    import struct

    while True:
        head = inp.read(4)
        if len(head) < 4:
            return
        call, sid, args = pickle.loads(inp.read(struct.unpack("<I", head)[0]))
        try:
            reply = (True, CALLS[call](sid, *args))
        except Exception as e:  # sent back: the emulator's side logs it with the session
            reply = (False, repr(e))
        body = pickle.dumps(reply)
        out.write(struct.pack("<I", len(body)) + body)
        out.flush()


CPU_LOG_ENV = "GEMINI_LIVE_EMULATOR_ASR_CPU_LOG"


def _log_cpu(path: str) -> None:
    """Append this process's CPU seconds (user + system) to ``path``: what recognition cost,
    for measurements across many emulators (e.g. a whole test run)."""
    import os
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    with open(path, "a") as f:
        f.write(f"{os.getpid()} {usage.ru_utime + usage.ru_stime:.3f}\n")


if __name__ == "__main__":
    import os
    import sys

    serve(sys.stdin.buffer, sys.stdout.buffer)
    if os.environ.get(CPU_LOG_ENV):
        _log_cpu(os.environ[CPU_LOG_ENV])
