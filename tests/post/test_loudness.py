"""BS.1770-4 / EBU R128 meter: the standard's coefficients and hand-computed cases, properties, bad input."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reelkit.errors import ConfigError
from reelkit.post.loudness import (
    Meter,
    _energy,
    _loudness_range,
    channel_weights,
    k_weighting_sos,
    measure,
    oversampling_factor,
    true_peak_filter,
)


def sine(freq: float, seconds: float, rate: int, dbfs: float = 0.0, phase: float = 0.0) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (10 ** (dbfs / 20) * np.sin(2 * np.pi * freq * t + phase)).astype(np.float32)


def test_k_weighting_matches_bs1770_tables_at_48k() -> None:
    sos = k_weighting_sos(48000)
    # BS.1770-4 Table 1 (stage 1, shelf) and Table 2 (stage 2, RLB high-pass)
    np.testing.assert_allclose(
        sos[0, :3], [1.53512485958697, -2.69169618940638, 1.19839281085285], atol=1e-10
    )
    np.testing.assert_allclose(sos[0, 3:], [1.0, -1.69065929318241, 0.73248077421585], atol=1e-10)
    np.testing.assert_allclose(sos[1, :3], [1.0, -2.0, 1.0])
    np.testing.assert_allclose(sos[1, 3:], [1.0, -1.99004745483398, 0.99007225036621], atol=1e-10)


@pytest.mark.parametrize("rate", [44100, 48000, 96000])
def test_997hz_full_scale_sine_on_one_channel_reads_minus_3_01(rate: int) -> None:
    # BS.1770-4 note: a 0 dBFS 997 Hz sine on one front channel reads -3.01 LKFS, at any sample rate
    r = measure(sine(997, 5, rate), rate)
    assert r.integrated_lufs == pytest.approx(-3.01, abs=0.02)
    assert r.momentary_max_lufs == pytest.approx(-3.01, abs=0.02)
    assert r.short_term_max_lufs == pytest.approx(-3.01, abs=0.02)
    assert r.sample_peak_dbfs == pytest.approx(0.0, abs=0.01)


def test_stereo_sine_levels() -> None:
    rate = 48000
    s = sine(997, 5, rate, -20.0)
    one = np.stack([s, np.zeros_like(s)], axis=1)
    both = np.stack([s, s], axis=1)
    assert measure(one, rate).integrated_lufs == pytest.approx(-23.01, abs=0.02)
    assert measure(both, rate).integrated_lufs == pytest.approx(-20.0, abs=0.02)  # power adds: +3.01


def test_surround_weight_and_lfe_excluded() -> None:
    rate = 48000
    s = sine(997, 4, rate)
    x = np.zeros((s.size, 6), dtype=np.float32)
    x[:, 4] = s  # Ls: weight 1.41 = +1.49 dB
    assert measure(x, rate).integrated_lufs == pytest.approx(-3.01 + 10 * math.log10(1.41), abs=0.02)
    x[:, 4] = 0
    x[:, 3] = s  # LFE: not counted
    assert math.isinf(measure(x, rate).integrated_lufs)
    assert channel_weights(6).tolist() == [1.0, 1.0, 1.0, 0.0, 1.41, 1.41]
    assert channel_weights(5).tolist() == [1.0, 1.0, 1.0, 1.41, 1.41]
    # an LFE track alone (a stream of a multi-mono delivery) says why it has no loudness (it said nothing)
    lfe = Meter().measure(s[:, None], rate, layout="LFE")
    assert math.isinf(lfe.integrated_lufs)
    said = "no loudness: BS.1770 measures none of these channels (LFE; it leaves LFE and channels of an"
    assert lfe.notes == (said + " unknown layout out)",)
    assert measure(s[:, None], rate).notes == ()  # a mono programme is measured


def test_seven_one_weighs_the_side_channels_not_the_rear_ones() -> None:
    """BS.1770-4 weighs by position: 1.41 at 60-120 degrees. In 7.1 that is the side pair; the rear pair
    (135-150 degrees) and 6.1's back centre (180) weigh 1.0 (they weighed 1.41, as ffmpeg's filter has it,
    reading a mix on the rear pair 1.5 LU hot; libebur128 reads -19.99 LUFS for the case below)."""
    rate = 48000
    s = sine(997, 4, rate) * np.float32(10 ** (-23 / 20))
    x = np.zeros((s.size, 8), dtype=np.float32)
    x[:, [0, 1, 6, 7]] = s[:, None]  # L, R and the side surrounds, each -23 dBFS peak
    # 10 log10(2 + 2 x 1.41) over a one-channel full-scale sine at -3.01, less 23 dB: -19.18 (ffmpeg: -19.2)
    expected = -3.01 - 23.0 + 10 * math.log10(2 + 2 * 1.41)
    assert measure(x, rate).integrated_lufs == pytest.approx(expected, abs=0.02)
    assert channel_weights(7).tolist() == [1.0, 1.0, 1.0, 0.0, 1.0, 1.41, 1.41]  # 6.1: BC, SL, SR
    assert channel_weights(8).tolist() == [1.0, 1.0, 1.0, 0.0, 1.0, 1.0, 1.41, 1.41]  # 7.1: BL BR SL SR
    assert channel_weights(6, "hexagonal").tolist() == [1.0, 1.0, 1.0, 1.41, 1.41, 1.0]  # BL BR at 110
    rear = np.zeros((s.size, 8), dtype=np.float32)
    rear[:, [4, 5]] = np.float32(0.1) * sine(1000, 4, rate)[:, None]  # 1 kHz at 0.1 on BL and BR only
    assert measure(rear, rate).integrated_lufs == pytest.approx(-19.99, abs=0.02)  # libebur128, M+-135
    wide = np.zeros((s.size, 10), dtype=np.float32)
    wide[:, 9] = s  # past 7.1: left out, and said so
    res = measure(wide, rate)
    assert math.isinf(res.integrated_lufs) and any("channels 9-10 left out" in n for n in res.notes)


def test_eight_channels_are_a_whole_7_1_and_nine_leave_one_out() -> None:
    """Eight channels with no layout are 7.1, every one measured: no note of channels left out; a ninth is
    left out, and the note names it (channels 9-9)."""
    rate = 48000
    s = sine(997, 1, rate, -20.0)
    left_out = [n for n in measure(np.tile(s[:, None], (1, 8)), rate).notes if "left out" in n]
    assert left_out == []
    left_out = [n for n in measure(np.tile(s[:, None], (1, 9)), rate).notes if "left out" in n]
    assert len(left_out) == 1 and "channels 9-9 left out" in left_out[0]


def test_a_known_layout_names_the_channels_its_count_does_not() -> None:
    from reelkit.post.loudness import channel_names

    # four channels are quad (L R Ls Rs) by count, but ffmpeg's 4.0 is L R C Cs and its 2.1 is L R LFE
    assert channel_weights(4).tolist() == [1.0, 1.0, 1.41, 1.41]
    assert channel_weights(4, "4.0").tolist() == [1.0, 1.0, 1.0, 1.0]  # BC: 180 degrees, weight 1
    assert channel_weights(3, "2.1").tolist() == [1.0, 1.0, 0.0]
    assert channel_weights(8, "7.1(wide)").tolist() == [1.0, 1.0, 1.0, 0.0, 1.41, 1.41, 1.0, 1.0]
    assert channel_names(3, "2.1") == ["FL", "FR", "LFE"]
    assert channel_weights(4, "5.1").tolist() == channel_weights(4).tolist()  # a layout of another count
    rate = 48000
    s = sine(997, 4, rate)
    x = np.zeros((s.size, 4), dtype=np.float32)
    x[:, 2] = s  # the third channel: C in a 4.0 file (weight 1), Ls by count (1.41)
    assert measure(x, rate).integrated_lufs == pytest.approx(-3.01 + 10 * math.log10(1.41), abs=0.02)
    assert Meter().measure(x, rate, layout="4.0").integrated_lufs == pytest.approx(-3.01, abs=0.02)
    # a layout of another count is refused by the meter: a stereo downmix measured as 5.1 gave a figure
    with pytest.raises(ConfigError, match=r"layout '5.1\(side\)' has 6 channels, the samples 4"):
        Meter().measure(x, rate, layout="5.1(side)")


def test_second_lfe_and_wide_pairs_are_weighed_by_position() -> None:
    """BS.1770-4 table 3: 7.2.3's second LFE is left out like the first, and 16-channel hexadecagonal's wide
    pair (WL/WR, 60-120 degrees) weighs 1.41 as its side pair does (its back pair, beside SL/SR, 1.0)."""
    assert channel_weights(12, "7.2.3").tolist() == [1, 1, 1, 0, 1, 1, 1.41, 1.41, 1, 1, 1, 0]
    assert channel_weights(16, "hexadecagonal").tolist() == [1] * 6 + [1.41, 1.41] + [1] * 6 + [1.41, 1.41]


def _ebur128(path: Path) -> float:
    from reelkit import media

    proc = media.run_ffmpeg(
        ["-nostats", "-i", str(path), "-af", "ebur128", "-f", "null", "-"], what="ebur128"
    )
    return float(re.findall(r"I:\s+(-?[\d.]+) LUFS", proc.stderr.decode())[-1])


@pytest.mark.media
@pytest.mark.parametrize(
    ("layout", "ext", "codec"),
    [
        ("4.0", "m4a", "aac"),  # L R C Cs, not quad: it read 1.5 dB loud
        ("5.0(side)", "ac3", "ac3"),  # probe did not know it: decoded as a stereo downmix
        ("7.1(wide)", "wav", "pcm_s24le"),  # a WAV keeps the layout in its channel mask (Matroska does not)
        ("5.1.4", "wav", "pcm_s24le"),
        ("2.1", "wav", "pcm_s24le"),  # a WAV's channel mask: its third channel is the LFE
        ("quad", "m4a", "aac"),  # decoded with "-ac 4" it was remixed to ffmpeg's 4.0 (2.4 LU off)
        ("FL+FR+TBL", "mka", "flac"),  # a layout of its own: "3 channels (FL+FR+TBL)"
    ],
)
def test_a_file_is_measured_as_ffmpeg_measures_its_layout(
    tmp_path: Path, layout: str, ext: str, codec: str
) -> None:
    from reelkit import media
    from reelkit.post.audio import read_audio

    n = len(media.layout_channels(layout) or ())
    gains = "|".join(f"c{i}={0.05 + 0.03 * i:.2f}*c0" for i in range(n))  # every channel its own level
    path = tmp_path / f"x.{ext}"
    media.run_ffmpeg(
        [
            *("-v", "error", "-f", "lavfi", "-i", "sine=frequency=997:sample_rate=48000:duration=6"),
            *("-af", f"pan={layout}|{gains}", "-c:a", codec, str(path)),
        ],
        what="making a test file",
    )
    audio = read_audio(path)
    assert audio.channels == n and audio.layout == layout
    ours = Meter().measure(audio.samples, audio.sample_rate, layout=audio.layout).integrated_lufs
    # ffmpeg weighs every back, side and top-back channel 1.41; BS.1770-4 (ours) only those at 60-120
    # degrees: with every channel the same tone at its own level, the two differ by the weights' ratio
    names = media.layout_channels(layout) or ()
    ff_side = {"BL", "BR", "BC", "TBL", "TBC", "TBR", "SL", "SR", "SDL", "SDR"}
    ff = np.array([0.0 if c.startswith("LFE") else 1.41 if c in ff_side else 1.0 for c in names])
    power = np.array([(0.05 + 0.03 * i) ** 2 for i in range(n)])
    shift = 10 * math.log10(float(channel_weights(n, layout) @ power) / float(ff @ power))
    assert ours == pytest.approx(_ebur128(path) + shift, abs=0.1)
    assert (shift != 0.0) == (layout in ("4.0", "5.1.4", "FL+FR+TBL"))


def test_gates() -> None:
    rate = 48000
    silence = np.zeros(rate * 5, dtype=np.float32)
    r = measure(silence, rate)
    assert math.isinf(r.integrated_lufs) and r.summary()["integrated_lufs"] is None
    # under the absolute gate (-70 LUFS): nothing passes
    assert math.isinf(measure(sine(997, 5, rate, -75.0), rate).integrated_lufs)
    # 10 s at -20 then 10 s at -40: the relative gate (-10 LU) drops the quiet half
    x = np.concatenate([sine(997, 10, rate, -20.0), sine(997, 10, rate, -40.0)])
    r = measure(x, rate)
    assert r.integrated_lufs == pytest.approx(-23.01, abs=0.1)  # blocks across the step count a little
    assert r.relative_gate_lufs == pytest.approx(-23.01 + 10 * math.log10(0.5) - 10, abs=0.1)
    # the loudness range of the same: 20 LU (Tech 3342 style), within 1 LU
    assert measure(np.concatenate([x[: rate * 10], x[: rate * 10] * 0.1]), rate).lra_lu == pytest.approx(
        20, abs=1
    )
    # no short-term block (under 3 s), or none over the gates (silence): undefined, not an even 0 LU
    short = measure(sine(997, 2, rate, -20.0), rate)
    assert math.isnan(short.lra_lu) and short.summary()["lra_lu"] is None
    assert math.isnan(measure(np.zeros((rate * 4, 2), dtype=np.float32), rate).lra_lu)


def test_loudness_range_takes_the_10th_and_95th_percentiles() -> None:
    """Tech 3342: LRA is the 95th minus the 10th percentile of the gated short-term loudness. Twenty blocks
    at -30, -29, ..., -11 LUFS all pass both gates; the percentiles are blocks round(19 * 0.10) = 2 and
    round(19 * 0.95) = 18 of the sorted list: -28 and -12 LUFS, LRA 16 LU."""
    st_energy = np.array([_energy(float(v)) for v in range(-11, -31, -1)])
    lra, low, high = _loudness_range(st_energy)
    assert (lra, low, high) == (pytest.approx(16.0), pytest.approx(-28.0), pytest.approx(-12.0))


def test_loudness_range_percentiles_are_pinned_to_the_block() -> None:
    """101 gated blocks at -40, -39.8, ..., -20 LUFS: the 10th and 95th percentiles are blocks 10 and 95
    exactly, -38 and -21 LUFS (with twenty blocks, 0.10 and 0.11 or 0.95 and 0.94 gave the same blocks)."""
    st_energy = np.array([_energy(-40 + 0.2 * k) for k in range(101)])
    lra, low, high = _loudness_range(st_energy)
    assert (low, high) == (pytest.approx(-38.0, abs=1e-9), pytest.approx(-21.0, abs=1e-9))
    assert lra == pytest.approx(17.0, abs=1e-9)


@pytest.mark.parametrize(("quiet", "lra"), [(-42.9, 22.9), (-43.1, 0.0)])
def test_loudness_range_relative_gate_is_20_lu_under_the_mean(quiet: float, lra: float) -> None:
    """Half the blocks at -20 LUFS, half at ``quiet``: the mean is -20 + 10 log10((1 + 10^((quiet+20)/10))
    / 2) = -22.99 LUFS, so the relative gate (-20 LU) is at -42.99: a half 0.1 LU over it is kept (LRA from
    it to -20), one 0.1 LU under it is not (LRA 0). No test moved when the gate moved by 2 LU."""
    st_energy = np.array([_energy(-20.0)] * 50 + [_energy(quiet)] * 50)
    assert _loudness_range(st_energy)[0] == pytest.approx(lra, abs=1e-9)


@pytest.mark.parametrize(("quiet", "lra"), [(-69.9, 11.9), (-70.1, 0.0)])
def test_loudness_range_absolute_gate_is_minus_70_lufs(quiet: float, lra: float) -> None:
    """A quiet programme, half at -58 LUFS and half at ``quiet``: the relative gate is near -81 LUFS, so only
    the absolute gate (-70 LUFS) can drop the quiet half. Without it, LRA was 18 LU for -58/-76."""
    st_energy = np.array([_energy(-58.0)] * 50 + [_energy(quiet)] * 50)
    assert _loudness_range(st_energy)[0] == pytest.approx(lra, abs=1e-9)


def test_shorter_than_a_block() -> None:
    r = measure(sine(997, 0.3, 48000), 48000)
    assert math.isinf(r.integrated_lufs) and math.isinf(r.momentary_max_lufs)
    assert any("400 ms" in n for n in r.notes)
    assert r.true_peak_dbtp == pytest.approx(0.0, abs=0.05)


def test_true_peak_between_samples() -> None:
    rate = 48000
    # fs/4 at 45 degrees: the samples sit at +-0.5*sin(45) of a 0.5 peak; the true peak is 0.5 (-6.02 dBTP)
    x = 0.5 * np.sin(2 * np.pi * (rate / 4) * np.arange(rate) / rate + np.pi / 4)
    r = measure(np.stack([x, x], 1).astype(np.float32), rate)
    assert r.sample_peak_dbfs == pytest.approx(-9.03, abs=0.01)
    assert -6.02 - 0.4 <= r.true_peak_dbtp <= -6.02 + 0.2  # EBU Tech 3341 tolerance
    x2 = 0.5 * np.sin(2 * np.pi * (rate / 4) * np.arange(rate) / rate)  # samples at 0, +-0.5
    r2 = measure(x2.astype(np.float32), rate)
    assert r2.true_peak_dbtp == pytest.approx(-6.02, abs=0.2)
    # a 1/8-sample-offset high sine: true peak above the sample peak
    x3 = np.sin(2 * np.pi * 10000 * np.arange(rate) / rate + 0.3).astype(np.float32)
    r3 = measure(x3, rate)
    assert r3.true_peak_dbtp >= r3.sample_peak_dbfs
    assert r3.true_peak_dbtp == pytest.approx(0.0, abs=0.15)


def test_conformance_true_peak_tolerance_is_plus_0_2_minus_0_4_db() -> None:
    """EBU Tech 3341 cases 15-23: a true peak within -0.4/+0.2 dB of the expectation passes (-6 dB: -6.4
    to -5.8), not -0.2/+0.4."""
    from reelkit.post.conformance import CASES, Measured, check_case

    case = next(c for c in CASES if c.name == "3341-15")
    ok = {v: check_case(case, "f.wav", Measured(true_peak=v))[0].ok for v in (-6.39, -5.81, -6.41, -5.79)}
    assert ok == {-6.39: True, -5.81: True, -6.41: False, -5.79: False}


def test_conformance_after_checks_the_values_from_after_s_and_reports_the_farthest() -> None:
    """Case 12 (M constant at -23 from 1 s): the values before 1 s do not count, and the one reported is the
    farthest from -23 (-23.08 passing; -22.85, 0.15 over, failing)."""
    from reelkit.post.conformance import CASES, Measured, check_case

    case = next(c for c in CASES if c.name == "3341-12")
    times = np.array([0.4, 0.5, 0.9, 1.0, 1.5, 2.0])
    values = np.array([-40.0, -30.0, -25.0, -23.05, -22.95, -23.08])
    (o,) = check_case(case, "f.wav", Measured(momentary=(times, values)))
    assert o.ok and o.got == -23.08
    values[4] = -22.85
    (o,) = check_case(case, "f.wav", Measured(momentary=(times, values)))
    assert not o.ok and o.got == -22.85
    values[:] = [-40.0, -30.0, -25.0, -23.2, -23.0, -23.0]  # the value at exactly 1 s counts
    (o,) = check_case(case, "f.wav", Measured(momentary=(times, values)))
    assert not o.ok and o.got == -23.2


def test_conformance_per_segment_needs_every_segment_and_reports_the_farthest_with_its_target() -> None:
    """Successive maxima -38, -37, -36 (1 s segments): a middle segment at -36.5 (0.5 over -37) fails the
    file though the last passes, and the outcome names that segment's value and target (-36.5 against -37)."""
    from reelkit.post.conformance import Case, Check, Measured, check_case

    check = Check("short_term_max_per_segment", -38, segment_s=1.0, step=1.0, segments=3)
    case = Case("x", "three steps", "f", "*.wav", (check,))
    times = np.array([0.5, 1.0, 1.5, 2.0, 2.5, 3.0])
    values = np.array([-38.4, -38.0, -36.5, -37.9, -36.0, -36.3])
    (o,) = check_case(case, "f.wav", Measured(short_term=(times, values)))
    assert (o.ok, o.got, o.expected) == (False, -36.5, -37.0)
    values[2] = -37.05
    (o,) = check_case(case, "f.wav", Measured(short_term=(times, values)))
    assert o.ok


