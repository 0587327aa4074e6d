"""Subtitle synchronisation: fit a subtitle file to the speech in the media (or to a reference file).

Pipeline (each step scored by :mod:`reelkit.post.subs.align`'s ``S(s, o)``: seconds of cue over speech
minus seconds of cue over silence, cues weighted by :mod:`~reelkit.post.subs.nonspeech`):

1. **Reference activity**: the Silero voice-activity probability of the media's audio (16 kHz mono; the
   audio stream flagged default, else the first, or ``SyncOptions.stream``), or the cue coverage of a
   well-timed reference subtitle file, on a 10 ms grid.
2. **Global fit**: for each frame-rate ratio (1, 25/23.976, 24/23.976, 25/24 and their inverses) the best
   offset by FFT cross-correlation over ``+/- max_offset_s`` (default ``max(60 s, half the media)``); the
   ratio with the best score wins, then a fine scale search around it (coarse-to-fine grid down to a drift
   of 20 ms over the file) when the file has at least 20 speech cues (fewer fit some free scale anywhere).
3. **Splits**: piecewise offsets by dynamic programming over the cues (``split_penalty`` seconds of score
   per split), each segment's offset then refined on the 10 ms grid; the scale is refined once more with
   the segments fixed.
4. **Leave correct files alone**: a scale within 0.1 s of drift of a candidate ratio is snapped to it; a fit
   with scale 1, no split and ``|offset| <= snap_s`` (3 frames at 24 fps, the timing tolerance of the
   Netflix style guide) is reported as offset 0 exactly, and :func:`apply_sync` then leaves every time as
   it was.
5. **Confidence** in [0, 1]: the geometric mean of two ramps, one on ``lift`` (how much more of the cue time
   lies over speech than chance would give: (agreement - speech fraction) / (1 - speech fraction); 0 at
   0.15, 1 at 0.45, sliding to 0.05 and 0.2 as the onsets sharpen from 0.4 to 0.7, since cues that cover
   the pauses lift little) and one on ``onset`` (how sharply speech starts at the cue starts: speech in the
   0.4 s after each start minus speech in the 0.4 s before, averaged over cues that follow a pause; in
   dense dialogue with chained cues, the dip in speech at each start; 0 at 0.25, 1 at 0.5). A fit to the wrong
   subtitle file can reach a fair overlap by splitting, but it does not put cue starts on speech onsets.
   With under 20 speech cues the confidence is at most a ramp on how far the fit's score stands above
   that of any placement elsewhere (0 at a tenth of the cue time, 1 at a fifth): a few cues fit many places.
   Cues placed outside the media's audio (past the end of a truncated download) are not scored.
   Below ``min_confidence`` (0.5) the fit is refused with :class:`~reelkit.errors.SyncRefusedError`;
   audio with under 5 s of speech is refused before fitting. ``peak`` (how far each segment's offset
   stands out of its own correlation curve) is reported as a diagnostic.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from reelkit._files import atomic_write_bytes
from reelkit.errors import ConfigError, DataFormatError, SyncRefusedError
from reelkit.post.subs.align import (
    DROP_FACTOR,
    ActivityReference,
    _c_at,
    cue_scores,
    offset_scores,
    split_fit,
)
from reelkit.post.subs.io import (
    Cue,
    SubtitleFile,
    check_output_path,
    load_subtitles,
    picture_fps,
    write_subtitles,
)
from reelkit.post.subs.nonspeech import cue_weights
from reelkit.post.vad import SpeechActivity, speech_activity
from reelkit.progress import SILENT, Progress

__all__ = [
    "FRAME_RATIOS",
    "Split",
    "SyncOptions",
    "SyncResult",
    "apply_sync",
    "reference_activity",
    "sync_subtitles",
]

F64 = npt.NDArray[np.float64]
Mask = npt.NDArray[np.bool_]
_COARSE = 5  # wide searches run on a grid this many times coarser than SyncOptions.dt
#: A scale between the standard ratios is searched only with this many speech cues: a handful of cues fits
#: some free scale and offset somewhere (four forced-narrative cues 28 s off at scale 0.953, confidence 0.82)
_FREE_SCALE_CUES = 20
#: A speech cue longer than this (or five times the median speech cue) is a credit or sign over the scene,
#: not a line: it does not hide the pauses before the cues shown under it (see _onset_contrast)
_OVERLAY_S = 30.0
_NTSC = 24000 / 1001
FRAME_RATIOS: tuple[float, ...] = (
    1.0,
    25 / _NTSC,
    _NTSC / 25,
    24 / _NTSC,
    _NTSC / 24,
    25 / 24,
    24 / 25,
)


@dataclass(frozen=True)
class SyncOptions:
    """Parameters of :func:`sync_subtitles`."""

    vad: Literal["silero", "webrtc"] = "silero"
    #: The media's audio stream to follow, counted from 0 among its audio streams (``--stream N``); by
    #: default the one flagged default, else the first (a first track in another language or commentary).
    stream: int | None = None
    dt: float = 0.01
    #: The largest offset: of the whole file, or with splits of at least one segment (the others are further
    #: by the ad breaks or cuts between them). Default ``max(60 s, half the media)``.
    max_offset_s: float | None = None
    ratios: tuple[float, ...] = FRAME_RATIOS
    fine_scale: bool = True
    splits: bool = True
    split_penalty: float = 6.0
    split_radius_s: float | None = None
    min_confidence: float = 0.5
    snap_s: float = 0.125

    def __post_init__(self) -> None:
        if self.stream is not None and self.stream < 0:
            raise ConfigError(f"stream must be 0 or more (the first audio stream is 0), not {self.stream}")
        if not 0 < self.dt <= 0.1:
            raise ConfigError("dt must be in (0, 0.1] seconds")
        if self.max_offset_s is not None and not (0 < self.max_offset_s < math.inf):
            raise ConfigError("max_offset_s must be a positive number of seconds")
        if not self.ratios or not all(0 < r < math.inf for r in self.ratios):
            raise ConfigError("ratios must be positive numbers")
        if not 0 <= self.split_penalty < math.inf:
            raise ConfigError(f"split_penalty must be 0 or more seconds, not {self.split_penalty}")
        if not 0 <= self.min_confidence <= 1:
            raise ConfigError(f"min_confidence must be from 0 to 1, not {self.min_confidence}")
        # a negative radius failed deep in the fit (an IndexError); 0 read as "the default"
        if self.split_radius_s is not None and not 0 < self.split_radius_s < math.inf:
            raise ConfigError(
                f"split_radius_s must be a positive number of seconds, not {self.split_radius_s}"
            )
        if not 0 <= self.snap_s < math.inf:  # a negative or NaN one was taken in silence
            raise ConfigError(f"snap_s must be 0 or more seconds, not {self.snap_s}")


@dataclass(frozen=True)
class Split:
    """From cue ``first_cue`` on (at ``at_s`` in the input file's time), times get ``offset_s``.
    ``first_cue`` is the cue's index (from 0); :meth:`to_dict` gives its number in the file (from 1), as
    every cue number a user reads (``clamped_cues``, the QC report) is counted."""

    at_s: float
    offset_s: float
    first_cue: int

    def to_dict(self) -> dict[str, float | int]:
        return {
            "at_s": round(self.at_s, 3),
            "offset_s": round(self.offset_s, 3),
            "first_cue": self.first_cue + 1,
        }


@dataclass(frozen=True)
class SyncResult:
    """The fitted map ``t -> scale * t + offset`` (offset per segment) and how far to trust it."""

    offset_s: float
    scale: float
    splits: tuple[Split, ...]
    confidence: float
    score: float
    agreement: float  # share of (weighted) cue time over speech after the fit
    agreement_before: float  # the same for the file as given
    lift: float
    peak: float
    onset: float
    speech_fraction: float
    reference: str  # "audio:silero", "audio:webrtc" or "subtitles"
    cue_offsets: F64 = field(repr=False)  # offset of each cue, in file order
    notes: tuple[str, ...] = ()
    #: cues of a scene cut from the media (index -> where they are written, 0-length)
    removed: dict[int, float] = field(default_factory=dict)

    @property
    def unchanged(self) -> bool:
        return self.offset_s == 0.0 and self.scale == 1.0 and not self.splits

    def cue_time(self, index: int, t: float) -> float:
        """Where time ``t`` of cue ``index`` goes."""
        if self.unchanged:
            return t
        if index in self.removed:
            return self.removed[index]
        return float(self.scale * t + self.cue_offsets[index])

    def to_dict(self) -> dict[str, Any]:
        return {
            "offset_s": round(self.offset_s, 3),
            "scale": self.scale,
            "splits": [s.to_dict() for s in self.splits],
            "confidence": round(self.confidence, 3),
            "score": round(self.score, 3),
            "agreement": round(self.agreement, 4),
            "agreement_before": round(self.agreement_before, 4),
            "speech_fraction": round(self.speech_fraction, 4),
            "reference": self.reference,
            "unchanged": self.unchanged,
            "removed_cues": [{"cue": i + 1, "at_s": round(t, 3)} for i, t in sorted(self.removed.items())],
            "notes": list(self.notes),
        }


# -------------------------------------------------------------------------------------- reference signals


def _activity_from_media(
    media: str | os.PathLike[str], method: Literal["silero", "webrtc"], stream: int | None = None
) -> tuple[SpeechActivity, str, str]:
    """The speech activity of the media's audio stream ``stream`` (by default the one flagged default, else
    the first); where the file has several, which one it was for the messages (``audio stream 1 (eng,
    default) of 2``; ``""`` for a file with one); and where the file is cut short (a truncated download), a
    note saying so (else ``""``)."""
    from reelkit.media import cut_short, decode_audio, probe

    info = probe(Path(media))
    if stream is None:
        stream = next((k for k, a in enumerate(info.audio) if a.default), 0)
    messages: list[str] = []
    samples, rate = decode_audio(
        Path(media),
        sample_rate=16000,
        channels=1,
        stream=stream,
        on_timeline=True,
        messages=messages,
        info=info,
    )
    track = ""
    if len(info.audio) > 1:
        a = info.audio[stream]
        tags = ", ".join(t for t in (a.language, "default" if a.default else None) if t)
        track = f"audio stream {stream}{f' ({tags})' if tags else ''} of {len(info.audio)}"
    decoded = samples.shape[0] / rate
    short, damaged = cut_short(info, decoded, messages)  # as read_audio judges it
    cut = ""
    if damaged or short:
        said = re.sub(r"^\[[^\]]*\]\s*", "", damaged[-1]) if damaged else ""
        cut = (
            f"{media} is cut short (a truncated or partial download?): "
            + (
                f"its audio ends at {decoded:.1f} s of the {info.duration_s:.1f} s the file declares"
                if short
                else ""
            )
            + ("; " if short and said else "")
            + (f"ffmpeg: {said!r}" if said else "")
        )
    return speech_activity(samples[:, 0], rate, method=method), track, cut


def reference_activity(cues: list[Cue], dt: float, *, duration_s: float | None = None) -> ActivityReference:
    """Activity signal of a well-timed reference subtitle file: 1 inside speech cues, 0.5 inside lyrics
    and effects (they may or may not hold speech), 0 elsewhere; the programme starts at its first cue."""
    end = max([c.end_s for c in cues] + [duration_s or 0.0]) + 1.0
    n = int(np.ceil(end / dt))
    v = np.zeros(n)
    w = cue_weights([c.text for c in cues])
    for c, wi in zip(cues, w, strict=True):
        i0, i1 = max(0, round(c.start_s / dt)), min(n, round(c.end_s / dt))
        if i1 > i0:
            v[i0:i1] = np.maximum(v[i0:i1], 1.0 if wi >= 1.0 else 0.5)
    first = min((c.start_s for c in cues if c.end_s > c.start_s), default=0.0)
    return ActivityReference(dt, v, max(0.0, first))


# -------------------------------------------------------------------------------------------- the fitting


@dataclass
class _Cues:
    starts: F64
    ends: F64
    weights: F64

    @property
    def span(self) -> float:
        return float(self.ends.max() - self.starts.min()) if len(self.starts) else 0.0

    def kept(self, dropped: Mask) -> _Cues:
        """The same cues with the dropped ones (a cut scene's) weighing nothing."""
        return _Cues(self.starts, self.ends, np.where(dropped, 0.0, self.weights))


def _best_offset(
    ref: ActivityReference, c: _Cues, scale: float, lo: float, hi: float
) -> tuple[float, float, F64, F64]:
    offs, corr = offset_scores(ref, c.starts, c.ends, c.weights, scale, lo, hi)
    ok = (offs >= lo - 1e-9) & (offs <= hi + 1e-9)
    offs, corr = offs[ok], corr[ok] / scale
    k = int(np.argmax(corr))
    return float(offs[k]), float(corr[k]), offs, corr


def _exact_score(ref: ActivityReference, cum: F64, c: _Cues, scale: float, offsets: F64) -> float:
    return float(np.sum(cue_scores(ref, cum, c.starts, c.ends, c.weights, scale, offsets)))


def _refine_offset(
    ref: ActivityReference,
    cum: F64,
    c: _Cues,
    scale: float,
    center: float,
    radius: float,
    *,
    bound: float = math.inf,
) -> tuple[float, float]:
    """Best single offset on the ``dt`` grid within ``center +/- radius`` and ``+/- bound`` (exact scores)."""
    grid = center + np.arange(-round(radius / ref.dt), round(radius / ref.dt) + 1) * ref.dt
    grid = grid[np.abs(grid) <= bound + 1e-9]
    if grid.size == 0:
        grid = np.array([float(np.clip(center, -bound, bound))])
    ends = scale * c.ends[:, None] + grid[None, :]
    starts = scale * c.starts[:, None] + grid[None, :]
    s = (c.weights[:, None] * (_c_at(ref, cum, ends) - _c_at(ref, cum, starts))).sum(axis=0)
    # prefer the offset closest to the centre among equal scores
    k = int(np.argmax(s - 1e-9 * np.abs(grid - center)))
    return float(grid[k]), float(s[k])


def _fine_scale(
    ref: ActivityReference,
    coarse: ActivityReference,
    c: _Cues,
    ratio: float,
    offset: float,
    max_offset: float,
) -> tuple[float, float, float]:
    """Coarse-to-fine search of the scale around ``ratio`` (+/- 0.5 %): 11 scales per level, each with its
    best offset near the current one (by FFT on ``coarse``, ``ref`` on the coarse grid, while the window is
    wide, by exact scores on the fine grid when it is narrow); stops when a step moves the cues by under
    20 ms."""
    span = max(c.span, 1.0)
    t_ref = float(np.abs(c.ends).max()) if len(c.ends) else 1.0
    cum = ref.cumulative()
    best_s, best_o = ratio, offset
    best_o, best_score = _refine_offset(ref, cum, c, ratio, offset, 0.1)
    half = 0.005 * ratio
    while True:
        grid = best_s + np.linspace(-half, half, 11)
        step = grid[1] - grid[0]
        cand = []
        for s in grid:
            drift = abs(s - best_s) * t_ref + 0.1
            if drift <= 2.0:
                o, sc = _refine_offset(ref, cum, c, float(s), best_o, drift)
            else:
                lo = max(-max_offset, best_o - drift - 1.0)
                hi = min(max_offset, best_o + drift + 1.0)
                o, _, _, _ = _best_offset(coarse, c, float(s), lo, hi)
                o, sc = _refine_offset(ref, cum, c, float(s), o, 0.1)
            cand.append((sc, float(s), o))
        sc, s, o = max(cand)
        if sc > best_score:
            best_score, best_s, best_o = sc, s, o
        if step * span < 0.02:
            break
        half = step
    return best_s, best_o, best_score


def _peak_prominence(offs: F64, corr: F64, best: float, exclude_s: float = 2.0) -> float:
    """How far the best offset's score stands above the rest of the curve: (best - second best peak away
    from it) / (best - median), in [0, 1]."""
    far = np.abs(offs - best) > exclude_s
    if not far.any():
        return 1.0
    near = np.abs(offs - best) <= 0.2
    top = float(corr[near].max()) if near.any() else float(corr.max())
    med = float(np.median(corr))
    second = float(corr[far].max())
    if top - med <= 1e-9:
        return 0.0
    return float(np.clip((top - second) / (top - med), 0.0, 1.0))


def _segments(offsets: F64, order: npt.NDArray[np.intp]) -> list[npt.NDArray[np.intp]]:
    """Runs of equal offset along ``order`` (cue indices in time order)."""
    segs: list[list[int]] = []
    prev = None
    for i in order.tolist():
        if prev is None or abs(offsets[i] - prev) > 1e-9:
            segs.append([])
        segs[-1].append(i)
        prev = offsets[i]
    return [np.array(s, dtype=np.intp) for s in segs]


def _split_pass(
    ref: ActivityReference, cum: F64, c: _Cues, opts: SyncOptions, scale: float, center: float, radius: float
) -> tuple[F64, int, Mask]:
    """Per-cue offsets from the split DP, each segment's offset refined on the fine grid (the cues dropped
    at a cut left out); the number of segments; the dropped cues."""
    placed = split_fit(
        ref, cum, c.starts, c.ends, c.weights, scale, center, radius, split_penalty=opts.split_penalty
    )
    dropped = placed.dropped if placed.dropped is not None else np.zeros(len(c.starts), dtype=bool)
    order = np.argsort(c.starts, kind="stable")
    offsets = _refit_offsets(ref, cum, c.kept(dropped), scale, placed.offsets)
    return offsets, len(_segments(placed.offsets, order)), dropped


def _penalised(
    ref: ActivityReference,
    cum: F64,
    c: _Cues,
    opts: SyncOptions,
    scale: float,
    offsets: F64,
    dropped: Mask | None = None,
) -> float:
    """The split DP's objective: the cues' scores, a dropped cue costing ``DROP_FACTOR`` times one over
    silence, less the split penalties."""
    n_seg = len(_segments(offsets, np.argsort(c.starts, kind="stable")))
    score = _exact_score(ref, cum, c if dropped is None else c.kept(dropped), scale, offsets)
    if dropped is not None:
        score -= DROP_FACTOR * scale * float(np.sum((c.weights * (c.ends - c.starts))[dropped]))
    return score - opts.split_penalty * (n_seg - 1)


def _segment_prominence(
    coarse: ActivityReference, c: _Cues, scale: float, offsets: F64, max_off: float
) -> float:
    """Peak prominence of each segment's own offset curve (its cues alone, over the whole search range, on
    the coarse grid ``coarse``) around the offset it was given, averaged with the segments' cue weights."""
    order = np.argsort(c.starts, kind="stable")
    total_w = 0.0
    acc = 0.0
    for seg in _segments(offsets, order):
        sub = _Cues(c.starts[seg], c.ends[seg], c.weights[seg])
        o = float(offsets[seg[0]])
        offs, corr = offset_scores(coarse, sub.starts, sub.ends, sub.weights, scale, o - max_off, o + max_off)
        w = float(sub.weights.sum())
        acc += w * _peak_prominence(offs, corr, o)
        total_w += w
    return acc / total_w if total_w > 0 else 0.0


def _placement_margin(
    coarse: ActivityReference, c: _Cues, scale: float, offsets: F64, max_off: float
) -> float:
    """(score of the fit - best score of a placement elsewhere) / weighted cue time, on the coarse grid;
    "elsewhere": a single offset within ``max_off``, at the fit's scale or at scale 1, that moves the cues
    by over 2 s on average from where the fit put them."""
    w_time = float(np.sum(c.weights * (c.ends - c.starts)))
    if w_time <= 0:
        return 0.0
    fit = _exact_score(coarse, coarse.cumulative(), c, scale, offsets) / scale
    best_else = -math.inf
    for r in dict.fromkeys([scale, 1.0]):
        offs, corr = offset_scores(coarse, c.starts, c.ends, c.weights, r, -max_off, max_off)
        # mean distance of the cues from the fit's placement at each offset: mean |o - x_i|
        x = np.sort(scale * c.starts + offsets - r * c.starts)
        k = np.searchsorted(x, offs)
        csum = np.concatenate([[0.0], np.cumsum(x)])
        below = offs * k - csum[k]
        above = (csum[-1] - csum[k]) - offs * (len(x) - k)
        far = (below + above) / len(x) > 2.0
        if far.any():
            best_else = max(best_else, float(corr[far].max()) / r)
    if best_else == -math.inf:
        return 1.0
    return float((fit - best_else) / w_time)


def _fit(
    ref: ActivityReference, coarse: ActivityReference, c: _Cues, opts: SyncOptions, duration_s: float
) -> tuple[float, F64, float, float, Mask]:
    """Scale, per-cue offsets, total score (split penalties included), peak prominence of the global fit,
    the cues dropped at cuts. ``coarse`` is ``ref.coarsen(_COARSE)`` (made once per sync by the caller)."""
    cum = ref.cumulative()
    max_off = _max_offset(opts, duration_s, c)
    # 1. global fit over the frame-rate ratios (on the coarse grid; refined on the fine one below)
    best: tuple[float, float, float, F64, F64] | None = None
    for r in opts.ratios:
        o, sc, offs, corr = _best_offset(coarse, c, r, -max_off, max_off)
        if best is None or sc > best[0] + 1e-9:
            best = (sc, r, o, offs, corr)
    assert best is not None
    _, ratio, offset, offs, corr = best
    peak = _peak_prominence(offs, corr, offset)
    # 2. the fine scale, from the single-offset fit; with splits a scale between the ratios can fit two
    #    segments at once, so the rest of the fit starts from both the ratio and the fine scale
    starts = [(ratio, offset)]
    if _free_scale(opts, c):
        fine_s, fine_o, _ = _fine_scale(ref, coarse, c, ratio, offset, max_off)
        if fine_s != ratio:
            starts.append((fine_s, fine_o))
    fits = [_fit_from(ref, cum, c, opts, s0, o0, max_off) for s0, o0 in starts]
    # the refinements (splits, the scale preference) search around a fit and may step past the largest
    # offset asked for: such fits are dropped; with none left, the global fit, refined within the bound.
    # With splits, one segment must be within it: the others are further by the breaks between them.
    fits = [f for f in fits if len(f[1]) == 0 or float(np.abs(f[1]).min()) <= max_off + 1e-9]
    if not fits:
        o, _ = _refine_offset(ref, cum, c, ratio, offset, 0.3, bound=max_off)
        flat = np.full(len(c.starts), o)
        fits = [
            (ratio, flat, _penalised(ref, cum, c, opts, ratio, flat), np.zeros(len(c.starts), dtype=bool))
        ]
    scale, offsets, total, dropped = max(fits, key=lambda f: f[2])
    return scale, offsets, total, peak, dropped


def _fit_from(
    ref: ActivityReference, cum: F64, c: _Cues, opts: SyncOptions, scale: float, offset: float, max_off: float
) -> tuple[float, F64, float, Mask]:
    """From a global (scale, offset): splits, the scale re-fitted with them, the preference for standard
    ratios. Returns scale, per-cue offsets, the penalised score and the cues dropped at cuts."""
    offset, _ = _refine_offset(ref, cum, c, scale, offset, 0.3)
    offsets = np.full(len(c.starts), offset)
    total = _penalised(ref, cum, c, opts, scale, offsets)
    dropped = np.zeros(len(c.starts), dtype=bool)
    # splits: DP, then the scale again with the segments fixed, then DP once more at that scale
    if opts.splits and len(c.starts) >= 4:
        radius = opts.split_radius_s if opts.split_radius_s is not None else max(30.0, min(max_off, 600.0))
        split_offsets, n_seg, split_drop = _split_pass(ref, cum, c, opts, scale, offset, radius)
        if n_seg > 1 and _penalised(ref, cum, c, opts, scale, split_offsets, split_drop) > total:
            order = np.argsort(c.starts, kind="stable")
            segs = _segments(split_offsets, order)
            single_scale = scale
            scale, split_offsets = _scale_with_segments(
                ref, cum, c.kept(split_drop), scale, split_offsets, segs, opts.ratios, _free_scale(opts, c)
            )
            center = float(np.median(split_offsets))
            again, _, again_drop = _split_pass(ref, cum, c, opts, scale, center, radius)
            if _penalised(ref, cum, c, opts, scale, again, again_drop) >= _penalised(
                ref, cum, c, opts, scale, split_offsets, split_drop
            ):
                split_offsets, split_drop = again, again_drop
            new_total = _penalised(ref, cum, c, opts, scale, split_offsets, split_drop)
            if new_total > total:
                offsets, total, dropped = split_offsets, new_total, split_drop
            else:  # back to the single-offset fit
                scale = single_scale
    # prefer no scaling, then the nearest standard ratio, unless the fine scale is clearly better (by 1 % of
    # the score) or drifts by under 0.1 s from it anyway over the file's span; each segment's offset is
    # searched from where its middle was. From time 0 instead: on a 10:00:00 timeline, scale 0.99924 with a
    # 27 s larger offset lays a 4-minute file within 0.1 s of where scale 1 does, and was kept.
    segs = _segments(offsets, np.argsort(c.starts, kind="stable"))
    nearest = min(opts.ratios, key=lambda r: abs(r - scale))
    for cand in dict.fromkeys([1.0, nearest]):
        if cand == scale:
            break
        cand_offsets = _segment_offsets(ref, cum, c.kept(dropped), scale, offsets, segs, cand)
        cand_total = _penalised(ref, cum, c, opts, cand, cand_offsets, dropped)
        if abs(cand - scale) * c.span < 0.1 or cand_total >= total - 0.01 * abs(total):
            scale, offsets, total = cand, cand_offsets, cand_total
            break
    return float(scale), offsets, float(total), dropped


def _confidence(onset: float, lift: float) -> float:
    """The fit's confidence from its onset contrast and its lift over chance: the geometric mean of two
    ramps.

    Subtitles of another programme reach onset 0.30 and lift 0.53 at most (not both at once), correct fits
    onset 0.56 and lift 0.60 at least (the benchmark's cases and negative controls); the ramps sit between,
    leaning towards accepting real files whose cues run long past the speech. Cues that cover the pauses
    (chained line to line in dense dialogue, or one cue for several lines) lift little even where they
    belong: right fits to dialogue with 0.1-0.8 s pauses lift 0.17-0.55 at onsets 0.6-0.84. Onsets that
    sharp are never reached by the wrong file (0.30 at most, dense or not), so the lift ramp slides down from
    0.15-0.45 at onset 0.4 to 0.05-0.2 at onset 0.7.
    """
    on_part = float(np.clip((onset - 0.25) / 0.25, 0.0, 1.0))
    sharp = float(np.clip((onset - 0.4) / 0.3, 0.0, 1.0))
    lift_lo, lift_hi = 0.15 - 0.1 * sharp, 0.45 - 0.25 * sharp
    lift_part = float(np.clip((lift - lift_lo) / (lift_hi - lift_lo), 0.0, 1.0))
    return float(np.sqrt(on_part * lift_part))


def _free_scale(opts: SyncOptions, c: _Cues) -> bool:
    """Whether to search scales between the standard ratios (asked for, and enough cues to pin one)."""
    return opts.fine_scale and int((c.weights >= 1.0).sum()) >= _FREE_SCALE_CUES


def _refit_offsets(
    ref: ActivityReference, cum: F64, c: _Cues, scale: float, offsets: F64, radius: float = 0.15
) -> F64:
    order = np.argsort(c.starts, kind="stable")
    out = offsets.copy()
    for seg in _segments(offsets, order):
        sub = _Cues(c.starts[seg], c.ends[seg], c.weights[seg])
        out[seg], _ = _refine_offset(ref, cum, sub, scale, float(offsets[seg[0]]), radius)
    return out


def _segment_offsets(
    ref: ActivityReference,
    cum: F64,
    c: _Cues,
    old_scale: float,
    offsets: F64,
    segs: list[npt.NDArray[np.intp]],
    s: float,
) -> F64:
    """Each segment's offset at scale ``s``, searched around where its middle was at ``old_scale``."""
    new = offsets.copy()
    for seg in segs:
        sub = _Cues(c.starts[seg], c.ends[seg], c.weights[seg])
        mid = float(c.starts[seg].mean())
        anchor = float(offsets[seg[0]] + (old_scale - s) * mid)
        radius = 0.3 + abs(s - old_scale) * float(c.ends[seg].max() - c.starts[seg].min())
        new[seg], _ = _refine_offset(ref, cum, sub, s, anchor, min(radius, 5.0))
    return new


def _scale_with_segments(
    ref: ActivityReference,
    cum: F64,
    c: _Cues,
    scale: float,
    offsets: F64,
    segs: list[npt.NDArray[np.intp]],
    ratios: tuple[float, ...],
    fine: bool,
) -> tuple[float, F64]:
    """The scale re-chosen with the segments fixed: the candidate ratios first, then a fine search."""
    best = (_exact_score(ref, cum, c, scale, offsets), scale, offsets)
    for r in ratios:
        new = _segment_offsets(ref, cum, c, scale, offsets, segs, r)
        sc = _exact_score(ref, cum, c, r, new)
        if sc > best[0] + 1e-9:
            best = (sc, r, new)
    if not fine:
        return best[1], best[2]
    t_ref = float(np.abs(c.ends).max())
    half = 0.002 * best[1]
    while True:
        center, base = best[1], best[2]
        grid = center + np.linspace(-half, half, 9)
        step = float(grid[1] - grid[0])
        for s in grid:
            new = _segment_offsets(ref, cum, c, center, base, segs, float(s))
            sc = _exact_score(ref, cum, c, float(s), new)
            if sc > best[0] + 1e-9:
                best = (sc, float(s), new)
        if step * t_ref < 0.02:
            break
        half = step
    return best[1], best[2]


def _onset_contrast(ref: ActivityReference, c: _Cues, scale: float, offsets: F64, win: float = 0.4) -> float:
    """How sharply speech starts at the cue starts: mean speech in the ``win`` seconds after each placed
    start minus the mean in the ``win`` seconds before it, averaged over the speech cues that follow a
    pause of at least ``win`` in the file (after the speech cues before them: lyrics, effects and cues over
    ``_OVERLAY_S`` long hide no pause). Near 1 when cue starts sit on speech onsets; near 0 for cues laid
    over random or continuous speech.

    When fewer than five cues follow a pause (dense dialogue, chained cues), all speech cues count, and a
    cue without a pause before it in the file scores the dip in speech at its start instead: the speech
    within ``win`` after it and in ``win / 2`` to ``2 win`` before it (the least of the two) minus the least
    speech in a 0.1 s window from ``0.35 s`` before the start to the start. Lines 0.1-0.3 s apart leave such
    a dip under a 0.4 s window that still holds the end of the line before."""
    cum_v = ref.cumulative_v()
    a = scale * c.starts + offsets

    def mean_v(t0: F64, t1: F64) -> F64:
        return (ref.speech_integral_at(cum_v, t1) - ref.speech_integral_at(cum_v, t0)) / (t1 - t0)

    after = mean_v(a, a + win)
    contrast = after - mean_v(a - win, a)
    speech = c.weights >= 1.0
    # the pause before a cue ends at the latest end so far of the speech cues of a line's length: a lyric,
    # an effect or one cue over the whole programme (a credit, an ASS sign) on screen is no speech going on
    dur = c.ends - c.starts
    longest = max(_OVERLAY_S, 5.0 * float(np.median(dur[speech]))) if speech.any() else _OVERLAY_S
    masks = speech & (dur <= longest)
    order = np.argsort(c.starts, kind="stable")
    prev_end = np.full(len(c.starts), -np.inf)
    prev_end[order[1:]] = np.maximum.accumulate(np.where(masks, c.ends, -np.inf)[order])[:-1]
    paused = speech & (c.starts - prev_end >= win)
    if paused.sum() >= 5:
        return float(np.mean(contrast[paused]))
    if not speech.any():
        return 0.0
    around = np.minimum(after, mean_v(a - 2 * win, a - win / 2))
    least = np.min([mean_v(a - u, a - u + 0.1) for u in np.arange(0.1, 0.36, 0.05)], axis=0)
    dip = np.clip(around - least, 0.0, 1.0)
    return float(np.mean(np.where(paused, contrast, dip)[speech]))


def _agreement(ref: ActivityReference, c: _Cues, scale: float, offsets: F64) -> float:
    cum_v = ref.cumulative_v()
    a = scale * c.starts + offsets
    b = scale * c.ends + offsets
    cover = ref.speech_integral_at(cum_v, b) - ref.speech_integral_at(cum_v, a)
    dur = np.maximum(b - a, 1e-9)
    return float(np.sum(c.weights * cover) / np.sum(c.weights * dur))


def _ranges(nums: list[int]) -> str:
    """``[3, 4, 5, 9]`` -> ``"3-5, 9"``."""
    out: list[str] = []
    for n in nums:
        if out and int(out[-1].split("-")[-1]) == n - 1:
            out[-1] = f"{out[-1].split('-')[0]}-{n}"
        else:
            out.append(str(n))
    return ", ".join(out)


def _reference_name(media: object, reference: object, track: str = "") -> str:
    """What the speech was taken from, for messages: a file's name where there is one, and the audio
    stream (``track``) of a media file with several."""
    if reference is not None:
        path = reference.path if isinstance(reference, SubtitleFile) else reference
        return f"the reference {path}" if path is not None else "the reference"
    if isinstance(media, str | os.PathLike):
        return f"{track} in {media}" if track else f"the audio of {media}"
    return "the speech activity"


def sync_subtitles(
    media_or_none: str | os.PathLike[str] | SpeechActivity | None,
    subs: str | os.PathLike[str] | SubtitleFile,
    *,
    reference: str | os.PathLike[str] | SubtitleFile | None = None,
    options: SyncOptions | None = None,
    progress: Progress = SILENT,
) -> SyncResult:
    """Fit ``subs`` to the speech in ``media_or_none`` (a media file or a :class:`SpeechActivity`), or to
    the ``reference`` subtitle file when given. Raises :class:`SyncRefusedError` when the fit is not
    trustworthy (confidence under ``options.min_confidence``)."""
    opts = options or SyncOptions()
    # a MicroDVD file given by path without a frame-rate line counts the picture's frames (as the CLI and
    # qc read it); files already read keep their rate, and the media is not probed for them
    paths = not isinstance(subs, SubtitleFile) or (
        reference is not None and not isinstance(reference, SubtitleFile)
    )
    fps = picture_fps(media_or_none) if paths and isinstance(media_or_none, str | os.PathLike) else None
    sub = subs if isinstance(subs, SubtitleFile) else load_subtitles(subs, fps=fps)
    timed = [c for c in sub.cues if c.end_s > c.start_s]
    if len(timed) < 2:  # the file itself is unusable for a sync: a user error naming it (exit 2)
        where = str(sub.path) if sub.path is not None else "the subtitles"
        raise DataFormatError(
            f"has {len(timed)} timed cue{'s' * (len(timed) != 1)}; a sync needs at least two", path=where
        )
    track = ""  # the audio stream followed, where the media has several
    cut_short = ""  # a note where the media file ends early
    with progress.task("reading the reference", total=None):
        if reference is not None:
            ref_file = (
                reference if isinstance(reference, SubtitleFile) else load_subtitles(reference, fps=fps)
            )
            if not any(c.end_s > c.start_s for c in ref_file.cues):  # the user's file, not a doubtful fit
                where = str(ref_file.path) if ref_file.path is not None else "the reference"
                raise DataFormatError("the reference has no timed cues to align to", path=where)
            duration = None
            if isinstance(media_or_none, SpeechActivity):
                duration = media_or_none.duration_s
            ref = reference_activity(ref_file.cues, opts.dt, duration_s=duration)
            kind = "subtitles"
        else:
            if media_or_none is None:
                raise ConfigError("give a media file (or a SpeechActivity) or a reference subtitle file")
            if isinstance(media_or_none, SpeechActivity):
                act = media_or_none
            else:
                act, track, cut_short = _activity_from_media(media_or_none, opts.vad, opts.stream)
            ref = ActivityReference(opts.dt, act.resample(opts.dt).astype(np.float64))
            kind = f"audio:{opts.vad}"
    idx = np.array([c.index for c in timed])
    c = _Cues(
        np.array([x.start_s for x in timed]),
        np.array([x.end_s for x in timed]),
        cue_weights([x.text for x in timed]),
    )
    if c.weights.sum() <= 0:
        raise SyncRefusedError("no cue holds speech; nothing to align", confidence=0.0)
    sf = ref.speech_fraction
    speech_s = float(ref.v.sum() * ref.dt)
    if speech_s < 5.0 or sf < 0.02:
        why = (
            f"{speech_s:.1f} s of it, under the 5 s a fit needs"
            if speech_s < 5.0
            else f"{100 * sf:.1f}% of its time, under 2%"
        )
        raise SyncRefusedError(
            f"{_reference_name(media_or_none, reference, track)} has almost no speech ({why}); "
            + (
                "give a reference subtitle file with more cues"
                if reference is not None
                else "check the audio track (another: --stream N; or give --reference)"
                if track
                else "check the audio track (or give --reference)"
            )
            + (f"; {cut_short}" if cut_short else ""),
            confidence=0.0,
        )
    coarse = ref.coarsen(_COARSE)  # the grid of the wide searches, shared by the fit and the prominence
    with progress.task("aligning", total=None):
        scale, offsets, total, _, dropped = _fit(ref, coarse, c, opts, ref.duration_s)
    notes: list[str] = [cut_short] if cut_short else []
    if track:
        notes.append(f"the speech was taken from {track} in {media_or_none} (another: --stream N)")
    before = _agreement(ref, c, 1.0, np.zeros(len(c.starts)))
    full = c
    c = c.kept(dropped)  # the cues of a scene cut from the media say nothing about the fit
    scored = c
    if kind.startswith("audio"):
        # nor do cues placed outside the media's audio (past the end of a truncated download or an
        # excerpt): nothing was heard there, which is not silence against them
        placed_s, placed_e = scale * c.starts + offsets, scale * c.ends + offsets
        heard = c.kept((placed_s >= ref.duration_s) | (placed_e <= 0.0))
        scored = heard if heard.weights.sum() > 0 else c
    peak = _segment_prominence(coarse, scored, scale, offsets, _max_offset(opts, ref.duration_s, c))
    onset = _onset_contrast(ref, scored, scale, offsets)
    after = _agreement(ref, scored, scale, offsets)
    lift = float(np.clip((after - sf) / max(1e-6, 1.0 - sf), 0.0, 1.0))
    confidence = _confidence(onset, lift)
    n_speech = int((scored.weights >= 1.0).sum())
    ambiguous = False
    if n_speech < _FREE_SCALE_CUES:
        # a few cues fit many places about as well: the fit must stand out from every other placement (at
        # its scale or unscaled) that moves the cues by over 2 s on average, by a tenth of the cue time (0)
        # to a fifth (1); on 76 files of 2-24 cues taken from a programme's cues (shifted 5-40 s) it refused
        # 11 of the 13 wrong fits and passed 57 of the 63 right ones
        margin = _placement_margin(coarse, scored, scale, offsets, _max_offset(opts, ref.duration_s, c))
        sure = float(np.clip((margin - 0.1) / 0.1, 0.0, 1.0))
        ambiguous = sure < confidence and sure < opts.min_confidence
        confidence = min(confidence, sure)
    order = np.argsort(c.starts, kind="stable")
    segs = _segments(offsets, order)
    first_offset = float(offsets[segs[0][0]])
    if scale == 1.0 and len(segs) == 1 and abs(first_offset) <= opts.snap_s:
        first_offset = 0.0
        offsets = np.zeros_like(offsets)
    splits = tuple(
        Split(float(c.starts[seg[0]]), float(offsets[seg[0]]), int(idx[seg[0]])) for seg in segs[1:]
    )
    # cues dropped at a cut: 0-length where the cue before them ends (their scene is not in the media)
    removed: dict[int, float] = {}
    last_end = 0.0
    for i in order.tolist():
        if dropped[i]:
            removed[int(idx[i])] = last_end
        else:
            last_end = max(last_end, float(scale * full.ends[i] + offsets[i]))
    if kind.startswith("audio"):
        # cues placed past the end of the media's audio are shown nowhere: say so (a cut the fit missed puts
        # the last cues there; a media file shorter than the programme too)
        placed = scale * c.starts + offsets
        past = sorted(int(idx[i]) for i in np.flatnonzero((placed >= ref.duration_s) & (c.weights > 0)))
        if past:
            notes.append(
                f"{len(past)} cue{'s' * (len(past) != 1)} ({_ranges([n + 1 for n in past])}) placed past the "
                f"end of the media's audio ({ref.duration_s:.1f} s): check the media is complete, or the fit"
            )
    if removed:
        nums = sorted(removed)
        notes.append(
            f"{len(nums)} cue{'s' * (len(nums) != 1)} ({_ranges([n + 1 for n in nums])}) belong to a scene "
            "cut from the media: written 0-length (hidden) where the cue before them ends"
        )
    # per cue of the file (untimed cues follow the offset of the cue before them)
    per_cue = np.zeros(len(sub.cues))
    pos = {int(i): k for k, i in enumerate(idx)}
    last = first_offset
    for j in range(len(sub.cues)):
        if j in pos:
            last = float(offsets[pos[j]])
        per_cue[j] = last
    result = SyncResult(
        offset_s=first_offset,
        scale=float(scale),
        splits=splits,
        confidence=confidence,
        score=float(total),
        agreement=after,
        agreement_before=before,
        lift=lift,
        peak=peak,
        onset=onset,
        speech_fraction=sf,
        reference=kind,
        cue_offsets=per_cue,
        notes=tuple(notes),
        removed=removed,
    )
    if confidence < opts.min_confidence:
        fit = f"the fit to {track}" if track else "the fit"
        why = (
            f"{fit} is not trustworthy (confidence {confidence:.2f} < {opts.min_confidence:.2f}: "
            f"{100 * after:.0f}% of the cue time over speech against {100 * sf:.0f}% by chance, speech "
            f"onsets at the cue starts {onset:.2f}); "
        )
        far = _out_of_range(ref, c, opts)
        if ambiguous and not far:
            far = (
                f"its {n_speech} speech cue{'s' * (n_speech != 1)} fit another placement nearly as well: too "
                "few to place reliably (give --reference with a full subtitle file, or --min-confidence 0 to "
                "take the fit anyway)"
            )
        wrong = "is this the right subtitle file for this media" + (
            ", and the right audio stream (another: --stream N)?" if track else "?"
        )
        if cut_short:  # the media, not the subtitles, is the likelier fault
            wrong = f"{cut_short}: check the media first"
        raise SyncRefusedError(why + (far or wrong), confidence=confidence)
    return result


def _out_of_range(ref: ActivityReference, c: _Cues, opts: SyncOptions) -> str | None:
    """Why a refused fit may be a search range too narrow, not the wrong file: most of the cue time lies
    outside the speech's (or reference cues') span and the cues start further from the speech than the
    largest offset searched (a file on a 10:00:00 timeline against media from 0)."""
    speech = np.flatnonzero(ref.v >= 0.5)
    if not len(speech) or not len(c.starts):
        return None
    first_speech, last_speech = float(speech[0] * ref.dt), float((speech[-1] + 1) * ref.dt)
    first_cue = float(c.starts.min())
    inside = np.clip(c.ends, first_speech, last_speech) - np.clip(c.starts, first_speech, last_speech)
    if float(inside.sum()) > 0.5 * float(np.sum(c.ends - c.starts)):
        return None
    max_off = _max_offset(opts, ref.duration_s, c)
    if abs(first_speech - first_cue) <= max_off:
        return None
    return (
        f"the cues start at {first_cue:.1f} s and the speech at {first_speech:.1f} s, further apart than the "
        f"largest offset searched ({max_off:.0f} s): give a larger maximum offset (--max-offset)"
    )


def apply_sync(subs: SubtitleFile, result: SyncResult) -> SubtitleFile:
    """``subs`` with the fitted times (the same object when the result leaves it unchanged)."""
    if result.unchanged:
        return subs
    return subs.with_times(
        [(result.cue_time(c.index, c.start_s), result.cue_time(c.index, c.end_s)) for c in subs.cues]
    )


def write_synced(subs: SubtitleFile, result: SyncResult, out: str | os.PathLike[str]) -> list[Cue]:
    """Write the re-timed file to ``out`` (a byte-for-byte copy of the file read when nothing changes and
    ``subs`` still holds the times as read); returns the cues that had to be clamped at zero."""
    as_read = subs._base_times == [(c.start_s, c.end_s) for c in subs.cues]
    if result.unchanged and as_read and subs.path is not None and Path(subs.path).exists():
        atomic_write_bytes(check_output_path(out), Path(subs.path).read_bytes())
        return []
    return write_subtitles(apply_sync(subs, result), out)


def _max_offset(opts: SyncOptions, duration_s: float, c: _Cues) -> float:
    """The offset search range: ``max_offset_s`` (default ``max(60 s, half the media)``), but never past the
    point where every cue would lie outside the media (a huge value only cost memory: 1e7 s, 1e300 s)."""
    given = opts.max_offset_s or max(60.0, 0.5 * duration_s)
    end = float(np.abs(c.ends).max()) if len(c.ends) else 0.0
    # a time t of the file lands at scale * t + offset: at the largest scale searched (the fine scale goes
    # 0.5 % past the ratios) a file starting at 10:00:00 needs an offset of 10 h times that scale
    widest = max(opts.ratios) * 1.01 if opts.fine_scale else max(opts.ratios)
    return min(given, duration_s + widest * end + 60.0)
