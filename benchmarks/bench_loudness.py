"""Loudness: conformance (EBU Tech 3341/3342, ITU BS.2217) and speed, reelkit next to pyloudnorm and
pyebur128, and dialogue-gated loudness on espeak-ng speech mixed with a music bed at known levels.

    .venv/bin/python benchmarks/bench_loudness.py [--data ../shared/data/loudness] [--repeats 7]

Prints markdown tables and writes ``benchmarks/out/loudness.json`` (``--out``: elsewhere). Every library
gets the same float32 samples (decoded once by soundfile), so the timings are of the meters alone.
pyebur128's momentary and short-term maxima are read every 10 ms (the grid EBU Tech 3341 asks for);
pyloudnorm has no true peak, momentary or short-term measures.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

from reelkit.post.conformance import CASES, Measured, case_files, check_case
from reelkit.post.loudness import Meter

ROOT = Path(__file__).resolve().parent
DEFAULT_DATA = ROOT.parent.parent / "shared" / "data" / "loudness"


def read(path: Path) -> tuple[np.ndarray, int]:
    x, rate = sf.read(str(path), dtype="float32", always_2d=True)
    return np.ascontiguousarray(x), int(rate)


# -- the three meters -------------------------------------------------------------------------------------


def reelkit_measure(x: np.ndarray, rate: int) -> Measured:
    r = Meter(keep_curve=True).measure(x, rate)
    assert r.curve is not None
    return Measured(
        r.integrated_lufs,
        r.lra_lu,
        r.true_peak_dbtp,
        (r.curve.momentary_times_s, r.curve.momentary_lufs),
        (r.curve.short_term_times_s, r.curve.short_term_lufs),
    )


def pyebur128_measure(x: np.ndarray, rate: int) -> Measured:
    import pyebur128 as pe

    mode = pe.MeasurementMode
    st = pe.R128State(
        x.shape[1], rate, mode.MODE_I | mode.MODE_LRA | mode.MODE_M | mode.MODE_S | mode.MODE_TRUE_PEAK
    )
    hop = rate // 100
    m_t, m_v, s_t, s_v = [], [], [], []
    for k in range(0, x.shape[0] - hop + 1, hop):
        chunk = np.ascontiguousarray(x[k : k + hop]).ravel()
        st.add_frames(chunk, hop)
        end = (k + hop) / rate
        if end >= 0.4 - 1e-9:
            m_t.append(end)
            m_v.append(pe.get_loudness_momentary(st))
        if end >= 3.0 - 1e-9:
            s_t.append(end)
            s_v.append(pe.get_loudness_shortterm(st))
    rest = x.shape[0] % hop
    if rest:
        st.add_frames(np.ascontiguousarray(x[-rest:]).ravel(), rest)
    tp = max(pe.get_true_peak(st, c) for c in range(x.shape[1]))
    return Measured(
        pe.get_loudness_global(st),
        pe.get_loudness_range(st),
        20 * math.log10(tp) if tp > 0 else -math.inf,
        (np.array(m_t), np.array(m_v)),
        (np.array(s_t), np.array(s_v)),
    )


def pyloudnorm_measure(x: np.ndarray, rate: int) -> Measured:
    import pyloudnorm

    meter = pyloudnorm.Meter(rate)
    data = x[:, 0] if x.shape[1] == 1 else x
    try:
        integrated = float(meter.integrated_loudness(data))
    except ValueError:
        integrated = -math.inf
    try:
        lra = float(pyloudnorm.Meter(rate).loudness_range(data))
    except (ValueError, IndexError, ZeroDivisionError):
        lra = math.nan
    return Measured(integrated, lra, None, None, None)


METERS = {"reelkit": reelkit_measure, "pyloudnorm": pyloudnorm_measure, "pyebur128": pyebur128_measure}


# -- conformance -------------------------------------------------------------------------------------------


def conformance(data: Path) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for case in CASES:
        files = case_files(case, data)
        if not files:
            rows.append({"case": case.name, "source": case.source, "missing": True})
            continue
        per_lib: dict[str, Any] = {}
        for lib, fn in METERS.items():
            outcomes = []
            for f in files:
                x, rate = read(f)
                with np.errstate(all="ignore"):
                    outcomes += check_case(case, f.name, fn(x, rate))
            ok = [o.ok for o in outcomes]
            worst = max(
                (o for o in outcomes if o.got is not None),
                key=lambda o: abs(o.got - o.expected) if math.isfinite(o.got) else math.inf,  # type: ignore[operator]
                default=None,
            )
            measured = [v for v in ok if v is not None]
            per_lib[lib] = {
                "pass": all(measured) if measured else None,
                "partial": 0 < len(measured) < len(ok),
                "files": len(files),
                "passed_checks": sum(1 for v in ok if v),
                "checks": len(ok),
                "worst_got": None if worst is None else worst.got,
                "worst_expected": None if worst is None else worst.expected,
                "quantity": outcomes[0].quantity if outcomes else None,
            }
        rows.append({"case": case.name, "source": case.source, "libs": per_lib})
    return rows


def conformance_markdown(rows: list[dict[str, Any]]) -> str:
    def cell(r: dict[str, Any]) -> str:
        if r["pass"] is None:
            return "n/a"
        got = r["worst_got"]
        g = "-inf" if got is not None and not math.isfinite(got) else f"{got:.3f}"
        star = "*" if r.get("partial") else ""
        return f"{'pass' if r['pass'] else '**FAIL**'}{star} ({g})"

    lines = [
        "| case | what | expected | reelkit | pyloudnorm | pyebur128 |",
        "|---|---|---|---|---|---|",
    ]
    totals = {lib: [0, 0] for lib in METERS}
    for row in rows:
        if row.get("missing"):
            lines.append(f"| {row['case']} | {row['source']} | (files missing) | | | |")
            continue
        libs = row["libs"]
        first = libs["reelkit"]
        exp = (
            f"{first['quantity']} {first['worst_expected']:g}" if first["worst_expected"] is not None else ""
        )
        if libs["reelkit"]["files"] > 1:
            exp += f" ({libs['reelkit']['files']} files)"
        lines.append(
            f"| {row['case']} | {row['source']} | {exp} | "
            + " | ".join(cell(libs[lib]) for lib in METERS)
            + " |"
        )
        for lib in METERS:
            if libs[lib]["pass"] is not None:
                totals[lib][1] += 1
                totals[lib][0] += bool(libs[lib]["pass"])
    lines.append(
        "| **cases passed** | | | "
        + " | ".join(f"**{a}/{b}**" for a, b in (totals[lib] for lib in METERS))
        + " |"
    )
    lines.append(
        "\n(value) is the measurement farthest from its expectation over the case's files and checks; "
        "* means only some checks could be measured (pyloudnorm has no momentary or short-term meter); "
        "n/a: the library has no such measure."
    )
    return "\n".join(lines)


# -- speed -------------------------------------------------------------------------------------------------


def _time_pair(fns: dict[str, Any], repeats: int) -> dict[str, tuple[float, float]]:
    """Median wall and CPU seconds of each function, run in turns (so a busy machine hits them alike)."""
    for fn in fns.values():
        fn()  # warm-up (numba kernels load from their cache, caches fill)
    wall: dict[str, list[float]] = {k: [] for k in fns}
    cpu: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            w0, c0 = time.perf_counter(), time.process_time()
            fn()
            wall[name].append(time.perf_counter() - w0)
            cpu[name].append(time.process_time() - c0)
    return {k: (statistics.median(wall[k]), statistics.median(cpu[k])) for k in fns}


def speed(data: Path, repeats: int) -> list[dict[str, Any]]:
    import pyebur128 as pe
    import pyloudnorm

    signals: list[tuple[str, np.ndarray, int]] = []
    for name in ("ebu_synth/synth-3341-11-24bit.flac", "ebu_tech3341_v05/seq-3341-1-16bit.wav"):
        p = data / name
        if p.exists():
            x, rate = read(p)
            signals.append((name.split("/")[-1], x, rate))
    rng = np.random.default_rng(0)
    long = (0.1 * rng.standard_normal((48000 * 600, 2))).astype(np.float32)
    signals.append(("noise 10 min stereo 48 kHz (synthetic)", long, 48000))
    five = (0.1 * rng.standard_normal((48000 * 120, 6))).astype(np.float32)
    signals.append(("noise 2 min 5.1 48 kHz (synthetic)", five, 48000))

    def rk(x: np.ndarray, rate: int) -> tuple[float, float]:
        r = Meter().measure(x, rate)
        return r.integrated_lufs, r.true_peak_dbtp

    def eb(x: np.ndarray, rate: int) -> tuple[float, float]:
        st = pe.R128State(x.shape[1], rate, pe.MeasurementMode.MODE_I | pe.MeasurementMode.MODE_TRUE_PEAK)
        if x.shape[1] == 6:  # the default map of libebur128 is L R C LFE(unused) Ls Rs already
            pass
        st.add_frames(np.ascontiguousarray(x).ravel(), x.shape[0])
        tp = max(pe.get_true_peak(st, c) for c in range(x.shape[1]))
        return pe.get_loudness_global(st), 20 * math.log10(tp)

    def pln(x: np.ndarray, rate: int) -> float:
        return float(pyloudnorm.Meter(rate).integrated_loudness(x))

    out = []
    for name, x, rate in signals:
        seconds = x.shape[0] / rate
        fns: dict[str, Any] = {
            "reelkit": lambda x=x, rate=rate: rk(x, rate),
            "pyebur128": lambda x=x, rate=rate: eb(x, rate),
        }
        if x.shape[1] <= 5:
            fns["pyloudnorm"] = lambda x=x, rate=rate: pln(x, rate)
        t = _time_pair(fns, repeats)
        nan = (math.nan, math.nan)
        i_rk, tp_rk = rk(x, rate)
        i_eb, tp_eb = eb(x, rate)
        out.append(
            {
                "signal": name,
                "seconds": seconds,
                "channels": x.shape[1],
                "reelkit_s": t["reelkit"][0],
                "pyebur128_s": t["pyebur128"][0],
                "pyloudnorm_integrated_only_s": t.get("pyloudnorm", nan)[0],
                "reelkit_cpu_s": t["reelkit"][1],
                "pyebur128_cpu_s": t["pyebur128"][1],
                "pyloudnorm_integrated_only_cpu_s": t.get("pyloudnorm", nan)[1],
                "speedup_vs_pyebur128": t["pyebur128"][0] / t["reelkit"][0],
                "cpu_speedup_vs_pyebur128": t["pyebur128"][1] / t["reelkit"][1],
                "integrated": [i_rk, i_eb],
                "true_peak": [tp_rk, tp_eb],
            }
        )
    return out


def speed_markdown(rows: list[dict[str, Any]], repeats: int) -> str:
    lines = [
        "| signal | length | reelkit I+TP wall / CPU | pyebur128 I+TP wall / CPU | "
        "reelkit speed-up wall / CPU | pyloudnorm (I only) wall / CPU | "
        "I reelkit / pyebur128 | TP reelkit / pyebur128 |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        pl = (
            "n/a (no 5.1 weights)"
            if math.isnan(r["pyloudnorm_integrated_only_s"])
            else f"{r['pyloudnorm_integrated_only_s']:.3f} / {r['pyloudnorm_integrated_only_cpu_s']:.3f} s"
        )
        lines.append(
            f"| {r['signal']} | {r['seconds']:.0f} s × {r['channels']} ch | "
            f"{r['reelkit_s']:.3f} / {r['reelkit_cpu_s']:.3f} s | "
            f"{r['pyebur128_s']:.3f} / {r['pyebur128_cpu_s']:.3f} s | "
            f"**{r['speedup_vs_pyebur128']:.2f}× / {r['cpu_speedup_vs_pyebur128']:.2f}×** | {pl} | "
            f"{r['integrated'][0]:.3f} / {r['integrated'][1]:.3f} | "
            f"{r['true_peak'][0]:.3f} / {r['true_peak'][1]:.3f} |"
        )
    lines.append(
        f"\nMedians of {repeats} runs (the meters take turns) after one warm-up run; the same float32 array "
        "goes to each meter; CPU is process time (all threads)."
    )
    return "\n".join(lines)


# -- dialogue ----------------------------------------------------------------------------------------------


def dialogue(levels: list[float], seeds: list[int]) -> list[dict[str, Any]]:
    from reelkit.post.testsignals import espeak_available, mix_at, music_bed, speech_stem

    if not espeak_available():
        return []
    rate = 48000
    rows = []
    for seed in seeds:
        speech = speech_stem(rate, seed=seed)
        bed = music_bed(speech.size, rate, seed=seed)
        for lu in levels:
            mix, speech_lufs = mix_at(speech, bed, rate, lu)
            row: dict[str, Any] = {"seed": seed, "bed_re_speech_lu": lu, "speech_lufs": speech_lufs}
            for method in ("silero", "webrtc"):
                r = Meter(speech=method).measure(mix, rate)  # type: ignore[arg-type]
                iso = r.dialogue_isolated_lufs
                row[method] = {
                    "dialogue_lufs": r.dialogue_lufs,
                    "error_lu": None if r.dialogue_lufs is None else r.dialogue_lufs - speech_lufs,
                    "isolated_lufs": iso,
                    "isolated_error_lu": None if iso is None else iso - speech_lufs,
                    "speech_fraction": r.speech_fraction,
                }
                row["integrated_lufs"] = r.integrated_lufs
            rows.append(row)
    return rows


def dialogue_markdown(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "(espeak-ng not installed: dialogue benchmark skipped)"
    lines = [
        "| bed re speech (LU) | mixes | integrated − speech (mean) | "
        "dialogue − speech, silero (mean / worst) | within 1 LU (silero) | "
        "dialogue − speech, webrtc (mean / worst) | within 1 LU (webrtc) | speech share (silero) | "
        "isolated − speech, silero (mean / worst) | within 1 LU (isolated, silero) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for lu in sorted({r["bed_re_speech_lu"] for r in rows}):
        sel = [r for r in rows if r["bed_re_speech_lu"] == lu]
        integ = statistics.mean(r["integrated_lufs"] - r["speech_lufs"] for r in sel)

        def stats(method: str, sel: list[dict[str, Any]] = sel, key: str = "error_lu") -> tuple[str, str]:
            errs = [r[method][key] for r in sel if r[method][key] is not None]
            if not errs:
                return "n/a", "0/0"
            worst = max(errs, key=abs)
            inside = sum(abs(e) <= 1.0 for e in errs)
            return f"{statistics.mean(errs):+.2f} / {worst:+.2f}", f"{inside}/{len(sel)}"

        s_txt, s_in = stats("silero")
        w_txt, w_in = stats("webrtc")
        i_txt, i_in = stats("silero", key="isolated_error_lu")
        frac = statistics.mean(r["silero"]["speech_fraction"] or 0.0 for r in sel)
        lines.append(
            f"| {lu:+.0f} | {len(sel)} | {integ:+.2f} | {s_txt} | {s_in} | {w_txt} | {w_in} | {frac:.2f} | "
            f"{i_txt} | {i_in} |"
        )
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])  # the first paragraph, whole
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--skip", nargs="*", default=[], choices=["conformance", "speed", "dialogue"])
    ap.add_argument("--out", type=Path, default=ROOT / "out" / "loudness.json", help="the JSON results")
    args = ap.parse_args()
    result: dict[str, Any] = {
        "machine": {"cpus": __import__("os").cpu_count(), "python": platform.python_version()}
    }
    if "conformance" not in args.skip:
        if args.data.is_dir():
            rows = conformance(args.data)
            result["conformance"] = rows
            print("## Conformance\n\n" + conformance_markdown(rows) + "\n")
        else:
            print(f"(no conformance data in {args.data})")
    if "speed" not in args.skip:
        rows = speed(args.data, args.repeats)
        result["speed"] = rows
        print("## Speed: integrated loudness + true peak\n\n" + speed_markdown(rows, args.repeats) + "\n")
    if "dialogue" not in args.skip:
        rows = dialogue([-20.0, -15.0, -10.0, -6.0, -3.0, 0.0], [1, 2, 3, 4])
        result["dialogue"] = rows
        print("## Dialogue-gated loudness\n\n" + dialogue_markdown(rows) + "\n")
    out = args.out
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2, default=float), encoding="utf-8")
    print(f"-> {out}")


if __name__ == "__main__":
    main()