def test_conformance_case_files_sort_naturally(tmp_path: Path) -> None:
    """Case 10's files in number order (-10-1-, -10-2-, -10-10-), not as text (-10-1-, -10-10-, -10-2-)."""
    from reelkit.post.conformance import CASES, case_files

    case = next(c for c in CASES if c.name == "3341-10")
    (tmp_path / case.folder).mkdir()
    for n in (10, 2, 21, 1, 3, 12):
        (tmp_path / case.folder / f"seq-3341-10-{n}-24bit.wav").touch()
    assert [f.name.split("-")[3] for f in case_files(case, tmp_path)] == ["1", "2", "3", "10", "12", "21"]


def test_true_peak_filter_properties() -> None:
    assert (
        oversampling_factor(44100) == 4
        and oversampling_factor(96000) == 2
        and oversampling_factor(192000) == 1
    )
    h = true_peak_filter(4).astype(np.float64)
    assert h.size == 49
    for p in range(4):  # every polyphase branch has unit gain at DC
        assert h[p::4].sum() == pytest.approx(1.0, abs=0.01)
    assert h[24] == pytest.approx(1.0)  # branch 0 passes the samples through


def test_true_peak_time_is_located() -> None:
    rate = 48000
    x = 0.1 * sine(440, 6, rate)
    x[rate * 4 + 123] = 0.9
    r = measure(x, rate)
    assert r.true_peak_time_s == pytest.approx((rate * 4 + 123) / rate, abs=2 / rate)


