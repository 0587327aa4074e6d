"""Loudness to ITU-R BS.1770-4 and EBU R128 (Tech 3341, 3342), and dialogue-gated loudness.

The steps follow the standard's names:

1. **K-weighting**: a high-shelf (stage 1, the head's acoustic effect) and a high-pass (stage 2, the RLB
   curve), re-derived for any sample rate from their analogue prototypes (centre frequency, gain, Q) by the
   bilinear transform, as libebur128 and pyloudnorm's "K-weighting" filter do; at 48 kHz they give the
   coefficients printed in BS.1770-4 Tables 1 and 2.
2. **Mean square** per channel, summed with the channel weights (L, R, C: 1.0; Ls, Rs: 1.41; LFE excluded)
   into one energy per 10 ms segment (the grid EBU Tech 3341 asks of momentary and short-term meters).
   Windows of 400 ms (momentary, gating blocks) and 3 s (short-term) are differences of a cumulative sum.
3. **Gating** (integrated loudness): 400 ms blocks every 100 ms (75 % overlap), an absolute gate at -70 LUFS,
   then a relative gate 10 LU below the loudness of the blocks that passed the first.
4. **Loudness range** (Tech 3342): 3 s short-term values every 100 ms, gated at -70 LUFS and 20 LU below their
   mean; LRA is the spread between their 10th and 95th percentiles.
5. **True peak** (BS.1770-4 Annex 2): the signal oversampled 4x below 96 kHz (2x below 192 kHz) by a 49-tap
   polyphase FIR (windowed sinc, as libebur128), the largest absolute value of the oversampled signal.

Dialogue-gated loudness applies the same gating to the 400 ms blocks that a voice-activity detector marks as
speech (more than half of each block), an open approximation of the dialogue gating delivery specs ask for: it
measures the mix while someone speaks, so a music bed under the dialogue counts (as in those specs). Beside
it, ``dialogue_isolated_lufs`` estimates the dialogue alone by subtracting the bed measured in the nearby
speech-free blocks; that estimate is the ``dialogue_lufs`` of ``reelkit loudness --json`` (the dialogue's own
level, which tracks the speech stem at any bed level), while ``reelkit qc`` checks the gated mix, as the
delivery specs do.

Everything is vectorised (``scipy.signal.sosfilt`` and ``upfirdn`` in chunks of a few seconds, so the work
arrays stay small on long programmes). The samples themselves are held whole, as float32: 4 bytes a sample a
channel, 2.8 GB for 2 h of stereo at 48 kHz (the peak of ``reelkit loudness`` is about 1.3 times that;
normalising adds a copy and 8 bytes a frame, QC a small part).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from numba import njit

from reelkit.errors import ConfigError
from reelkit.media import CHANNEL_LAYOUTS, DEFAULT_LAYOUTS, layout_channels

__all__ = [
    "ABSOLUTE_GATE_LUFS",
    "LoudnessCurve",
    "LoudnessResult",
    "Meter",
    "channel_names",
    "channel_weights",
    "k_weighting_sos",
    "measure",
    "oversampling_factor",
    "true_peak_filter",
]

FloatArray = npt.NDArray[np.float64]

ABSOLUTE_GATE_LUFS = -70.0
RELATIVE_GATE_LU = -10.0
LRA_RELATIVE_GATE_LU = -20.0
_OFFSET = -0.691  # BS.1770: makes a 997 Hz sine at 0 dBFS on one front channel read -3.01 LKFS
_SEGMENTS_PER_S = 100  # the 10 ms grid
_BLOCK = 40  # 400 ms in segments
_HOP = 10  # 100 ms in segments
_SHORT = 300  # 3 s in segments
_TP_TAPS = 49
_CHUNK_SEGMENTS = 500  # 5 s of audio per processing chunk

VadMethod = Literal["silero", "webrtc"]


def _lufs(energy: FloatArray | float) -> Any:
    """Loudness of a weighted mean-square energy (``-inf`` for zero)."""
    with np.errstate(divide="ignore"):
        return _OFFSET + 10.0 * np.log10(energy)


def _energy(lufs: float) -> float:
    return float(10.0 ** ((lufs - _OFFSET) / 10.0))


@lru_cache(maxsize=32)
def k_weighting_sos(sample_rate: int) -> FloatArray:
    """The two K-weighting biquads as second-order sections ``(2, 6)`` for ``sample_rate``.

    The analogue prototypes (shelf: 1681.97 Hz, +4.0 dB, Q 0.7072; high-pass: 38.135 Hz, Q 0.5003) are the
    ones whose bilinear transform at 48 kHz gives BS.1770-4's published coefficients.
    """
    if sample_rate < 8000:
        raise ConfigError(f"sample rate {sample_rate} Hz is too low for BS.1770 loudness (at least 8000)")
    fs = float(sample_rate)
    f0, gain_db, q = 1681.974450955533, 3.999843853973347, 0.7071752369554196
    k = math.tan(math.pi * f0 / fs)
    vh = 10.0 ** (gain_db / 20.0)
    vb = vh**0.4996667741545416
    a0 = 1.0 + k / q + k * k
    shelf_b = [(vh + vb * k / q + k * k) / a0, 2.0 * (k * k - vh) / a0, (vh - vb * k / q + k * k) / a0]
    shelf_a = [1.0, 2.0 * (k * k - 1.0) / a0, (1.0 - k / q + k * k) / a0]
    f0, q = 38.13547087602444, 0.5003270373238773
    k = math.tan(math.pi * f0 / fs)
    a0 = 1.0 + k / q + k * k
    hp_b = [1.0, -2.0, 1.0]
    hp_a = [1.0, 2.0 * (k * k - 1.0) / a0, (1.0 - k / q + k * k) / a0]
    return np.array([shelf_b + shelf_a, hp_b + hp_a], dtype=np.float64)


def oversampling_factor(sample_rate: int) -> int:
    """BS.1770-4 Annex 2: 4x below 96 kHz, 2x below 192 kHz, none above."""
    return 4 if sample_rate < 96000 else 2 if sample_rate < 192000 else 1


@lru_cache(maxsize=4)
def true_peak_filter(factor: int) -> npt.NDArray[np.float32]:
    """The 49-tap interpolation FIR for ``factor``x oversampling: a Hann-windowed sinc, zero phase at tap 24.

    Branch 0 of its ``factor`` polyphase branches passes the input samples through; the others have a DC
    gain within 0.1% of one (1.00048, 1.00090, 1.00048 at 4x: a low-frequency peak between samples reads up
    to 0.008 dB high, far inside EBU Tech 3341's +0.2/-0.4 dB).
    """
    j = np.arange(_TP_TAPS, dtype=np.float64)
    m = j - (_TP_TAPS - 1) / 2.0
    h = np.sinc(m / factor) * 0.5 * (1.0 - np.cos(2.0 * np.pi * j / (_TP_TAPS - 1)))
    return h.astype(np.float32)


#: Channels at 60-120 degrees azimuth in the ear plane, which BS.1770-4 (table 3) weighs 1.41 (+1.5 dB): the
#: wide, side and surround-direct pairs. Every other position (front, centre, rear past 120 degrees, and
#: the height layers, 30 degrees up or down) weighs 1.0.
_SIDE = frozenset(("WL", "WR", "SL", "SR", "SDL", "SDR"))


def channel_names(channels: int, layout: str | None = None) -> list[str]:
    """ffmpeg's names of the channels (``FL``, ``LFE``, ...) in order: from ``layout`` (a standard name or
    ``FL+FR+LFE``) when it has that many channels, else the default for the count (:data:`DEFAULT_LAYOUTS`;
    beyond eight with no layout: 7.1, then ``ch9`` ...)."""
    named = layout_channels(layout)
    if named is not None and len(named) == channels:
        return list(named)
    if channels in DEFAULT_LAYOUTS:
        return list(CHANNEL_LAYOUTS[DEFAULT_LAYOUTS[channels]])
    return [*CHANNEL_LAYOUTS["7.1"], *(f"ch{i + 1}" for i in range(8, channels))]


def channel_weights(channels: int, layout: str | None = None) -> FloatArray:
    """BS.1770-4 weights of the channels (named by :func:`channel_names`), by position: 1.41 (+1.5 dB) at 60
    to 120 degrees azimuth in the ear plane, 1.0 elsewhere, the LFE channels left out. The back pair
    ``BL``/``BR`` is the surround pair (about 110 degrees: 1.41) in a layout without side channels (5.1,
    quad) and the rear pair (135-150 degrees: 1.0) beside ``SL``/``SR`` (7.1), as libebur128 weighs them;
    ffmpeg's ebur128 filter weighs every back, side and top-back channel 1.41, reading a 7.1 mix carried
    by its rear pair up to 1.5 LU louder. Channels beyond 7.1 with no known layout are left out (the
    library's :class:`Meter` takes ``channel_weights``)."""
    if channels < 1:
        raise ConfigError("audio needs at least one channel")
    names = channel_names(channels, layout)
    surround = {"BL", "BR"} if not {"SL", "SR"} & set(names) else set()

    def weight(n: str) -> float:
        if n in ("LFE", "LFE2") or n.startswith("ch"):
            return 0.0
        return 1.41 if n in _SIDE or n in surround else 1.0

    return np.array([weight(n) for n in names])


@dataclass(frozen=True)
class LoudnessCurve:
    """Momentary (400 ms) and short-term (3 s) loudness on the 10 ms grid, each at its window's end time."""

    momentary_times_s: FloatArray
    momentary_lufs: FloatArray
    short_term_times_s: FloatArray
    short_term_lufs: FloatArray


@dataclass(frozen=True)
class LoudnessResult:
    """Everything a BS.1770 / R128 meter reports for one programme.

    Values are ``-inf`` when nothing passes the gate (silence, or audio shorter than one block) and
    ``dialogue_lufs``/``speech_fraction`` are ``None`` when no speech detector ran.
    """

    integrated_lufs: float
    lra_lu: float
    true_peak_dbtp: float
    sample_peak_dbfs: float
    momentary_max_lufs: float
    short_term_max_lufs: float
    dialogue_lufs: float | None
    speech_fraction: float | None
    sample_rate: int
    channels: int
    duration_s: float
    true_peak_per_channel_dbtp: tuple[float, ...]
    sample_peak_per_channel_dbfs: tuple[float, ...]
    true_peak_time_s: float
    relative_gate_lufs: float
    lra_low_lufs: float
    lra_high_lufs: float
    curve: LoudnessCurve | None = field(default=None, repr=False, compare=False)
    notes: tuple[str, ...] = ()
    #: Estimated loudness of the dialogue alone: the speech blocks with the bed under them (the median of the
    #: nearby speech-free blocks) subtracted; None without speech detection.
    dialogue_isolated_lufs: float | None = None
    #: The speech activity the dialogue was gated on, ``(frame_s, mask)`` (given or detected; None without),
    #: to measure a processed copy of the same programme on the same speech.
    speech_mask: tuple[float, npt.NDArray[Any]] | None = field(default=None, repr=False, compare=False)
    #: How many channels BS.1770 weights (0: an LFE stream on its own, or channels of an unknown layout),
    #: to tell "nothing measured" from silence; None where not known.
    measured_channels: int | None = None

    def why_no_loudness(self) -> str:
        """Why the meter has no integrated loudness (when it has none): too short, no channel it measures,
        every block under the absolute gate (its loudest block still has a loudness), or digital silence
        in the channels it measures. A clause to follow "no loudness: " or stand alone."""
        if self.duration_s < 0.4:
            return "the programme is shorter than one 400 ms block: too short for integrated loudness"
        if self.measured_channels == 0:
            return (
                "BS.1770 measures none of these channels (it leaves LFE and channels of an unknown layout "
                "out); check the loudness of the full mix"
            )
        if math.isfinite(self.momentary_max_lufs):
            return (
                f"the programme is below BS.1770's absolute gate ({ABSOLUTE_GATE_LUFS:g} LUFS; loudest "
                f"400 ms block {self.momentary_max_lufs:.1f} LUFS)"
            )
        if math.isfinite(self.sample_peak_dbfs):
            return (
                "the channels BS.1770 measures are silent (sound only in LFE or channels of an unknown "
                "layout)"
            )
        return "the programme is silent"

    def no_loudness_note(self) -> str:
        """:meth:`why_no_loudness` as ``reelkit qc``'s finding and ``reelkit loudness``'s note say it:
        ``no loudness: ...``, or the reason alone for a clip under one 400 ms block (it says so itself)."""
        reason = self.why_no_loudness()
        return reason if self.duration_s < 0.4 else f"no loudness: {reason}"

    def summary(self) -> dict[str, float | None]:
        """The headline figures (``reelkit loudness --json``); non-finite values become ``None``.

        Its ``dialogue_lufs`` is the dialogue's own loudness (:attr:`dialogue_isolated_lufs`, within 0.5 LU of
        the speech stem at any bed level in our checks); the attribute :attr:`dialogue_lufs` is the mix while
        someone speaks, 10·log10(1 + 10^(bed/10)) LU above it when a loud bed plays under the dialogue."""

        def fin(v: float | None) -> float | None:
            return float(v) if v is not None and math.isfinite(v) else None

        return {
            "integrated_lufs": fin(self.integrated_lufs),
            "lra_lu": fin(self.lra_lu),
            "true_peak_dbtp": fin(self.true_peak_dbtp),
            "sample_peak_dbfs": fin(self.sample_peak_dbfs),
            "momentary_max_lufs": fin(self.momentary_max_lufs),
            "short_term_max_lufs": fin(self.short_term_max_lufs),
            # the dialogue's own loudness (bed under the dialogue subtracted) where it could be estimated:
            # what the speech stem measures alone; the gated mix (``dialogue_lufs`` here) is what delivery
            # specs such as Netflix's check, and what ``reelkit qc`` uses
            "dialogue_lufs": fin(
                self.dialogue_isolated_lufs if self.dialogue_isolated_lufs is not None else self.dialogue_lufs
            ),
            "speech_fraction": fin(self.speech_fraction),
            # the mix while someone speaks: what 'reelkit qc' checks for a dialogue spec and what
            # 'reelkit loudness normalize --reference dialogue' sets
            "dialogue_gated_lufs": fin(self.dialogue_lufs),
        }


@dataclass(frozen=True)
class _Pass:
    """What one pass over the samples yields: per-segment energies, segment bounds and the peaks."""

    seg_energy: FloatArray  # weighted sum of K-filtered squares per 10 ms segment
    bounds: npt.NDArray[np.int64]  # sample index of each segment boundary (len = segments + 1)
    sample_peak: FloatArray  # per channel, linear
    true_peak: FloatArray  # per channel, linear
    true_peak_index: float  # sample position (fractional) of the largest true peak


def _segment_bounds(frames: int, sample_rate: int) -> npt.NDArray[np.int64]:
    n_seg = int(frames * _SEGMENTS_PER_S // sample_rate)
    k = np.arange(n_seg + 1, dtype=np.int64)
    return (k * sample_rate + _SEGMENTS_PER_S // 2) // _SEGMENTS_PER_S


def _as_frames(samples: npt.ArrayLike) -> npt.NDArray[np.floating[Any]]:
    x = np.asarray(samples)
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2:
        raise ConfigError(f"samples must be shaped (frames, channels); got {x.shape}")
    if x.shape[1] > 64 and x.shape[1] > x.shape[0]:
        raise ConfigError(
            f"samples shaped {x.shape} look like (channels, frames); pass them as (frames, channels), "
            "e.g. x.T"
        )
    if not np.issubdtype(x.dtype, np.floating):
        if np.issubdtype(x.dtype, np.unsignedinteger):  # offset binary (8-bit WAV): 128 is silence
            half = float(np.iinfo(x.dtype).max // 2 + 1)
            x = (x.astype(np.float64) - half) / half
        elif np.issubdtype(x.dtype, np.integer):
            x = x.astype(np.float64) / float(-np.iinfo(x.dtype).min)
        else:
            raise ConfigError(f"samples must be numbers; got {x.dtype}")
    return x


@lru_cache(maxsize=4)
def _polyphase_table(factor: int) -> tuple[npt.NDArray[np.float32], int]:
    """The interpolating branches of :func:`true_peak_filter` (branch 0, the input itself, left out).

    Row ``p - 1`` gives the output at input time ``i + p / factor`` as ``sum_t row[t] * x[i + o_min + t]``;
    returns the table and ``o_min`` (the most negative input offset).
    """
    h = true_peak_filter(factor).astype(np.float64)
    delay = (_TP_TAPS - 1) // 2
    entries: dict[int, dict[int, float]] = {}
    for p in range(1, factor):
        for j in range(_TP_TAPS):
            if (p + delay - j) % factor == 0 and h[j] != 0.0:
                entries.setdefault(p, {})[(p + delay - j) // factor] = float(h[j])
    offsets = [o for row in entries.values() for o in row]
    o_min, o_max = min(offsets), max(offsets)
    table = np.zeros((factor - 1, o_max - o_min + 1), dtype=np.float32)
    for p, row in entries.items():
        for o, c in row.items():
            table[p - 1, o - o_min] = c
    return table, o_min


@njit(cache=True, fastmath=True, nogil=True)
def _interpolated_peaks(
    x: npt.NDArray[np.float32], coef: npt.NDArray[np.float32], lead: int, n: int
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]:  # pragma: no cover - compiled
    """Largest |value| of the interpolated (between-sample) points of each channel, and where.

    ``x`` is ``(channels, lead + n + tail)`` (context on both sides); output ``i`` (``0 <= i < n``) of branch
    ``p`` is ``sum_t coef[p, t] * x[c, lead + i + o_min + t]`` where ``lead`` already includes ``o_min``.
    The position returned is ``i * branches + p`` (``branches = coef.shape[0] + 1``).
    """
    channels = x.shape[0]
    branches, taps = coef.shape
    peaks = np.zeros(channels)
    where = np.zeros(channels, dtype=np.int64)
    block = 512
    acc = np.empty(block, dtype=np.float32)
    for c in range(channels):
        row = x[c]
        best = 0.0
        best_at = 0
        for s in range(0, n, block):
            w = min(block, n - s)
            for p in range(branches):
                for i in range(w):
                    acc[i] = 0.0
                for t in range(taps):
                    cf = coef[p, t]
                    seg = row[lead + s + t : lead + s + t + w]
                    for i in range(w):
                        acc[i] += cf * seg[i]
                m = 0.0
                for i in range(w):
                    v = abs(acc[i])
                    m = v if v > m else m
                if m > best:
                    best = m
                    for i in range(w):
                        if abs(acc[i]) == m:
                            best_at = (s + i) * (branches + 1) + p + 1
                            break
        peaks[c] = best
        where[c] = best_at
    return peaks, where


def _analyse(
    x: npt.NDArray[np.floating[Any]], sample_rate: int, weights: FloatArray, *, true_peak: bool
) -> _Pass:
    frames, channels = x.shape
    sos = k_weighting_sos(sample_rate)
    bounds = _segment_bounds(frames, sample_rate)
    n_seg = len(bounds) - 1
    seg_energy = np.zeros(n_seg, dtype=np.float64)
    zi = np.zeros((sos.shape[0], channels, 2), dtype=np.float64)
    sample_peak = np.zeros(channels)
    sample_at = np.zeros(channels, dtype=np.int64)
    tp = np.zeros(channels)
    tp_at = np.zeros(channels, dtype=np.float64)
    factor = oversampling_factor(sample_rate) if true_peak else 1
    active = weights > 0
    w_active = weights[active]
    if factor > 1:
        coef, o_min = _polyphase_table(factor)
        o_max = o_min + coef.shape[1] - 1

    from scipy.signal import sosfilt

    # chunk edges on segment boundaries (the last chunk also takes the tail after the last full segment)
    edges = [int(b) for b in bounds[::_CHUNK_SEGMENTS]]
    if edges[-1] != frames:
        edges.append(frames)
    for ci in range(len(edges) - 1):
        a, b = edges[ci], edges[ci + 1]
        xt = np.ascontiguousarray(x[a:b].T, dtype=np.float64)  # (channels, m)
        mag = np.abs(xt)
        idx = mag.argmax(axis=1)
        peaks = mag[np.arange(channels), idx]
        better = peaks > sample_peak
        sample_peak[better] = peaks[better]
        sample_at[better] = a + idx[better]
        # K-weighting and mean square over the weighted channels
        if active.any():
            y, zi[:, active] = sosfilt(sos, xt[active], axis=-1, zi=zi[:, active])
            y *= y
            z = y[0] * w_active[0]  # a plain loop: a BLAS call here would spin threads for nothing
            for k in range(1, y.shape[0]):
                z += y[k] * w_active[k]
            s0 = ci * _CHUNK_SEGMENTS
            s1 = min(s0 + _CHUNK_SEGMENTS, n_seg)
            if s1 > s0:
                starts = bounds[s0:s1] - a
                seg_energy[s0:s1] = np.add.reduceat(z[: int(bounds[s1]) - a], starts)
        if factor > 1:
            # the samples around the chunk, zero outside the file (silence before and after)
            lo, hi = a + o_min, b + o_max
            ctx = np.zeros((channels, hi - lo), dtype=np.float32)
            src_lo, src_hi = max(lo, 0), min(hi, frames)
            ctx[:, src_lo - lo : src_hi - lo] = x[src_lo:src_hi].T
            pk, at = _interpolated_peaks(ctx, coef, 0, b - a)
            better = pk > tp
            tp[better] = pk[better]
            tp_at[better] = a + at[better] / factor
    # as libebur128: the true peak is never below the sample peak
    from_samples = sample_peak >= tp
    tp = np.where(from_samples, sample_peak, tp)
    tp_at = np.where(from_samples, sample_at.astype(np.float64), tp_at)
    top = int(np.argmax(tp)) if channels else 0
    return _Pass(seg_energy, bounds, sample_peak, tp, float(tp_at[top]))


def _window_energy(p: _Pass, width: int) -> tuple[FloatArray, npt.NDArray[np.int64]]:
    """Mean-square energy of every window of ``width`` segments (one segment apart) and its end index."""
    n_seg = len(p.seg_energy)
    if n_seg < width:
        return np.zeros(0), np.zeros(0, dtype=np.int64)
    cs = np.concatenate([[0.0], np.cumsum(p.seg_energy)])
    ends = np.arange(width, n_seg + 1)
    sums = cs[ends] - cs[ends - width]
    lengths = (p.bounds[ends] - p.bounds[ends - width]).astype(np.float64)
    return np.maximum(sums, 0.0) / lengths, ends


def _gated_mean(block_energy: FloatArray, relative_lu: float) -> tuple[float, float]:
    """BS.1770 two-stage gating: returns (gated loudness, relative threshold) in LUFS."""
    abs_ok = block_energy > _energy(ABSOLUTE_GATE_LUFS)
    if not abs_ok.any():
        return -math.inf, -math.inf
    rel = float(_lufs(float(block_energy[abs_ok].mean()))) + relative_lu
    ok = abs_ok & (block_energy > _energy(rel))
    if not ok.any():
        return -math.inf, rel
    return float(_lufs(float(block_energy[ok].mean()))), rel


def _loudness_range(st_energy: FloatArray) -> tuple[float, float, float]:
    """EBU Tech 3342 LRA from short-term energies sampled every 100 ms: (LRA, low, high).

    Undefined (NaN) when no short-term block passes the gates: under 3 s, or silent. (libebur128 and
    ffmpeg print 0 LU there, which reads as a perfectly even programme.)
    """
    abs_ok = st_energy[st_energy > _energy(ABSOLUTE_GATE_LUFS)]
    if abs_ok.size == 0:
        return math.nan, -math.inf, -math.inf
    rel = float(_lufs(float(abs_ok.mean()))) + LRA_RELATIVE_GATE_LU
    kept = np.sort(abs_ok[abs_ok > _energy(rel)])
    if kept.size == 0:
        return math.nan, -math.inf, -math.inf
    n = kept.size
    low = float(_lufs(float(kept[round((n - 1) * 0.10)])))
    high = float(_lufs(float(kept[round((n - 1) * 0.95)])))
    return high - low, low, high


def _isolated_dialogue(
    blocks: FloatArray, share: FloatArray, *, window_blocks: int = 100, keep: float = 0.25
) -> float:
    """Gated loudness of the speech blocks less the bed under them.

    The bed under a speech block is the median energy of the speech-free blocks within ``window_blocks``
    (10 s) of it (all speech-free blocks when none is that near; zero when there are none); at most
    ``1 - keep`` of a block's energy is taken away (6 dB), so a bed that ducks under the dialogue cannot
    empty it.
    """
    speech = np.flatnonzero(share > 0.5)
    if speech.size == 0:
        return -math.inf
    quiet = np.flatnonzero(share == 0.0)
    e = blocks[speech]
    if quiet.size == 0:
        return _gated_mean(e, RELATIVE_GATE_LU)[0]
    groups, of_block = np.unique(speech // 10, return_inverse=True)  # one estimate per second of blocks
    medians = np.empty(groups.size)
    for i, g in enumerate(groups):
        centre = int(g) * 10 + 5
        lo, hi = np.searchsorted(quiet, [centre - window_blocks, centre + window_blocks])
        near = blocks[quiet[lo:hi]] if hi > lo else blocks[quiet]
        medians[i] = float(np.median(near))
    bed = medians[of_block.reshape(-1)]
    return _gated_mean(np.maximum(e - bed, keep * e), RELATIVE_GATE_LU)[0]


SpeechDetector = Callable[[npt.NDArray[np.float32], int], tuple[float, npt.NDArray[np.bool_]]]


def vad_speech_detector(method: VadMethod = "silero") -> SpeechDetector:
    """A speech detector on :func:`reelkit.post.vad.speech_activity`: ``(mono, rate) -> (frame_s, mask)``.

    Raises :class:`ImportError` when the voice-activity module is not available.
    """
    from reelkit.post.vad import speech_activity

    def detect(mono: npt.NDArray[np.float32], rate: int) -> tuple[float, npt.NDArray[np.bool_]]:
        act = speech_activity(mono, rate, method=method)
        return float(act.frame_s), np.asarray(act.mask(), dtype=bool)

    return detect


def _to_16k_mono(x: npt.NDArray[np.floating[Any]], sample_rate: int) -> npt.NDArray[np.float32]:
    """The channels averaged and resampled to 16 kHz (what the speech detectors take), a minute at a time so
    that a long programme never needs a float64 copy of itself."""
    from scipy.signal import resample_poly

    frames = x.shape[0]
    if sample_rate == 16000:
        return np.asarray(x.mean(axis=1, dtype=np.float32), dtype=np.float32)
    g = math.gcd(16000, sample_rate)
    up, down = 16000 // g, sample_rate // g
    step = 60 * sample_rate - (60 * sample_rate) % down  # chunk edges on whole output samples
    pad = down * 200  # context each side; the resampling filter is far shorter
    out: list[npt.NDArray[np.float32]] = []
    for a in range(0, frames, step):
        b = min(a + step, frames)
        lo, hi = max(0, a - pad), min(frames, b + pad)
        mono = x[lo:hi].mean(axis=1, dtype=np.float64)
        y = resample_poly(mono, up, down)
        first = (a - lo) * up // down
        count = -(-(b - a) * up // down)
        out.append(np.asarray(y[first : first + count], dtype=np.float32))
    return np.concatenate(out) if out else np.zeros(0, dtype=np.float32)


def segment_mask(frame_s: float, mask: npt.ArrayLike, bounds: npt.NDArray[np.int64], rate: int) -> FloatArray:
    """Resample a per-frame speech mask onto the 10 ms segments (share of speech per segment, 0..1)."""
    if not 0 < frame_s < math.inf:
        raise ConfigError(
            f"the speech mask's frame length must be a positive number of seconds, got {frame_s}"
        )
    m = np.asarray(mask, dtype=np.float64).ravel()
    n_seg = len(bounds) - 1
    if m.size == 0 or n_seg <= 0:
        return np.zeros(max(n_seg, 0))
    centres = (bounds[:-1] + bounds[1:]) / 2.0 / rate
    idx = np.minimum((centres / frame_s).astype(np.int64), m.size - 1)
    out: FloatArray = m[idx]
    return out


class Meter:
    """A BS.1770-4 / EBU R128 loudness meter.

    ``channel_weights`` overrides the weights chosen from the channel count (see :func:`channel_weights`);
    ``true_peak=False`` skips the oversampling (true peak then equals the sample peak); ``speech`` is a
    speech detector for dialogue-gated loudness (``"silero"``, ``"webrtc"``, a callable
    ``(mono16k, 16000) -> (frame_s, mask)``, or ``None`` for none); ``keep_curve`` keeps the momentary and
    short-term series for plots.
    """

    def __init__(
        self,
        *,
        channel_weights: Sequence[float] | None = None,
        true_peak: bool = True,
        speech: VadMethod | SpeechDetector | None = None,
        keep_curve: bool = False,
    ) -> None:
        self.channel_weights = channel_weights
        self.true_peak = true_peak
        self.speech = speech
        self.keep_curve = keep_curve

    def _weights(self, channels: int, layout: str | None = None) -> FloatArray:
        if self.channel_weights is None:
            return channel_weights(channels, layout)
        w = np.asarray(self.channel_weights, dtype=np.float64)
        if w.shape != (channels,):
            raise ConfigError(f"channel_weights has {w.size} values for {channels} channels")
        if not np.isfinite(w).all() or (w < 0).any():
            raise ConfigError("channel_weights must be finite and not negative")
        return w

    def measure(
        self,
        samples: npt.ArrayLike,
        sample_rate: int,
        *,
        speech_mask: tuple[float, npt.ArrayLike] | None = None,
        layout: str | None = None,
    ) -> LoudnessResult:
        """Measure ``samples`` ``(frames, channels)`` (float in [-1, 1], or integer PCM).

        ``speech_mask`` = ``(frame_s, mask)`` gives the speech activity directly (no detector is run).
        ``layout``: ffmpeg's name of the channel layout (``Audio.layout``), which sets the channel weights;
        by default they follow the channel count.
        """
        rate: Any = sample_rate
        if isinstance(rate, float | np.floating) and float(rate).is_integer():
            rate = int(rate)  # 44100.0 is 44100 Hz
        if isinstance(rate, bool) or not isinstance(rate, int | np.integer) or rate <= 0:
            raise ConfigError(f"sample rate must be a positive whole number of Hz; got {sample_rate!r}")
        sample_rate = int(rate)
        x = _as_frames(samples)
        frames, channels = x.shape
        if not np.isfinite(x).all():
            raise ConfigError("samples hold NaN or infinite values")
        named = layout_channels(layout)
        if named is not None and len(named) != channels:  # weights for other channels than those measured
            raise ConfigError(
                f"layout {layout!r} has {len(named)} channels, the samples {channels}: give the samples' own "
                "layout (or none: the default for the count)"
            )
        weights = self._weights(channels, layout)
        p = _analyse(x, sample_rate, weights, true_peak=self.true_peak)
        notes: list[str] = []
        known = len(layout_channels(layout) or ()) == channels
        if self.channel_weights is None and channels > 8 and not known:
            notes.append(
                f"{channels} channels: measured as 7.1 in the first eight, channels 9-{channels} left out "
                "(their layout is unknown; the library's Meter takes channel_weights)"
            )

        m_energy, m_ends = _window_energy(p, _BLOCK)
        s_energy, s_ends = _window_energy(p, _SHORT)
        blocks = m_energy[::_HOP]  # 400 ms blocks every 100 ms, aligned to the start
        integrated, rel_gate = _gated_mean(blocks, RELATIVE_GATE_LU)
        lra, lra_low, lra_high = _loudness_range(s_energy[::_HOP])
        if not weights.any():  # an LFE track on its own (a stream of a multi-mono delivery)
            names = ", ".join(channel_names(channels, layout))
            notes.append(
                f"no loudness: BS.1770 measures none of these channels ({names}; it leaves LFE and channels "
                "of an unknown layout out)"
            )
        if frames < sample_rate * 0.4:
            notes.append("shorter than one 400 ms block: no integrated or momentary loudness")
        elif s_energy.size == 0:
            notes.append("shorter than 3 s: no short-term loudness or loudness range")

        dialogue: float | None = None
        isolated: float | None = None
        fraction: float | None = None
        mask_src = speech_mask
        if mask_src is None and self.speech is not None:
            detector = self.speech if callable(self.speech) else None
            if detector is None:
                try:
                    detector = vad_speech_detector(self.speech)  # type: ignore[arg-type]
                except ImportError:
                    notes.append(
                        "no voice-activity detector available (reelkit.post.vad): no dialogue loudness"
                    )
            if detector is not None:
                mask_src = detector(_to_16k_mono(x, sample_rate), 16000)
        if mask_src is not None:
            seg_speech = segment_mask(mask_src[0], mask_src[1], p.bounds, sample_rate)
            if seg_speech.size:
                fraction = float(seg_speech.mean())
                cs = np.concatenate([[0.0], np.cumsum(seg_speech)])
                block_speech = (cs[m_ends] - cs[m_ends - _BLOCK])[::_HOP] / _BLOCK
                speech_blocks = blocks[block_speech > 0.5]
                dialogue, _ = _gated_mean(speech_blocks, RELATIVE_GATE_LU)
                isolated = _isolated_dialogue(blocks, block_speech)
                if speech_blocks.size == 0:
                    notes.append("no speech found: dialogue loudness is undefined")
            else:
                fraction = 0.0

        curve = None
        if self.keep_curve:
            curve = LoudnessCurve(
                p.bounds[m_ends] / sample_rate,
                _lufs(m_energy),
                p.bounds[s_ends] / sample_rate,
                _lufs(s_energy),
            )
        with np.errstate(divide="ignore"):
            tp_db = 20.0 * np.log10(p.true_peak)
            sp_db = 20.0 * np.log10(p.sample_peak)
        return LoudnessResult(
            integrated_lufs=integrated,
            lra_lu=lra,
            true_peak_dbtp=float(tp_db.max()),
            sample_peak_dbfs=float(sp_db.max()),
            momentary_max_lufs=float(_lufs(float(m_energy.max()))) if m_energy.size else -math.inf,
            short_term_max_lufs=float(_lufs(float(s_energy.max()))) if s_energy.size else -math.inf,
            dialogue_lufs=dialogue,
            speech_fraction=fraction,
            sample_rate=int(sample_rate),
            channels=int(channels),
            duration_s=frames / sample_rate,
            true_peak_per_channel_dbtp=tuple(float(v) for v in tp_db),
            sample_peak_per_channel_dbfs=tuple(float(v) for v in sp_db),
            true_peak_time_s=p.true_peak_index / sample_rate,
            relative_gate_lufs=rel_gate,
            lra_low_lufs=lra_low,
            lra_high_lufs=lra_high,
            curve=curve,
            notes=tuple(notes),
            dialogue_isolated_lufs=isolated,
            speech_mask=None if mask_src is None else (float(mask_src[0]), np.asarray(mask_src[1])),
            measured_channels=int(np.count_nonzero(weights)),
        )


def measure(
    samples: npt.ArrayLike,
    sample_rate: int,
    *,
    speech: VadMethod | SpeechDetector | None = None,
    keep_curve: bool = False,
) -> LoudnessResult:
    """Measure with the default :class:`Meter` (weights from the channel count, true peak on)."""
    return Meter(speech=speech, keep_curve=keep_curve).measure(samples, sample_rate)
