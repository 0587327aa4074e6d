"""Quality control of a deliverable: loudness against a delivery spec, audio faults, subtitles, video.

:func:`run_qc` reads the media's audio once and checks:

- ``loudness`` / ``true_peak`` / ``loudness_range``: the programme (or dialogue-gated) loudness against the
  spec's target and tolerance, the true peak against its ceiling (each stretch over it, with timecodes);
- ``clipping``: runs of at least ``clip_run_samples`` consecutive samples stuck at one value at full scale
  (at or over ``clip_level``, or the file's largest positive code where that is lower: 127/128 in 8 bits),
  or over full scale (a float file's overs), on a channel;
- ``silence``: stretches of at least ``silence_min_s`` with every channel under ``silence_dbfs``;
- ``audio_start``: a soundtrack that starts after the programme (a delayed audio stream): every audio
  finding is on the file's timeline, as the picture's and the subtitles' are, its lead-in no silence;
- ``silent_channel`` and ``phase``: a channel with nothing on it while others play; a stereo (or surround)
  pair whose correlation is strongly negative (polarity inverted) over stretches of the programme;
- subtitle timing (``reelkit.post.subs.check_subtitles``) and sync (``sync_subtitles``, when it exists) with
  ``subs=``; video findings (``reelkit.post.video.video_qc``) when the media has a picture.

Checks whose module is not installed are skipped with a note in the report. The report renders to a
self-contained HTML page (findings with timecodes and severities, a loudness-over-time plot) and to JSON.
"""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from fractions import Fraction
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field

from reelkit._files import atomic_path, check_output_file
from reelkit.errors import ConfigError, ReelkitError, TimeLimitError
from reelkit.post.audio import LEAD_IN_MIN_S, Audio
from reelkit.post.findings import Finding, Severity, timecode
from reelkit.post.loudness import LoudnessResult, Meter, channel_names
from reelkit.progress import SILENT, Progress

if TYPE_CHECKING:
    from reelkit.media import MediaInfo

__all__ = [
    "SPECS",
    "DeliverySpec",
    "QCOptions",
    "QCReport",
    "audio_findings",
    "get_spec",
    "measure_soundtrack",
    "render_html",
    "run_qc",
    "write_report",
]