def test_a_peak_between_two_equal_samples_is_placed_half_way() -> None:
    """Two equal samples alone: by symmetry the interpolated peak lies exactly half-way between them (4x
    oversampling puts a point there), not on either sample."""
    rate = 48000
    x = np.zeros(rate * 2, dtype=np.float32)
    n = rate + 1001
    x[n] = x[n + 1] = 0.9
    assert measure(x, rate).true_peak_time_s * rate == pytest.approx(n + 0.5, abs=1e-9)


def test_a_true_peak_between_samples_past_the_first_chunk_is_placed_in_its_chunk() -> None:
    """The meter works 5 s at a time: an interpolated peak half-way between two equal samples at 12.02 s is
    reported at 12.02 s plus half a sample, not at its offset inside the third chunk (2.02 s)."""
    rate = 48000
    x = np.zeros(rate * 14, dtype=np.float32)
    n = rate * 12 + 960
    x[n] = x[n + 1] = 0.9
    r = measure(x, rate)
    assert r.true_peak_dbtp > r.sample_peak_dbfs  # the peak is an interpolated point, not a sample
    assert r.true_peak_time_s * rate == pytest.approx(n + 0.5, abs=1e-9)


def test_integer_pcm_is_scaled() -> None:
    rate = 48000
    s = sine(997, 3, rate, -20.0)
    pcm = np.round(s * 32767).astype(np.int16)
    assert measure(pcm, rate).integrated_lufs == pytest.approx(measure(s, rate).integrated_lufs, abs=0.01)


