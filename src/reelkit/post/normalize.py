"""Loudness normalisation: a gain to a target, and a true-peak limiter where the gain would break the ceiling.

The gain is ``target - measured`` (integrated loudness, or dialogue-gated loudness when asked). When the
gained signal's true peak would pass the ceiling, a look-ahead limiter brings it down:

1. the true-peak envelope of every sample (its own value and the interpolated points after it), the largest
   over the channels: the meter's (4x at 48 kHz, BS.1770's 49-tap filter) and, where that comes within
   :data:`FINE_SPAN_DB` of the ceiling, a finer one (16x, a 64-tap Kaiser-windowed sinc) that reads the
   continuous signal closer (the meter's filter reads 22 kHz 2.6 dB low; other meters' filters differ);
2. the gain each sample needs, ``min(1, ceiling / envelope)``;
3. a sliding minimum over twice the look-ahead (it holds from one look-ahead before a peak to one after),
   then a moving average over the next look-ahead: the gain falls smoothly over the look-ahead before that
   hold (from two look-aheads before the peak to one), and is never above what any sample needs;
4. a release (one-pole, ``release_ms``) back towards unity; channels share one gain, so the image holds.

Limiting takes a little loudness away, so the gain is corrected and the limiter rerun (at most a few rounds)
until the result is within 0.1 LU of the target with its true peak at or under the ceiling.
"""

from __future__ import annotations

import glob
import math
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from numba import njit

from reelkit._files import check_output_file, naming_output, replace_file, temp_head, write_target
from reelkit.errors import ConfigError, MediaError, ReelkitWarning
from reelkit.media import DEFAULT_LAYOUTS
from reelkit.post.loudness import (
    LoudnessResult,
    Meter,
    SpeechDetector,
    VadMethod,
    _polyphase_table,
    oversampling_factor,
)
from reelkit.progress import SILENT, Progress, ProgressTask

__all__ = ["NormalizeResult", "limit_true_peak", "normalize_file", "normalize_samples", "true_peak_envelope"]

Reference = Literal["integrated", "dialogue"]


