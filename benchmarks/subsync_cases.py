"""Test cases for the subtitle-sync benchmark: synthetic programmes with known subtitle timing.

Each case is an espeak-ng programme (:func:`reelkit.post.subs.synth.make_program`: several voices, speeds and
languages, pauses, music gaps with [MUSIC] / ♪ cues, optional music and noise beds at stated levels) put
through one distortion class:

==================  ===========================================================================
``none``            the subtitle file is correct (must be left unchanged)
``offset``          one offset, |offset| log-uniform in 0.5-120 s, either sign
``framerate``       one frame-rate ratio (25/23.976, 24/23.976, 25/24 or an inverse)
``splits``          1-3 ad breaks (10-90 s of music, a third with voice-over) or cuts (5-40 s)
``offset+framerate``, ``offset+splits``, ``all``: combinations
``cuts-kept``       1-3 cuts (10-40 s) whose scenes' cues are still in the file (a file made
                    before the cut); those cues must be hidden (see :func:`cut_cues`)
==================  ===========================================================================

Cases are written once under ``benchmarks/out/subsync/cases/<id>/`` (``media.flac``, ``in.srt`` — the
distorted file, ``truth.srt``, ``case.json``) and reused while ``VERSION`` is unchanged.

Usage: ``python benchmarks/subsync_cases.py [--out DIR] [--workers 2]`` (generation only).
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

VERSION = 3
OUT = Path(__file__).resolve().parent / "out" / "subsync"
_NTSC = 24000 / 1001
RATIOS = {
    "25/23.976": 25 / _NTSC,
    "23.976/25": _NTSC / 25,
    "24/23.976": 24 / _NTSC,
    "23.976/24": _NTSC / 24,
    "25/24": 25 / 24,
    "24/25": 24 / 25,
}
CLASSES = {
    "none": 8,
    "offset": 24,
    "framerate": 18,
    "splits": 18,
    "offset+framerate": 12,
    "offset+splits": 12,
    "all": 12,
    "cuts-kept": 6,
}
BEDS = [
    ("clean", None, None),
    ("music -15 dB", -15.0, None),
    ("music -8 dB", -8.0, None),
    ("noise -20 dB", None, -20.0),
    ("noise -10 dB", None, -10.0),
    ("music -10 dB + noise -20 dB", -10.0, -20.0),
]
LANGS = [("en",), ("en",), ("de",), ("fr",), ("es",), ("en", "de"), ("en",)]
SPEEDS = [(130, 160), (150, 190), (180, 230)]


@dataclass(frozen=True)
class CaseSpec:
    id: str
    cls: str
    seed: int
    duration_s: float
    languages: tuple[str, ...]
    speeds: tuple[int, int]
    bed: str
    music_db: float | None
    noise_db: float | None
    offset_s: float
    ratio_name: str
    n_breaks: int
    ad_speech: bool

    @property
    def ratio(self) -> float:
        return RATIOS.get(self.ratio_name, 1.0)


def case_specs(seed: int = 2026) -> list[CaseSpec]:
    """The benchmark's cases (110), deterministic (a class added at the end leaves the others as they
    were)."""
    rng = np.random.default_rng(seed)
    specs: list[CaseSpec] = []
    ratio_names = list(RATIOS)
    k = 0
    for cls, count in CLASSES.items():
        for j in range(count):
            has_off = "offset" in cls or cls == "all"
            has_fr = "framerate" in cls or cls == "all"
            has_sp = "splits" in cls or cls in ("all", "cuts-kept")
            offset = 0.0
            if has_off:
                mag = math.exp(rng.uniform(math.log(0.5), math.log(120.0)))
                offset = round(float(mag * (1 if rng.random() < 0.5 else -1)), 3)
            ratio = ratio_names[j % len(ratio_names)] if has_fr else "1"
            duration = 240.0 + (150.0 if abs(offset) > 60 else 0.0) + (60.0 if has_sp else 0.0)
            bed = BEDS[k % len(BEDS)]
            specs.append(
                CaseSpec(
                    id=f"{k:03d}",
                    cls=cls,
                    seed=int(rng.integers(1 << 30)),
                    duration_s=duration,
                    languages=LANGS[k % len(LANGS)],
                    speeds=SPEEDS[(k // len(BEDS)) % len(SPEEDS)],
                    bed=bed[0],
                    music_db=bed[1],
                    noise_db=bed[2],
                    offset_s=offset,
                    ratio_name=ratio,
                    n_breaks=int(1 + j % 3) if has_sp else 0,
                    ad_speech=has_sp and j % 3 == 2,
                )
            )
            k += 1
    return specs


def _gap_points(
    cues: list[tuple[float, float]], duration: float, n: int, rng: np.random.Generator
) -> list[float]:
    """``n`` split points in pauses between cues, spread over the middle of the programme."""
    gaps = [(b, c) for (_, b), (c, _) in itertools.pairwise(cues) if c - b > 0.3]
    out: list[float] = []
    for i in range(n):
        target = duration * (i + 1) / (n + 1) + float(rng.uniform(-10, 10))
        best = min(gaps, key=lambda g: abs((g[0] + g[1]) / 2 - target))
        out.append(round((best[0] + best[1]) / 2, 3))
    return sorted(set(out))


def generate(spec: CaseSpec, out: Path = OUT) -> Path:
    """Write the case's files (unless already there for this ``VERSION``); returns its folder."""
    import soundfile as sf

    from reelkit.post.subs import synth

    folder = out / "cases" / spec.id
    meta_path = folder / "case.json"
    if meta_path.exists():
        meta = json.loads(meta_path.read_text())
        if meta.get("version") == VERSION and meta.get("spec") == json.loads(json.dumps(asdict(spec))):
            return folder
    folder.mkdir(parents=True, exist_ok=True)
    prog = synth.make_program(
        spec.seed,
        duration_s=spec.duration_s,
        languages=spec.languages,
        speeds=spec.speeds,
        music_db=spec.music_db,
        noise_db=spec.noise_db,
    )
    rng = np.random.default_rng(spec.seed + 1)
    breaks: list[tuple[float, float]] = []
    if spec.n_breaks:
        points = _gap_points([(c.start_s, c.end_s) for c in prog.cues], prog.duration_s, spec.n_breaks, rng)
        for p in points:
            ad = rng.random() < 0.6 and spec.cls != "cuts-kept"
            length = (
                float(rng.uniform(10, 90))
                if ad
                else -float(rng.uniform(5 if spec.cls != "cuts-kept" else 10, 40))
            )
            breaks.append((p, round(length, 3)))
        # cuts must not overlap the next split point
        fixed: list[tuple[float, float]] = []
        for i, (p, length) in enumerate(breaks):
            nxt = breaks[i + 1][0] if i + 1 < len(breaks) else prog.duration_s
            if length < 0:
                length = -min(-length, max(3.0, nxt - p - 20.0))
            fixed.append((p, round(length, 3)))
        breaks = fixed
    d = synth.Distortion(
        offset_s=spec.offset_s,
        ratio=spec.ratio,
        breaks=tuple(breaks),
        ad_speech=spec.ad_speech,
        keep_cut_cues=spec.cls == "cuts-kept",
    )
    media, truth, given = synth.distort(prog, d, rng)
    sf.write(folder / "media.flac", media, synth.SR, subtype="PCM_16")
    (folder / "truth.srt").write_text(synth.to_srt(truth), encoding="utf-8")
    (folder / "in.srt").write_text(synth.to_srt(given), encoding="utf-8")
    meta = {
        "version": VERSION,
        "spec": json.loads(json.dumps(asdict(spec))),
        "breaks": breaks,
        "media_duration_s": len(media) / synth.SR,
        "cues": len(truth),
    }
    tmp = meta_path.with_suffix(".part")
    tmp.write_text(json.dumps(meta, indent=1))
    tmp.replace(meta_path)
    return folder