def test_full_scale_16_bit_pcm_peaks_at_0_dbfs() -> None:
    """int16 -32768 is -1.0 (PCM full scale is 2^15), so its sample peak is 0 dBFS, not 0.0003 dB over."""
    x = np.zeros(48000, dtype=np.int16)
    x[1::2] = -32768
    assert measure(x, 48000).sample_peak_dbfs == 0.0


def test_momentary_grid_is_10_ms() -> None:
    rate = 48000
    r = Meter(keep_curve=True).measure(sine(997, 2, rate), rate)
    assert r.curve is not None
    np.testing.assert_allclose(np.diff(r.curve.momentary_times_s), 0.01)
    assert r.curve.momentary_times_s[0] == pytest.approx(0.4)
    assert r.curve.short_term_lufs.size == 0  # under 3 s


def test_short_term_max_spreads_a_burst_over_three_seconds() -> None:
    """Half a second of a 997 Hz sine at -10 dBFS in silence: momentary max -13.01 LUFS (the 400 ms window
    inside the burst: -10 dB peak, -3.01 dB for a sine's mean square, K-weighting's gain at 997 Hz and the
    -0.691 offset cancelling), short-term max -13.01 + 10 log10(0.5 / 3) = -20.79 LUFS (the 3 s window
    holding it)."""
    rate = 48000
    gap = np.zeros(rate * 3, dtype=np.float32)
    r = measure(np.concatenate([gap, sine(997, 0.5, rate, -10.0), gap]), rate)
    assert r.momentary_max_lufs == pytest.approx(-13.01, abs=0.05)
    assert r.short_term_max_lufs == pytest.approx(-13.01 + 10 * math.log10(0.5 / 3), abs=0.05)