class DeliverySpec(BaseModel):
    """A loudness delivery specification (round-trips through JSON)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    title: str
    #: What the target applies to: the whole programme, or the dialogue-gated loudness.
    measure: Literal["integrated", "dialogue"]
    target_lufs: float = Field(ge=-70, le=0)
    tolerance_lu: float = Field(gt=0, le=10)
    max_true_peak_dbtp: float = Field(ge=-20, le=0)
    #: Loudness range above this is a warning (None: not checked).
    max_lra_lu: float | None = None
    unit: str = "LUFS"
    #: For a dialogue-gated spec: the full programme's integrated loudness target checked when the
    #: dialogue-gated check fails or no dialogue is measured (Netflix's QC procedure: a mix that fails the
    #: dialogue-gated -27 is not flagged when its full-programme loudness meets -24). None: no second check;
    #: the integrated loudness is then held to ``target_lufs`` when there is no dialogue.
    fallback_target_lufs: float | None = Field(None, ge=-70, le=0)
    fallback_tolerance_lu: float | None = Field(None, gt=0, le=10)


SPECS: dict[str, DeliverySpec] = {
    "netflix": DeliverySpec(
        name="netflix",
        title="Netflix (dialogue-gated -27 LKFS ±2, else full programme -24 ±2; true peak ≤ -2 dBTP)",
        measure="dialogue",
        target_lufs=-27.0,
        tolerance_lu=2.0,
        max_true_peak_dbtp=-2.0,
        unit="LKFS",
        # Netflix Partner Help "Loudness and True Peaks: How to Measure and When to Flag": measure
        # dialogue-gated first; if it fails, measure the full programme (BS.1770-4) against -24 and flag
        # only when that fails too (a mix with little dialogue, e.g. 15% or less, is held to -24)
        fallback_target_lufs=-24.0,
        fallback_tolerance_lu=2.0,
    ),
    "ebu-r128": DeliverySpec(
        name="ebu-r128",
        title="EBU R128 (-23 LUFS ±0.5, true peak ≤ -1 dBTP)",
        measure="integrated",
        target_lufs=-23.0,
        tolerance_lu=0.5,
        max_true_peak_dbtp=-1.0,
        max_lra_lu=20.0,
    ),
    "atsc-a85": DeliverySpec(
        name="atsc-a85",
        title="ATSC A/85 (-24 LKFS ±2, true peak ≤ -2 dBTP)",
        measure="integrated",
        target_lufs=-24.0,
        tolerance_lu=2.0,
        max_true_peak_dbtp=-2.0,
        unit="LKFS",
    ),
}


def get_spec(name: str | DeliverySpec) -> DeliverySpec:
    """A spec by name (``netflix``, ``ebu-r128``, ``atsc-a85``), or the spec given."""
    if isinstance(name, DeliverySpec):
        return name
    key = name.strip().lower()
    if key not in SPECS:
        raise ConfigError(f"unknown delivery spec {name!r}; choose one of {', '.join(SPECS)}")
    return SPECS[key]


@dataclass(frozen=True)
class QCOptions:
    """Thresholds of the audio checks."""

    clip_level: float = 0.999  # |sample| at or above this is at full scale (-0.009 dBFS)
    clip_run_samples: int = 3
    silence_dbfs: float = -60.0
    silence_min_s: float = 2.0
    silent_channel_dbfs: float = -70.0
    phase_window_s: float = 1.0
    phase_correlation: float = -0.5  # windows below this correlation are out of phase
    phase_min_s: float = 2.0
    merge_gap_s: float = 0.5
    max_findings_per_kind: int = 50
    vad: Literal["silero", "webrtc", "none"] = "silero"
    video: bool = True
    sync: bool = True
    sync_tolerance_s: float = 0.25  # a fitted offset this small counts as in sync
    subs_encoding: str | None = None  # the subtitle file's text encoding (detected when None)

    def validate(self) -> QCOptions:
        if not 0.5 < self.clip_level <= 1.0:
            raise ConfigError("clip_level must lie in (0.5, 1]")
        if self.clip_run_samples < 1 or self.silence_min_s <= 0 or self.phase_window_s <= 0:
            raise ConfigError("clip_run_samples, silence_min_s and phase_window_s must be positive")
        return self


@dataclass(frozen=True)
class QCReport:
    """The result of :func:`run_qc`: measurements, findings (sorted by time), notes and the plot."""

    media: str
    spec: DeliverySpec
    loudness: LoudnessResult
    programme_lufs: float | None  # the figure the verdict on loudness was given by
    findings: tuple[Finding, ...]
    notes: tuple[str, ...]
    subs: str | None = None
    has_video: bool = False
    plot_png: bytes | None = field(default=None, repr=False)
    #: What ``programme_lufs`` is: ``dialogue`` (gated) when the spec asks for it and speech was measured
    #: (and it passed, or the spec has no fallback), else ``integrated``.
    programme_measure: Literal["dialogue", "integrated"] = "integrated"
    #: The target and tolerance ``programme_lufs`` was held to (the spec's, or its fallback's).
    programme_target: tuple[float, float] | None = None
    #: The media's own start timecode (``01:00:00:00``) and picture rate, when it has them: findings are
    #: also given in the timecode an edit system shows the file at.
    start_timecode: str | None = None
    fps: float | None = None

    def source_timecode(self, seconds: float) -> str | None:
        """``seconds`` from the file's start as the file's own timecode (``None`` when it carries none)."""
        if self.start_timecode is None or not self.fps:
            return None
        return timecode(seconds, self.fps, self.start_timecode)

    @property
    def passed(self) -> bool:
        """No finding of severity ``error``."""
        return not any(f.severity == "error" for f in self.findings)

    def counts(self) -> dict[str, int]:
        out = {"error": 0, "warning": 0, "info": 0}
        for f in self.findings:
            out[f.severity] = out.get(f.severity, 0) + 1
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-able summary (non-finite numbers become ``None``)."""

        def fin(v: float | None) -> float | None:
            return float(v) if v is not None and math.isfinite(v) else None

        lo = self.loudness
        return {
            "media": self.media,
            "subs": self.subs,
            "spec": self.spec.model_dump(),
            "passed": self.passed,
            "counts": self.counts(),
            "programme_lufs": fin(self.programme_lufs),
            "programme_measure": self.programme_measure,
            "programme_target_lufs": None if self.programme_target is None else self.programme_target[0],
            "programme_tolerance_lu": None if self.programme_target is None else self.programme_target[1],
            "loudness": {
                **lo.summary(),
                "duration_s": lo.duration_s,
                "sample_rate": lo.sample_rate,
                "channels": lo.channels,
                "true_peak_time_s": lo.true_peak_time_s,
                "dialogue_isolated_lufs": fin(lo.dialogue_isolated_lufs),
                # the mix while someone speaks: what dialogue-gated specs check and what
                # 'reelkit loudness normalize --reference dialogue' sets
                "dialogue_gated_lufs": fin(lo.dialogue_lufs),
            },
            "start_timecode": self.start_timecode,
            "findings": [
                {
                    **f.to_dict(),
                    "timecode": timecode(f.start_s),
                    "source_timecode": self.source_timecode(f.start_s),
                }
                for f in self.findings
            ],
            "notes": list(self.notes),
        }


# -- audio checks ---------------------------------------------------------------------------------------