def cut_cues(folder: Path) -> tuple[set[int], set[int]]:
    """The cues of ``in.srt`` (indices from 0) that a case's cuts left out of ``truth.srt``: ``(cut, edge)``.
    ``cut``: over half of the cue lies inside a cut span (its scene is gone; a sync must hide it). ``edge``:
    the generator also leaves out cues within 0.5 s of a cut's edge, but most of their speech is still in
    the media, so showing or hiding them is not scored. Read from ``case.json``'s breaks and distortion (the
    file's times are the programme's through ``ratio * t + offset_s``)."""
    from reelkit.post.subs import load_subtitles

    meta = json.loads((folder / "case.json").read_text())
    spec = meta["spec"]
    if spec["cls"] != "cuts-kept":
        return set(), set()
    ratio = RATIOS.get(spec["ratio_name"], 1.0)
    removed = [(at, at - length) for at, length in meta["breaks"] if length < 0]
    cut: set[int] = set()
    edge: set[int] = set()
    for c in load_subtitles(folder / "in.srt").cues:
        s, e = (c.start_s - spec["offset_s"]) / ratio, (c.end_s - spec["offset_s"]) / ratio
        for a, b in removed:
            if a - 0.5 <= s <= b + 0.5 or a <= e <= b:  # synth.distort's rule
                inside = max(0.0, min(e, b) - max(s, a))
                (cut if inside > 0.5 * (e - s) else edge).add(c.index)
    return cut, edge


def generate_all(out: Path = OUT, workers: int = 2) -> list[Path]:
    from reelkit.executor import LocalExecutor

    specs = case_specs()
    return LocalExecutor(workers).map(_gen_task, [(s, out) for s in specs])


def _gen_task(args: tuple[CaseSpec, Path]) -> Path:
    return generate(*args)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    folders = generate_all(args.out, min(args.workers, 2))
    print(f"{len(folders)} cases under {args.out / 'cases'}")


if __name__ == "__main__":
    main()
