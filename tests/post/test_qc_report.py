"""QC: delivery specs, audio faults with exact timecodes, the HTML report, the CLI (exit codes, JSON)."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from reelkit.errors import ConfigError, MediaError
from reelkit.post.audio import read_audio
from reelkit.post.loudness import measure
from reelkit.post.qc import (
    SPECS,
    DeliverySpec,
    QCOptions,
    QCReport,
    audio_findings,
    get_spec,
    render_html,
    run_qc,
)
from reelkit.testing.cli import run_cli as run

RATE = 48000


def programme(seconds: float = 20.0, seed: int = 0) -> np.ndarray:
    """Stereo noise with a correlated image (about -20 LUFS)."""
    rng = np.random.default_rng(seed)
    n = int(seconds * RATE)
    left = 0.05 * rng.standard_normal(n)
    right = 0.8 * left + 0.02 * rng.standard_normal(n)
    return np.stack([left, right], axis=1).astype(np.float32)


@pytest.fixture(scope="module")
def faulty(tmp_path_factory: pytest.TempPathFactory) -> Path:
    x = programme()
    x[4 * RATE : 7 * RATE] = 0.0  # 3 s of silence
    x[10 * RATE : 10 * RATE + 5, 0] = 1.0  # 5 samples at full scale on L
    x[12 * RATE : 16 * RATE, 1] *= -1  # R inverted for 4 s
    path = tmp_path_factory.mktemp("qc") / "faulty.wav"
    sf.write(path, x, RATE, subtype="FLOAT")
    return path


def test_specs_round_trip_and_lookup() -> None:
    for spec in SPECS.values():
        assert DeliverySpec.model_validate_json(spec.model_dump_json()) == spec
    assert get_spec("EBU-R128").target_lufs == -23.0
    assert get_spec("netflix").measure == "dialogue" and get_spec("netflix").max_true_peak_dbtp == -2.0
    assert get_spec("atsc-a85").target_lufs == -24.0
    with pytest.raises(ConfigError, match="unknown delivery spec"):
        get_spec("bbc")


def test_audio_findings_exact(faulty: Path) -> None:
    a = read_audio(faulty)
    found = audio_findings(a.samples, a.sample_rate)
    by_kind = {f.kind: f for f in found}
    assert set(by_kind) == {"silence", "clipping", "phase"}
    s = by_kind["silence"]
    assert (s.start_s, s.end_s, s.severity) == (pytest.approx(4.0), pytest.approx(7.0), "warning")
    c = by_kind["clipping"]
    assert (
        c.start_s == pytest.approx(10.0)
        and c.end_s == pytest.approx(10.0 + 5 / RATE)
        and c.severity == "error"
    )
    assert "on FL" in c.message  # ffmpeg's channel names
    p = by_kind["phase"]
    assert (p.start_s, p.end_s) == (pytest.approx(12.0), pytest.approx(16.0))


def test_silent_channel_and_whole_programme_inversion() -> None:
    x = programme(6.0)
    x[:, 1] = 0.0
    kinds = [(f.kind, f.severity) for f in audio_findings(x, RATE)]
    assert ("silent_channel", "error") in kinds
    y = programme(6.0)
    y[:, 1] = -y[:, 0]
    inv = [f for f in audio_findings(y, RATE) if f.kind == "phase"]
    assert len(inv) == 1 and inv[0].severity == "error" and "inverted" in inv[0].message
    assert audio_findings(programme(6.0), RATE) == []


def test_a_silent_channel_needs_another_20_db_over_it_and_a_silent_lfe_is_a_warning() -> None:
    """A channel under -70 dBFS is silent only while another plays over -50 dBFS (a quiet programme, L at
    -60, is not "R silent"); a silent LFE is a warning (many 5.1 mixes leave it empty), any other an error."""
    t = np.arange(6 * RATE) / RATE
    tone = np.sin(2 * np.pi * 997 * t) * np.sqrt(2)  # 0 dBFS RMS
    quiet = np.stack([tone * 10 ** (-60 / 20), np.zeros_like(t)], 1).astype(np.float32)
    assert [f for f in audio_findings(quiet, RATE) if f.kind == "silent_channel"] == []
    five_one = np.stack([tone * 10 ** (-30 / 20)] * 6, 1).astype(np.float32)
    five_one[:, 3] = 0.0  # FL FR FC LFE BL BR: the LFE empty
    (lfe,) = [f for f in audio_findings(five_one, RATE) if f.kind == "silent_channel"]
    assert lfe.severity == "warning" and lfe.message.startswith("channel 4 (LFE) is silent")
    five_one[:, 2] = 0.0
    found = {f.message[:11]: f.severity for f in audio_findings(five_one, RATE) if f.kind == "silent_channel"}
    assert found == {"channel 3 (": "error", "channel 4 (": "warning"}


def test_phase_windows_are_pearson_correlations_and_the_whole_programme_means_90_percent() -> None:
    """Correlation per 1 s window is Pearson's (about the window's mean: L = 0.05 + s, R = 0.05 - s is -1,
    a whole-programme inversion, whatever the DC); an inversion over 6 of 10 s is a warning over those 6 s,
    not "the whole programme" (90 % of the active windows); one of exactly ``phase_min_s`` (2 s) is found."""
    s = programme(10.0)[:, :1]
    dc = np.concatenate([0.05 + s, 0.05 - s], axis=1).astype(np.float32)
    (inv,) = [f for f in audio_findings(dc, RATE) if f.kind == "phase"]
    assert inv.severity == "error" and "median correlation -1.00" in inv.message
    for first, last in ((2, 8), (3, 5)):
        x = programme(10.0)
        x[first * RATE : last * RATE, 1] *= -1
        (p,) = [f for f in audio_findings(x, RATE) if f.kind == "phase"]
        assert (p.start_s, p.end_s, p.severity) == (first, last, "warning")
    # windows with a channel under -50 dBFS (silent_channel_dbfs + 20) are not judged: a quiet inverted
    # passage at -55 dBFS RMS is no phase finding
    q = programme(10.0)
    q[3 * RATE : 7 * RATE] *= 10 ** (-29 / 20)  # about -26 dBFS RMS down to -55
    q[3 * RATE : 7 * RATE, 1] = -q[3 * RATE : 7 * RATE, 0]
    assert [f for f in audio_findings(q, RATE) if f.kind == "phase"] == []


def test_phase_pairs_are_found_by_channel_name() -> None:
    """A 7.1 mix's side pair (channels 7 and 8) went unchecked: pairs were taken by position."""
    seven_one = np.concatenate([programme(6.0, seed=s) for s in range(4)], axis=1)
    assert audio_findings(seven_one, RATE) == []
    seven_one[:, 7] = -seven_one[:, 6]
    (inv,) = [f for f in audio_findings(seven_one, RATE) if f.kind == "phase"]
    assert inv.message.startswith("SL/SR out of phase")
    # in 4.0 (FL FR FC BC) the centre and the back are not a pair; in quad (FL FR BL BR) the back is
    four = np.concatenate([programme(6.0, seed=s) for s in range(2)], axis=1)
    four[:, 3] = -four[:, 2]
    assert [f for f in audio_findings(four, RATE, layout="4.0") if f.kind == "phase"] == []
    (inv,) = [f for f in audio_findings(four, RATE, layout="quad") if f.kind == "phase"]
    assert inv.message.startswith("BL/BR out of phase")


def test_short_clip_runs_and_options() -> None:
    x = programme(3.0)
    x[RATE, 0] = 1.0  # one sample: not a run of 3
    assert not [f for f in audio_findings(x, RATE) if f.kind == "clipping"]
    assert [f for f in audio_findings(x, RATE, QCOptions(clip_run_samples=1)) if f.kind == "clipping"]
    with pytest.raises(ConfigError):
        QCOptions(clip_level=2.0).validate()


def test_spans_merge_across_a_gap_of_merge_gap_and_findings_cap_with_a_count() -> None:
    """Spans 0.5 s apart join (gap <= merge_gap_s), a span inside another keeps the outer end; exactly
    ``cap`` findings are kept whole, 53 become 50 and '... and 3 more'."""
    from reelkit.post.findings import Finding
    from reelkit.post.qc import _capped, _merge

    assert _merge([(1.5, 2.0), (0.0, 1.0), (3.0, 3.5)], 0.5) == [(0.0, 2.0, 2), (3.0, 3.5, 1)]
    assert _merge([(0.0, 5.0), (1.0, 2.0)], 0.5) == [(0.0, 5.0, 2)]
    found = [Finding("silence", float(i), i + 0.5, "warning", "m", "audio") for i in range(53)]
    assert _capped(found[:50], "silence", 50) == found[:50]
    cut = _capped(found, "silence", 50)
    assert cut[:50] == found[:50] and len(cut) == 51
    assert (cut[50].start_s, cut[50].end_s, cut[50].severity) == (50.0, 52.5, "warning")
    assert cut[50].message == "... and 3 more silence findings (list cut at 50)"


def test_a_low_tone_near_full_scale_is_not_clipping_but_a_flat_top_is() -> None:
    """A clean 50 Hz sine peaking at 0.99995 has runs of a dozen samples over 0.999, all different: it was
    "2000 runs of clipping". Clipping is samples stuck at one value at full scale, or over it."""
    t = np.arange(4 * RATE) / RATE
    sine = (0.99995 * np.sin(2 * np.pi * 50 * t)).astype(np.float32)[:, None]
    assert not [f for f in audio_findings(sine, RATE) if f.kind == "clipping"]
    clipped = np.clip(1.2 * sine, -0.9999, 0.9999)  # flat tops at the rail
    (finding,) = [f for f in audio_findings(clipped, RATE) if f.kind == "clipping"]
    assert finding.message.startswith("400 run(s)")  # both rails of 200 cycles
    overs = 1.2 * sine  # a float file's overs, never stuck
    assert [f for f in audio_findings(overs, RATE) if f.kind == "clipping"]


