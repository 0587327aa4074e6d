"""Test signals for the loudness checks: a speech stem from espeak-ng and a music-and-effects bed.

Used by the dialogue-loudness tests and benchmark: mixing the two stems at known levels gives programmes whose
dialogue loudness is known (the speech stem's own loudness).
"""

from __future__ import annotations

import math
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

from reelkit.errors import ToolError

__all__ = ["SENTENCES", "espeak_available", "mix_at", "music_bed", "speech_stem", "speech_with_cues"]

SENTENCES = (
    ("en", "The quick brown fox jumps over the lazy dog."),
    ("en-us", "We will meet at the station at nine tomorrow morning."),
    ("en+f3", "Loudness should be measured over the dialogue only."),
    ("en-gb", "Please remember to bring the documents and the keys."),
    ("en+m3", "It was a bright cold day in April, and the clocks were striking thirteen."),
    ("en-us+f2", "Nobody knew where the old road through the forest would lead them."),
)


def espeak_available() -> bool:
    return shutil.which("espeak-ng") is not None


def speech_stem(
    rate: int = 48000,
    *,
    sentences: Sequence[tuple[str, str]] = SENTENCES,
    pause_s: tuple[float, float] = (0.8, 2.2),
    speed_wpm: int = 150,
    seed: int = 0,
) -> npt.NDArray[np.float32]:
    """Mono speech at ``rate``: each (voice, text) spoken by espeak-ng, with random pauses between them."""
    return speech_with_cues(rate, sentences=sentences, pause_s=pause_s, speed_wpm=speed_wpm, seed=seed)[0]


def speech_with_cues(
    rate: int = 48000,
    *,
    sentences: Sequence[tuple[str, str]] = SENTENCES,
    pause_s: tuple[float, float] = (0.8, 2.2),
    speed_wpm: int = 150,
    seed: int = 0,
) -> tuple[npt.NDArray[np.float32], list[tuple[float, float, str]]]:
    """:func:`speech_stem` and the true cue of each sentence: ``(start_s, end_s, text)`` where it is heard."""
    import soundfile
    from scipy.signal import resample_poly

    exe = shutil.which("espeak-ng")
    if exe is None:
        raise ToolError("espeak-ng is not installed (Debian package espeak-ng)")
    rng = np.random.default_rng(seed)
    parts: list[npt.NDArray[np.float64]] = [np.zeros(int(rate * 0.5))]
    cues: list[tuple[float, float, str]] = []
    at = parts[0].size
    with tempfile.TemporaryDirectory(prefix="reelkit-espeak-") as tmp:
        for i, (voice, text) in enumerate(sentences):
            wav = Path(tmp) / f"s{i}.wav"
            proc = subprocess.run(
                [exe, "-v", voice, "-s", str(speed_wpm), "-w", str(wav), text],
                capture_output=True,
                check=False,
            )
            if proc.returncode != 0 or not wav.exists():
                raise ToolError(
                    f"espeak-ng failed for voice {voice!r}: {proc.stderr.decode(errors='replace')}"
                )
            x, r = soundfile.read(str(wav), dtype="float64")
            if x.ndim > 1:
                x = x.mean(axis=1)
            if r != rate:
                g = math.gcd(int(r), rate)
                x = resample_poly(x, rate // g, int(r) // g)
            loud = np.flatnonzero(np.abs(x) > 0.01 * np.abs(x).max())
            if loud.size:
                cues.append(((at + loud[0]) / rate, (at + loud[-1] + 1) / rate, text))
            gap = np.zeros(int(rate * rng.uniform(*pause_s)))
            parts += [x, gap]
            at += x.size + gap.size
    return np.concatenate(parts).astype(np.float32), cues


def music_bed(frames: int, rate: int = 48000, *, seed: int = 0) -> npt.NDArray[np.float32]:
    """A music-like bed: plucked chords (decaying harmonics) every half second over low-passed noise."""
    rng = np.random.default_rng(seed)
    out = np.zeros(frames)
    notes = (220.0, 277.18, 329.63, 246.94, 311.13, 369.99, 196.0, 246.94, 293.66)
    step = rate // 2
    for n_i, start in enumerate(range(0, frames, step)):
        stop = min(frames, start + step)
        tt = np.arange(stop - start) / rate
        env = np.exp(-3.0 * tt)
        for note in (notes[n_i % len(notes)], notes[(n_i + 2) % len(notes)] * 1.5):
            for h in range(1, 6):
                out[start:stop] += env * np.sin(2 * np.pi * note * h * tt + rng.uniform(0, 2 * np.pi)) / h
    noise = np.convolve(rng.standard_normal(frames), np.ones(16) / 16, mode="same")
    out += 0.3 * noise
    bed: npt.NDArray[np.float32] = (out / np.abs(out).max() * 0.5).astype(np.float32)
    return bed


def mix_at(
    speech: npt.NDArray[np.float32], bed: npt.NDArray[np.float32], rate: int, bed_re_speech_lu: float
) -> tuple[npt.NDArray[np.float32], float]:
    """``speech + bed`` with the bed's integrated loudness ``bed_re_speech_lu`` LU from the speech's.

    Returns the mix and the speech stem's own integrated loudness (the expected dialogue loudness).
    """
    from reelkit.post.loudness import measure

    speech_lufs = measure(speech, rate).integrated_lufs
    bed_lufs = measure(bed[: speech.size], rate).integrated_lufs
    gain = 10.0 ** ((speech_lufs + bed_re_speech_lu - bed_lufs) / 20.0)
    return (speech + bed[: speech.size] * np.float32(gain)).astype(np.float32), speech_lufs
