"""Voice-activity detection: silero through onnxruntime (both model exports agree), webrtc, segments."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from reelkit.errors import ConfigError
from reelkit.post import vad
from reelkit.post.subs import synth
from reelkit.post.vad import SpeechActivity, mask_segments, speech_activity

needs_espeak = pytest.mark.skipif(not synth.have_espeak(), reason="espeak-ng is not installed")


@pytest.fixture(scope="module")
def speech_signal() -> tuple[np.ndarray, list[tuple[float, float]]]:
    """3 s silence, a sentence, 3 s of music-like sound, a sentence, 2 s silence (16 kHz)."""
    a = synth.espeak("Where were you last night? I was at home.", "en-us", 160)
    b = synth.espeak("Nobody knows what happened in that house.", "en-gb+f3", 170)
    rng = np.random.default_rng(0)
    music = 0.05 * synth.music_bed(rng, 3 * synth.SR)
    gap = np.zeros(3 * synth.SR, dtype=np.float32)
    x = np.concatenate([gap, a, music, b, gap[: 2 * synth.SR]])
    x = x + 0.002 * rng.standard_normal(len(x)).astype(np.float32)
    t_a = 3.0
    t_b = t_a + len(a) / synth.SR + 3.0
    return x, [(t_a, t_a + len(a) / synth.SR), (t_b, t_b + len(b) / synth.SR)]


@needs_espeak
def test_silero_finds_the_speech_and_not_the_music(speech_signal: tuple[np.ndarray, list]) -> None:
    x, truth = speech_signal
    act = speech_activity(x, 16000)
    assert act.frame_s == pytest.approx(0.032)
    assert len(act.prob) == int(np.ceil(len(x) / 512))
    segs = act.segments(0.5, min_speech_s=0.25, min_silence_s=0.5)
    assert len(segs) == 2
    for (s, e), (ts, te) in zip(segs, truth, strict=True):
        assert abs(s - ts) < 0.3 and abs(e - te) < 0.5
    # other sample rates are resampled
    from scipy.signal import resample_poly

    act48 = speech_activity(resample_poly(x, 3, 1).astype(np.float32), 48000)
    assert abs(len(act48.prob) - len(act.prob)) <= 1
    assert np.mean(act48.mask() == act.mask()[: len(act48.prob)]) > 0.95


@needs_espeak
def test_sequence_export_is_bit_identical_to_the_streamed_model(
    speech_signal: tuple[np.ndarray, list],
) -> None:
    if vad.silero_model_path("stream") is None:
        pytest.skip("the silero-vad package (its streamed model, the reference here) is not installed")
    x, _ = speech_signal
    x = x[: 12 * 16000]  # crosses no block boundary; the boundary itself is checked below
    assert np.array_equal(vad._silero_probs(x), vad._silero_probs_stream(x))
    long = np.tile(x, 2)[: 20 * 16000]  # 625 windows: two blocks of the sequence model
    assert np.array_equal(vad._silero_probs(long), vad._silero_probs_stream(long))


@needs_espeak
def test_webrtc_option(speech_signal: tuple[np.ndarray, list]) -> None:
    x, truth = speech_signal
    act = speech_activity(x, 16000, method="webrtc")
    assert act.frame_s == 0.03
    assert set(np.unique(act.prob)) <= {0.0, 1.0}
    (ts, te) = truth[0]
    inside = act.prob[int(ts / 0.03) : int(te / 0.03)].mean()
    before = act.prob[: int(2.5 / 0.03)].mean()
    assert inside > 0.6 and before < 0.1


def test_silence_and_noise_have_no_speech() -> None:
    rng = np.random.default_rng(1)
    quiet = np.zeros(5 * 16000, dtype=np.float32)
    noise = (0.05 * rng.standard_normal(5 * 16000)).astype(np.float32)
    assert speech_activity(quiet, 16000).mask().sum() == 0
    assert speech_activity(noise, 16000).mask().mean() < 0.05
    assert speech_activity(np.zeros(0, dtype=np.float32), 16000).prob.shape == (0,)


def test_segments_mask_and_resample() -> None:
    prob = np.array([0, 0.9, 0.9, 0, 0.8, 0.8, 0.8, 0, 0, 0, 0, 0.7], dtype=np.float32)
    act = SpeechActivity(0.1, prob)
    assert act.mask().tolist() == (prob >= 0.5).tolist()
    # the one-frame pause is bridged, the last single frame is too short
    flat = lambda segs: [t for seg in segs for t in seg]  # noqa: E731
    assert flat(act.segments(0.5, min_speech_s=0.15, min_silence_s=0.15)) == pytest.approx([0.1, 0.7])
    assert flat(act.segments(0.5, min_speech_s=0.05, min_silence_s=0.05)) == pytest.approx(
        [0.1, 0.3, 0.4, 0.7, 1.1, 1.2]
    )
    assert mask_segments(np.zeros(0, dtype=bool), 0.1) == []
    fine = act.resample(0.05)
    assert len(fine) == 24 and fine[2] == pytest.approx(0.9) and fine[0] == 0.0
    coarse = act.resample(0.2)
    assert coarse[0] == pytest.approx(0.45)


def test_segment_and_resample_boundaries() -> None:
    """A probability at the threshold is speech, a pause as long as min_silence_s is kept, a run as long as
    min_speech_s is kept, and a last partial frame is averaged over its own length."""
    assert SpeechActivity(0.1, np.array([0.5, 0.4], dtype=np.float32)).mask().tolist() == [True, False]
    mask = np.array([1, 0, 0, 1], dtype=bool)
    bridged = mask_segments(mask, 0.1, min_speech_s=0.0, min_silence_s=0.2)
    assert np.ravel(bridged).tolist() == pytest.approx([0.0, 0.1, 0.3, 0.4])
    kept = mask_segments(np.array([1, 1, 0], dtype=bool), 0.1, min_speech_s=0.2)
    assert np.ravel(kept).tolist() == pytest.approx([0.0, 0.2])
    # 0.3 s on a 0.2 s grid: the second frame covers 0.2-0.3 s only, all of it speech
    act = SpeechActivity(0.1, np.array([0.0, 0.0, 1.0], dtype=np.float32))
    assert act.resample(0.2) == pytest.approx([0.0, 1.0])


def test_each_silero_window_is_prefixed_by_the_last_64_samples_of_the_one_before() -> None:
    """As silero-vad's OnnxWrapper (``self._context = x[..., -64:]``): row i of the model input is the 64
    samples just before window i (zeros before the first) and then its 512 samples, the last zero-padded."""
    x = np.arange(1, 1201, dtype=np.float32)
    rows = vad._silero_inputs(x)
    assert rows.shape == (3, 576)
    assert rows[0, :64].tolist() == [0.0] * 64 and rows[0, 64:].tolist() == x[:512].tolist()
    assert rows[1, :64].tolist() == x[448:512].tolist() and rows[1, 64:].tolist() == x[512:1024].tolist()
    assert rows[2, :64].tolist() == x[960:1024].tolist()
    assert rows[2, 64 : 64 + 176].tolist() == x[1024:].tolist() and not rows[2, 64 + 176 :].any()


def test_webrtc_hears_16_bit_pcm_at_full_scale(monkeypatch: pytest.MonkeyPatch) -> None:
    """webrtcvad takes 16-bit PCM: a float sample of 0.5 is 16383 (0.5 * 32767, truncated), -1.0 is
    -32767, and out-of-range values are clipped to full scale (not wrapped)."""
    import sys
    import types

    heard: list[bytes] = []

    class FakeVad:
        def __init__(self, mode: int) -> None:
            pass

        def is_speech(self, raw: bytes, rate: int) -> bool:
            heard.append(raw)
            return True

    monkeypatch.setitem(sys.modules, "webrtcvad", types.SimpleNamespace(Vad=FakeVad))
    x = np.zeros(480, dtype=np.float32)
    x[:4] = [0.5, -1.0, 2.0, -0.25]
    act = speech_activity(x, 16000, method="webrtc")
    assert act.prob.tolist() == [1.0] and len(heard) == 1
    assert np.frombuffer(heard[0], dtype="<i2")[:5].tolist() == [16383, -32767, 32767, -8191, 0]


def test_a_nan_sample_in_silence_is_read_as_silence() -> None:
    """One NaN sample in a second of silence is silence to both detectors (silero fed the NaN read the
    silence after it as speech, up to 0.73; webrtc got garbage PCM)."""
    x = np.zeros(16000, dtype=np.float32)
    x[100] = np.nan
    for method in ("silero", "webrtc"):
        act = speech_activity(x, 16000, method=method)  # type: ignore[arg-type]
        assert np.isfinite(act.prob).all() and act.mask().sum() == 0, method


def test_bad_input() -> None:
    with pytest.raises(ConfigError, match="mono"):
        speech_activity(np.zeros((100, 2), dtype=np.float32), 16000)
    with pytest.raises(ConfigError, match="sample_rate"):
        speech_activity(np.zeros(100, dtype=np.float32), 0)
    with pytest.raises(ConfigError, match="unknown VAD"):
        speech_activity(np.zeros(100, dtype=np.float32), 16000, method="nope")  # type: ignore[arg-type]


def test_the_default_detector_needs_no_silero_vad_package(monkeypatch: pytest.MonkeyPatch) -> None:
    """``pip install reelkit`` cannot install silero-vad (it needs torch): the shipped sequence export is what
    runs, so silero works where the package is absent (it was "the silero VAD model is not installed")."""
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "silero_vad" else real(name, *a)
    )
    vad._silero_session.cache_clear()
    try:
        assert vad.silero_model_path("stream") is None
        packaged = vad.silero_model_path("sequence")
        assert packaged is not None and packaged.is_relative_to(Path(vad.__file__).parent)
        rng = np.random.default_rng(0)
        act = vad.speech_activity(rng.normal(0, 0.01, 16000).astype(np.float32), 16000, method="silero")
        assert len(act.prob) == 32 and float(np.max(act.prob)) < 0.5  # quiet noise: no speech
    finally:
        vad._silero_session.cache_clear()


def test_the_shipped_model_is_silero_vads_own_file() -> None:
    data = vad._silero_dir()
    if data is None or not (data / "silero_vad_16k_sequence.onnx").is_file():
        pytest.skip("no silero-vad package with a sequence export to compare with")
    shipped = vad.silero_model_path("sequence")
    assert shipped is not None
    assert shipped.read_bytes() == (data / "silero_vad_16k_sequence.onnx").read_bytes()