def test_clipping_is_found_a_chunk_at_a_time_as_on_the_whole_programme(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Whole-channel masks made QC need 3.6 times a 2 h programme's samples (10 GB): the runs are found a
    chunk at a time, with a run carried across chunks, and are the same whatever the chunk (runs across,
    ending on and starting after a chunk's edge); the work stays a small part of the samples."""
    import tracemalloc

    from reelkit.post import qc

    x = programme(2.0)
    for a, b in ((0, 3), (95, 105), (200, 203), (298, 300), (300, 304), (RATE, RATE + 700)):
        x[a:b, 0] = 0.9999  # stuck at the rail
    x[RATE + 5 : RATE + 9, 1] = 1.3  # a float file's overs, in the other channel
    whole = [(f.start_s, f.end_s, f.message) for f in audio_findings(x, RATE) if f.kind == "clipping"]
    assert [m.split(" stuck")[0] for _, _, m in whole] == ["4 run(s) of 3+ samples", "2 run(s) of 3+ samples"]
    for chunk in (1, 2, 100, 300):
        monkeypatch.setattr(qc, "_CHUNK_FRAMES", chunk)
        got = [(f.start_s, f.end_s, f.message) for f in audio_findings(x, RATE) if f.kind == "clipping"]
        assert got == whole, chunk
    runs = qc._clipped_runs(x[:, 0], 0.999, 3)
    assert runs == [(0, 3), (95, 105), (200, 203), (298, 304), (RATE, RATE + 700)]
    monkeypatch.setattr(qc, "_CHUNK_FRAMES", 1 << 12)
    tracemalloc.start()
    qc._clipping(x, RATE, QCOptions(), ["L", "R"])
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 0.2 * x.nbytes, peak / x.nbytes


def test_an_8_bit_files_positive_clipping_is_found(tmp_path: Path) -> None:
    """An 8-bit file's largest positive code reads 127/128 = 0.99219, under clip_level: a hard-clipped 50 Hz
    sine gave 100 runs (the negative rail only) where its 16-bit copy gives 200 (both)."""
    t = np.arange(2 * RATE) / RATE
    clipped = np.clip(1.5 * np.sin(2 * np.pi * 50 * t), -1.0, 1.0)[:, None]
    runs = {}
    for subtype in ("PCM_U8", "PCM_16"):
        path = tmp_path / f"clip_{subtype}.wav"
        sf.write(path, clipped, RATE, subtype=subtype)
        report = run_qc(path, spec="ebu-r128", options=QCOptions(vad="none"), plot=False)
        (finding,) = [f for f in report.findings if f.kind == "clipping"]
        runs[subtype] = finding.message.split()[0]
    assert runs == {"PCM_U8": "200", "PCM_16": "200"}


def test_run_qc_against_specs(faulty: Path) -> None:
    report = run_qc(faulty, spec="ebu-r128")
    assert not report.passed
    kinds = {f.kind for f in report.findings if f.severity == "error"}
    assert {"loudness", "clipping", "true_peak"} <= kinds
    loud = next(f for f in report.findings if f.kind == "loudness")
    assert "above" in loud.message and "-23" in loud.message
    tp = next(f for f in report.findings if f.kind == "true_peak")
    assert tp.start_s == pytest.approx(10.0, abs=0.01)
    starts = [f.start_s for f in report.findings]
    assert starts == sorted(starts)
    data = report.to_dict()
    json.dumps(data)  # JSON-able
    assert data["passed"] is False and data["counts"]["error"] >= 3
    assert data["findings"][0]["timecode"] == "00:00:00.000"
    # netflix is dialogue-gated; noise has no speech: the integrated loudness is checked, with a note
    nf = run_qc(faulty, spec="netflix", plot=False)
    assert any("dialogue" in n for n in nf.notes)


def test_clean_programme_passes_after_normalising(tmp_path: Path) -> None:
    from reelkit.post.normalize import normalize_samples

    y, _ = normalize_samples(programme(8.0), RATE, target_lufs=-23.0, true_peak_dbtp=-1.0)
    path = tmp_path / "clean.wav"
    sf.write(path, y, RATE, subtype="FLOAT")
    report = run_qc(path, spec="ebu-r128", plot=False)
    assert report.passed, report.findings
    assert report.programme_lufs == pytest.approx(-23.0, abs=0.1)


@pytest.mark.parametrize(("level", "severity"), [(-23.4, "info"), (-23.7, "error"), (-22.3, "error")])
def test_ebu_r128_holds_the_programme_to_half_a_lu(tmp_path: Path, level: float, severity: str) -> None:
    """EBU R128: -23 LUFS ±0.5 LU; 0.4 LU below passes, 0.7 below or above fails."""
    x = programme(8.0)
    x = (x * 10 ** ((level - measure(x, RATE).integrated_lufs) / 20)).astype(np.float32)
    path = tmp_path / "p.wav"
    sf.write(path, x, RATE, subtype="FLOAT")
    report = run_qc(path, spec="ebu-r128", plot=False)
    assert report.programme_lufs == pytest.approx(level, abs=0.01)
    assert next(f for f in report.findings if f.kind == "loudness").severity == severity


def test_a_loudness_finding_says_too_short_under_one_400_ms_block_else_silent() -> None:
    """Under 0.4 s (one gating block) there is no integrated loudness because the programme is too short
    (0.35 s of noise); a silent programme of 0.5 s has none because it is silent."""
    from reelkit.post.qc import _loudness_findings

    for x, why in (
        (programme(0.35), "shorter than one 400 ms block"),
        (np.zeros((RATE // 2, 2), np.float32), "the programme is silent"),
    ):
        found, _, _ = _loudness_findings(x, RATE, measure(x, RATE), get_spec("ebu-r128"), QCOptions())
        loud = next(f for f in found if f.kind == "loudness")
        assert loud.severity == "error" and why in loud.message


def test_a_loudness_finding_names_an_unmeasured_channel_or_the_absolute_gate_not_silence() -> None:
    """An LFE stream alone at -6 dBTP read "the programme is silent" (BS.1770 weights no channel of it), as
    did noise at -88 LUFS (every block under the -70 LUFS absolute gate); digital silence is silent."""
    from reelkit.post.loudness import Meter
    from reelkit.post.qc import _loudness_findings

    t = np.arange(RATE * 2) / RATE
    lfe = (0.5 * np.sin(2 * np.pi * 60 * t)).astype(np.float32)[:, None]
    quiet = programme(2.0) * np.float32(10 ** (-70 / 20))
    for x, layout, why in (
        (lfe, "LFE", "BS.1770 measures none of these channels (it leaves LFE"),
        (quiet, None, "below BS.1770's absolute gate (-70 LUFS; loudest 400 ms block -9"),
        (np.zeros((RATE, 2), np.float32), None, "the programme is silent"),
    ):
        lo = Meter().measure(x, RATE, layout=layout)
        found, _, _ = _loudness_findings(x, RATE, lo, get_spec("ebu-r128"), QCOptions())
        loud = next(f for f in found if f.kind == "loudness")
        assert loud.severity == "error" and why in loud.message, loud.message


@pytest.mark.parametrize(("peak_dbtp", "severity"), [(-0.998, "info"), (-0.98, "error")])
def test_a_true_peak_just_over_the_ceiling_is_an_error(
    tmp_path: Path, peak_dbtp: float, severity: str
) -> None:
    """Over the -1 dBTP ceiling by under 0.005 dB is PCM rounding of a limited peak; 0.02 dB over is an
    overshoot (the programme is scaled to that true peak as the meter reads it)."""
    x = programme(8.0)
    x = (x * 10 ** ((peak_dbtp - measure(x, RATE).true_peak_dbtp) / 20)).astype(np.float32)
    path = tmp_path / "p.wav"
    sf.write(path, x, RATE, subtype="FLOAT")
    report = run_qc(path, spec="ebu-r128", plot=False)
    tp = [f for f in report.findings if f.kind == "true_peak"]
    assert [f.severity for f in tp] == [severity]


def test_ebu_r128_warns_of_a_loudness_range_over_20_lu(tmp_path: Path) -> None:
    """Noise alternating with itself 20.5 dB quieter (10 s each) has a loudness range of 20.5 LU, over
    R128's 20 LU."""
    loud = programme(10.0)
    x = np.concatenate([loud, loud * 10 ** (-20.5 / 20)] * 2).astype(np.float32)
    path = tmp_path / "p.wav"
    sf.write(path, x, RATE, subtype="FLOAT")
    report = run_qc(path, spec="ebu-r128", plot=False)
    lra = [f for f in report.findings if f.kind == "loudness_range"]
    assert [f.severity for f in lra] == ["warning"] and "20.5 LU is wider than 20 LU" in lra[0].message


@pytest.mark.parametrize(("seconds", "found"), [(1.8, False), (2.0, True), (2.3, True)])
def test_silence_of_two_seconds_or_more_is_found(seconds: float, found: bool) -> None:
    """``silence_min_s`` is 2 s: 2.3 s and exactly 2 s of digital silence inside a programme are a finding,
    1.8 s is not."""
    x = programme(10.0)
    x[4 * RATE : 4 * RATE + int(seconds * RATE)] = 0.0
    silence = [f for f in audio_findings(x, RATE) if f.kind == "silence"]
    assert [(f.start_s, f.end_s) for f in silence] == (
        [(pytest.approx(4.0, abs=0.05), pytest.approx(4.0 + seconds, abs=0.05))] if found else []
    )


def test_silence_is_every_channel_quiet_and_a_tail_runs_to_the_last_sample() -> None:
    """Silence is every channel under -60 dBFS: a 5.1 whose centre alone carries a -55 dBFS passage is not
    silent (their mean power, -62.8 dB, is). A tail silence ends at the programme's end (4.03 s, not the
    last whole 50 ms segment, 4.0 s)."""
    t = np.arange(6 * RATE) / RATE
    x = np.zeros((6 * RATE, 6), dtype=np.float32)
    x[:, 2] = np.sin(2 * np.pi * 997 * t) * np.sqrt(2) * 10 ** (-55 / 20)
    assert [f for f in audio_findings(x, RATE) if f.kind == "silence"] == []
    y = programme(4.03)
    y[2 * RATE :] = 0.0
    (tail,) = [f for f in audio_findings(y, RATE) if f.kind == "silence"]
    assert (tail.start_s, tail.end_s) == (2.0, pytest.approx(4.03, abs=1e-9))
    assert tail.message == "silence of 2.0 s (all channels under -60 dBFS) at the tail"


def test_silence_at_the_head_and_of_the_whole_programme() -> None:
    """2.5 s of silence first is a warning "at the head"; a programme silent but for its last 50 ms is a
    9.95 s head silence too (it was an error, as if the whole programme were silent, while 60 ms of sound
    made it a head warning); an all-silent programme is an error without a place."""
    x = programme(10.0)
    x[: int(2.5 * RATE)] = 0.0
    (head,) = [f for f in audio_findings(x, RATE) if f.kind == "silence"]
    assert (head.start_s, head.end_s, head.severity) == (0.0, 2.5, "warning")
    assert head.message.endswith("at the head")
    y = programme(10.0)
    y[: -int(0.05 * RATE)] = 0.0
    (head,) = [f for f in audio_findings(y, RATE) if f.kind == "silence"]
    assert (head.start_s, head.end_s, head.severity) == (0.0, pytest.approx(9.95), "warning")
    assert head.message.endswith("at the head")
    (whole,) = [f for f in audio_findings(np.zeros_like(y), RATE) if f.kind == "silence"]
    assert (whole.end_s, whole.severity, whole.message) == (
        10.0,
        "error",
        "silence of 10.0 s (all channels under -60 dBFS)",
    )
    # sound only in the last 49 ms, after the last whole 50 ms segment, is measured too: a head warning
    z = programme(10.049)
    z[: int(10.0 * RATE)] = 0.0
    (head,) = [f for f in audio_findings(z, RATE) if f.kind == "silence"]
    assert (head.start_s, head.end_s, head.severity) == (0.0, pytest.approx(10.0), "warning")
    assert head.message.endswith("at the head")


def test_html_report(faulty: Path, tmp_path: Path) -> None:
    report = run_qc(faulty, spec="atsc-a85")
    assert report.plot_png is not None and report.plot_png[:8] == b"\x89PNG\r\n\x1a\n"
    html = render_html(report)
    assert "data:image/png;base64," in html and "FAIL" in html
    assert "00:00:10.000" in html and "clipping" in html and "ATSC A/85" in html
    from reelkit.post.qc import write_report

    out = write_report(report, tmp_path / "r.html")
    assert out.read_text(encoding="utf-8") == html
    assert [p.name for p in tmp_path.iterdir()] == ["r.html"]  # no temporary file left behind


def _silence_then_tone(tmp_path: Path) -> QCReport:
    """The QC report of 3 s of silence then 3 s of a tone, with one cue at 4 s, in a -20 +-10 band."""
    t = np.arange(3 * RATE) / RATE
    x = np.concatenate([np.zeros(3 * RATE), 0.1 * np.sin(2 * np.pi * 1000 * t)]).astype(np.float32)
    path, srt = tmp_path / "p.wav", tmp_path / "p.srt"
    sf.write(path, x, RATE, subtype="FLOAT")
    srt.write_text("1\n00:00:04,000 --> 00:00:05,000\nHello.\n", encoding="utf-8")
    spec = DeliverySpec(
        name="t", title="t", measure="dialogue", target_lufs=-20.0, tolerance_lu=10.0, max_true_peak_dbtp=0.0
    )
    return run_qc(path, subs=srt, spec=spec, plot=False, options=QCOptions(vad="none"))


def test_the_report_orders_findings_by_time_then_severity_and_keeps_notes_in_order(tmp_path: Path) -> None:
    """3 s of silence then a tone: at 0 s the silence warning comes before the loudness note (by severity,
    not kind); the JSON gives the band checked (-20 +-10), the counts and a pass; notes keep the order
    they were made in; the page is titled by the file's name."""
    report = _silence_then_tone(tmp_path)
    assert [(f.kind, f.start_s) for f in report.findings[:2]] == [("silence", 0.0), ("loudness", 0.0)]
    data = report.to_dict()
    assert data["passed"] is True and data["counts"] == {"error": 0, "warning": 1, "info": 2}
    assert (data["programme_target_lufs"], data["programme_tolerance_lu"]) == (-20.0, 10.0)
    assert [n.split()[0] for n in report.notes] == ["speech", "the", "subtitle"]
    assert "<title>QC report: p.wav</title>" in render_html(report)  # the file's name, not its path


def test_subtitle_findings_join(faulty: Path, tmp_path: Path) -> None:
    subs_mod = pytest.importorskip("reelkit.post.subs")
    if not hasattr(subs_mod, "check_subtitles"):
        pytest.skip("reelkit.post.subs has no check_subtitles yet")
    srt = tmp_path / "s.srt"
    srt.write_text(
        "1\n00:00:01,000 --> 00:00:03,000\nHello there.\n\n2\n00:00:02,500 --> 00:00:04,000\nOverlap.\n\n"
        "3\n00:00:25,000 --> 00:00:26,000\nAfter the end.\n",
        encoding="utf-8",
    )
    report = run_qc(faulty, subs=srt, plot=False, options=QCOptions(sync=False))
    sub_kinds = {f.kind for f in report.findings if f.source == "subtitles"}
    assert "overlap" in sub_kinds and "past_end" in sub_kinds


def test_read_audio_errors(tmp_path: Path) -> None:
    with pytest.raises(MediaError, match="no such file"):
        read_audio(tmp_path / "missing.wav")
    with pytest.raises(MediaError, match="folder"):
        read_audio(tmp_path)
    junk = tmp_path / "junk.wav"
    junk.write_bytes(b"this is not audio at all" * 10)
    with pytest.raises(MediaError):
        read_audio(junk)


@pytest.mark.media
def test_video_only_and_container_audio(tmp_path: Path) -> None:
    from reelkit.media import run_ffmpeg

    video = tmp_path / "v.mp4"
    run_ffmpeg(
        ["-v", "error", "-f", "lavfi", "-i", "testsrc2=size=64x48:rate=10:duration=1", "-an", str(video)]
    )
    with pytest.raises(MediaError, match="no audio stream"):
        read_audio(video)
    m4a = tmp_path / "a.m4a"
    run_ffmpeg(
        ["-v", "error", "-f", "lavfi", "-i", "sine=frequency=997:duration=2:sample_rate=48000", str(m4a)]
    )
    a = read_audio(m4a)
    assert a.sample_rate == 48000 and a.duration_s == pytest.approx(2.0, abs=0.05)


@pytest.mark.media
def test_a_soundtrack_ending_before_the_picture_is_not_truncated(tmp_path: Path) -> None:
    """A 4 s picture with a 2 s soundtrack: the container's 4 s are the picture's, so the 2 s that decode are
    the whole soundtrack (no warning, nothing declared beyond them)."""
    import warnings

    from reelkit.media import run_ffmpeg

    video = tmp_path / "early_end.mp4"
    run_ffmpeg(
        [
            *("-v", "error", "-f", "lavfi", "-i", "testsrc2=size=64x48:rate=10:duration=4"),
            *("-f", "lavfi", "-i", "sine=frequency=997:duration=2:sample_rate=48000"),
            *("-c:v", "libx264", "-c:a", "aac", str(video)),
        ]
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        a = read_audio(video)
    assert a.duration_s == pytest.approx(2.0, abs=0.05) and a.declared_duration_s is None


@pytest.mark.media
def test_a_truncated_film_with_a_picture_is_said_to_be_cut_short(tmp_path: Path) -> None:
    """An MKV of picture and sound cut to 40% of its bytes: ffmpeg says "File ended prematurely" (not
    "partial file"), and with a picture beside the soundtrack only ffmpeg's word tells a cut file from a
    soundtrack that ends early: it was not read as one, so 2.2 s of a 6 s film passed as whole."""
    from reelkit.errors import ReelkitWarning
    from reelkit.media import run_ffmpeg

    full = tmp_path / "full.mkv"
    run_ffmpeg(
        [
            *("-v", "error", "-f", "lavfi", "-i", "testsrc2=size=64x48:rate=10:duration=6"),
            *("-f", "lavfi", "-i", "sine=frequency=997:duration=6:sample_rate=48000"),
            *("-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", str(full)),
        ]
    )
    cut = tmp_path / "cut.mkv"
    cut.write_bytes(full.read_bytes()[: full.stat().st_size * 4 // 10])
    with pytest.warns(ReelkitWarning, match="truncated or damaged"):
        a = read_audio(cut)
    assert a.declared_duration_s == pytest.approx(6.0, abs=0.05) and a.duration_s < 4.0


# -- CLI ------------------------------------------------------------------------------------------------

KEYS = {
    "integrated_lufs",
    "lra_lu",
    "true_peak_dbtp",
    "sample_peak_dbfs",
    "momentary_max_lufs",
    "short_term_max_lufs",
    "dialogue_lufs",
    "speech_fraction",
    "dialogue_gated_lufs",
    "notes",
}


def test_cli_loudness_json(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    t = np.arange(5 * RATE) / RATE
    x = (0.1 * np.sin(2 * np.pi * 997 * t)).astype(np.float32)
    path = tmp_path / "tone.wav"
    sf.write(path, np.stack([x, x], 1), RATE, subtype="PCM_24")
    code, out, _ = run(capsys, "loudness", str(path), "--json", "--vad", "none")
    assert code == 0
    data = json.loads(out)
    assert set(data) == KEYS
    assert data["integrated_lufs"] == pytest.approx(-20.0 + 0.0, abs=0.05)  # -20 dBFS on both channels
    assert data["dialogue_lufs"] is None and data["speech_fraction"] is None
    code, out, _ = run(capsys, "loudness", "--vad", "none", "--json", str(path))  # options first
    assert code == 0 and set(json.loads(out)) == KEYS
    code, out, _ = run(capsys, "loudness", str(path), "--vad", "none")  # table
    assert code == 0 and "integrated_lufs" in out
    assert data["notes"] == []
    # what the figures leave out is said in the JSON too (it was printed under the table only)
    sf.write(path, np.tile(x[:, None], (1, 10)), RATE, subtype="PCM_24")
    code, out, _ = run(capsys, "loudness", str(path), "--json", "--vad", "none")
    assert code == 0 and any("channels 9-10 left out" in n for n in json.loads(out)["notes"])


def test_cli_normalize(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    src = tmp_path / "in.wav"
    sf.write(src, programme(6.0), RATE, subtype="PCM_24")
    dst = tmp_path / "out.flac"
    code, out, err = run(
        capsys,
        "loudness",
        "normalize",
        str(src),
        "-o",
        str(dst),
        "--target",
        "-16",
        "--true-peak",
        "-1",
        "--json",
    )
    assert code == 0, err
    res = json.loads(out)
    assert res["output_path"] == str(dst) and dst.exists()
    assert res["target_lufs"] == -16.0 and res["true_peak_ceiling_dbtp"] == -1.0  # the options, not defaults
    y, rate = sf.read(dst, dtype="float32")
    from reelkit.post.loudness import measure

    m = measure(y, rate)
    assert m.integrated_lufs == pytest.approx(-16.0, abs=0.15)
    assert m.true_peak_dbtp <= -1.0 + 0.05
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.wav", "out.flac"]
    # then measure the result from the command line
    code, out, _ = run(capsys, "loudness", str(dst), "--json", "--vad", "none")
    assert code == 0 and json.loads(out)["integrated_lufs"] == pytest.approx(-16.0, abs=0.15)


def test_cli_help(capsys: pytest.CaptureFixture[str]) -> None:
    for cmd in (["loudness"], ["loudness", "normalize"], ["qc"]):
        code, out, _ = run(capsys, *cmd, "--help")
        assert code == 0 and "Usage" in out, cmd
    code, out, _ = run(capsys, "loudness", "--help")
    assert "normalize" in out and "FILE" in out


def test_cli_errors(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run(capsys, "loudness", str(tmp_path / "nope.wav"), "--json")
    assert code == 2 and "no such file" in err and "Traceback" not in err
    # random bytes named .flac: ffmpeg probes "flac, 0 channels"; that was "channel layout '?' is not one
    # reelkit knows ... or give the channel count" (no command takes one)
    garbage = tmp_path / "garbage.flac"
    garbage.write_bytes(np.random.default_rng(0).bytes(5000))
    code, _, err = run(capsys, "loudness", str(garbage))
    assert code == 2 and "damaged, or is not what its name says" in err and "channel count" not in err
    code, _, err = run(capsys, "loudness")
    assert code == 2
    src = tmp_path / "in.wav"
    sf.write(src, programme(2.0), RATE)
    code, _, err = run(
        capsys, "loudness", "normalize", str(src), "-o", str(tmp_path / "o.wav"), "--target", "5"
    )
    assert code == 2 and "--target" in err
    code, _, err = run(capsys, "loudness", "normalize", str(src), "-o", str(src))
    assert code == 2 and "overwrite" in err
    code, _, err = run(capsys, "loudness", str(src), "--vad", "bogus")
    assert code == 2 and "--vad" in err
    code, _, err = run(capsys, "qc", str(src), "--spec", "bogus")
    assert code == 2 and "unknown delivery spec" in err
    code, _, err = run(capsys, "qc", str(src), "-o", str(tmp_path / "no" / "r.html"))
    assert code == 2 and "does not exist" in err
    code, _, err = run(capsys, "qc", str(src), "-o", str(tmp_path))
    assert code == 2 and "is a folder" in err and len(err.strip().splitlines()) == 1
    subs = tmp_path / "in.srt"
    subs.write_text("1\n00:00:00,500 --> 00:00:01,000\nhi\n")
    before = src.read_bytes(), subs.read_bytes()
    for victim in (src, subs):  # the report must not replace the media or the subtitles
        code, _, err = run(capsys, "qc", str(src), "--subs", str(subs), "--no-video", "-o", str(victim))
        assert code == 2 and "would overwrite an input file" in err
    code, _, err = run(capsys, "subs", "sync", str(src), str(subs), "-o", str(subs))
    assert code == 2 and "would overwrite an input file" in err
    assert (src.read_bytes(), subs.read_bytes()) == before
    # subtitles in an 8-bit encoding detection cannot tell: qc takes --encoding, as subs sync does
    odd = tmp_path / "odd.srt"
    odd.write_bytes("1\n00:00:00,500 --> 00:00:01,000\n\u0436\u0438\u0437\u043d\u044c\n".encode("koi8-r"))
    code, out, err = run(
        capsys, "qc", str(src), "--subs", str(odd), "--encoding", "koi8-r", "--no-video", "--json"
    )
    assert code == 0, err
    assert json.loads(out)["subs"] == str(odd)
    code, _, err = run(capsys, "qc", str(src), "--subs", str(odd), "--encoding", "bogus", "--no-video")
    assert code == 2 and "bogus" in err
    low = tmp_path / "low.wav"
    sf.write(low, np.zeros((8000, 1), dtype=np.float32), 4000)
    for args in (["loudness", str(low)], ["qc", str(low), "--no-video"]):
        code, _, err = run(capsys, *args)
        assert code == 2 and err.strip().startswith(f"error: {low}: sample rate 4000 Hz"), err
    for bad_out, needle in (
        (tmp_path, "is a folder"),
        (tmp_path / "o", "no extension"),
        (tmp_path / "o.xyz", "'.xyz'"),
    ):
        code, _, err = run(capsys, "loudness", "normalize", str(src), "-o", str(bad_out))
        assert code == 2 and needle in err and "Traceback" not in err, (bad_out, err)
    assert not any(p.name.startswith(".") for p in tmp_path.iterdir())  # no temporary file left behind
    silent = tmp_path / "silent.wav"
    sf.write(silent, np.zeros((RATE, 2), dtype=np.float32), RATE)
    code, _, err = run(capsys, "loudness", "normalize", str(silent), "-o", str(tmp_path / "o.wav"))
    assert code == 2 and "silent" in err


def test_cli_qc(capsys: pytest.CaptureFixture[str], faulty: Path, tmp_path: Path) -> None:
    report = tmp_path / "report.html"
    code, out, err = run(capsys, "qc", str(faulty), "--spec", "ebu-r128", "-o", str(report), "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["passed"] is False and data["report"] == str(report)
    assert {f["kind"] for f in data["findings"]} >= {"loudness", "clipping", "silence", "phase", "true_peak"}
    assert all(
        set(f) >= {"kind", "start_s", "end_s", "severity", "timecode", "message"} for f in data["findings"]
    )
    assert "data:image/png;base64," in report.read_text(encoding="utf-8")
    code, _, _ = run(capsys, "qc", str(faulty), "--strict", "--json")
    assert code == 1
    code, out, _ = run(capsys, "qc", str(faulty))
    assert code == 0 and "FAIL" in out
    assert math.isfinite(data["loudness"]["integrated_lufs"])


@pytest.mark.slow
def test_subtitle_sync_joins_the_report(tmp_path: Path) -> None:
    from reelkit.post.testsignals import espeak_available, mix_at, music_bed, speech_with_cues

    subs_mod = pytest.importorskip("reelkit.post.subs")
    if not espeak_available() or not hasattr(subs_mod, "sync_subtitles"):
        pytest.skip("needs espeak-ng and reelkit.post.subs.sync_subtitles")
    rate = 16000
    speech, cues = speech_with_cues(rate, seed=3)
    mix, _ = mix_at(speech, music_bed(speech.size, rate, seed=3), rate, -15.0)
    media = tmp_path / "talk.wav"
    sf.write(media, mix, rate)

    def srt(offset: float) -> Path:
        def ts(v: float) -> str:
            ms = round(max(v, 0.0) * 1000)
            return f"{ms // 3600000:02d}:{ms // 60000 % 60:02d}:{ms // 1000 % 60:02d},{ms % 1000:03d}"

        path = tmp_path / f"s{offset:+.0f}.srt"
        path.write_text(
            "\n".join(
                f"{i + 1}\n{ts(a + offset)} --> {ts(b + offset)}\n{t}\n" for i, (a, b, t) in enumerate(cues)
            ),
            encoding="utf-8",
        )
        return path

    good = run_qc(media, subs=srt(0.0), spec="netflix", plot=False)
    sync = [f for f in good.findings if f.kind == "sync"]
    assert len(sync) == 1 and sync[0].severity == "info"
    late = run_qc(media, subs=srt(3.0), spec="netflix", plot=False)
    sync = [f for f in late.findings if f.kind == "sync"]
    assert len(sync) == 1 and sync[0].severity == "error"
    assert "offset -3.0" in sync[0].message or "offset -2.9" in sync[0].message
    # the same speech muxed 3 s after the picture: the subtitles 3 s late follow it on the file's timeline
    # (read from its first audio sample, the check found them 3 s late, as `subs sync` did not)
    from reelkit.media import run_ffmpeg

    delayed = tmp_path / "delayed.mov"
    picture = f"color=c=gray:size=64x48:rate=25:duration={mix.shape[0] / rate + 3}"
    run_ffmpeg(
        [
            *("-v", "error", "-f", "lavfi", "-i", picture),
            *("-itsoffset", "3", "-i", str(media), "-map", "0:v", "-map", "1:a"),
            *("-c:v", "libx264", "-preset", "ultrafast", "-c:a", "pcm_s24le", str(delayed)),
        ]
    )  # fmt: skip
    on_line = run_qc(delayed, subs=srt(3.0), spec="netflix", plot=False, options=QCOptions(video=False))
    sync = [f for f in on_line.findings if f.kind == "sync"]
    assert len(sync) == 1 and sync[0].severity == "info", sync


def _av_clip(path: Path, colour: str, seconds: int) -> Path:
    """A small H.264 + AAC clip: a plain picture of ``colour`` and a 997 Hz tone."""
    from reelkit.media import run_ffmpeg

    run_ffmpeg(
        [
            "-v", "error",
            "-f", "lavfi", "-i", f"color=c={colour}:size=64x48:rate=10:duration={seconds}",
            "-f", "lavfi", "-i", f"sine=frequency=997:duration={seconds}:sample_rate=48000",
            "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", str(path),
        ]
    )  # fmt: skip
    return path


@pytest.mark.media
def test_qc_of_a_video_joins_video_findings(tmp_path: Path) -> None:
    clip = _av_clip(tmp_path / "clip.mp4", "black", 2)
    report = run_qc(clip, spec="ebu-r128", plot=False)
    assert report.has_video
    video = [f for f in report.findings if f.source == "video"]
    # the video module is part of reelkit: its checks must run and find the all-black picture
    assert not any("video checks" in n for n in report.notes), report.notes
    assert any(f.kind == "black" for f in video), (report.findings, report.notes)
    assert report.to_dict()["loudness"]["sample_rate"] == 48000
    off = run_qc(clip, spec="ebu-r128", plot=False, options=QCOptions(video=False))  # --no-video
    assert not off.has_video and not [f for f in off.findings if f.source == "video"]


@pytest.mark.media
def test_subtitles_past_the_end_count_from_the_picture_not_a_shorter_soundtrack(tmp_path: Path) -> None:
    """4 s of picture, 2 s of sound: a cue at 2.5 s is inside the programme, as `subs check` says."""
    from reelkit.media import run_ffmpeg

    clip = tmp_path / "clip.mp4"
    run_ffmpeg(
        [
            "-v", "error",
            "-f", "lavfi", "-i", "color=c=gray:size=64x48:rate=10:duration=4",
            "-f", "lavfi", "-i", "sine=frequency=997:duration=2:sample_rate=48000",
            "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", str(clip),
        ]
    )  # fmt: skip
    subs = tmp_path / "s.srt"
    subs.write_text("1\n00:00:02,500 --> 00:00:03,500\nIn\n\n2\n00:00:04,500 --> 00:00:05,000\nOut\n")
    for video in (True, False):
        report = run_qc(clip, subs=subs, options=QCOptions(video=video, sync=False), plot=False)
        past = [f for f in report.findings if f.kind == "past_end"]
        assert [f.start_s for f in past] == [pytest.approx(4.5)], report.findings


@pytest.mark.media
def test_a_delayed_soundtrack_is_checked_on_the_programme_timeline(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Noise with a spike at 0.5 s and silence at 1.0-3.5 s, muxed 1.5 s after the picture: the findings
    are where a player plays them (spike at 2.0 s, silence at 2.5-5.0 s), and the 1.5 s with no audio is
    an audio_start finding, not a silence at the head (read from the first audio sample, every audio
    finding came 1.5 s early)."""
    from reelkit.media import run_ffmpeg

    x = programme(5.0)
    x[int(1.0 * RATE) : int(3.5 * RATE)] = 0.0
    x[int(0.5 * RATE)] = 0.9  # the true peak
    wav = tmp_path / "gap.wav"
    sf.write(wav, x, RATE, subtype="FLOAT")
    clip = tmp_path / "delayed.mov"
    run_ffmpeg(
        [
            *("-v", "error", "-f", "lavfi", "-i", "color=c=gray:size=64x48:rate=25:duration=6.5"),
            *("-itsoffset", "1.5", "-i", str(wav), "-map", "0:v", "-map", "1:a"),
            *("-c:v", "libx264", "-preset", "ultrafast", "-c:a", "pcm_f32le", str(clip)),
        ]
    )  # fmt: skip
    report = run_qc(clip, plot=False, options=QCOptions(vad="none", video=False))
    got = {k: [(round(f.start_s, 2), f.end_s and round(f.end_s, 2)) for f in report.findings if f.kind == k]
           for k in ("audio_start", "silence", "true_peak")}  # fmt: skip
    assert got == {
        "audio_start": [(0.0, 1.5)],
        "silence": [(2.5, 5.0)],
        "true_peak": [(2.0, 2.0)],  # over the ceiling: a stretch of one sample
    }, report.findings
    assert next(f for f in report.findings if f.kind == "audio_start").severity == "warning"
    # the measurement reads the same timeline: 6.5 s, and says the soundtrack starts late
    code, out, err = run(capsys, "loudness", str(clip), "--vad", "none")
    assert code == 0 and "6.5 s)" in out and "starts 1.500 s into the programme" in err
    # the loudness is the soundtrack's own: the windows over the lead-in, part silence, counted and moved
    # a steady programme's integrated loudness and inflated its loudness range
    own = measure(x, RATE)
    assert report.loudness.integrated_lufs == pytest.approx(own.integrated_lufs, abs=1e-6)
    assert report.loudness.lra_lu == pytest.approx(own.lra_lu, abs=1e-6)
    code, out, _ = run(capsys, "loudness", str(clip), "--vad", "none", "--json")
    assert json.loads(out)["integrated_lufs"] == pytest.approx(own.integrated_lufs, abs=1e-6)


@pytest.mark.media
def test_a_microdvd_file_without_a_frame_rate_line_is_read_at_the_pictures_rate_and_said(
    tmp_path: Path,
) -> None:
    """Against a 4 s, 25 fps picture frame 105 is 4.2 s (at 23.976 fps: 4.379 s), and the report's notes
    say so, as 'subs check' does (the parser's notes were dropped)."""
    from reelkit.media import run_ffmpeg

    clip = tmp_path / "clip.mp4"
    run_ffmpeg(
        [
            "-v", "error",
            "-f", "lavfi", "-i", "color=c=gray:size=64x48:rate=25:duration=4",
            "-f", "lavfi", "-i", "sine=frequency=997:duration=4:sample_rate=48000",
            "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", str(clip),
        ]
    )  # fmt: skip
    subs = tmp_path / "nohead.sub"
    subs.write_text("{25}{50}Hello\n{75}{105}Past end\n")
    report = run_qc(clip, subs=subs, options=QCOptions(vad="none", video=False), plot=False)
    past = [f.message for f in report.findings if f.kind == "past_end"]
    assert past == ["cue 2 ends at 00:00:04.200, after the media's end (00:00:04.000)"], report.findings
    assert any("frames are read at 25 fps, the picture's frame rate" in n for n in report.notes), report.notes


@pytest.mark.media
def test_the_job_time_limit_stops_the_qc_instead_of_failing_a_check(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A TimeLimitError is a ToolError, which the checks turn into notes ("video checks failed") or into
    'convert it to WAV': the time limit must stop the QC instead, wherever it strikes."""
    from reelkit import media
    from reelkit.errors import TimeLimitError
    from reelkit.post import video as video_pkg

    clip = _av_clip(tmp_path / "clip.mp4", "gray", 1)

    def late(*args: object, **kwargs: object) -> None:
        raise TimeLimitError("video QC: ffmpeg was stopped at the job's time limit")

    monkeypatch.setattr(video_pkg, "video_qc", late)
    with pytest.raises(TimeLimitError):
        run_qc(clip, spec="ebu-r128", plot=False)
    monkeypatch.setattr(media, "decode_audio", late)
    with pytest.raises(TimeLimitError):
        run_qc(clip, spec="ebu-r128", plot=False)


def test_cli_table_shows_file_names_with_brackets(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    src = tmp_path / "mix [final].wav"
    sf.write(src, programme(2.0), RATE)
    code, out, err = run(capsys, "loudness", str(src), "--vad", "none")
    assert code == 0, err
    assert "[final]" in out  # a file name is plain text, not rich markup


def test_timecodes_carry_instead_of_showing_60_seconds_or_a_frame_too_many() -> None:
    from reelkit.post.findings import timecode

    assert timecode(0) == "00:00:00.000"
    assert timecode(3661.5) == "01:01:01.500"
    assert timecode(59.9996) == "00:01:00.000"
    assert timecode(-2.25) == "-00:00:02.250"
    assert timecode(2.5, 24) == "00:00:02:12"
    assert timecode(0.999, 24) == "00:00:00:23"  # frame 23 (of 23.98) is still on screen
    assert timecode(59.99, 25) == "00:00:59:24" and timecode(60.0, 25) == "00:01:00:00"
    # frames counted at 23.976 / 29.97 and labelled at 24 / 30, as an edit system labels them (the clock's
    # second plus its frames gave 00:01:40:02 for frame 2400 and 01:00:03:14 for frame 86400)
    ntsc_film, ntsc = 24000 / 1001, 30000 / 1001
    assert timecode(2400 / ntsc_film, ntsc_film) == "00:01:40:00"
    assert timecode(86400 / ntsc_film, ntsc_film) == "01:00:00:00"
    assert timecode(1799 / ntsc, ntsc) == "00:00:59:29"
    # the rates as ffmpeg prints them (23.98, 29.97) are taken as the exact NTSC ones
    assert (
        timecode(2400 / ntsc_film, 23.98) == "00:01:40:00" and timecode(1799 / ntsc, 29.97) == "00:00:59:29"
    )
    assert timecode(3600 * 1001 / 1000, 23.98) == "01:00:00:00"  # an hour of frames, not 01:00:03:14
    # other rates (12.5, a variable rate's average) keep the clock's second and its frame
    assert timecode(3600, 12.5) == "01:00:00:00" and timecode(3.0, 21.57) == "00:00:03:00"


def test_timecode_frames_stay_within_the_second_and_slow_whole_rates_are_not_ntsc() -> None:
    """At 21.57 fps a second's frames are 00..21, so 2.998 s (frame 21.5 of that second) is 00:00:02:21; a
    whole rate of 1..6 fps lies within 0.006 of rate/1.001 but is not an NTSC one (3600 s at 5 fps)."""
    from reelkit.post.findings import timecode

    assert timecode(2.998, 21.57) == "00:00:02:21" and timecode(2.95, 21.57) == "00:00:02:20"
    assert timecode(3600, 5) == "01:00:00:00" and timecode(7.5, 2) == "00:00:07:01"


def test_report_cards_show_the_gated_mix_and_exact_figures(faulty: Path) -> None:
    """The "dialogue-gated (mix while speaking)" card showed the bed-subtracted estimate, so the page read
    -24.1 where the verdict used -22.2; a -23.54 programme read "-23.5 ... 0.5 LU below" next to a FAIL."""
    import dataclasses
    import re

    report = run_qc(faulty, spec="netflix", plot=False)
    lo = dataclasses.replace(
        report.loudness, dialogue_lufs=-22.2, dialogue_isolated_lufs=-24.1, true_peak_dbtp=-0.97
    )
    html = render_html(dataclasses.replace(report, loudness=lo))
    card = re.search(r"dialogue-gated \(mix while speaking\)</div><div class=\"v\">([^<]+)<", html)
    assert card is not None and card.group(1) == "-22.20 LUFS"
    # the headline cards carry the findings' two decimals: -0.97 dBTP read "-1.0" under a -1.0 ceiling
    peak = re.search(r"true peak \(ceiling [^<]*</div><div class=\"v\">([^<]+)<", html)
    assert peak is not None and peak.group(1) == "-0.97 dBTP"
    loud = next(f for f in run_qc(faulty, spec="ebu-r128", plot=False).findings if f.kind == "loudness")
    assert re.search(r"-?\d+\.\d\d LUFS is \d+\.\d\d LU", loud.message)


def _qc_says_truncated(cut: Path, end_s: float) -> QCReport:
    """QC of ``cut`` (with a truncation warning): its one ``truncated`` finding is an error ending where the
    file's header says the programme ends."""
    from reelkit.errors import ReelkitWarning

    with pytest.warns(ReelkitWarning, match="truncated"):
        report = run_qc(cut, plot=False, options=QCOptions(vad="none"))
    (finding,) = [f for f in report.findings if f.kind == "truncated"]
    assert finding.severity == "error" and finding.end_s == pytest.approx(end_s)
    return report


def test_a_wav_cut_short_is_a_finding_not_a_pass(tmp_path: Path) -> None:
    from reelkit.errors import ReelkitWarning

    rate = 48000
    t = np.arange(4 * rate) / rate
    whole = tmp_path / "whole.wav"
    sf.write(whole, np.stack([0.1 * np.sin(2 * np.pi * 440 * t)] * 2, axis=1), rate, subtype="PCM_24")
    data = whole.read_bytes()
    cut = tmp_path / "cut.wav"
    cut.write_bytes(data[: 44 + 6 * rate])  # 44-byte header, then one second of 24-bit stereo
    with pytest.warns(ReelkitWarning, match="truncated"):
        audio = read_audio(cut)
    assert audio.duration_s == pytest.approx(1.0) and audio.declared_duration_s == pytest.approx(4.0)
    assert read_audio(whole).declared_duration_s is None
    with pytest.warns(ReelkitWarning, match="truncated"):
        report = run_qc(cut, plot=False)
    (finding,) = [f for f in report.findings if f.kind == "truncated"]
    assert finding.severity == "error" and (finding.start_s, finding.end_s) == pytest.approx((1.0, 4.0))


def test_a_truncated_or_damaged_flac_is_an_error_finding(tmp_path: Path) -> None:
    """A FLAC cut to a quarter was measured, normalised and passed QC as a 4.95 s file: libsndfile stops
    at the lost sync, ffmpeg decodes what frames it can, and only WAV headers were compared."""
    from reelkit.errors import ReelkitWarning

    rate = 48000
    noise = np.random.default_rng(0).standard_normal((8 * rate, 2)) * 0.1
    whole = tmp_path / "whole.flac"
    sf.write(whole, noise, rate, subtype="PCM_16")
    assert read_audio(whole).declared_duration_s is None  # whole: nothing declared beyond what decodes
    data = whole.read_bytes()
    cut = tmp_path / "cut.flac"
    cut.write_bytes(data[: len(data) // 4])
    with pytest.warns(ReelkitWarning, match=r"FLAC header declares 384,000 samples \(8\.00 s\)"):
        audio = read_audio(cut)
    assert audio.duration_s < 2.5 and audio.declared_duration_s == pytest.approx(8.0)
    report = _qc_says_truncated(cut, 8.0)
    assert not report.passed
    # an ID3v2 tag in front of the FLAC (some taggers write one) hid the header
    tag = b"ID3\x04\x00\x00" + bytes([0, 0, 1, 0]) + bytes(128)  # synchsafe size 128
    tagged = tmp_path / "tagged.flac"
    tagged.write_bytes(tag + data[: len(data) // 4])
    with pytest.warns(ReelkitWarning, match=r"FLAC header declares 384,000 samples"):
        assert read_audio(tagged).declared_duration_s == pytest.approx(8.0)


@pytest.mark.parametrize(("fmt", "ext"), [("AIFF", "aiff"), ("W64", "w64"), ("RF64", "rf64")])
def test_an_aiff_w64_or_rf64_cut_short_is_a_finding(tmp_path: Path, fmt: str, ext: str) -> None:
    """A third of a 5 s AIFF, Wave64 or RF64 file was measured as a 1.67 s programme without a word:
    only RIFF WAVE headers were read. The COMM chunk's frame count (AIFF), the 64-bit data chunk size
    (Wave64) and the ds64 chunk's (RF64) declare the whole."""
    from reelkit.errors import ReelkitWarning

    rate = 48000
    t = np.arange(5 * rate) / rate
    whole = tmp_path / f"whole.{ext}"
    sf.write(whole, np.stack([0.1 * np.sin(2 * np.pi * 440 * t)] * 2, axis=1), rate, format=fmt)
    assert read_audio(whole).declared_duration_s is None
    data = whole.read_bytes()
    cut = tmp_path / f"cut.{ext}"
    cut.write_bytes(data[: len(data) // 3])
    with pytest.warns(ReelkitWarning, match=r"truncated: its header declares .*\(5\.00 s\)"):
        audio = read_audio(cut)
    assert audio.duration_s == pytest.approx(5 / 3, abs=0.01) and audio.declared_duration_s == pytest.approx(
        5.0
    )
    _qc_says_truncated(cut, 5.0)


def test_an_odd_sized_chunk_before_an_aiffs_comm_is_padded(tmp_path: Path) -> None:
    """IFF pads an odd-sized chunk to an even size: a 3-byte ANNO chunk in front of COMM takes 4 bytes, and
    the COMM behind it is found (its 8000 sample frames)."""
    from reelkit.post.audio import _aiff_frames

    whole = tmp_path / "whole.aiff"
    sf.write(whole, np.zeros(8000), 8000, format="AIFF", subtype="PCM_16")
    data = whole.read_bytes()
    assert data[12:16] == b"COMM"
    odd = b"ANNO" + (3).to_bytes(4, "big") + b"abc\x00"
    padded = data[:4] + (len(data) - 8 + len(odd)).to_bytes(4, "big") + data[8:12] + odd + data[12:]
    path = tmp_path / "annotated.aiff"
    path.write_bytes(padded)
    assert _aiff_frames(path) == 8000


def test_an_id3_tag_with_a_footer_is_skipped_to_the_flac_header(tmp_path: Path) -> None:
    """An ID3v2.4 tag flagged as having a footer (10 bytes after its body) is skipped whole: STREAMINFO's
    sample count is read behind it."""
    from reelkit.post.audio import _flac_total_samples

    info = bytearray(34)
    info[13:18] = (384_000).to_bytes(5, "big")  # the low 36 bits of bytes 13..17
    flac = b"fLaC" + bytes([0x80, 0, 0, 34]) + bytes(info)
    tag = b"ID3\x04\x00\x10" + bytes([0, 0, 0, 16]) + bytes(16) + b"3DI\x04\x00\x10" + bytes([0, 0, 0, 16])
    path = tmp_path / "footer.flac"
    path.write_bytes(tag + flac)
    assert _flac_total_samples(path) == 384_000


def test_a_flac_declaring_more_than_2_to_the_32_samples_reads_all_36_bits(tmp_path: Path) -> None:
    """STREAMINFO packs rate (20 bits), channels - 1 (3), bits - 1 (5) and the sample count (36) into bytes
    10..17: a 30-hour 48 kHz stereo 24-bit recording declares 5,184,000,000 samples, past 2**32, whose top
    four bits share byte 13 with the sample size."""
    from reelkit.post.audio import _flac_total_samples

    total = 30 * 3600 * 48000
    info = bytearray(34)
    info[10:18] = (48000 << 44 | (2 - 1) << 41 | (24 - 1) << 36 | total).to_bytes(8, "big")
    path = tmp_path / "long.flac"
    path.write_bytes(b"fLaC" + bytes([0x80, 0, 0, 34]) + bytes(info))
    assert total > 2**32 and _flac_total_samples(path) == total


def test_an_odd_sized_chunk_before_a_wavs_data_is_padded(tmp_path: Path) -> None:
    """RIFF pads an odd-sized chunk to an even size: a 3-byte chunk takes 4 bytes, and the data chunk behind
    it is found (a file cut to half declares its whole 16000 bytes)."""
    from reelkit.post.audio import _wav_header

    whole = tmp_path / "whole.wav"
    sf.write(whole, np.zeros(8000), 8000, subtype="PCM_16")
    data = whole.read_bytes()
    at = data.index(b"data")
    odd = b"junk" + (3).to_bytes(4, "little") + b"abc\x00"
    padded = data[:4] + (len(data) - 8 + len(odd)).to_bytes(4, "little") + data[8:at] + odd + data[at:]
    cut = tmp_path / "cut.wav"
    cut.write_bytes(padded[: at + len(odd) + 8 + 8000])
    assert _wav_header(cut).declared_bytes == 16000


def test_a_streamed_wave64s_placeholder_size_is_not_a_truncation(tmp_path: Path) -> None:
    """ffmpeg writing Wave64 to a pipe leaves 0x7FFFFFFFFFFFFFFF as the data chunk's size: read as 9.2e18
    bytes declared, a whole 3 s file was "truncated" with a 48-trillion-second declared length."""
    import warnings

    rate = 48000
    path = tmp_path / "piped.w64"
    sf.write(path, np.zeros((3 * rate, 2)), rate, format="W64")
    data = bytearray(path.read_bytes())
    at = data.index(b"data\xf3\xac\xd3\x11")  # the data chunk's GUID
    data[at + 16 : at + 24] = (0x7FFFFFFFFFFFFFFF).to_bytes(8, "little")
    path.write_bytes(bytes(data))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        audio = read_audio(path)
    assert audio.declared_duration_s is None and audio.duration_s == pytest.approx(3.0)


@pytest.mark.media
def test_an_mp4_or_m4a_cut_short_is_an_error_finding(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A faststart M4A cut to a third (its index in front still lists 5 s; ffmpeg says 'partial file')
    passed QC with loudness and true-peak findings only, and `loudness` measured 1.6 s without a word:
    only WAV headers and FLAC sample counts were compared."""
    from reelkit.errors import ReelkitWarning
    from reelkit.media import run_ffmpeg

    whole = tmp_path / "whole.m4a"
    run_ffmpeg(
        [
            *("-v", "error", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:duration=5"),
            *("-c:a", "aac", "-movflags", "+faststart", str(whole)),
        ]
    )
    assert read_audio(whole).declared_duration_s is None  # whole: AAC's priming and padding are no cut
    data = whole.read_bytes()
    cut = tmp_path / "cut.m4a"
    cut.write_bytes(data[: len(data) // 3])
    with pytest.warns(ReelkitWarning, match=r"container declares 5\.00 s, 1\.\d\d s of its audio decode"):
        audio = read_audio(cut)
    assert audio.duration_s < 2.0 and audio.declared_duration_s == pytest.approx(5.0)
    report = _qc_says_truncated(cut, 5.0)
    assert not report.passed
    code, _, err = run(capsys, "loudness", str(cut), "--vad", "none")
    assert code == 0 and err.count("truncated") == 1, err
    # with a picture the container's duration may be the picture's: a cut one still says 'partial file'
    clip = _av_clip(tmp_path / "clip.mp4", "gray", 6)
    faststart = tmp_path / "fast.mp4"
    run_ffmpeg(["-v", "error", "-i", str(clip), "-c", "copy", "-movflags", "+faststart", str(faststart)])
    data = faststart.read_bytes()
    (tmp_path / "cut.mp4").write_bytes(data[: len(data) // 3])
    with pytest.warns(ReelkitWarning, match="container declares 6\\.00 s"):
        assert read_audio(tmp_path / "cut.mp4").duration_s < 4.0


def test_a_dialogue_spec_without_speech_is_labelled_as_the_integrated_check(tmp_path: Path) -> None:
    rate = 48000
    t = np.arange(5 * rate) / rate
    tone = tmp_path / "tone.wav"
    sf.write(tone, (0.1 * np.sin(2 * np.pi * 440 * t))[:, None], rate, subtype="PCM_24")
    report = run_qc(tone, spec="netflix", plot=False)  # silero finds no speech in a tone
    assert report.spec.measure == "dialogue" and report.programme_measure == "integrated"
    assert report.to_dict()["programme_measure"] == "integrated"
    html = render_html(report)
    assert "integrated loudness (target" in html and "dialogue-gated loudness (target" not in html


@pytest.mark.media
def test_a_file_with_two_soundtracks_says_which_was_checked(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from reelkit.media import run_ffmpeg

    two = tmp_path / "two.mp4"
    run_ffmpeg(
        [
            *("-v", "error", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:duration=4"),
            *("-f", "lavfi", "-i", "anullsrc=channel_layout=5.1:sample_rate=48000", "-t", "4"),
            *("-map", "0:a", "-map", "1:a", "-c:a", "aac", str(two)),
        ]
    )
    report = run_qc(two, plot=False)
    (f,) = [f for f in report.findings if f.kind == "audio-streams"]
    assert f.severity == "warning" and "stream 0 was checked, not stream(s) 1" in f.message
    assert report.loudness.channels == 1
    second = run_qc(two, plot=False, stream=1)
    assert second.loudness.channels == 6 and any(x.kind == "silence" for x in second.findings)
    code, out, _ = run(capsys, "qc", str(two), "--stream", "1", "--json", "--no-video")
    assert code == 0 and json.loads(out)["loudness"]["channels"] == 6
    code, _, err = run(capsys, "loudness", str(two), "--vad", "none", "--json")
    assert code == 0 and "2 audio streams" in err
    code, _, err = run(capsys, "qc", str(two), "--stream", "2")
    assert code == 2 and "stream 2 does not exist" in err


def test_dialogue_figures_and_no_speech_detector(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    rate = 48000
    t = np.arange(4 * rate) / rate
    tone = tmp_path / "tone.wav"
    sf.write(tone, (0.1 * np.sin(2 * np.pi * 440 * t))[:, None], rate, subtype="PCM_24")
    # qc takes --vad none as loudness does (it was refused), and says what it skips
    code, out, err = run(capsys, "qc", str(tone), "--vad", "none", "--json")
    assert code == 0, err
    assert any("speech detection is off" in n for n in json.loads(out)["notes"])
    # loudness's JSON has the gated figure 'normalize --reference dialogue' sets (it was in the table only)
    code, out, err = run(capsys, "loudness", str(tone), "--vad", "webrtc", "--json")
    assert code == 0 and set(json.loads(out)) == KEYS


def test_netflix_holds_a_mix_without_dialogue_to_the_full_programme_target(tmp_path: Path) -> None:
    """Netflix's QC procedure measures dialogue-gated first and, when that fails or there is no dialogue,
    the full programme against -24 ±2. A music programme at -24 failed (held to -27 ±2) and one at -28.9
    passed."""
    from reelkit.post.loudness import measure
    from reelkit.post.testsignals import music_bed

    bed = music_bed(20 * RATE, RATE, seed=2)
    verdicts = {}
    for level in (-24.0, -28.9):
        y = bed * 10 ** ((level - measure(bed, RATE).integrated_lufs) / 20)
        path = tmp_path / f"bed{level:g}.wav"
        sf.write(path, np.stack([y, y], 1) * 0.7071, RATE, subtype="PCM_24")
        report = run_qc(path, spec="netflix", plot=False)
        assert not math.isfinite(report.loudness.dialogue_lufs or -math.inf)  # no speech in the bed
        loud = next(f for f in report.findings if f.kind == "loudness")
        verdicts[level] = (loud.severity, loud.message)
        assert report.programme_measure == "integrated" and report.programme_target == (-24.0, 2.0)
        assert any("checked against -24 ±2 instead" in n for n in report.notes)
        assert report.to_dict()["programme_target_lufs"] == -24.0
    assert verdicts[-24.0][0] == "info" and "within the tolerance of -24 ±2" in verdicts[-24.0][1]
    assert verdicts[-28.9][0] == "error" and "below the target -24 ±2" in verdicts[-28.9][1]


def test_netflix_checks_the_full_programme_when_the_dialogue_gated_figure_fails(faulty: Path) -> None:
    """A programme whose few lines of dialogue read -19.8 (dialogue-gated fails) but whose full programme
    meets -24 ±2 is not flagged; both figures are in the finding. A spec without a fallback keeps the
    dialogue-gated verdict."""
    import dataclasses

    from reelkit.post.qc import _loudness_findings

    x, rate = read_audio(faulty).samples, RATE
    lo = dataclasses.replace(run_qc(faulty, spec="ebu-r128", plot=False).loudness, dialogue_lufs=-19.82)
    opt = QCOptions()
    for integrated, severity in ((-23.77, "info"), (-20.5, "error")):
        lo2 = dataclasses.replace(lo, integrated_lufs=integrated)
        found, check, _ = _loudness_findings(x, rate, lo2, get_spec("netflix"), opt)
        loud = next(f for f in found if f.kind == "loudness")
        assert loud.severity == severity
        assert loud.message.startswith(
            "dialogue-gated loudness -19.82 LKFS is 7.18 LU above the target -27 ±2; "
        )
        assert f"integrated loudness {integrated:.2f} LKFS" in loud.message
        assert (check.measure, check.target, check.lufs) == ("integrated", -24.0, integrated)
    plain = DeliverySpec(**{**get_spec("netflix").model_dump(), "fallback_target_lufs": None})
    found, check, _ = _loudness_findings(x, rate, dataclasses.replace(lo, integrated_lufs=-23.77), plain, opt)
    assert check.measure == "dialogue" and next(f for f in found if f.kind == "loudness").severity == "error"
    passing = dataclasses.replace(lo, dialogue_lufs=-27.5)
    found, check, _ = _loudness_findings(x, rate, passing, get_spec("netflix"), opt)
    assert (check.measure, check.target) == ("dialogue", -27.0)


def test_a_fallback_is_held_to_its_own_tolerance() -> None:
    """A dialogue spec whose fallback is -24 ±1 (not the dialogue-gated ±2): a full programme at -22.5 fails
    it (1.5 LU over), one at -24.8 passes, and the band checked is (-24, 1)."""
    import dataclasses

    from reelkit.post.qc import _loudness_findings

    x = programme(3.0)
    spec = DeliverySpec(**{**get_spec("netflix").model_dump(), "fallback_tolerance_lu": 1.0})
    lo = dataclasses.replace(measure(x, RATE), dialogue_lufs=-20.0)  # dialogue-gated fails -27 ±2
    for integrated, severity in ((-22.5, "error"), (-24.8, "info")):
        found, check, _ = _loudness_findings(
            x, RATE, dataclasses.replace(lo, integrated_lufs=integrated), spec, QCOptions()
        )
        loud = next(f for f in found if f.kind == "loudness")
        assert (check.target, check.tolerance, loud.severity) == (-24.0, 1.0, severity)
        assert loud.message.endswith("-24 ±1")


@pytest.mark.media
def test_subtitle_gaps_count_frames_of_the_picture(tmp_path: Path) -> None:
    """At 10 fps two frames are 200 ms: a 100 ms gap is too short there (at the default 24 fps it passes)."""
    clip = _av_clip(tmp_path / "clip.mp4", "gray", 4)
    subs = tmp_path / "s.srt"
    subs.write_text("1\n00:00:00,500 --> 00:00:01,500\nOne\n\n2\n00:00:01,600 --> 00:00:03,000\nTwo\n")
    report = run_qc(clip, subs=subs, options=QCOptions(video=False, sync=False), plot=False)
    gaps = [f for f in report.findings if f.kind == "gap"]
    assert [(f.start_s, f.end_s) for f in gaps] == [(1.5, 1.6)] and "(200 ms)" in gaps[0].message


def test_cli_loudness_says_why_a_silent_file_has_no_figures(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Every figure of a silent file printed as n/a with no word why: the table is followed by the reason
    'reelkit qc' gives (its loudness finding's words), and the JSON's notes say it too; a file with a
    loudness gets no such note."""
    silent = tmp_path / "silence.wav"
    sf.write(silent, np.zeros((5 * RATE, 2), np.float32), RATE, subtype="PCM_24")
    code, out, err = run(capsys, "loudness", str(silent), "--vad", "none")
    assert code == 0, err
    assert "integrated_lufs" in out and "note: no loudness: the programme is silent" in out
    code, out, _ = run(capsys, "loudness", str(silent), "--vad", "none", "--json")
    assert code == 0 and json.loads(out)["notes"] == ["no loudness: the programme is silent"]
    short = tmp_path / "short.wav"  # under one 400 ms block: the meter's own note says so, once
    sf.write(short, 0.1 * np.ones((RATE // 5, 1), np.float32), RATE, subtype="PCM_24")
    code, out, _ = run(capsys, "loudness", str(short), "--vad", "none", "--json")
    assert json.loads(out)["notes"] == ["shorter than one 400 ms block: no integrated or momentary loudness"]
    loud = tmp_path / "tone.wav"
    sf.write(loud, programme(3.0), RATE, subtype="PCM_24")
    code, out, _ = run(capsys, "loudness", str(loud), "--vad", "none")
    assert code == 0 and "no loudness" not in out


def test_the_html_headers_counts_say_what_they_count(tmp_path: Path) -> None:
    """The header said '2 note(s)' over a Notes section of 3: it counted info findings. It now says
    '2 info finding(s)', and the notes below are counted as notes (3)."""
    import re

    report = _silence_then_tone(tmp_path)
    assert report.counts() == {"error": 0, "warning": 1, "info": 2} and len(report.notes) == 3
    html = render_html(report)
    header = re.sub(r"\s+", " ", html.split('id="verdict">PASS</span>')[1].split("</p>")[0])
    assert header == " &nbsp;0 error(s), 1 warning(s), 2 info finding(s) · 3 note(s) below"
    assert html.count("<li>") == 3


def test_cli_qc_table_gives_start_and_end_as_timecodes(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """The start column was HH:MM:SS.mmm, the end column raw seconds (5.000): both are timecodes now."""
    t = np.arange(8 * RATE) / RATE
    x = np.concatenate([np.zeros(65 * RATE // 10), 0.1 * np.sin(2 * np.pi * 1000 * t)]).astype(np.float32)
    path = tmp_path / "p.wav"
    sf.write(path, x, RATE, subtype="PCM_24")
    code, out, err = run(capsys, "qc", str(path), "--vad", "none")
    assert code == 0, err
    row = next(line for line in out.splitlines() if "silence of 6.5 s" in line)
    assert re.search(r"00:00:00\.000 .* 00:00:06\.500 .* warning", row), row


def test_the_verdict_fails_on_an_error_of_any_source_and_passes_on_warnings() -> None:
    """Every report that failed in the tests also had an audio error: a verdict counting audio errors only
    passed them all, and would have passed a programme 5 LU too loud (a loudness error) or a video error."""
    from types import SimpleNamespace

    from reelkit.post.findings import Finding
    from reelkit.post.qc import QCReport

    def report(*findings: Finding) -> QCReport:
        return QCReport(media="x.wav", spec=get_spec("ebu-r128"), loudness=SimpleNamespace(),  # type: ignore[arg-type]
                        programme_lufs=-18.0, findings=findings, notes=())  # fmt: skip

    for source in ("loudness", "video", "subs", "audio"):
        bad = report(Finding("x", 0.0, 10.0, "error", "an error", source))
        assert bad.passed is False and bad.counts()["error"] == 1, source
    fine = report(
        Finding("x", 0.0, 1.0, "warning", "w", "video"), Finding("y", 0.0, 1.0, "info", "i", "subs")
    )
    assert fine.passed is True


@pytest.mark.parametrize(
    ("dialogue", "measure"), [(-25.0, "dialogue"), (-29.0, "dialogue"), (-24.99, "integrated")]
)
def test_dialogue_loudness_at_the_edges_of_its_band(dialogue: float, measure: str) -> None:
    """Netflix: dialogue-gated -27 ±2 LKFS; a programme exactly at the band's edge (-25, -29) passes on its
    dialogue; past it the integrated loudness is held to the fallback instead (a band closed at its edges
    failed -25.0 on the integrated -20)."""
    from types import SimpleNamespace

    from reelkit.post.qc import _loudness_check

    lo = SimpleNamespace(dialogue_lufs=dialogue, integrated_lufs=-20.0, speech_fraction=0.5)
    check, _ = _loudness_check(get_spec("netflix"), lo, [])  # type: ignore[arg-type]
    assert check.measure == measure


@pytest.mark.parametrize(("lufs", "severity"), [(-22.5, "info"), (-23.5, "info"), (-22.49, "error")])
def test_integrated_loudness_at_the_edges_of_the_tolerance(lufs: float, severity: str) -> None:
    """EBU R128: -23 ±0.5 LUFS; -22.5 and -23.5 are within it (info), -22.49 is not."""
    from types import SimpleNamespace

    from reelkit.post.qc import _loudness_findings

    lo = SimpleNamespace(dialogue_lufs=None, integrated_lufs=lufs, speech_fraction=None, duration_s=10.0,
                         true_peak_dbtp=-10.0, true_peak_time_s=1.0, lra_lu=5.0)  # fmt: skip
    found, _, _ = _loudness_findings(
        np.zeros((10, 1), np.float32), RATE, lo, get_spec("ebu-r128"), QCOptions()
    )  # type: ignore[arg-type]
    (loud,) = [f for f in found if f.kind == "loudness"]
    assert loud.severity == severity, loud.message