def test_speech_mask_gating() -> None:
    rate = 48000
    loud, quiet = sine(997, 10, rate, -20.0), sine(997, 10, rate, -30.0)
    x = np.concatenate([loud, quiet])
    frame = 0.02
    mask = np.zeros(int(20 / frame), dtype=bool)
    mask[int(10 / frame) :] = True  # "speech" only in the quiet half
    r = Meter().measure(x, rate, speech_mask=(frame, mask))
    # blocks that are mostly speech but reach back into the loud half add a little (about 0.1 LU)
    assert r.dialogue_lufs == pytest.approx(-33.01, abs=0.15)
    assert r.speech_fraction == pytest.approx(0.5, abs=0.01)
    assert r.integrated_lufs == pytest.approx(-25.6, abs=0.3)
    # --json: dialogue_gated_lufs is the gated mix (what qc checks), dialogue_lufs the bed-subtracted estimate
    summary = r.summary()
    assert r.dialogue_isolated_lufs is not None and r.dialogue_isolated_lufs < r.dialogue_lufs - 1.0
    assert summary["dialogue_gated_lufs"] == r.dialogue_lufs
    assert summary["dialogue_lufs"] == r.dialogue_isolated_lufs


def test_the_speech_fraction_is_the_share_of_the_programme_marked_speech() -> None:
    """Speech in the first 3 s of 10 s (one 100 ms mask frame each): speech_fraction is 0.3, the mean of the
    per-segment speech share, not its median (0) or mode."""
    rate = 48000
    mask = np.zeros(100, dtype=bool)
    mask[:30] = True
    r = Meter().measure(sine(997, 10, rate, -20.0), rate, speech_mask=(0.1, mask))
    assert r.speech_fraction == pytest.approx(0.3, abs=1e-9)


