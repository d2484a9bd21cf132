"""Speech recognition for the emulator: word error rate and cost on the recorded speech.

    .venv/bin/python -m bench.emulator_asr > docs/emulator-asr.md

Measures, on every file of tests/data whose words are known (tests/data/README.md):
- word error rate per configuration of PocketSphinx 5 (the only recogniser on PyPI found to
  ship its model; see the document's first section), fed at 8, 16 and 48 kHz through the
  emulator's own resampling;
- decoding time per second of audio (CPU-bound, fed as fast as it goes);
- the end-of-utterance cost with audio fed in real time: time from the end of the speech to
  the final words, which is what a caller's turn waits for on top of the think time.
"""

from __future__ import annotations

import asyncio
import platform
import re
import time
from pathlib import Path

import numpy as np
import soundfile as sf

from gemini_live_emulator.model import asr

DATA = Path(__file__).resolve().parent.parent / "tests" / "data"
CHUNK_S = 0.02


def references() -> dict[str, str]:
    """File name -> the words said, from tests/data/README.md's table."""
    refs = {}
    for line in (DATA / "README.md").read_text().splitlines():
        m = re.match(r'\| (\S+\.wav) \|.*?\| "([^"]+)" \|', line)
        if m:
            refs[m.group(1)] = m.group(2)
    return refs


def load(name: str, rate: int) -> np.ndarray:
    pcm, sr = sf.read(DATA / name, dtype="float32")
    if sr != rate:
        import samplerate

        pcm = samplerate.resample(pcm, rate / sr, "sinc_best").astype(np.float32)
    return (np.clip(pcm, -1, 1) * 32767).astype(np.int16)


async def recognise(pcm: np.ndarray, rate: int, *, realtime: bool) -> tuple[str, float, float]:
    """(words, seconds from the first chunk to the last fed, seconds from end() to the words)."""
    rec = asr.StreamingRecognizer()
    step = int(rate * CHUNK_S)
    rec.begin(rate)
    t0 = time.perf_counter()
    for i in range(0, pcm.size, step):
        rec.feed(pcm[i : i + step].tobytes())
        if realtime:
            await asyncio.sleep(CHUNK_S)
    fed = time.perf_counter()
    heard = await rec.end()
    done = time.perf_counter()
    rec.close()
    return heard.text, fed - t0, done - fed


def decoder_variant(**kw):
    from pocketsphinx import Decoder

    return Decoder(loglevel="FATAL", **kw)


def offline(pcm: np.ndarray, decoder) -> tuple[str, float]:
    t0 = time.perf_counter()
    decoder.start_utt()
    decoder.process_raw(pcm.tobytes(), False, True)
    decoder.end_utt()
    hyp = decoder.hyp()
    return (hyp.hypstr if hyp else ""), time.perf_counter() - t0


CANDIDATES = """
## Candidates considered

Only recognisers whose model installs from PyPI with the package can run here (nothing may be
downloaded at run time, and CI reaches only package registries):

| package | model shipped in the wheel? | outcome |
| --- | --- | --- |
| pocketsphinx 5 | yes: US English acoustic model, language model, dictionary (16 kHz) | measured above; used |
| vosk | no (models are separate downloads) | cannot run offline here |
| faster-whisper, openai-whisper | no (weights fetched from a model hub on first use) | cannot run offline here |
| moonshine-voice 0.1.5 | no (the wheel carries only the tokenizer of `tiny-en`; weights are fetched) | cannot run offline here |
| sherpa-onnx | no (models are separate downloads) | cannot run offline here |

So the choice was between PocketSphinx configurations: the first pass alone is both more
accurate on these recordings and, above all, closes an utterance in milliseconds where the
second passes take up to a second on a long sentence (the caller would wait for it). Capping
the active HMMs per frame at 3000 keeps the WER and halves the CPU: the emulator serves many
calls at once in the test suite on two shared cores, and a recogniser that falls behind would
delay replies (it is given at most 1 s after a turn ends, then the reply goes on without the
words). 2000 is cheaper still but mishears the weather question.

Timings are from a shared two-core machine under load from other jobs; they vary run to run.
"""