def _runs(mask: npt.NDArray[np.bool_]) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Start and end (exclusive) indices of the runs of True in ``mask``."""
    if mask.size == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    d = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return np.flatnonzero(d == 1), np.flatnonzero(d == -1)


def _merge(spans: Iterable[tuple[float, float]], gap: float) -> list[tuple[float, float, int]]:
    """Merge spans closer than ``gap``; each merged span carries how many it joined."""
    out: list[tuple[float, float, int]] = []
    for s, e in sorted(spans):
        if out and s - out[-1][1] <= gap:
            ps, pe, n = out[-1]
            out[-1] = (ps, max(pe, e), n + 1)
        else:
            out.append((s, e, 1))
    return out


def _capped(findings: list[Finding], kind: str, cap: int) -> list[Finding]:
    if len(findings) <= cap:
        return findings
    rest = findings[cap:]
    note = Finding(
        kind=kind,
        start_s=rest[0].start_s,
        end_s=rest[-1].end_s,
        severity=rest[0].severity,
        message=f"... and {len(rest)} more {kind} findings (list cut at {cap})",
        source="audio",
    )
    return [*findings[:cap], note]


def _clipped_runs(a: npt.NDArray[np.float32], level: float, min_run: int) -> list[tuple[int, int]]:
    """Runs (start, end exclusive) of at least ``min_run`` clipped samples of one channel: stuck at one value
    at full scale (a low tone near full scale has many samples over ``level``, all different), or over full
    scale (a float file's overs). A chunk at a time (with a sample of context each side, a run carried
    across): whole-channel masks made QC need 3.6 times a feature-length programme's samples."""
    n = a.shape[0]
    out: list[tuple[int, int]] = []
    open_start: int | None = None  # a run reaching the end of the chunk before
    for s in range(0, n, _CHUNK_FRAMES):
        e = min(n, s + _CHUNK_FRAMES)
        lo, hi = max(0, s - 1), min(n, e + 1)
        mag = np.abs(a[lo:hi])
        full = mag >= level
        stuck = full  # a run of one sample (min_run 1): any at full scale
        if min_run > 1:
            seg = a[lo:hi]
            step = full[1:] & full[:-1] & (seg[1:] == seg[:-1])
            stuck = np.zeros_like(full)
            stuck[1:] |= step
            stuck[:-1] |= step
        mask = (stuck | (mag > 1.0))[s - lo : e - lo]
        starts, ends = _runs(mask)
        runs = [(int(b) + s, int(f) + s) for b, f in zip(starts, ends, strict=True)]
        if open_start is not None:
            if runs and runs[0][0] == s:
                runs[0] = (open_start, runs[0][1])
            else:
                runs.insert(0, (open_start, s))
            open_start = None
        if runs and runs[-1][1] == e and e < n:  # it may go on in the next chunk
            open_start = runs.pop()[0]
        out.extend(r for r in runs if r[1] - r[0] >= min_run)
    return out


def _clipping(
    x: npt.NDArray[np.float32], rate: int, opt: QCOptions, names: list[str], bits: int | None = None
) -> list[Finding]:
    level = opt.clip_level
    if bits is not None:  # the largest positive code of a low bit depth lies under clip_level (8 bits: 0.992)
        level = min(level, 1.0 - 2.0 ** (1 - bits))
    spans: list[tuple[float, float]] = []
    chans: dict[tuple[float, float], set[int]] = {}
    for c in range(x.shape[1]):
        for first, end in _clipped_runs(x[:, c], level, opt.clip_run_samples):
            span = (first / rate, end / rate)
            spans.append(span)
            chans.setdefault(span, set()).add(c)
    out: list[Finding] = []
    for s, e, n in _merge(spans, opt.merge_gap_s):
        where = sorted({names[c] for span, cs in chans.items() if s <= span[0] <= e for c in cs})
        out.append(
            Finding(
                kind="clipping",
                start_s=s,
                end_s=e,
                severity="error",
                message=f"{n} run(s) of {opt.clip_run_samples}+ samples stuck at (or over) full scale on "
                f"{', '.join(where)}",
                source="audio",
            )
        )
    return _capped(out, "clipping", opt.max_findings_per_kind)


_CHUNK_FRAMES = 1 << 21  # about 45 s at 48 kHz: the float64 work arrays stay small on long programmes


