"""Audible speech for the emulator's replies: text in, 24 kHz PCM16 mono out.

Real synthesized speech through eSpeak NG (the shared library and voice data ship in the
``espeakng-loader`` wheel, so nothing is needed from the system); when that library cannot be
loaded the emulator falls back to a formant "babble" whose syllables follow the text, so a
reply always has speech-like loudness and rhythm and its length follows its words.

eSpeak NG is not thread-safe: one process-wide lock serialises synthesis, which runs in a
worker thread so the emulator's event loop keeps pacing other sessions.
"""

from __future__ import annotations

import asyncio
import ctypes
import threading
import zlib
from functools import lru_cache

import numpy as np
import soxr
from loguru import logger

OUTPUT_RATE = 24000

_AUDIO_OUTPUT_SYNCHRONOUS = 2
_ESPEAK_CHARS_UTF8 = 1
_ESPEAK_RATE = 1  # espeak_SetParameter(espeakRATE, words per minute, 0)

_lock = threading.Lock()


class _ESpeak:
    """A minimal ctypes binding: initialise once, set a voice, synthesise to an array."""

    _CALLBACK = ctypes.CFUNCTYPE(
        ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p
    )

    def __init__(self):
        import espeakng_loader

        lib = ctypes.CDLL(espeakng_loader.get_library_path())
        lib.espeak_Initialize.restype = ctypes.c_int
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetVoiceByName.restype = ctypes.c_int
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        lib.espeak_Synth.argtypes = [
            ctypes.c_void_p,
            ctypes.c_size_t,
            ctypes.c_uint,
            ctypes.c_int,
            ctypes.c_uint,
            ctypes.c_uint,
            ctypes.POINTER(ctypes.c_uint),
            ctypes.c_void_p,
        ]
        rate = lib.espeak_Initialize(
            _AUDIO_OUTPUT_SYNCHRONOUS, 0, espeakng_loader.get_data_path().encode(), 0
        )
        if rate <= 0:
            raise OSError(f"espeak_Initialize failed ({rate})")
        self.rate = rate
        self._lib = lib
        self._chunks: list[np.ndarray] = []

        def _collect(wav, n, _events):
            if n > 0:
                self._chunks.append(np.ctypeslib.as_array(wav, shape=(n,)).copy())
            return 0

        self._callback = self._CALLBACK(_collect)  # kept alive: eSpeak holds the pointer
        lib.espeak_SetSynthCallback(self._callback)
        self._voice: str | None = None

    def synth(self, text: str, voice: str, words_per_minute: int) -> np.ndarray:
        if voice != self._voice:
            if self._lib.espeak_SetVoiceByName(voice.encode()) != 0:
                self._lib.espeak_SetVoiceByName(b"en-us")
            self._voice = voice
        self._lib.espeak_SetParameter(_ESPEAK_RATE, words_per_minute, 0)
        data = text.encode("utf-8")
        self._chunks = []
        self._lib.espeak_Synth(data, len(data) + 1, 0, 0, 0, _ESPEAK_CHARS_UTF8, None, None)
        if not self._chunks:
            return np.zeros(0, dtype=np.int16)
        return np.concatenate(self._chunks)


@lru_cache(maxsize=1)
def _espeak() -> _ESpeak | None:
    try:
        return _ESpeak()
    except Exception as e:  # missing wheel, unsupported platform
        logger.warning(f"eSpeak NG unavailable ({e}); emulator replies use formant babble")
        return None


# The Live API's prebuilt voice names, each given its own eSpeak NG variant (voice quality and
# pitch), so a test can hear that the voice setting reached the server. Unknown names get a
# variant from a stable hash of the name; no name keeps the language's plain voice.
VARIANTS = ("m1", "f1", "m2", "f2", "m3", "f3", "m4", "f4", "m5", "f5", "m6", "m7")
GEMINI_VOICES = (
    "Zephyr Puck Charon Kore Fenrir Leda Orus Aoede Callirrhoe Autonoe Enceladus Iapetus Umbriel "
    "Algieba Despina Erinome Algenib Rasalgethi Laomedeia Achernar Alnilam Schedar Gacrux "
    "Pulcherrima Achird Zubenelgenubi Vindemiatrix Sadachbia Sadaltager Sulafat"
).split()