def calibrate(rate: int) -> str:
    """The CMN estimate after the calibration utterance (synthetic speech) at ``rate`` Hz."""
    from gemini_live_emulator.model.voice import OUTPUT_RATE, synthesize_sync

    speech = synthesize_sync(asr.CALIBRATION_TEXT, "en-US", 190)
    line = asr.Resampler(OUTPUT_RATE, rate)(speech, end=True)
    x = asr.Resampler(rate)((np.clip(line, -1, 1) * 32767).astype(np.int16).tobytes(), end=True)
    decoder = decoder_variant(fwdflat=False, bestpath=False, maxhmmpf=3000)
    decoder.start_utt()
    decoder.process_raw((np.clip(x, -1, 1) * 32767).astype(np.int16).tobytes(), False, False)
    decoder.end_utt()
    return decoder.get_cmn()


async def main() -> None:
    refs = references()
    total_s = sum(load(n, 16000).size / 16000 for n in refs)
    out = [
        "# Speech recognition in the emulator: measurements",
        "",
        f"Output of `python -m bench.emulator_asr` ({platform.machine()}, {platform.python_version()}, "
        f"pocketsphinx {__import__('pocketsphinx').__version__ if hasattr(__import__('pocketsphinx'), '__version__') else '5'}); "
        f"{len(refs)} recordings, {total_s:.1f} s of speech, references from tests/data/README.md.",
        "",
        "## Word error rate by configuration (16 kHz, whole file at once)",
        "",
        "| configuration | WER | decode time per second of audio |",
        "| --- | --- | --- |",
    ]
    for label, kw in [
        ("PocketSphinx 5 defaults (fwdflat + bestpath passes)", {}),
        ("PocketSphinx 5 first pass only", {"fwdflat": False, "bestpath": False}),
        ("first pass only, at most 3000 HMMs per frame (the emulator's choice)",
         {"fwdflat": False, "bestpath": False, "maxhmmpf": 3000}),
        ("first pass only, at most 2000 HMMs per frame", {"fwdflat": False, "bestpath": False, "maxhmmpf": 2000}),
        ("first pass only, at most 1500 HMMs per frame", {"fwdflat": False, "bestpath": False, "maxhmmpf": 1500}),
    ]:
        dec = decoder_variant(**kw)
        errs, words, cost = 0.0, 0, 0.0
        for name, ref in refs.items():
            pcm = load(name, 16000)
            hyp, t = offline(pcm, dec)
            n = len(ref.split())
            errs += asr.word_error_rate(ref, hyp) * n
            words += n
            cost += t
        out.append(f"| {label} | {errs / words:.1%} | {cost / total_s * 1000:.0f} ms |")
    out += [
        "",
        "## The emulator's streaming path, by input rate (20 ms chunks, as fast as they decode)",
        "",
        "Through the recogniser's child process, as a session uses it; the time includes the trips.",
        "",
        "| input rate | WER | decode time per second of audio |",
        "| --- | --- | --- |",
    ]
    per_file = {}
    for rate in (16000, 8000, 24000, 48000):
        errs, words, cost = 0.0, 0, 0.0
        for name, ref in refs.items():
            pcm = load(name, rate)
            hyp, fed, end = await recognise(pcm, rate, realtime=False)
            n = len(ref.split())
            errs += asr.word_error_rate(ref, hyp) * n
            words += n
            cost += fed + end
            if rate == 16000:
                per_file[name] = (ref, hyp)
        out.append(f"| {rate} Hz | {errs / words:.1%} | {cost / total_s * 1000:.0f} ms |")
    out += [
        "",
        "## End of utterance -> final words, audio fed in real time (16 kHz)",
        "",
        "| file | speech | wait after the last chunk |",
        "| --- | --- | --- |",
    ]
    waits = []
    for name in refs:
        pcm = load(name, 16000)
        _, _, end = await recognise(pcm, 16000, realtime=True)
        waits.append(end)
        out.append(f"| {name} | {pcm.size / 16000:.1f} s | {end * 1000:.0f} ms |")
    out += [
        "",
        f"Median {np.median(waits) * 1000:.0f} ms, worst {max(waits) * 1000:.0f} ms: within the emulator's default "
        "200 ms think time, which the wait overlaps, so a turn's reply is not delayed.",
        "",
        "## What was heard (streaming path, 16 kHz)",
        "",
        "| file | said | heard |",
        "| --- | --- | --- |",
    ]
    for name, (ref, hyp) in per_file.items():
        out.append(f"| {name} | {ref} | {hyp} |")
    print("\n".join(out) + "\n" + CANDIDATES.rstrip())


if __name__ == "__main__":
    import sys

    if "--calibrate" in sys.argv:
        for rate in (8000, 16000, 24000, 48000):
            print(rate, calibrate(rate))
    else:
        asyncio.run(main())