def _segment_power(x: npt.NDArray[np.float32], rate: int, seg_s: float) -> npt.NDArray[np.float64]:
    """Mean square per channel over consecutive ``seg_s`` stretches: ``(segments, channels)``."""
    n = max(1, round(seg_s * rate))
    k = x.shape[0] // n
    power = np.zeros((k, x.shape[1]))
    per = max(1, _CHUNK_FRAMES // n)
    for s in range(0, k, per):
        e = min(k, s + per)
        xs = x[s * n : e * n].astype(np.float64).reshape(e - s, n, x.shape[1])
        power[s:e] = np.einsum("knc,knc->kc", xs, xs) / n
    return power


def _pair_stats(
    x: npt.NDArray[np.float32], a: int, b: int, win: int
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Per window of ``win`` frames: the power of channels ``a`` and ``b`` and their correlation."""
    k = x.shape[0] // win
    pa, pb, corr = np.zeros(k), np.zeros(k), np.zeros(k)
    per = max(1, _CHUNK_FRAMES // win)
    for s in range(0, k, per):
        e = min(k, s + per)
        xa = x[s * win : e * win, a].astype(np.float64).reshape(e - s, win)
        xb = x[s * win : e * win, b].astype(np.float64).reshape(e - s, win)
        xa -= xa.mean(axis=1, keepdims=True)
        xb -= xb.mean(axis=1, keepdims=True)
        pa[s:e], pb[s:e] = (xa * xa).mean(axis=1), (xb * xb).mean(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            corr[s:e] = (xa * xb).mean(axis=1) / np.sqrt(pa[s:e] * pb[s:e])
    return pa, pb, corr


def _silences(x: npt.NDArray[np.float32], rate: int, opt: QCOptions) -> list[Finding]:
    seg = 0.05
    power = _segment_power(x, rate, seg)
    if power.size == 0:
        return []
    floor = 10.0 ** (opt.silence_dbfs / 10.0)
    quiet = power.max(axis=1) < floor
    starts, ends = _runs(quiet)
    total = x.shape[0] / rate
    # the part-segment after the last whole one (under 50 ms) is measured too: sound there ends the last run
    rest = x[len(quiet) * max(1, round(seg * rate)) :].astype(np.float64)
    rest_loud = rest.shape[0] > 0 and float((rest * rest).mean(axis=0).max()) >= floor
    out: list[Finding] = []
    for s, e in zip(starts, ends, strict=True):
        t0, t1 = s * seg, min(e * seg, total)
        # a run to the programme's last sample is a tail (its end the programme's end); one that stops
        # before a last stretch with sound in it is not (it read as silence of the whole programme)
        tail = e == len(quiet) and not rest_loud
        if tail:
            t1 = total
        if t1 - t0 < opt.silence_min_s:
            continue
        whole = t0 <= 0.0 and tail
        sev: Severity = "error" if whole else "warning"
        where = "the whole programme" if whole else "head" if t0 <= 0 else "tail" if tail else ""
        msg = f"silence of {t1 - t0:.1f} s (all channels under {opt.silence_dbfs:.0f} dBFS)"
        out.append(
            Finding(
                "silence", t0, t1, sev, msg + (f" at the {where}" if where and not whole else ""), "audio"
            )
        )
    return _capped(out, "silence", opt.max_findings_per_kind)


def _channel_findings(
    x: npt.NDArray[np.float32], rate: int, opt: QCOptions, names: list[str]
) -> list[Finding]:
    channels = x.shape[1]
    if channels < 2:
        return []
    duration = x.shape[0] / rate
    out: list[Finding] = []
    ms = np.zeros(channels)
    for s in range(0, x.shape[0], _CHUNK_FRAMES):
        part = x[s : s + _CHUNK_FRAMES].astype(np.float64)
        ms += np.einsum("nc,nc->c", part, part)
    ms /= max(x.shape[0], 1)
    with np.errstate(divide="ignore"):
        level = 10.0 * np.log10(ms)
    loudest = float(level.max())
    if loudest > opt.silent_channel_dbfs + 20:
        for c in range(channels):
            if level[c] < opt.silent_channel_dbfs:
                lfe = names[c] == "LFE"
                out.append(
                    Finding(
                        "silent_channel",
                        0.0,
                        duration,
                        "warning" if lfe else "error",
                        f"channel {c + 1} ({names[c]}) is silent ({level[c]:.0f} dBFS RMS) "
                        f"while others play (loudest {loudest:.0f} dBFS)",
                        "audio",
                    )
                )
    # left/right pairs by name (FL/FR, BL/BR, SL/SR, FLC/FRC, TFL/TFR, ...): by position, a 7.1's side
    # pair went unchecked and a 4.0's FC/BC was checked as a pair
    index = {n: i for i, n in enumerate(names)}
    pairs = [
        (i, index[mirror])
        for i, n in enumerate(names)
        if "L" in n and (mirror := n[: n.rindex("L")] + "R" + n[n.rindex("L") + 1 :]) in index
    ]
    win = max(1, round(opt.phase_window_s * rate))
    k = x.shape[0] // win
    active_floor = 10.0 ** ((opt.silent_channel_dbfs + 20) / 10.0)
    for a, b in pairs:
        if k == 0:
            break
        pa, pb, corr = _pair_stats(x, a, b, win)
        active = (pa > active_floor) & (pb > active_floor)
        bad = active & (corr < opt.phase_correlation)
        starts, ends = _runs(bad)
        pair = f"{names[a]}/{names[b]}"
        if active.any() and bad.sum() >= 0.9 * active.sum():
            out.append(
                Finding(
                    "phase",
                    0.0,
                    duration,
                    "error",
                    f"{pair} out of phase over the whole programme (median correlation "
                    f"{float(np.median(corr[active])):+.2f}): one channel's polarity looks inverted",
                    "audio",
                )
            )
            continue
        for s, e in zip(starts, ends, strict=True):
            t0, t1 = s * opt.phase_window_s, e * opt.phase_window_s
            if t1 - t0 < opt.phase_min_s:
                continue
            out.append(
                Finding(
                    "phase",
                    t0,
                    t1,
                    "warning",
                    f"{pair} out of phase (correlation {float(corr[s:e].mean()):+.2f}); "
                    "it will cancel when downmixed to mono",
                    "audio",
                )
            )
    return out


TRUE_PEAK_TOLERANCE_DB = 0.005
"""How far over the ceiling a true peak may read before it is a finding (quantisation, not overshoot)."""


def _fmt(v: float | None, unit: str = "") -> str:
    """Two decimals, as the findings: at one, -23.54 LUFS read -23.5 beside a FAIL for a target of
    -23 +-0.5, and a -0.97 dBTP peak read -1.0 under a -1.0 ceiling."""
    if v is None or not math.isfinite(v):
        return "n/a"
    return f"{v:.2f}{(' ' + unit) if unit else ''}"


def _checks_dialogue(spec: DeliverySpec, lo: LoudnessResult) -> bool:
    """Whether the spec's target applies to the dialogue-gated loudness: asked for, and speech measured
    (else the integrated loudness is checked instead)."""
    d = lo.dialogue_lufs
    return spec.measure == "dialogue" and d is not None and math.isfinite(d)


@dataclass(frozen=True)
class _LoudnessCheck:
    """What the loudness verdict was given by: the figure, what it measures, and its target band."""

    lufs: float | None
    measure: Literal["dialogue", "integrated"]
    target: float
    tolerance: float


def _loudness_check(spec: DeliverySpec, lo: LoudnessResult, notes: list[str]) -> tuple[_LoudnessCheck, str]:
    """The check the spec asks of ``lo`` (its fallback when dialogue-gated fails or cannot be measured),
    and a lead-in for the finding when the dialogue-gated figure failed before the fallback passed or
    failed too."""
    fallback = spec.fallback_target_lufs if spec.measure == "dialogue" else None
    band = (fallback, spec.fallback_tolerance_lu or spec.tolerance_lu) if fallback is not None else None
    if _checks_dialogue(spec, lo):
        d = float(lo.dialogue_lufs)  # type: ignore[arg-type]
        diff = d - spec.target_lufs
        if abs(diff) <= spec.tolerance_lu + 1e-9 or band is None:
            return _LoudnessCheck(d, "dialogue", spec.target_lufs, spec.tolerance_lu), ""
        lead = (
            f"dialogue-gated loudness {d:.2f} {spec.unit} is {abs(diff):.2f} LU "
            f"{'above' if diff > 0 else 'below'} the target {spec.target_lufs:g} ±{spec.tolerance_lu:g}; "
        )
        return _LoudnessCheck(lo.integrated_lufs, "integrated", band[0], band[1]), lead
    if spec.measure == "dialogue":
        instead = (
            f"the full programme's integrated loudness is checked against {band[0]:g} ±{band[1]:g} instead"
            if band is not None
            else "the integrated loudness is checked instead"
        )
        notes.append(
            "the spec targets dialogue-gated loudness, but no dialogue was measured "
            f"({'no speech found' if lo.speech_fraction is not None else 'no speech detector'}); {instead}"
        )
        if band is not None:
            return _LoudnessCheck(lo.integrated_lufs, "integrated", band[0], band[1]), ""
    return _LoudnessCheck(lo.integrated_lufs, "integrated", spec.target_lufs, spec.tolerance_lu), ""


def _loudness_findings(
    x: npt.NDArray[np.float32], rate: int, lo: LoudnessResult, spec: DeliverySpec, opt: QCOptions
) -> tuple[list[Finding], _LoudnessCheck, list[str]]:
    notes: list[str] = []
    out: list[Finding] = []
    duration = lo.duration_s
    check, lead = _loudness_check(spec, lo, notes)
    programme: float | None = check.lufs
    label = "dialogue-gated loudness" if check.measure == "dialogue" else "integrated loudness"
    if lead:
        label = f"{lead}the full programme's integrated loudness"
    if programme is None or not math.isfinite(programme):
        out.append(Finding("loudness", 0.0, duration, "error", lo.no_loudness_note(), "loudness"))
        programme = None
    else:
        diff = programme - check.target
        ok = abs(diff) <= check.tolerance + 1e-9
        sev: Severity = "info" if ok else "error"
        where = "within" if ok else ("above" if diff > 0 else "below")
        out.append(
            Finding(
                "loudness",
                0.0,
                duration,
                sev,
                # two decimals: at one, -23.54 read "-23.5 ... 0.5 LU below" next to a FAIL
                f"{label} {programme:.2f} {spec.unit} is {abs(diff):.2f} LU {where} "
                f"{'the tolerance of ' if ok else 'the target '}{check.target:g} ±{check.tolerance:g}",
                "loudness",
            )
        )
    ceiling = spec.max_true_peak_dbtp
    # over by less than 0.005 dB is PCM quantisation of a peak limited to the ceiling, not an overshoot (and
    # would read as "-1.00 dBTP over -1 dBTP")
    if lo.true_peak_dbtp > ceiling + TRUE_PEAK_TOLERANCE_DB:
        from reelkit.post.normalize import true_peak_envelope

        env = true_peak_envelope(x, rate)
        starts, ends = _runs(env > 10.0 ** ((ceiling + TRUE_PEAK_TOLERANCE_DB) / 20.0))
        spans = _merge(((s / rate, e / rate) for s, e in zip(starts, ends, strict=True)), opt.merge_gap_s)
        tp_f = [
            Finding(
                "true_peak",
                s,
                e,
                "error",
                f"true peak over {ceiling:g} dBTP ({n} peak(s); loudest {lo.true_peak_dbtp:.2f} dBTP at "
                f"{timecode(lo.true_peak_time_s)})"
                if s <= lo.true_peak_time_s <= e + 1.0 / rate
                else f"true peak over {ceiling:g} dBTP ({n} peak(s))",
                "loudness",
            )
            for s, e, n in spans
        ]
        out.extend(_capped(tp_f, "true_peak", opt.max_findings_per_kind))
    else:
        out.append(
            Finding(
                "true_peak",
                lo.true_peak_time_s,
                None,
                "info",
                f"true peak {lo.true_peak_dbtp:.1f} dBTP (ceiling {ceiling:g} dBTP)"
                if math.isfinite(lo.true_peak_dbtp)
                else f"true peak: none, the programme is silent (ceiling {ceiling:g} dBTP)",
                "loudness",
            )
        )
    if spec.max_lra_lu is not None and math.isfinite(lo.lra_lu) and lo.lra_lu > spec.max_lra_lu:
        out.append(
            Finding(
                "loudness_range",
                0.0,
                duration,
                "warning",
                f"loudness range {lo.lra_lu:.1f} LU is wider than {spec.max_lra_lu:g} LU",
                "loudness",
            )
        )
    return out, check, notes


def audio_findings(
    samples: npt.NDArray[np.float32],
    sample_rate: int,
    options: QCOptions | None = None,
    *,
    layout: str | None = None,
    bits: int | None = None,
) -> list[Finding]:
    """Clipping, long silences, silent channels and phase problems of ``samples`` ``(frames, channels)``;
    ``layout`` (ffmpeg's name, ``Audio.layout``) names the channels, by default from their count; ``bits``:
    the file's PCM bit depth (its largest positive code is full scale), ``None`` for float or unknown."""
    opt = (options or QCOptions()).validate()
    x = np.asarray(samples, dtype=np.float32)
    if x.ndim == 1:
        x = x[:, None]
    names = channel_names(x.shape[1], layout)
    return [
        *_clipping(x, sample_rate, opt, names, bits),
        *_silences(x, sample_rate, opt),
        *_channel_findings(x, sample_rate, opt, names),
    ]


def measure_soundtrack(
    audio: Audio, meter: Meter, *, speech_mask: tuple[float, npt.NDArray[Any]] | None = None
) -> LoudnessResult:
    """The loudness of ``audio`` read ``on_timeline``: measured on the soundtrack itself (a delayed one's
    lead-in of padded silence left out: the 400 ms and 3 s windows over its start, part silence, lowered a
    steady tone's integrated loudness by 0.12 LU and made its LRA 6.9 LU), with its times (true peak,
    curves) and duration on the file's timeline. ``speech_mask``: on the timeline, as the samples."""
    from dataclasses import replace

    x, rate = audio.samples, audio.sample_rate
    lead = round(audio.start_s * rate)
    if not 0 < lead < x.shape[0]:
        return meter.measure(x, rate, speech_mask=speech_mask, layout=audio.layout)
    if speech_mask is not None:
        frame_s, mask = speech_mask
        speech_mask = (frame_s, mask[min(round(lead / rate / frame_s), len(mask)) :])
    lo = meter.measure(x[lead:], rate, speech_mask=speech_mask, layout=audio.layout)
    shift = lead / rate
    curve = lo.curve
    if curve is not None:
        curve = replace(
            curve,
            momentary_times_s=curve.momentary_times_s + shift,
            short_term_times_s=curve.short_term_times_s + shift,
        )
    return replace(
        lo, true_peak_time_s=lo.true_peak_time_s + shift, duration_s=x.shape[0] / rate, curve=curve
    )


def _shifted(found: list[Finding], by_s: float) -> list[Finding]:
    """Findings of samples that start ``by_s`` into the programme, on the programme's timeline."""
    if not by_s:
        return found
    from dataclasses import replace

    return [
        replace(f, start_s=f.start_s + by_s, end_s=None if f.end_s is None else f.end_s + by_s) for f in found
    ]


# -- other modules (optional) ---------------------------------------------------------------------------


def _speech_activity(x: npt.NDArray[np.float32], rate: int, method: str, notes: list[str]) -> Any:
    """The speech activity of the programme (``reelkit.post.vad``), or None with a note when unavailable."""
    if method == "none":
        notes.append("speech detection is off (--vad none): no dialogue loudness or subtitle sync check")
        return None
    try:
        from reelkit.post.vad import speech_activity
    except ImportError:
        notes.append(
            "no voice-activity detector (reelkit.post.vad): no dialogue loudness or subtitle sync check"
        )
        return None
    from reelkit.post.loudness import _to_16k_mono

    try:
        return speech_activity(_to_16k_mono(x, rate), 16000, method=method)  # type: ignore[arg-type]
    except TimeLimitError:
        raise  # the job's time limit: the whole QC stops, it is not a failed check
    except ReelkitError as exc:
        notes.append(f"speech detection failed ({exc}): no dialogue loudness or subtitle sync check")
        return None


def _subtitle_findings(
    subs: Path, activity: Any, duration_s: float, opt: QCOptions, notes: list[str], fps: float | None = None
) -> list[Finding]:
    from reelkit.errors import SyncRefusedError
    from reelkit.post.subs import SubtitleRules, SyncOptions, check_subtitles, load_subtitles, sync_subtitles

    # parsed once for both checks; a MicroDVD file without a frame-rate line counts the picture's frames
    sub_file = load_subtitles(subs, encoding=opt.subs_encoding, fps=fps)
    notes.extend(sub_file.notes)  # how it was read (an assumed frame rate), as 'subs check' shows
    rules = SubtitleRules(fps=fps) if fps else None  # the gap rule counts the picture's frames (else 24)
    out: list[Finding] = list(check_subtitles(sub_file, media_duration_s=duration_s, rules=rules))
    if not opt.sync:
        return out
    vad = opt.vad
    if activity is None or vad == "none":
        notes.append("subtitle sync check skipped: no speech activity")
        return out
    try:
        res = sync_subtitles(activity, sub_file, options=SyncOptions(vad=vad))
    except SyncRefusedError as exc:
        conf = f" (confidence {exc.confidence:.2f})" if exc.confidence is not None else ""
        out.append(
            Finding(
                "sync",
                0.0,
                duration_s,
                "warning",
                f"subtitle sync could not be verified against the speech{conf}: {exc}",
                "subtitles",
            )
        )
        return out
    except TimeLimitError:
        raise  # the job's time limit: the whole QC stops, it is not a failed check
    except ReelkitError as exc:
        notes.append(f"subtitle sync check failed: {exc}")
        return out
    small = abs(res.offset_s) <= opt.sync_tolerance_s and abs(res.scale - 1.0) < 1e-6 and not res.splits
    if res.unchanged or small:
        out.append(
            Finding(
                "sync",
                0.0,
                duration_s,
                "info",
                f"subtitles follow the speech (agreement {res.agreement:.0%}, "
                f"confidence {res.confidence:.2f})",
                "subtitles",
            )
        )
        return out
    scale = f", frame-rate scale {res.scale:.5f}" if abs(res.scale - 1.0) > 1e-6 else ""
    out.append(
        Finding(
            "sync",
            0.0,
            duration_s,
            "error",
            f"subtitles out of sync with the speech: offset {res.offset_s:+.2f} s{scale}, "
            f"{len(res.splits)} split(s) (agreement {res.agreement_before:.0%} -> {res.agreement:.0%} "
            f"after the fit, confidence {res.confidence:.2f}); 'reelkit subs sync' corrects it",
            "subtitles",
        )
    )
    for sp in res.splits:
        out.append(
            Finding(
                "sync_split",
                float(sp.at_s),
                None,
                "error",
                f"subtitle timing jumps here (cut or ad break): from cue {sp.first_cue + 1} on, "
                f"offset {sp.offset_s:+.2f} s",
                "subtitles",
            )
        )
    return out


def _video_findings(
    media: Path, info: MediaInfo, notes: list[str], rate: tuple[Fraction | None, bool] | None
) -> list[Finding]:
    try:
        from reelkit.post.video import video_qc
    except ImportError:
        notes.append("video checks skipped: the video module (reelkit.post.video) is not installed")
        return []
    try:
        return list(video_qc(media, info=info, rate=rate))
    except TimeLimitError:
        raise  # the job's time limit: the whole QC stops, it is not a failed check
    except ReelkitError as exc:
        notes.append(f"video checks failed: {exc}")
        return []


# -- plot, report ---------------------------------------------------------------------------------------


def loudness_plot(
    lo: LoudnessResult,
    spec: DeliverySpec,
    findings: Iterable[Finding] = (),
    *,
    band: tuple[float, float] | None = None,
) -> bytes | None:
    """Momentary and short-term loudness over time with the target band (``band``: the target and tolerance
    checked; by default the spec's), as PNG bytes."""
    if lo.curve is None or lo.curve.momentary_lufs.size == 0:
        return None
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    c = lo.curve

    def thin(t: npt.NDArray[np.float64], v: npt.NDArray[np.float64]) -> tuple[Any, Any]:
        step = max(1, t.size // 4000)  # at most ~4000 points: the max of each bin keeps the peaks
        k = t.size // step
        if step == 1 or k == 0:
            return t, v
        return t[: k * step : step], v[: k * step].reshape(k, step).max(axis=1)

    fig = Figure(figsize=(10, 3.4), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    tm, vm = thin(c.momentary_times_s, np.maximum(c.momentary_lufs, -80.0))
    ax.plot(tm, vm, lw=0.6, color="#8aa8d6", label="momentary (400 ms)")
    if c.short_term_lufs.size:
        ts, vs = thin(c.short_term_times_s, np.maximum(c.short_term_lufs, -80.0))
        ax.plot(ts, vs, lw=1.4, color="#1f4e9c", label="short-term (3 s)")
    target, tol = band if band is not None else (spec.target_lufs, spec.tolerance_lu)
    lo_band, hi_band = target - tol, target + tol
    ax.axhspan(lo_band, hi_band, color="#3c9d5d", alpha=0.15, label=f"{spec.name} target {target:g} ±{tol:g}")
    if math.isfinite(lo.integrated_lufs):
        ax.axhline(
            lo.integrated_lufs, color="#333", lw=0.8, ls="--", label=f"integrated {lo.integrated_lufs:.1f}"
        )
    for f in findings:
        if f.kind in ("clipping", "true_peak") and f.severity == "error":
            ax.axvline(f.start_s, color="#c0392b", lw=0.6, alpha=0.6)
    finite = vm[np.isfinite(vm) & (vm > -80)]
    bottom = max(-80.0, float(finite.min()) - 3) if finite.size else -80.0
    ax.set_ylim(min(bottom, lo_band - 6), max(float(vm.max()) + 3 if vm.size else 0.0, hi_band + 3))
    ax.set_xlim(0, max(lo.duration_s, 1e-3))
    ax.set_xlabel("time (s)")
    ax.set_ylabel("loudness (LUFS)")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="lower right", fontsize=8, ncol=4)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def run_qc(
    media: str | Path,
    *,
    subs: str | Path | None = None,
    spec: str | DeliverySpec = "ebu-r128",
    options: QCOptions | None = None,
    progress: Progress = SILENT,
    plot: bool = True,
    stream: int = 0,
) -> QCReport:
    """Run every check on ``media`` (and ``subs``) against ``spec``; see the module docstring. ``stream``:
    which audio stream of a file with several (the others are a warning finding: unchecked)."""
    from reelkit.post.audio import read_audio

    opt = (options or QCOptions()).validate()
    sp = get_spec(spec)
    media_p = Path(media)
    subs_p = Path(subs) if subs is not None else None
    if subs_p is not None and not subs_p.is_file():
        from reelkit.errors import DataFormatError

        raise DataFormatError("no such subtitle file; check the path", path=str(subs_p))
    notes: list[str] = []
    steps = 4 + (subs_p is not None)
    with progress.task(f"QC {media_p.name}", total=steps) as bar:
        # on the file's timeline, as the picture and the subtitles are (a delayed soundtrack's lead-in is
        # silence in front: left out of the loudness, a finding of its own, not a silence)
        audio = read_audio(media_p, stream=stream, on_timeline=True)
        bar.advance()
        x, rate = audio.samples, audio.sample_rate
        lead = min(round(audio.start_s * rate), x.shape[0]) if audio.start_s >= LEAD_IN_MIN_S else 0
        activity = _speech_activity(x, rate, opt.vad, notes)
        mask = (float(activity.frame_s), activity.mask()) if activity is not None else None
        try:
            lo = measure_soundtrack(audio, Meter(keep_curve=True), speech_mask=mask)
        except ConfigError as exc:  # about the programme (its sample rate, ...): name the file
            raise ConfigError(f"{media_p}: {exc}") from None
        notes.extend(lo.notes)
        bar.advance()
        findings, check, lnotes = _loudness_findings(x, rate, lo, sp, opt)
        notes.extend(lnotes)
        findings.extend(
            _shifted(audio_findings(x[lead:], rate, opt, layout=audio.layout, bits=audio.bits), lead / rate)
        )
        if lead:
            findings.append(
                Finding(
                    kind="audio_start",
                    start_s=0.0,
                    end_s=audio.start_s,
                    severity="warning",
                    message=f"the soundtrack starts {audio.start_s:.3f} s into the programme (a delayed "
                    "audio stream): nothing plays under what comes before it",
                    source="audio",
                )
            )
        if audio.streams > 1:
            others = ", ".join(str(i) for i in range(audio.streams) if i != audio.stream)
            findings.append(
                Finding(
                    kind="audio-streams",
                    start_s=0.0,
                    end_s=None,
                    severity="warning",
                    message=f"{audio.streams} audio streams: stream {audio.stream} was checked, not "
                    f"stream(s) {others} (check each with --stream N)",
                    source="audio",
                )
            )
        if audio.declared_duration_s is not None:  # cut short in transfer: what is missing is missing
            findings.append(
                Finding(
                    kind="truncated",
                    start_s=audio.duration_s,
                    end_s=audio.declared_duration_s,
                    severity="error",
                    message=f"{audio.duration_s:.2f} s of audio decode; its header declares "
                    f"{audio.declared_duration_s:.2f} s (cut short or damaged in a copy or transfer?)",
                    source="audio",
                )
            )
        bar.advance()
        has_video = False
        video_fps = None  # the picture's frame rate, for the subtitles' minimum gap
        start_tc = None
        # where the programme ends, for subtitles past it: the container's duration, as `subs check`
        # takes it (a soundtrack shorter than the picture is an av_mismatch finding of its own)
        programme_end = audio.duration_s
        if audio.path is not None and media_p.suffix.lower() not in (".wav", ".flac"):
            from reelkit import media as media_mod

            info = media_mod.probe(media_p)
            programme_end = info.duration_s or programme_end
            has_video = opt.video and bool(info.video)
            video_fps = info.picture_fps
            labels = None
            try:
                # the rate video_qc labels at (read once, for it too): a constant rate with frames dropped
                # at its base rate, which ffmpeg's average (24.90 for 25) is not
                labels = media_mod.picture_rate(media_p, info)
                video_fps = float(labels[0]) if labels[0] else video_fps
            except TimeLimitError:
                raise
            except ReelkitError as exc:  # its timestamps unreadable: the probe's rate, and say so
                notes.append(f"the picture's frame times could not be read ({exc}): timecodes at its average")
            start_tc = info.start_timecode
            if has_video:
                findings.extend(_video_findings(media_p, info, notes, labels))
        bar.advance()
        if subs_p is not None:
            findings.extend(_subtitle_findings(subs_p, activity, programme_end, opt, notes, video_fps))
            bar.advance()
    order = {"error": 0, "warning": 1, "info": 2}
    findings.sort(key=lambda f: (f.start_s, order.get(f.severity, 3), f.kind))
    band = (check.target, check.tolerance)
    png = loudness_plot(lo, sp, findings, band=band) if plot else None
    return QCReport(
        media=str(media_p),
        spec=sp,
        loudness=lo,
        programme_lufs=check.lufs if check.lufs is not None and math.isfinite(check.lufs) else None,
        findings=tuple(findings),
        notes=tuple(dict.fromkeys(notes)),
        subs=str(subs_p) if subs_p is not None else None,
        has_video=has_video,
        plot_png=png,
        programme_measure=check.measure,
        programme_target=band,
        start_timecode=start_tc,
        fps=video_fps,
    )


def _template_env() -> Any:
    import jinja2

    folder = Path(str(resources.files("reelkit.post").joinpath("templates")))
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(folder)), autoescape=True)
    env.filters["tc"] = timecode
    env.filters["num"] = _fmt
    return env


def report_context(report: QCReport) -> dict[str, Any]:
    """What the HTML templates show (the service's page uses it too)."""
    return {
        "report": report,
        "data": report.to_dict(),
        "plot_b64": base64.b64encode(report.plot_png).decode() if report.plot_png else None,
        "media_name": Path(report.media).name,
    }


def render_html(report: QCReport) -> str:
    """The report as a self-contained HTML page."""
    return str(_template_env().get_template("qc_report.html").render(**report_context(report)))


def write_report(report: QCReport, path: str | Path, render: Callable[[QCReport], str] = render_html) -> Path:
    """Write the HTML report atomically (temporary file beside ``path``, then rename)."""
    out = check_output_file(path, ConfigError, "report.html")
    text = render(report)
    with atomic_path(out, ".part") as tmp:
        tmp.write_text(text, encoding="utf-8")
    return out
