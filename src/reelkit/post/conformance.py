"""The loudness conformance cases: EBU Tech 3341 / 3342 and ITU-R BS.2217 signals with their tolerances.

The signals themselves are not part of reelkit (the EBU's terms allow technical testing only); they live in
a folder laid out as ``shared/data/loudness`` (``ebu_tech3341_v05/``, ``ebu_synth/``,
``itu_bs2217_pyloudnorm/``). :data:`CASES` says what each file must measure; :func:`check_case` compares a
:class:`Measured` with it, so the test suite and the benchmark (which also runs pyloudnorm and pyebur128) use
one table.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import numpy.typing as npt

__all__ = ["CASES", "Case", "Check", "Measured", "Outcome", "case_files", "check_case", "measure_reelkit"]

Quantity = Literal[
    "integrated",
    "lra",
    "true_peak",
    "momentary_max",
    "short_term_max",
    "momentary_after",
    "short_term_after",
    "momentary_max_per_segment",
    "short_term_max_per_segment",
]


@dataclass(frozen=True)
class Check:
    """One requirement: ``quantity`` within ``expected - below .. expected + above``.

    ``*_after`` quantities: every value from ``after_s`` (window end time) to the end must be within range.
    ``*_per_segment``: the maximum over each ``segment_s`` stretch must be ``expected + step * i``.
    """

    quantity: Quantity
    expected: float
    below: float = 0.1
    above: float = 0.1
    after_s: float = 0.0
    segment_s: float = 0.0
    step: float = 0.0
    segments: int = 0


@dataclass(frozen=True)
class Case:
    """A conformance case: the files (glob in ``folder``) and what each must measure."""

    name: str
    source: str
    folder: str
    pattern: str
    checks: tuple[Check, ...]


@dataclass(frozen=True)
class Measured:
    """What a meter reports for one file; ``None`` where the meter has no such measurement."""

    integrated: float | None = None
    lra: float | None = None
    true_peak: float | None = None
    momentary: tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]] | None = None  # (end times, LUFS)
    short_term: tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]] | None = None


@dataclass(frozen=True)
class Outcome:
    file: str
    quantity: str
    expected: float
    got: float | None  # for series checks: the worst value (farthest from the expectation)
    ok: bool | None  # None: the meter cannot measure this


def _i(value: float) -> tuple[Check, ...]:
    return (Check("integrated", value),)


_TP = (Check("true_peak", -6.0, below=0.4, above=0.2),)
_EBU, _SYN, _ITU = "ebu_tech3341_v05", "ebu_synth", "itu_bs2217_pyloudnorm"

CASES: tuple[Case, ...] = (
    Case(
        "3341-1",
        "EBU Tech 3341 case 1: stereo 1 kHz -23 dBFS",
        _EBU,
        "seq-3341-1-16bit.wav",
        (Check("integrated", -23), Check("momentary_max", -23), Check("short_term_max", -23)),
    ),
    Case(
        "3341-2",
        "EBU Tech 3341 case 2: stereo 1 kHz -33 dBFS",
        _EBU,
        "seq-3341-2-16bit.wav",
        (Check("integrated", -33), Check("momentary_max", -33), Check("short_term_max", -33)),
    ),
    Case("3341-3", "EBU Tech 3341 case 3 (synthesised)", _SYN, "synth-3341-3-16bit.flac", _i(-23)),
    Case("3341-4", "EBU Tech 3341 case 4 (synthesised)", _SYN, "synth-3341-4-16bit.flac", _i(-23)),
    Case("3341-5", "EBU Tech 3341 case 5 (synthesised)", _SYN, "synth-3341-5-16bit.flac", _i(-23)),
    Case(
        "3341-6",
        "EBU Tech 3341 case 6: 5.0 (synthesised)",
        _SYN,
        "synth-3341-6-5channels-16bit.flac",
        _i(-23),
    ),
    Case(
        "3341-9",
        "EBU Tech 3341 case 9: S constant after 3 s (synthesised)",
        _SYN,
        "synth-3341-9-24bit.flac",
        (Check("short_term_after", -23, after_s=3.0),),
    ),
    Case(
        "3341-10",
        "EBU Tech 3341 case 10: max S per file",
        _EBU,
        "seq-3341-10-*-24bit.wav",
        (Check("short_term_max", -23),),
    ),
    Case(
        "3341-11",
        "EBU Tech 3341 case 11: successive max S (synthesised)",
        _SYN,
        "synth-3341-11-24bit.flac",
        (Check("short_term_max_per_segment", -38, segment_s=6.0, step=1.0, segments=20),),
    ),
    Case(
        "3341-12",
        "EBU Tech 3341 case 12: M constant after 1 s",
        _EBU,
        "seq-3341-12-24bit.wav",
        (Check("momentary_after", -23, after_s=1.0),),
    ),
    Case(
        "3341-13",
        "EBU Tech 3341 case 13: max M per file",
        _EBU,
        "seq-3341-13-*-24bit.wav",
        (Check("momentary_max", -23),),
    ),
    Case(
        "3341-14",
        "EBU Tech 3341 case 14: successive max M (synthesised)",
        _SYN,
        "synth-3341-14-24bit.flac",
        (Check("momentary_max_per_segment", -38, segment_s=0.8, step=1.0, segments=20),),
    ),
    Case("3341-15", "EBU Tech 3341 case 15: fs/4 0.50 FS 0 deg", _EBU, "seq-3341-15-24bit.wav.wav", _TP),
    Case("3341-16", "EBU Tech 3341 case 16: fs/4 0.50 FS 45 deg", _EBU, "seq-3341-16-24bit.wav.wav", _TP),
    Case("3341-17", "EBU Tech 3341 case 17: fs/6 0.50 FS 60 deg", _EBU, "seq-3341-17-24bit.wav.wav", _TP),
    Case("3341-18", "EBU Tech 3341 case 18: fs/8 0.50 FS 67.5 deg", _EBU, "seq-3341-18-24bit.wav.wav", _TP),
    Case(
        "3341-19",
        "EBU Tech 3341 case 19: fs/4 1.41 FS 45 deg",
        _EBU,
        "seq-3341-19-24bit.wav.wav",
        (Check("true_peak", 3.0, below=0.4, above=0.2),),
    ),
    *(
        Case(
            f"3341-{n}",
            f"EBU Tech 3341 case {n}: inter-sample peak, offset {n - 20}",
            _EBU,
            f"seq-3341-{n}-24bit.wav.wav",
            (Check("true_peak", 0.0, below=0.4, above=0.2),),
        )
        for n in (20, 21, 22, 23)
    ),
    Case("sine-20", "EBU set extra: 1 kHz sine -20 LUFS", _EBU, "1kHz Sine -20 LUFS-16bit.wav", _i(-20)),
    Case("sine-26", "EBU set extra: 1 kHz sine -26 LUFS", _EBU, "1kHz Sine -26 LUFS-16bit.wav", _i(-26)),
    Case("sine-40", "EBU set extra: 1 kHz sine -40 LUFS", _EBU, "1kHz Sine -40 LUFS-16bit.wav", _i(-40)),
    Case(
        "3342-1",
        "EBU Tech 3342 case 1 (synthesised)",
        _SYN,
        "synth-3342-1-16bit.flac",
        (Check("lra", 10, 1, 1),),
    ),
    Case(
        "3342-2",
        "EBU Tech 3342 case 2 (synthesised)",
        _SYN,
        "synth-3342-2-16bit.flac",
        (Check("lra", 5, 1, 1),),
    ),
    Case(
        "3342-3",
        "EBU Tech 3342 case 3 (synthesised)",
        _SYN,
        "synth-3342-3-16bit.flac",
        (Check("lra", 20, 1, 1),),
    ),
    Case(
        "3342-4",
        "EBU Tech 3342 case 4 (synthesised)",
        _SYN,
        "synth-3342-4-16bit.flac",
        (Check("lra", 15, 1, 1),),
    ),
    Case("bs2217-rel", "ITU-R BS.2217 relative gate test", _ITU, "1770-2_Comp_RelGateTest.wav", _i(-10.0)),
    Case("bs2217-abs", "ITU-R BS.2217 absolute gate test", _ITU, "1770-2_Comp_AbsGateTest.wav", _i(-69.5)),
    Case(
        "sine-1000-mono",
        "BS.1770-4 note: 1 kHz sine at 0 dBFS on one channel reads -3.01 LKFS (44.1 kHz mono)",
        _ITU,
        "sine_1000.wav",
        _i(-3.01),
    ),
)


def case_files(case: Case, root: Path) -> list[Path]:
    """The files of ``case`` under ``root`` (sorted naturally: ``-2-`` before ``-10-``)."""

    def key(p: Path) -> tuple[int, ...]:
        import re

        return tuple(int(n) for n in re.findall(r"\d+", p.name))

    return sorted((root / case.folder).glob(case.pattern), key=key)


def _series(m: Measured, quantity: str) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]] | None:
    return m.momentary if quantity.startswith("momentary") else m.short_term


def _within(check: Check, value: float, expected: float) -> bool:
    return math.isfinite(value) and expected - check.below - 1e-9 <= value <= expected + check.above + 1e-9


def check_case(case: Case, file: str, m: Measured) -> list[Outcome]:
    """Each check of ``case`` against the measurement ``m`` of one of its files."""
    out: list[Outcome] = []
    for c in case.checks:
        if c.quantity in ("integrated", "lra", "true_peak"):
            v = {"integrated": m.integrated, "lra": m.lra, "true_peak": m.true_peak}[c.quantity]
            out.append(
                Outcome(file, c.quantity, c.expected, v, None if v is None else _within(c, v, c.expected))
            )
            continue
        series = _series(m, c.quantity)
        if series is None:
            out.append(Outcome(file, c.quantity, c.expected, None, None))
            continue
        times, values = series
        if c.quantity.endswith("_max"):
            v = float(values.max()) if values.size else -math.inf
            out.append(Outcome(file, c.quantity, c.expected, v, _within(c, v, c.expected)))
        elif c.quantity.endswith("_after"):
            sel = values[times >= c.after_s - 1e-9]
            worst = float(sel[np.argmax(np.abs(sel - c.expected))]) if sel.size else -math.inf
            out.append(Outcome(file, c.quantity, c.expected, worst, _within(c, worst, c.expected)))
        else:  # per segment
            worst_err, worst_v, worst_want, ok = -1.0, -math.inf, c.expected, True
            for i in range(c.segments):
                lo, hi = i * c.segment_s, (i + 1) * c.segment_s
                sel = values[(times > lo + 1e-9) & (times <= hi + 1e-9)]
                v = float(sel.max()) if sel.size else -math.inf
                want = c.expected + c.step * i
                ok = ok and _within(c, v, want)
                err = abs(v - want) if math.isfinite(v) else math.inf
                if err > worst_err:
                    worst_err, worst_v, worst_want = err, v, want
            # the segment farthest from its target
            out.append(Outcome(file, c.quantity, worst_want, worst_v, ok))
    return out


def measure_reelkit(
    path: Path, read: Callable[[Path], tuple[npt.NDArray[np.float32], int]] | None = None
) -> Measured:
    """reelkit's measurement of one file, with the momentary and short-term series."""
    from reelkit.post.audio import read_audio
    from reelkit.post.loudness import Meter

    if read is None:
        a = read_audio(path)
        samples, rate = a.samples, a.sample_rate
    else:
        samples, rate = read(path)
    r = Meter(keep_curve=True).measure(samples, rate)
    assert r.curve is not None
    return Measured(
        integrated=r.integrated_lufs,
        lra=r.lra_lu,
        true_peak=r.true_peak_dbtp,
        momentary=(r.curve.momentary_times_s, r.curve.momentary_lufs),
        short_term=(r.curve.short_term_times_s, r.curve.short_term_lufs),
    )