def variant_for(voice_name: str | None) -> str | None:
    """The eSpeak NG variant a prebuilt voice name is spoken with (None: the plain voice)."""
    if not voice_name:
        return None
    names = [n.lower() for n in GEMINI_VOICES]
    key = voice_name.strip().lower()
    index = names.index(key) if key in names else zlib.crc32(key.encode())
    return VARIANTS[index % len(VARIANTS)]


def _voice_for(language_code: str | None, voice_name: str | None = None) -> str:
    lang = (language_code or "en-US").lower()
    if lang.startswith("en-gb"):
        base = "en-gb"
    elif lang.startswith("en"):
        base = "en-us"
    else:
        base = lang.split("-")[0]
    variant = variant_for(voice_name)
    return f"{base}+{variant}" if variant else base


def _babble(text: str, rate: int) -> np.ndarray:
    """Formant-filtered glottal pulses, one syllable per vowel group, pauses at punctuation."""
    rng = np.random.default_rng(abs(hash(text)) % (2**32))
    out: list[np.ndarray] = []
    vowels = set("aeiouyAEIOUY")
    formants = {"a": (730, 1090), "e": (530, 1840), "i": (270, 2290), "o": (570, 840), "u": (300, 870)}
    prev_vowel = False
    for ch in text:
        if ch in vowels and not prev_vowel:
            dur = 0.16 + 0.04 * rng.random()
            n = int(rate * dur)
            t = np.arange(n) / rate
            f0 = 120 + 20 * rng.random() - 30 * t / dur
            phase = 2 * np.pi * np.cumsum(f0) / rate
            source = np.sign(np.sin(phase)) * 0.3 + np.sin(phase)
            f1, f2 = formants.get(ch.lower(), (500, 1500))
            sig = source * (np.sin(2 * np.pi * f1 * t) + 0.5 * np.sin(2 * np.pi * f2 * t))
            env = np.sin(np.pi * np.arange(n) / n) ** 0.6
            out.append(sig * env)
        elif ch in ".,;:!?":
            out.append(np.zeros(int(rate * (0.25 if ch in ".!?" else 0.12))))
        elif ch == " ":
            out.append(np.zeros(int(rate * 0.04)))
        prev_vowel = ch in vowels
    if not out:
        return np.zeros(int(rate * 0.2), dtype=np.int16)
    wave = np.concatenate(out)
    peak = np.max(np.abs(wave)) or 1.0
    return (wave / peak * 9000).astype(np.int16)


def synthesize_sync(
    text: str, language_code: str | None = None, words_per_minute: int = 175, voice_name: str | None = None
) -> bytes:
    """Speak ``text``: PCM16 LE mono at 24 kHz.

    Args:
        text: What to say.
        language_code: BCP-47 code from the setup's ``speechConfig.languageCode`` (picks the
            eSpeak voice; English when unset).
        words_per_minute: Speaking rate.
        voice_name: ``prebuiltVoiceConfig.voiceName`` from the setup (:func:`variant_for`).

    Returns:
        Raw PCM16 bytes at :data:`OUTPUT_RATE`.
    """
    # Initialisation and synthesis both under the lock: eSpeak NG keeps global state, and two
    # threads initialising it at once crash the process.
    with _lock:
        engine = _espeak()
        if engine is None:
            return _babble(text, OUTPUT_RATE).tobytes()
        samples = engine.synth(text, _voice_for(language_code, voice_name), words_per_minute)
        native_rate = engine.rate
    if samples.size == 0:
        return _babble(text, OUTPUT_RATE).tobytes()
    resampled = soxr.resample(samples, native_rate, OUTPUT_RATE, quality="HQ")
    return np.clip(resampled, -32768, 32767).astype(np.int16).tobytes()


async def synthesize(
    text: str, language_code: str | None = None, words_per_minute: int = 175, voice_name: str | None = None
) -> bytes:
    """:func:`synthesize_sync` in a worker thread, so the event loop keeps pacing."""
    return await asyncio.to_thread(synthesize_sync, text, language_code, words_per_minute, voice_name)