PCM_HEADROOM_DB = 0.2
"""How far under the true-peak ceiling the limiter aims, on its 16x estimate: peaks limited exactly to the
ceiling on reelkit's own 4x meter read up to 0.4 dB over on ffmpeg's, 1.5 dB over on a 16x FFT estimate
(clipped noise); the margin covers what the finer estimate still misses, and 24-bit quantisation."""
FINE_FACTOR = 16
"""Oversampling of the limiter's finer peak estimate."""
FINE_HALF_TAPS = 32
"""Input samples each side of the finer estimate's interpolation (a Kaiser-windowed sinc, beta 12): flat to
0.05 dB up to 22 kHz at 48 kHz."""
FINE_SPAN_DB = 6.0
"""The finer estimate is computed where the meter's envelope is within this of the ceiling (the meter's
filter reads 23.9 kHz 5.8 dB low): elsewhere no sample can be over."""
VIDEO_CONTAINERS = frozenset((".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".mxf", ".ts", ".mts"))
"""Output extensions that hold a picture: a video source written to one keeps its picture."""
AUDIO_CONTAINERS = frozenset((".mka", ".m4a", ".m4b"))
"""Output extensions that hold several soundtracks but no picture: a source's other soundtracks are kept."""
LOSSY_PASSES = 5
"""Encodes at most, for a lossy output, each corrected by the measurement of the one before."""
LOSSY_LOUDNESS_TOLERANCE_LU = 0.1
"""How close to the target a lossy encode's measured loudness must be to stop re-encoding."""
MAX_EXTRA_GAIN_DB = 20.0
"""The most gain past the plain gain (target less level) spent to win back what the limiter takes: a target
the ceiling forbids ran the gain to +403 dB. It bounds the make-up gain, not the depth of limiting (one
sample 40 dB over, on a quiet programme, is a fine thing to limit)."""
LU_PER_DB_OF_LIMITING = 0.05
"""The least loudness (LU) each extra dB of limiting must bring a result nearer its target to be preferred:
past the limiter's plateau more make-up gain only deepens the limiting (22 dB more for 0.001 LU)."""
UNREACHABLE_LU = 1.0
"""A target missed by more than this is refused (nothing written); a smaller miss is written, with a
warning."""
GAIN_EXACT_ABOVE_LUFS = -55.0
"""Above this level (LUFS) before and after the gain, plain gain moves the gated loudness by exactly itself:
the -70 LUFS absolute gate lies under the relative gate (about 10 LU below the level). Under it, the gain
lifts blocks over the absolute gate that then pull the mean down (a -63 LUFS programme gained to -24 reached
-25.9 and was refused), so each round is measured."""


@dataclass(frozen=True)
class NormalizeResult:
    """What :func:`normalize_samples` did: the loudness before and after, the gain, whether it limited.

    From :func:`normalize_file`, the output figures are measured on the written file, and
    ``encode_passes`` says how many encodes a lossy output took (1 for WAV/FLAC)."""

    reference: Reference
    input_lufs: float
    input_true_peak_dbtp: float
    target_lufs: float
    true_peak_ceiling_dbtp: float
    gain_db: float
    output_lufs: float
    output_true_peak_dbtp: float
    limited: bool
    max_reduction_db: float
    output_path: str | None = None
    encode_passes: int = 1
    #: Whether the output is within 0.1 LU of the target (False: the ceiling held it back; warned about).
    target_reached: bool = True

    def to_dict(self) -> dict[str, Any]:
        from dataclasses import asdict

        return asdict(self)


def true_peak_envelope(samples: npt.ArrayLike, sample_rate: int) -> npt.NDArray[np.float32]:
    """For each sample, the largest absolute value of it and the oversampled points up to the next sample,
    over all channels (what a true-peak meter sees there)."""
    x = np.asarray(samples, dtype=np.float32)
    if x.ndim == 1:
        x = x[:, None]
    frames = x.shape[0]
    env: npt.NDArray[np.float32] = np.abs(x).max(axis=1).astype(np.float32)
    factor = oversampling_factor(sample_rate)
    if factor == 1 or frames == 0:
        return env
    coef, o_min = _polyphase_table(factor)
    o_max = o_min + coef.shape[1] - 1
    step = 1 << 20  # a chunk at a time (with its context), so long programmes need no full copies
    for a in range(0, frames, step):
        b = min(frames, a + step)
        lo, hi = a + o_min, b + o_max
        ctx = np.zeros((x.shape[1], hi - lo), dtype=np.float32)
        src_lo, src_hi = max(lo, 0), min(hi, frames)
        ctx[:, src_lo - lo : src_hi - lo] = x[src_lo:src_hi].T
        interp: npt.NDArray[np.float32] = _interp_kernel(ctx, coef, b - a)
        np.maximum(env[a:b], interp, out=env[a:b])
    return env


@njit(cache=True, fastmath=True, nogil=True)
def _interp_kernel(
    ctx: npt.NDArray[np.float32], coef: npt.NDArray[np.float32], n: int
) -> npt.NDArray[np.float32]:  # pragma: no cover - compiled
    """Max |interpolated value| per input sample over channels and branches (``ctx`` holds the context)."""
    channels = ctx.shape[0]
    branches, taps = coef.shape
    out = np.zeros(n, dtype=np.float32)
    acc = np.empty(n, dtype=np.float32)
    for c in range(channels):
        row = ctx[c]
        for p in range(branches):
            for i in range(n):
                acc[i] = 0.0
            for t in range(taps):
                cf = coef[p, t]
                seg = row[t : t + n]
                for i in range(n):
                    acc[i] += cf * seg[i]
            for i in range(n):
                v = abs(acc[i])
                if v > out[i]:
                    out[i] = v
    return out


@lru_cache(maxsize=1)
def _fine_table() -> tuple[npt.NDArray[np.float32], int]:
    """The finer estimate's interpolating branches: row ``p - 1`` gives the signal at ``i + p / FINE_FACTOR``
    as ``sum_t row[t] * x[i + o_min + t]`` (branch 0, the sample itself, left out); returns it, ``o_min``."""
    half, factor, beta = FINE_HALF_TAPS, FINE_FACTOR, 12.0
    k = np.arange(-half + 1, half + 1, dtype=np.float64)  # input offsets
    table = np.empty((factor - 1, k.size), dtype=np.float64)
    for p in range(1, factor):
        t = k - p / factor  # distance of each input sample from the point
        w = np.i0(beta * np.sqrt(np.clip(1.0 - (t / half) ** 2, 0.0, None))) / np.i0(beta)
        row = np.sinc(t) * w
        table[p - 1] = row / row.sum()  # unity at DC
    return table.astype(np.float32), int(k[0])


@njit(cache=True, fastmath=True, nogil=True)
def _fine_kernel(
    xt: npt.NDArray[np.float32], coef: npt.NDArray[np.float32], o_min: int, idx: npt.NDArray[np.int64]
) -> npt.NDArray[np.float32]:  # pragma: no cover - compiled
    """Max |interpolated value| over channels and branches after each sample of ``idx`` (``xt``: channels x
    frames; zero outside)."""
    channels, frames = xt.shape
    branches, taps = coef.shape
    out = np.zeros(idx.shape[0], dtype=np.float32)
    for j in range(idx.shape[0]):
        lo = idx[j] + o_min
        t0 = max(0, -lo)
        t1 = min(taps, frames - lo)
        best = 0.0
        for c in range(channels):
            for p in range(branches):
                acc = 0.0
                for t in range(t0, t1):
                    acc += coef[p, t] * xt[c, lo + t]
                best = max(best, abs(acc))
        out[j] = best
    return out


def _limiter_envelope(x: npt.NDArray[np.float32], sample_rate: int, floor: float) -> npt.NDArray[np.float64]:
    """The meter's true-peak envelope, raised by the finer estimate where it is at or over ``floor``."""
    env = true_peak_envelope(x, sample_rate).astype(np.float64)
    idx = np.flatnonzero(env >= floor).astype(np.int64)
    if idx.size:
        coef, o_min = _fine_table()
        fine = _fine_kernel(np.ascontiguousarray(x.T), coef, o_min, idx)
        env[idx] = np.maximum(env[idx], fine)
    return env


@njit(cache=True, nogil=True)
def _release(
    gain: npt.NDArray[np.float64], coeff: float, g: float
) -> tuple[npt.NDArray[np.float64], float]:  # pragma: no cover - compiled
    """Falls at once to any lower gain; rises back with a one-pole release (never above the input), from
    the gain ``g`` the samples before left it at (1 at the start); returns the gains and where they end."""
    out = np.empty_like(gain)
    for i in range(gain.shape[0]):
        target = gain[i]
        g = target if target < g else g + (target - g) * coeff
        out[i] = g
    return out, g


#: Frames the limiter works on at a time: it keeps two values a frame for the whole programme (the
#: envelope and the gain, float32) besides the samples, and block-sized work arrays (a 2 h stereo programme
#: made full-length float64 copies of 24 GB, and was killed for want of memory).
_LIMIT_BLOCK = 1 << 20


def _envelope_reach(sample_rate: int) -> int:
    """Input samples either side of a sample that its limiter envelope reads (the meter's interpolation
    filter, the finer estimate's): a block computed with this much context around it is exact."""
    factor = oversampling_factor(sample_rate)
    meter = 0
    if factor > 1:
        coef, o_min = _polyphase_table(factor)
        meter = max(-o_min, o_min + coef.shape[1] - 1)
    return max(meter, FINE_HALF_TAPS) + 1


def _envelope_blocks(
    x: npt.NDArray[np.float32],
    sample_rate: int,
    floor: float,
    gain: npt.NDArray[np.float32] | None = None,
) -> Iterator[tuple[int, int, npt.NDArray[np.float32]]]:
    """``(a, b, envelope)`` of frames ``a:b`` of ``x`` (times ``gain`` when given), block by block: each
    block is computed with its context (:func:`_envelope_reach`), so the values are the whole signal's."""
    n = x.shape[0]
    reach = _envelope_reach(sample_rate)
    for a in range(0, n, _LIMIT_BLOCK):
        b = min(n, a + _LIMIT_BLOCK)
        lo, hi = max(0, a - reach), min(n, b + reach)
        part = x[lo:hi] if gain is None else x[lo:hi] * gain[lo:hi, None]
        yield a, b, _limiter_envelope(part, sample_rate, floor)[a - lo : b - lo].astype(np.float32)


def _gain_curve(
    env: npt.NDArray[np.float32], ceiling: float, la: int, coeff: float
) -> tuple[npt.NDArray[np.float32], float]:
    """The limiter's gain for every frame (steps 2-4 of the module docstring) and its lowest value, block by
    block: the sliding minimum reads one look-ahead each side and the average the next, so a block with two
    look-aheads of context each side is the whole signal's; the release carries on from the block before."""
    from scipy.ndimage import minimum_filter1d, uniform_filter1d

    n = env.shape[0]
    gain = np.empty(n, dtype=np.float32)
    ctx = 2 * la + 1
    g, lowest = 1.0, 1.0
    for a in range(0, n, _LIMIT_BLOCK):
        b = min(n, a + _LIMIT_BLOCK)
        lo, hi = max(0, a - ctx), min(n, b + ctx)
        need = np.minimum(1.0, ceiling / np.maximum(env[lo:hi].astype(np.float64), 1e-12))
        held = minimum_filter1d(need, size=2 * la + 1, mode="nearest")
        # averaged over the next look-ahead (not the past one: that fell with ``held``, whose step the
        # minimum below then kept, a click): a ramp down to each hold, never above it
        smooth = uniform_filter1d(held, size=la, mode="nearest", origin=-(la // 2))
        smooth = np.minimum(smooth, held)[a - lo : b - lo]
        part, g = _release(np.ascontiguousarray(smooth), coeff, g)
        lowest = min(lowest, float(part.min()))
        gain[a:b] = part
    return gain, lowest


def limit_true_peak(
    samples: npt.ArrayLike,
    sample_rate: int,
    ceiling_dbtp: float,
    *,
    lookahead_ms: float = 5.0,
    release_ms: float = 80.0,
    overwrite: bool = False,
) -> tuple[npt.NDArray[np.float32], float]:
    """Limit ``samples`` ``(frames, channels)`` so that their true peak stays at or under ``ceiling_dbtp``.

    Returns the limited samples and the largest gain reduction in dB (0 when nothing was over). Peaks are
    found on the meter's envelope and a finer (16x) estimate of the continuous signal (see the module's
    docstring), so the ceiling holds on the meter and, closely, on the continuous signal. ``overwrite``:
    limit a float32 ``samples`` in place (and return it), where the caller has no more use for the input.
    Besides the samples (and the output, unless in place) it holds 8 bytes a frame, whatever the channels.
    """
    x = np.asarray(samples, dtype=np.float32)
    if x.ndim == 1:
        x = x[:, None]
    ceiling = 10.0 ** (ceiling_dbtp / 20.0)
    la = max(1, round(lookahead_ms * 1e-3 * sample_rate))
    coeff = 1.0 - math.exp(-1.0 / (release_ms * 1e-3 * sample_rate))
    floor = ceiling * 10.0 ** (-FINE_SPAN_DB / 20.0)
    env = np.empty(x.shape[0], dtype=np.float32)  # the input's: the same every round
    for a, b, part in _envelope_blocks(x, sample_rate, floor):
        env[a:b] = part
    if not env.size or float(env.max()) <= ceiling:  # every sample's need is 1: nothing to limit
        return (x if overwrite else x.copy()), 0.0
    margin = 0.0
    for _ in range(6):  # modulation adds a little peak of its own: tighten and rerun when needed
        gain, lowest = _gain_curve(env, ceiling * 10.0 ** (-margin / 20.0), la, coeff)
        reduction_db = float(-20.0 * np.log10(max(lowest, 1e-12)))
        over = max(float(part.max()) for _, _, part in _envelope_blocks(x, sample_rate, floor, gain))
        if over <= ceiling * (1.0 + 1e-6):
            break
        margin += 20.0 * math.log10(over / ceiling) + 0.02
    del env
    y = x if overwrite else np.empty_like(x)
    for a in range(0, x.shape[0], _LIMIT_BLOCK):
        np.multiply(x[a : a + _LIMIT_BLOCK], gain[a : a + _LIMIT_BLOCK, None], out=y[a : a + _LIMIT_BLOCK])
    return y, reduction_db


def _check_targets(target_lufs: float, true_peak_dbtp: float) -> None:
    if not -70.0 < target_lufs < 0.0:
        raise ConfigError(f"--target {target_lufs}: a loudness target must be between -70 and 0 LUFS")
    if not -20.0 <= true_peak_dbtp <= 0.0:
        raise ConfigError(f"--true-peak {true_peak_dbtp}: the ceiling must be between -20 and 0 dBTP")


def normalize_samples(
    samples: npt.ArrayLike,
    sample_rate: int,
    *,
    target_lufs: float = -24.0,
    true_peak_dbtp: float = -2.0,
    reference: Reference = "integrated",
    lookahead_ms: float = 5.0,
    release_ms: float = 80.0,
    headroom_db: float = PCM_HEADROOM_DB,
    measured: LoudnessResult | None = None,
    check_target: bool = True,
    warn_miss: bool = True,
    layout: str | None = None,
    speech: VadMethod | SpeechDetector = "silero",
) -> tuple[npt.NDArray[np.float32], NormalizeResult]:
    """Gain ``samples`` to ``target_lufs`` (integrated or dialogue); true peaks held under the ceiling.

    The limiter aims ``headroom_db`` (:data:`PCM_HEADROOM_DB`, 0.2 dB) under the ceiling on its finer peak
    estimate, so that the peaks stay under it on other compliant meters too and once written as 24-bit PCM
    (quantisation moves a true peak by about 1e-6 dB); reelkit's meter reads at least that much under it.
    ``measured``: the
    samples' own measurement when the caller has it (with speech detection for ``dialogue``).

    A target the ceiling keeps out of reach by more than :data:`UNREACHABLE_LU` is a :class:`ConfigError`; a
    smaller miss (over 0.1 LU) a warning. ``check_target=False`` returns the closest without either (an
    encoder's correction may aim past what the samples can reach); ``warn_miss=False`` refuses but leaves a
    smaller miss to the caller (a lossy output is judged on the file written). ``layout``: ffmpeg's name of
    the channel layout (``Audio.layout``), which sets the channel weights. ``speech``: the speech detector of
    the ``dialogue`` reference (as :class:`~reelkit.post.loudness.Meter` takes it).
    """
    _check_targets(target_lufs, true_peak_dbtp)
    x = np.asarray(samples, dtype=np.float32)
    if x.ndim == 1:
        x = x[:, None]
    meter = Meter(speech=speech if reference == "dialogue" else None)
    before = measured if measured is not None else meter.measure(x, sample_rate, layout=layout)
    level = before.dialogue_lufs if reference == "dialogue" else before.integrated_lufs
    if level is None or not math.isfinite(level):
        if (
            reference == "dialogue"
            and before.integrated_lufs is not None
            and math.isfinite(before.integrated_lufs)
        ):
            what = "no speech was found, so its dialogue loudness is undefined"
        else:
            what = f"no loudness: {before.why_no_loudness()}"
        raise ConfigError(f"cannot normalise: {what}")
    gain_db = target_lufs - level
    max_gain = gain_db + MAX_EXTRA_GAIN_DB
    plain = Meter(true_peak=True)
    tried: list[tuple[float, float]] = []  # (gain, level reached) of the limited rounds
    best: tuple[float, float, float] | None = None  # (|miss|, gain, reduction) of the round nearest

    def limited_at(gain_db: float) -> tuple[npt.NDArray[np.float32], float]:
        # one gained copy, limited in place: a round held the input, its gain, the limiter's output and the
        # best round's (a feature-length programme ran out of memory)
        gained = x * np.float32(10.0 ** (gain_db / 20.0))
        return limit_true_peak(
            gained,
            sample_rate,
            true_peak_dbtp - headroom_db,
            lookahead_ms=lookahead_ms,
            release_ms=release_ms,
            overwrite=True,
        )

    out: npt.NDArray[np.float32] | None = None
    for _ in range(8):
        out = None  # the last round's output goes before this round's is made
        out, reduction = limited_at(gain_db)
        # plain gain on a programme well over the absolute gate: the level is the input's plus the gain
        exact = reduction <= 0.0 and min(level, level + gain_db) > GAIN_EXACT_ABOVE_LUFS
        if exact:
            reached = level + gain_db
        elif reference == "dialogue":  # on the input's speech: the limiter takes more from speech peaks
            again = plain.measure(out, sample_rate, layout=layout, speech_mask=before.speech_mask)
            reached = again.dialogue_lufs if again.dialogue_lufs is not None else -math.inf
        else:
            reached = plain.measure(out, sample_rate, layout=layout).integrated_lufs
        shortfall = target_lufs - reached
        if best is None or _nearer(abs(shortfall), reduction, best[0], best[2]):
            best = (abs(shortfall), gain_db, reduction)
        if abs(shortfall) < 0.05 or exact:
            break
        # under heavy limiting a dB of gain brings back well under a dB of loudness (0.4 in a review's case,
        # where adding the shortfall itself stopped 0.16 LU short after four rounds): step by the slope the
        # last two rounds measured (a secant step), at least 0.25 so that a flat stretch cannot run away;
        # the round closest to the target is kept whatever the later ones do
        slope = 1.0
        if tried and gain_db != tried[-1][0]:
            slope = min(1.0, max(0.25, (reached - tried[-1][1]) / (gain_db - tried[-1][0])))
        tried.append((gain_db, reached))
        step = min(gain_db + shortfall / slope, max_gain)
        if step <= gain_db and shortfall > 0:  # at the most limiting asked for: louder is out of reach
            break
        gain_db = step
    assert best is not None and out is not None
    last_gain = gain_db
    miss, gain_db, reduction = best
    if gain_db != last_gain:  # an earlier round was nearer: made again (the same samples), not kept
        out = None
        out, _ = limited_at(gain_db)
    capped = gain_db >= max_gain - 1e-9  # stopped by MAX_EXTRA_GAIN_DB, not shown to be out of reach
    limited = reduction > 0.0
    final = meter.measure(out, sample_rate, layout=layout)
    out_level = final.dialogue_lufs if reference == "dialogue" else final.integrated_lufs
    reached_level = float(out_level) if out_level is not None else -math.inf
    if check_target:  # what is reported (and what 'reelkit qc' measures) is what is judged
        miss = abs(target_lufs - reached_level)
    if check_target and miss > UNREACHABLE_LU:
        if not limited:  # the ceiling had no part in it: blaming it sent users the wrong way
            raise ConfigError(
                f"cannot reach {target_lufs:g} LUFS by gain: the closest is {reached_level:.1f} LUFS "
                f"({gain_db:+.1f} dB, no limiting; the programme's quietest passages reach the loudness "
                "gates); check the input's level"
            )
        if capped:  # the cap's result is not the limit: more limiting may still reach it
            raise ConfigError(
                f"cannot reach {target_lufs:g} LUFS under a {true_peak_dbtp:g} dBTP true-peak ceiling "
                f"within the limiter's make-up gain (at most {MAX_EXTRA_GAIN_DB:g} dB past the plain gain, "
                f"{gain_db:+.1f} dB): that gives {reached_level:.1f} LUFS with {reduction:.1f} dB of "
                "limiting; lower --target or raise --true-peak"
            )
        raise ConfigError(
            f"cannot reach {target_lufs:g} LUFS under a {true_peak_dbtp:g} dBTP true-peak ceiling: the "
            f"closest is {reached_level:.1f} LUFS (with {reduction:.1f} dB of limiting); lower --target or "
            "raise --true-peak"
        )
    if check_target and warn_miss and miss > 0.1:
        why = (
            f"under the {true_peak_dbtp:g} dBTP ceiling: {reached_level:.2f} LUFS with {reduction:.1f} dB of "
            "limiting"
            if limited
            # the loudness gates, not the ceiling (as the error above says)
            else f"by gain: {reached_level:.2f} LUFS ({gain_db:+.1f} dB, no limiting; the programme's "
            "quietest passages reach the loudness gates)"
        )
        warnings.warn(f"{target_lufs:g} LUFS is not reached {why}", ReelkitWarning, stacklevel=2)
    return out, NormalizeResult(
        reference=reference,
        input_lufs=float(level),
        input_true_peak_dbtp=before.true_peak_dbtp,
        target_lufs=target_lufs,
        true_peak_ceiling_dbtp=true_peak_dbtp,
        gain_db=float(gain_db),
        output_lufs=float(out_level) if out_level is not None else -math.inf,
        output_true_peak_dbtp=final.true_peak_dbtp,
        limited=limited,
        max_reduction_db=reduction,
        target_reached=miss <= 0.1,
    )


def normalize_file(
    src: str | Path,
    dst: str | Path,
    *,
    target_lufs: float = -24.0,
    true_peak_dbtp: float = -2.0,
    reference: Reference = "integrated",
    stream: int = 0,
    speech: VadMethod | SpeechDetector = "silero",
    progress: Progress = SILENT,
) -> NormalizeResult:
    """Read audio stream ``stream`` of ``src``, normalise it, and write ``dst`` atomically (WAV/FLAC 24-bit;
    others through ffmpeg). A video written to a video container keeps everything else: the picture, its
    other soundtracks and its subtitles, copied (to an audio container, .mka or .m4a: its other soundtracks,
    and the subtitles the container holds); only that soundtrack is replaced, at its start time (a
    delayed soundtrack, ``start 3.0``, stays 3 s after the picture). Written alone, a delayed soundtrack
    starts with its lead-in as silence (a WAV has no start time), with a warning, and is normalised as
    written; a lead-in under ``audio.LEAD_IN_MIN_S`` (an encoder's priming, a transport stream's few ms) is
    left out.

    A lossy output (anything but WAV/FLAC) is decoded and measured again once written: when the encoder
    pushed the true peak over the ceiling or moved the loudness more than 0.1 LU, it is encoded again with
    both corrected (at most :data:`LOSSY_PASSES` encodes; none more once a higher aim gains no loudness
    before the encoder, the limiter at its plateau). The result's output figures are those of the written
    file, and they are judged as a WAV's: a target it misses by more than :data:`UNREACHABLE_LU` is refused
    (nothing written), a smaller miss warned of. ``speech``: the speech detector of the ``dialogue``
    reference. ``progress``: told of each stage (read, measured, gained, written; a lossy output's passes),
    silent by default.
    """
    from reelkit.post.audio import output_extension

    src_p, dst_p = Path(src), Path(dst)
    _check_targets(target_lufs, true_peak_dbtp)  # option errors as such; the rest are about the file
    check_output_file(dst_p, MediaError, "out.wav", inputs=[src_p])  # before the (long) measurement
    ext = output_extension(dst_p)
    total = (
        4 if ext in (".wav", ".flac") else 2 + 2 * LOSSY_PASSES
    )  # a lossy output: gained, written per pass
    with progress.task(f"normalise {src_p.name}", total=total) as bar:
        return _normalize_to(
            src_p,
            dst_p,
            ext,
            target_lufs=target_lufs,
            true_peak_dbtp=true_peak_dbtp,
            reference=reference,
            stream=stream,
            speech=speech,
            bar=bar,
        )


def _normalize_to(
    src_p: Path,
    dst_p: Path,
    ext: str,
    *,
    target_lufs: float,
    true_peak_dbtp: float,
    reference: Reference,
    stream: int,
    speech: VadMethod | SpeechDetector,
    bar: ProgressTask,
) -> NormalizeResult:
    """:func:`normalize_file` once its options and output are checked; ``bar`` advanced at each stage."""
    from dataclasses import replace

    from reelkit import media
    from reelkit.post.audio import LEAD_IN_MIN_S, read_audio, write_audio_file

    audio = read_audio(src_p, stream=stream)
    bar.advance()
    # a programme written as a video keeps its picture, other soundtracks and subtitles: one track replaced;
    # written to an audio container (.mka, .m4a) it keeps its other soundtracks (and subtitles .mka holds)
    picture = ext in VIDEO_CONTAINERS
    info = media.probe(src_p) if picture or ext in AUDIO_CONTAINERS else None
    whole = src_p if info is not None and ((picture and info.video) or len(info.audio) > 1) else None
    if ext not in (".wav", ".flac"):  # a format that holds fewer channels: refused before the measurement
        replacing = info.audio[stream].codec if whole is not None and info is not None else None
        media.check_channels(dst_p, audio.channels, replacing=replacing)
    if whole is None and audio.start_s >= LEAD_IN_MIN_S:
        # written alone (a WAV has no start time), a delayed soundtrack keeps its place against the picture
        # with its lead-in as silence in front, normalised as written (the windows over its start count);
        # under LEAD_IN_MIN_S (an encoder's priming, a TS's few ms) it is not worth a word
        lead = np.zeros((round(audio.start_s * audio.sample_rate), audio.channels), np.float32)
        warnings.warn(
            f"{src_p}: its soundtrack starts {audio.start_s:.3f} s after the programme's start; "
            f"{dst_p.name} starts with {audio.start_s:.3f} s of silence so that it stays in sync with the "
            "picture",
            ReelkitWarning,
            stacklevel=3,  # the caller of normalize_file
        )
        audio = replace(audio, samples=np.concatenate([lead, audio.samples]), start_s=0.0)
    meter = Meter(speech=speech if reference == "dialogue" else None)
    with _naming(src_p):
        source = meter.measure(audio.samples, audio.sample_rate, layout=audio.layout)  # once, not each pass
    bar.advance()

    def gain(
        aim: float, headroom: float, check_target: bool = True, warn_miss: bool = True
    ) -> tuple[npt.NDArray[np.float32], NormalizeResult]:
        with _naming(src_p):
            return normalize_samples(
                audio.samples,
                audio.sample_rate,
                target_lufs=aim,
                true_peak_dbtp=true_peak_dbtp,
                reference=reference,
                headroom_db=headroom,
                measured=source,
                check_target=check_target,
                warn_miss=warn_miss,
                layout=audio.layout,
                speech=speech,
            )

    if ext in (".wav", ".flac"):
        out, result = gain(target_lufs, PCM_HEADROOM_DB)
        bar.advance()
        write_audio_file(dst_p, out, audio.sample_rate, metadata_from=src_p, layout=audio.layout)
        bar.advance()
        return replace(result, output_path=str(dst_p))
    # A lossy encoder moves peaks (often by a dB or more) and loudness. Each pass is written beside the
    # output, decoded and measured; the next one corrects the loudness and the limiter's aim by what the
    # encoder did. The pass kept is the first that meets both, else the best: under the ceiling and
    # nearest the target, else nearest the ceiling; more limiting must bring the written file nearer the
    # target to win (past the limiter's plateau a higher aim only adds limiting, 22 dB for 0.001 LU).
    aim, headroom = target_lufs, PCM_HEADROOM_DB
    best: tuple[tuple[float, float], Path, NormalizeResult] | None = None
    before: tuple[float, float, float] | None = None  # the last pass's (aim, headroom, loudness pre-encode)
    # as atomic_path writes: through a symbolic link, and pass names any valid output name has room for
    dest = write_target(dst_p)
    head = temp_head(dest.name)
    try:
        for attempt in range(1, LOSSY_PASSES + 1):
            # the first pass refuses a target out of reach before any encode; later aims correct the encoder
            # (past the target), and the written file is judged once the passes are done
            out, result = gain(aim, headroom, check_target=attempt == 1, warn_miss=False)
            bar.advance()
            pre = result.output_lufs
            if before is not None and aim > before[0] and headroom == before[1] and pre < before[2] + 0.05:
                break  # the limiter's plateau: a higher aim gains no loudness, only limiting
            before = (aim, headroom, pre)
            # each pass beside the output: the output is replaced once, by the pass kept (an interrupted
            # run leaves the file that was there)
            part = dest.with_name(f".{head}.pass{attempt}{dest.suffix}")
            try:
                with naming_output(dst_p):  # a failed write names the output, not this hidden pass file
                    write_audio_file(
                        part,
                        out,
                        audio.sample_rate,
                        replace_in=whole,
                        replace_stream=stream,
                        picture=picture,
                        metadata_from=src_p,
                        layout=audio.layout or DEFAULT_LAYOUTS.get(audio.channels),
                        start_s=audio.start_s,  # a delayed track keeps its start time in the programme
                    )
            except MediaError as exc:
                raise MediaError(exc.message, path=str(dst_p)) from None
            # the soundtrack in its place among the programme's, or alone (a container that cannot hold
            # the others' codecs: write_audio_file falls back to this one; --stream 1 read stream 1 of one)
            kept_all = whole is not None and len(media.probe(part).audio) > 1
            written = read_audio(part, stream=stream if kept_all else 0)
            # the channels are in the source's order, whatever label the container kept (Matroska drops some)
            m = meter.measure(written.samples, written.sample_rate, layout=audio.layout)
            bar.advance()
            level = m.dialogue_lufs if reference == "dialogue" else m.integrated_lufs
            if level is None or not math.isfinite(level):
                level = result.output_lufs
            result = replace(
                result,
                target_lufs=target_lufs,
                output_lufs=float(level),
                output_true_peak_dbtp=m.true_peak_dbtp,
                output_path=str(dst_p),
                encode_passes=attempt,
                target_reached=abs(target_lufs - level) <= LOSSY_LOUDNESS_TOLERANCE_LU,
            )
            over = m.true_peak_dbtp - true_peak_dbtp
            miss = target_lufs - level
            rank = (max(over, 0.0), abs(miss))
            wins = best is None or rank < best[0]
            if wins and best is not None and rank[0] == best[0][0]:  # as near the ceiling: limiting must pay
                wins = _nearer(rank[1], result.max_reduction_db, best[0][1], best[2].max_reduction_db)
            if wins:
                if best is not None:
                    best[1].unlink(missing_ok=True)
                best = (rank, part, result)
            else:
                part.unlink(missing_ok=True)
            if over <= 0.0 and abs(miss) <= LOSSY_LOUDNESS_TOLERANCE_LU:
                break
            if over > 0.0:
                headroom += over + 0.1
            aim = min(max(aim + miss, -69.9), -0.1)
        assert best is not None
        kept = best[2]
        _judge_written(kept, src_p, dst_p, ext)  # a target missed as written: refused, or warned of
        replace_file(best[1], dest)
        return kept
    finally:
        for stale in dest.parent.glob(f".{glob.escape(head)}.pass[0-9]{glob.escape(dest.suffix)}"):
            stale.unlink(missing_ok=True)


def _nearer(miss: float, reduction: float, best_miss: float, best_reduction: float) -> bool:
    """Whether a result ``miss`` LU from its target with ``reduction`` dB of limiting beats the best so far:
    nearer, and by at least :data:`LU_PER_DB_OF_LIMITING` for each dB of limiting it adds."""
    return miss < best_miss and best_miss - miss >= LU_PER_DB_OF_LIMITING * (reduction - best_reduction)


def _judge_written(result: NormalizeResult, src: Path, dst: Path, ext: str) -> None:
    """Judge a lossy output's loudness as written, as a WAV's is before it: a target missed by more than
    :data:`UNREACHABLE_LU` is a :class:`MediaError` about ``src``, a smaller miss (over
    :data:`LOSSY_LOUDNESS_TOLERANCE_LU`) a warning with the written file's figures."""
    miss = abs(result.target_lufs - result.output_lufs)
    if miss <= LOSSY_LOUDNESS_TOLERANCE_LU:
        return
    # the limiting named is that of the pass written; with none, the ceiling is not to blame
    ceiling = result.true_peak_ceiling_dbtp
    how = f" with {result.max_reduction_db:.1f} dB of limiting under the {ceiling:g} dBTP ceiling"
    how = how if result.limited else ""
    found = f"written as {ext} it measures {result.output_lufs:.2f} LUFS{how}"
    if miss > UNREACHABLE_LU:
        raise MediaError(
            f"cannot reach {result.target_lufs:g} LUFS in a {ext} file: {found}; lower --target"
            + (" or raise --true-peak" if result.limited else "")
            + ", or write WAV/FLAC",
            path=str(src),
        )
    warnings.warn(
        f"{result.target_lufs:g} LUFS is not reached in {dst.name}: {found}", ReelkitWarning, stacklevel=4
    )


@contextmanager
def _naming(src: Path) -> Iterator[None]:
    """A programme the normaliser cannot handle (silent, no speech) is an error about the file: name it."""
    try:
        yield
    except ConfigError as exc:
        raise MediaError(str(exc), path=str(src)) from None
