"""Subtitle-sync benchmark: reelkit against ffsubsync on the synthetic cases of ``subsync_cases.py``.

For every case (110; see that module) each tool gets the media and the distorted subtitle file and writes
a synchronised one. Metric: the share of cues whose start lies within 0.25 s of the truth (and that are
shown), with the cues of a scene cut from the media (class ``cuts-kept``) counted right only when hidden;
a case *passes* when that share is at least 90%. Summaries per distortion class. Tools:

* ``reelkit``: :func:`reelkit.post.subs.sync_subtitles` with its defaults (a refused fit leaves the file
  as it was and is scored that way);
* ``ffsubsync``: its CLI with defaults (``--max-offset-seconds`` raised to reelkit's search range, so both
  search the same offsets);
* ``ffsubsync-split``: the same with ``--split-penalty`` (its alass-style piecewise mode, default penalty).

Negative controls (not part of the 110): subtitles of another programme, and audio without speech; a
trustworthy tool refuses them (reelkit exits 3; ffsubsync has no refusal by default).

Usage::

    python benchmarks/bench_subsync.py [--workers 2] [--tools reelkit,ffsubsync,ffsubsync-split] [--force]

Writes ``benchmarks/out/subsync/results.json`` and ``benchmarks/RESULTS.d/subsync.md``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from difflib import SequenceMatcher
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import subsync_cases as cases_mod
from results_md import write_section

OUT = cases_mod.OUT
RESULTS_MD = Path(__file__).resolve().parent / "RESULTS.d" / "subsync.md"
TOL = 0.25
PASS_SHARE = 0.9
TOOLS = ("reelkit", "ffsubsync", "ffsubsync-split")


def _cues(path: Path) -> tuple[list[float], list[float], list[str]]:
    from reelkit.post.subs import load_subtitles

    sub = load_subtitles(path)
    return [c.start_s for c in sub.cues], [c.end_s for c in sub.cues], [c.text for c in sub.cues]


def score_file(out_path: Path, folder: Path) -> dict[str, Any]:
    """Score a tool's output for a case: the share of the case's cues it got right. A true cue (of
    ``truth.srt``) is right when its start is within ``TOL`` and it is shown (not 0-length, starting inside
    the media); a cue of a scene cut from the media (``cuts-kept``: in the file, not in the media) is right
    when it is hidden (0-length or past the media's end). Cues at a cut's edge are not scored
    (:func:`subsync_cases.cut_cues`). Output cues are matched to the input's by position when the counts
    agree, else by text."""
    t_starts, _, t_texts = _cues(folder / "truth.srt")
    cut, edge = cases_mod.cut_cues(folder)
    media_s = float(json.loads((folder / "case.json").read_text())["media_duration_s"])
    total = len(t_starts) + len(cut)
    empty = {"share": 0.0, "median_err_s": None, "matched": 0, "cues": len(t_starts), "cut_cues": len(cut)}
    if not out_path.exists():
        return empty | {"cut_shown": len(cut), "hidden": 0}
    o_starts, o_ends, o_texts = _cues(out_path)
    i_texts = _cues(folder / "in.srt")[2]
    pairs: list[tuple[int, int]]  # (truth cue, output cue)
    real = [j for j in range(len(i_texts)) if j not in cut and j not in edge]
    if len(o_starts) == len(i_texts) and len(real) == len(t_starts):
        pairs = list(enumerate(real))
    else:
        sm = SequenceMatcher(a=t_texts, b=o_texts, autojunk=False)
        pairs = [(b.a + k, b.b + k) for b in sm.get_matching_blocks() for k in range(b.size)]
        cut = set() if len(o_starts) != len(i_texts) else cut

    def shown(j: int) -> bool:
        return o_ends[j] > o_starts[j] and o_starts[j] < media_s

    errs = np.array([abs(o_starts[j] - t_starts[i]) for i, j in pairs])
    right = sum(1 for (i, j), e in zip(pairs, errs, strict=True) if e <= TOL + 1e-9 and shown(j))
    cut_shown = sum(1 for j in cut if shown(j))
    return {
        "share": (right + len(cut) - cut_shown) / max(1, total),
        "median_err_s": float(np.median(errs)) if len(errs) else None,
        "matched": len(pairs),
        "cues": len(t_starts),
        "cut_cues": len(cut),
        "cut_shown": cut_shown,
        "hidden": sum(1 for _, j in pairs if not shown(j)),
    }


def search_range(media_duration_s: float) -> float:
    return max(60.0, 0.5 * media_duration_s)


def run_reelkit(
    folder: Path, media: str = "media.flac", subs: str = "in.srt", name: str = "reelkit"
) -> dict[str, Any]:
    from reelkit.errors import SyncRefusedError
    from reelkit.post.subs import load_subtitles, sync_subtitles, write_synced

    out = folder / f"{name}.srt"
    t0 = time.perf_counter()
    refused = False
    info: dict[str, Any] = {}
    sub = load_subtitles(folder / subs)
    try:
        res = sync_subtitles(folder / media, sub)
        write_synced(sub, res, out)
        info = res.to_dict()
    except SyncRefusedError as exc:
        refused = True
        shutil.copyfile(folder / subs, out)
        info = {"confidence": exc.confidence, "message": str(exc)}
    return {"seconds": time.perf_counter() - t0, "refused": refused, "info": info}


def _ffmpeg_dir() -> Path:
    import imageio_ffmpeg

    d = OUT / "bin"
    d.mkdir(parents=True, exist_ok=True)
    link = d / "ffmpeg"
    if not link.exists():
        with contextlib.suppress(FileExistsError):  # another worker made it first
            link.symlink_to(imageio_ffmpeg.get_ffmpeg_exe())
    return d


def run_ffsubsync(
    folder: Path, split: bool, media: str = "media.flac", subs: str = "in.srt", name: str | None = None
) -> dict[str, Any]:
    meta = json.loads((folder / "case.json").read_text())
    exe = Path(sys.executable).with_name("ffsubsync")
    out = folder / f"{name or ('ffsubsync-split' if split else 'ffsubsync')}.srt"
    out.unlink(missing_ok=True)
    cmd = [
        str(exe),
        str(folder / media),
        "-i",
        str(folder / subs),
        "-o",
        str(out),
        "--ffmpeg-path",
        str(_ffmpeg_dir()),
        "--max-offset-seconds",
        f"{search_range(meta['media_duration_s']):.0f}",
    ]
    if split:
        cmd.append("--split-penalty")
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=900)
    sec = time.perf_counter() - t0
    if proc.returncode != 0 or not out.exists():
        shutil.copyfile(folder / subs, out)
        return {"seconds": sec, "failed": True, "stderr": proc.stderr[-400:]}
    return {"seconds": sec, "failed": False}


def _task(args: tuple[str, str, bool]) -> dict[str, Any]:
    tool, folder_s, force = args
    folder = Path(folder_s)
    res_path = folder / f"result-{tool}.json"
    if res_path.exists() and not force:  # the tool's run is kept; the score is recomputed (it is cheap)
        run = dict(json.loads(res_path.read_text()))
        run.update(score_file(folder / f"{tool}.srt", folder))
        return run
    run = run_reelkit(folder) if tool == "reelkit" else run_ffsubsync(folder, split=tool == "ffsubsync-split")
    run.update(score_file(folder / f"{tool}.srt", folder))
    run["tool"] = tool
    run["case"] = folder.name
    res_path.write_text(json.dumps(run, indent=1))
    return run


def negative_controls(out: Path) -> list[tuple[str, Path, str, str]]:
    """(name, folder, media file, subtitle file) of inputs that should be refused."""
    import soundfile as sf

    from reelkit.post.subs import synth

    folder = out / "negative"
    folder.mkdir(parents=True, exist_ok=True)
    specs = cases_mod.case_specs()
    items: list[tuple[str, Path, str, str]] = []
    # subtitles of another programme: media of case i with the true subtitles of case i + 52
    for i in range(0, 8):
        a = out / "cases" / specs[i * 6].id
        b = out / "cases" / specs[(i * 6 + 52) % len(specs)].id
        media_name = f"mismatch{i}.flac"
        subs_name = f"mismatch{i}.srt"
        if not (folder / media_name).exists():
            shutil.copyfile(a / "media.flac", folder / media_name)
            shutil.copyfile(b / "truth.srt", folder / subs_name)
        items.append((f"mismatched subtitles {i}", folder, media_name, subs_name))
    # audio without speech: music, noise, music + noise; subtitles of case 0
    rng = np.random.default_rng(7)
    for k, kind in enumerate(("music", "noise", "music+noise", "silence")):
        media_name = f"nospeech{k}.flac"
        subs_name = f"nospeech{k}.srt"
        if not (folder / media_name).exists():
            n = 240 * synth.SR
            x = np.zeros(n, dtype=np.float32)
            if "music" in kind:
                x += 0.1 * synth.music_bed(rng, n)
            if "noise" in kind:
                x += 0.05 * synth.noise_bed(rng, n)
            sf.write(folder / media_name, np.clip(x, -0.9, 0.9), synth.SR, subtype="PCM_16")
            shutil.copyfile(out / "cases" / specs[k].id / "truth.srt", folder / subs_name)
        items.append((f"no speech ({kind})", folder, media_name, subs_name))
    return items


def _neg_task(args: tuple[str, str, str, str, str]) -> dict[str, Any]:
    tool, name, folder_s, media, subs = args
    folder = Path(folder_s)
    stem = Path(media).stem
    if tool == "reelkit":
        r = run_reelkit(folder, media, subs, name=f"{stem}-reelkit")
    else:
        (folder / "case.json").write_text(json.dumps({"media_duration_s": 240.0}))
        r = run_ffsubsync(folder, False, media, subs, name=f"{stem}-ffsubsync")
        r["refused"] = False  # ffsubsync always writes a result
    r.update({"tool": tool, "name": name})
    return r


def long_file_timing(repeats: int = 3) -> dict[str, Any]:
    """Time of the fit alone (no audio decoding or speech detection) on a two-hour programme: 1,487 cues,
    a speech-activity signal made from them, a 25/23.976 frame-rate ratio, a 37 s offset and a 95 s ad
    break at 50 min; median over ``repeats`` runs. Returns the timing and the share of cues within 0.25 s."""
    from reelkit.post.subs.io import from_string
    from reelkit.post.subs.synth import SynthCue, to_srt
    from reelkit.post.vad import SpeechActivity

    rng = np.random.default_rng(0)
    cues: list[tuple[float, float]] = []
    t = 5.0
    while t < 7100:
        d = float(rng.uniform(0.8, 4))
        cues.append((t, t + d))
        t += d + float(rng.uniform(0.2, 3)) + (float(rng.uniform(10, 40)) if rng.random() < 0.03 else 0.0)
    dt = 0.032
    v = np.zeros(int(7300 / dt), dtype=np.float32)
    media = []
    for a, b in cues:
        sh = 95.0 if a > 3000 else 0.0
        media.append(a + sh)
        v[int((a + sh + 0.05) / dt) : int((b + sh - 0.3) / dt)] = 0.9
    ratio = 25 / (24000 / 1001)
    sub = from_string(to_srt([SynthCue(a * ratio + 37, b * ratio + 37, "x") for a, b in cues]))
    from reelkit.post.subs import sync_subtitles

    times = []
    share = 0.0
    for _ in range(repeats):
        t0 = time.perf_counter()
        res = sync_subtitles(SpeechActivity(dt, v), sub)
        times.append(time.perf_counter() - t0)
        got = np.array([res.cue_time(c.index, c.start_s) for c in sub.cues])
        share = float(np.mean(np.abs(got - np.array(media)) <= TOL))
    # speech detection speed: silero on 10 minutes of 16 kHz audio (music and noise: the model's cost does
    # not depend on the content)
    from reelkit.post.subs import synth
    from reelkit.post.vad import speech_activity

    audio = 0.1 * synth.music_bed(rng, 600 * synth.SR) + 0.02 * synth.noise_bed(rng, 600 * synth.SR)
    vad_times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        speech_activity(audio, synth.SR)
        vad_times.append(time.perf_counter() - t0)
    return {
        "cues": len(cues),
        "median_seconds": statistics.median(times),
        "share": share,
        "vad_seconds_per_10min": statistics.median(vad_times),
    }


def summarise(rows: list[dict[str, Any]], specs: dict[str, Any], tools: list[str]) -> dict[str, Any]:
    classes = list(cases_mod.CLASSES)
    summary: dict[str, Any] = {}
    for cls in [*classes, "all classes"]:
        entry: dict[str, Any] = {}
        for tool in tools:
            rs = [
                r for r in rows if r["tool"] == tool and (cls == "all classes" or specs[r["case"]].cls == cls)
            ]
            if not rs:
                continue
            shares = [r["share"] for r in rs]
            entry[tool] = {
                "cases": len(rs),
                "pass_rate": float(np.mean([s >= PASS_SHARE - 1e-9 for s in shares])),
                "mean_share": float(np.mean(shares)),
                "median_seconds": float(statistics.median(r["seconds"] for r in rs)),
                "refused": sum(bool(r.get("refused")) for r in rs),
            }
        summary[cls] = entry
    return summary


def write_markdown(
    summary: dict[str, Any], negatives: list[dict[str, Any]], tools: list[str], extra: dict[str, Any]
) -> None:
    lines = [
        "# Subtitle synchronisation: reelkit vs ffsubsync",
        "",
        f"Command: `{extra['command']}` — {extra['date']}, {extra['machine']}.",
        "",
        f"Cases: {len(cases_mod.case_specs())} "
        "synthetic programmes (`benchmarks/subsync_cases.py`): espeak-ng speech (en, de, fr, es and",
        "mixed; 5 English voice variants, speeds 130-230 wpm) laid out with pauses and music gaps with",
        "[MUSIC] / ♪ cues; beds: none, music -15 / -8 dB, noise -20 / -10 dB, music -10 dB + noise -20",
        "dB (relative to the speech level); true cues start 0-0.1 s before the speech and end 0.2-0.6 s",
        "after it. Distortions: offsets 0.5-120 s (log-uniform, both signs), frame-rate ratios",
        "25/23.976, 24/23.976, 25/24 and inverses, 1-3 ad breaks (10-90 s of music, a third with an",
        "unsubtitled voice-over) or cuts (5-40 s), and combinations; `cuts-kept`: 1-3 cuts (10-40 s)",
        "whose scenes' cues are still in the file.",
        "",
        f"Metric: share of cues whose start is within {TOL} s of the truth and that are shown (not 0-length,",
        "inside the media); a cut scene's cue counts as right only when hidden (0-length or past the media's",
        "end); cues within 0.5 s of a cut's edge, most of their speech still in the media, are not scored.",
        "A case passes at >= 90 %.",
        "ffsubsync 0.5.1 gets the same offset search range (`--max-offset-seconds` = max(60, media/2));",
        "`ffsubsync-split` adds `--split-penalty` (its alass-style piecewise mode, default penalty).",
        "",
        "| class | cases | " + " | ".join(f"{t} pass | {t} mean share" for t in tools) + " |",
        "|---|---|" + "---|---|" * len(tools),
    ]
    for cls, entry in summary.items():
        n = next(iter(entry.values()))["cases"] if entry else 0
        cells = []
        for t in tools:
            e = entry.get(t)
            cells += [f"{100 * e['pass_rate']:.0f}%", f"{100 * e['mean_share']:.1f}%"] if e else ["-", "-"]
        name = f"**{cls}**" if cls == "all classes" else cls
        lines.append(f"| {name} | {n} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "Median seconds per case (audio decoding and speech detection included; each tool's per-case results",
        "are cached under `benchmarks/out/subsync/cases/*/result-TOOL.json` and were timed when computed, on",
        "a machine shared with other jobs (load 13-19 on 2 cores), so compare them only loosely; `--force`",
        "reruns everything):",
        "",
    ]
    allc = summary["all classes"]
    lines.append(
        ", ".join(f"{t} {allc[t]['median_seconds']:.1f} s" for t in tools if t in allc)
        + f" (2 workers, {extra['machine']})."
    )
    if "reelkit" in allc:
        lines.append("")
        lines.append(
            f"reelkit refused {allc['reelkit']['refused']} of the {allc['reelkit']['cases']} real cases."
        )
        lines.append(
            f"It left {extra['unchanged']} files unchanged (offset 0, scale 1, no split, timings not "
            f"rewritten): {extra['unchanged_detail']}."
        )
    errs = ", ".join(f"{t} {extra['median_err'][t]:.3f}" for t in tools if t in extra["median_err"])
    lines += ["", f"Median over cases of the median start error (s): {errs}."]
    if extra.get("long"):
        lg = extra["long"]
        lines += [
            "",
            f"Long file (`long_file_timing`): the fit alone on a two-hour programme ({lg['cues']} cues, "
            f"25/23.976, 37 s offset, a 95 s ad break) takes {lg['median_seconds']:.1f} s (median of 3, same "
            f"machine), {100 * lg['share']:.0f}% of cues within {TOL} s. Silero speech detection takes "
            f"{lg['vad_seconds_per_10min']:.1f} s per 10 minutes of audio (median of 3).",
        ]
    if negatives:
        lines += [
            "",
            "Negative controls (should be refused):",
            "",
            "| input | reelkit | ffsubsync |",
            "|---|---|---|",
        ]
        names = list(dict.fromkeys(r["name"] for r in negatives))
        for nm in names:
            rk = next((r for r in negatives if r["name"] == nm and r["tool"] == "reelkit"), None)
            fs = next((r for r in negatives if r["name"] == nm and r["tool"] == "ffsubsync"), None)
            rk_s = (
                "-"
                if rk is None
                else ("refused" if rk["refused"] else f"accepted ({rk['info'].get('confidence')})")
            )
            fs_s = "-" if fs is None else ("failed" if fs.get("failed") else "wrote a result")
            lines.append(f"| {nm} | {rk_s} | {fs_s} |")
    RESULTS_MD.parent.mkdir(parents=True, exist_ok=True)
    write_section(RESULTS_MD, "\n".join(lines) + "\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--tools", default=",".join(TOOLS))
    ap.add_argument("--force", action="store_true", help="rerun the tools (cases are kept)")
    ap.add_argument("--cases", default="", help="comma-separated case ids (default: all)")
    ap.add_argument("--no-negatives", action="store_true")
    ap.add_argument("--no-long", action="store_true", help="skip the two-hour timing")
    args = ap.parse_args()
    from reelkit.executor import LocalExecutor

    workers = max(1, min(args.workers, 2))
    tools = [t for t in args.tools.split(",") if t]
    folders = cases_mod.generate_all(OUT, workers)
    specs = {s.id: s for s in cases_mod.case_specs()}
    if args.cases:
        keep = set(args.cases.split(","))
        folders = [f for f in folders if f.name in keep]
    _ffmpeg_dir()
    rows: list[dict[str, Any]] = []
    for tool in tools:
        kind = "process" if tool == "reelkit" else "thread"
        rows += LocalExecutor(workers, kind=kind).map(_task, [(tool, str(f), args.force) for f in folders])
    negatives: list[dict[str, Any]] = []
    if not args.no_negatives:
        items = negative_controls(OUT)
        for tool in [t for t in tools if t in ("reelkit", "ffsubsync")]:
            kind = "process" if tool == "reelkit" else "thread"
            negatives += LocalExecutor(workers, kind=kind).map(
                _neg_task, [(tool, n, str(f), m, s) for n, f, m, s in items]
            )
    summary = summarise(rows, specs, tools)
    extra: dict[str, Any] = {
        "command": "python benchmarks/bench_subsync.py " + " ".join(sys.argv[1:]),
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{os.cpu_count()} cores ({platform.machine()}), shared with other jobs",
    }
    if "reelkit" in tools and not args.no_long:
        extra["long"] = long_file_timing()
    rk = [r for r in rows if r["tool"] == "reelkit" and r.get("info", {}).get("unchanged")]
    extra["unchanged"] = len(rk)
    by_cls: dict[str, list[str]] = {}
    for r in rk:
        spec = specs[r["case"]]
        label = spec.cls if spec.cls != "framerate" else f"framerate {spec.ratio_name}"
        by_cls.setdefault(label, []).append(r["case"])
    extra["unchanged_detail"] = "; ".join(f"{k}: {len(v)}" for k, v in by_cls.items()) or "none"
    extra["median_err"] = {
        t: float(
            np.median([r["median_err_s"] for r in rows if r["tool"] == t and r["median_err_s"] is not None])
        )
        for t in tools
    }
    (OUT / "results.json").write_text(
        json.dumps({"summary": summary, "cases": rows, "negatives": negatives, **extra}, indent=1)
    )
    write_markdown(summary, negatives, tools, extra)
    for cls, entry in summary.items():
        print(cls, {t: (round(e["pass_rate"], 3), round(e["mean_share"], 3)) for t, e in entry.items()})


if __name__ == "__main__":
    main()