def test_the_speech_detector_hears_the_channels_averaged_at_16_khz() -> None:
    """A detector is given the mean of the channels (0.5 and 0.25 make 0.375, not their sum), at 16 kHz."""
    heard: list[tuple[np.ndarray, int]] = []

    def detector(mono: np.ndarray, rate: int) -> tuple[float, np.ndarray]:
        heard.append((mono.copy(), rate))
        return 0.01, np.ones(mono.size // 160, dtype=bool)

    for rate in (16000, 48000):
        x = np.tile(np.array([0.5, 0.25], dtype=np.float32), (rate, 1))
        Meter(speech=detector).measure(x, rate)
        mono, got_rate = heard.pop()
        assert got_rate == 16000 and mono.size == 16000
        np.testing.assert_allclose(mono[2000:14000], 0.375, atol=1e-4)  # the resampler's edges aside


def test_a_speech_mask_is_sampled_at_each_segment_centre() -> None:
    """15 ms mask frames on the 10 ms grid: segments centred at 5, 15, 25, 35 ms fall in frames 0, 1, 1, 2."""
    from reelkit.post.loudness import segment_mask

    bounds = np.arange(5, dtype=np.int64) * 480
    assert segment_mask(0.015, [False, True, False], bounds, 48000).tolist() == [0.0, 1.0, 1.0, 0.0]


def test_bad_input() -> None:
    with pytest.raises(ConfigError):
        measure(np.zeros((2, 2, 2)), 48000)
    with pytest.raises(ConfigError):
        measure(np.zeros(48000), 0)
    with pytest.raises(ConfigError, match="too low"):
        measure(np.zeros(4000), 4000)
    with pytest.raises(ConfigError, match="channel_weights"):
        Meter(channel_weights=[1.0]).measure(np.zeros((48000, 2)), 48000)
    with pytest.raises(ConfigError):
        measure(np.array(["a", "b"]), 48000)
    with pytest.raises(ConfigError, match="NaN"):
        measure(np.full(48000, np.nan), 48000)


def test_the_bed_under_the_dialogue_is_the_median_of_the_speech_free_blocks_near_it() -> None:
    """Speech blocks at 100 u over speech-free blocks u, u, 10 u: the bed is their median u (not the mean 4 u,
    nor a block only partly speech at 50 u), so the dialogue is 99 u: -40 + 10 log10(99) = -20.04 LUFS."""
    from reelkit.post.loudness import _isolated_dialogue

    u = _energy(-40.0)
    dialogue = -40.0 + 10 * math.log10(99)
    speech = [100 * u] * 10
    assert _isolated_dialogue(np.array([*speech, u, u, 10 * u]), np.array([1.0] * 10 + [0.0] * 3)) == (
        pytest.approx(dialogue, abs=1e-9)
    )
    partly = np.array([1.0] * 10 + [0.0, 0.25])
    assert _isolated_dialogue(np.array([*speech, u, 50 * u]), partly) == pytest.approx(dialogue, abs=1e-9)
    # the speech-free blocks within 100 blocks (10 s) of the second's centre (block 5): block 104 is, block
    # 200 (50 u) is not; blocks 10-103 are only partly speech (neither)
    blocks = np.array(speech + [50 * u] * 94 + [u] + [50 * u] * 95 + [50 * u])
    share = np.array([1.0] * 10 + [0.3] * 94 + [0.0] + [0.3] * 95 + [0.0])
    assert _isolated_dialogue(blocks, share) == pytest.approx(dialogue, abs=1e-9)


def test_at_most_three_quarters_of_a_speech_block_is_taken_as_bed() -> None:
    """A bed of 90 u under speech blocks of 100 u leaves a quarter, 25 u (-40 + 13.98 LUFS), not 10 u."""
    from reelkit.post.loudness import _isolated_dialogue

    u = _energy(-40.0)
    got = _isolated_dialogue(np.array([100 * u] * 10 + [90 * u]), np.array([1.0] * 10 + [0.0]))
    assert got == pytest.approx(-40.0 + 10 * math.log10(25), abs=1e-9)


loud_signal = st.integers(0, 2**32 - 1).map(
    lambda seed: (np.random.default_rng(seed).standard_normal((48000 * 2, 2)) * 0.1).astype(np.float32)
)


@settings(max_examples=15, deadline=None)
@given(x=loud_signal, gain_db=st.floats(-30, 10))
def test_gain_shifts_loudness_by_the_gain(x: np.ndarray, gain_db: float) -> None:
    a = measure(x, 48000)
    b = measure(x * np.float32(10 ** (gain_db / 20)), 48000)
    assert b.integrated_lufs - a.integrated_lufs == pytest.approx(gain_db, abs=1e-3)
    assert b.momentary_max_lufs - a.momentary_max_lufs == pytest.approx(gain_db, abs=1e-3)
    assert b.true_peak_dbtp - a.true_peak_dbtp == pytest.approx(gain_db, abs=1e-3)


@settings(max_examples=15, deadline=None)
@given(x=loud_signal)
def test_channel_order_and_polarity_do_not_matter_in_stereo(x: np.ndarray) -> None:
    a = measure(x, 48000)
    assert measure(x[:, ::-1], 48000).integrated_lufs == pytest.approx(a.integrated_lufs, abs=1e-9)
    assert measure(-x, 48000).integrated_lufs == pytest.approx(a.integrated_lufs, abs=1e-9)
    assert measure(-x, 48000).true_peak_dbtp == pytest.approx(a.true_peak_dbtp, abs=1e-6)
    assert a.true_peak_dbtp >= a.sample_peak_dbfs


def test_chunking_does_not_change_results() -> None:
    # longer than one processing chunk (5 s): the filter state and the true-peak context carry over
    rng = np.random.default_rng(4)
    x = (rng.standard_normal((48000 * 12, 2)) * 0.1).astype(np.float32)
    r = measure(x, 48000)
    from scipy.signal import sosfilt

    y = sosfilt(k_weighting_sos(48000), x.astype(np.float64), axis=0)
    z = (y * y).sum(axis=1)
    blocks = np.array([z[i : i + 19200].mean() for i in range(0, z.size - 19200 + 1, 4800)])
    ref_abs = blocks[blocks > 10 ** ((-70 + 0.691) / 10)]
    rel = -0.691 + 10 * np.log10(ref_abs.mean()) - 10
    kept = ref_abs[ref_abs > 10 ** ((rel + 0.691) / 10)]
    assert r.integrated_lufs == pytest.approx(-0.691 + 10 * np.log10(kept.mean()), abs=1e-6)


def test_unsigned_8_bit_pcm_is_centred_on_128_and_scaled_by_128() -> None:
    """8-bit PCM: 128 is zero (silence has no peak), 0 is -1.0 (0 dBFS) and 255 is 127/128 (-0.07 dBFS)."""
    fs = 48000
    assert math.isinf(measure(np.full(fs, 128, dtype=np.uint8), fs).sample_peak_dbfs)
    assert measure(np.full(fs, 0, dtype=np.uint8), fs).sample_peak_dbfs == pytest.approx(0.0, abs=1e-9)
    top = measure(np.full(fs, 255, dtype=np.uint8), fs).sample_peak_dbfs
    assert top == pytest.approx(20 * math.log10(127 / 128), abs=1e-9)


def test_unsigned_8_bit_pcm_is_offset_binary() -> None:
    # 128 is silence in 8-bit PCM: dividing by iinfo(uint8).min (0) gave NaN and a misleading error
    from reelkit.post.loudness import measure

    fs = 48000
    t = np.arange(fs * 3) / fs
    tone = 0.5 * np.sin(2 * np.pi * 1000 * t)
    as_u8 = np.round(tone * 128 + 128).clip(0, 255).astype(np.uint8)
    assert measure(as_u8, fs).integrated_lufs == pytest.approx(measure(tone, fs).integrated_lufs, abs=0.05)
