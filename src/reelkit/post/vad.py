"""Voice-activity detection: a speech probability per short frame of a mono signal.

Two detectors:

``silero`` (default)
    The Silero VAD neural model (an LSTM over learned filter banks), robust to music and effects. Its ONNX
    files ship in the ``silero-vad`` pip package (which needs torch); the model is run here with
    onnxruntime. The model reads 16 kHz audio in 512-sample windows (32 ms), each prefixed with the last 64
    samples of the previous window (the "context"), and carries an LSTM state of shape
    ``(2, batch, 128)`` from one window to the next — the same handling as ``OnnxWrapper`` in the package's
    ``utils_vad.py``.

    The same package ships a "sequence" export of the network (``silero_vad_16k_sequence.onnx``, 6.2 and
    later) that takes many windows per call with the LSTM state as explicit inputs; it gives bit-identical
    probabilities about twice as fast (the tests check the two agree). reelkit ships that file (MIT,
    ``models/SILERO-LICENSE.txt``) and runs it, so the default detector needs no ``silero-vad`` install.

``webrtc``
    The WebRTC GMM detector (``webrtcvad``), light and fast but easily triggered by music; its per-frame
    decisions (30 ms frames, aggressiveness 3) are returned as probabilities 0 or 1.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from functools import lru_cache
from math import gcd
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from reelkit.errors import ConfigError

__all__ = ["SpeechActivity", "silero_model_path", "speech_activity"]

_SR = 16000
_WINDOW = 512
_CONTEXT = 64
_SEQ_BLOCK = 512  # windows per call of the sequence model (16.4 s)


@dataclass(frozen=True)
class SpeechActivity:
    """Speech probability per frame; frame ``i`` covers ``[i * frame_s, (i + 1) * frame_s)`` seconds."""

    frame_s: float
    prob: npt.NDArray[np.float32]

    @property
    def duration_s(self) -> float:
        return float(len(self.prob) * self.frame_s)

    def mask(self, threshold: float = 0.5) -> npt.NDArray[np.bool_]:
        """Frames whose speech probability is at least ``threshold``."""
        return np.asarray(self.prob >= threshold, dtype=bool)

    def segments(
        self, threshold: float = 0.5, min_speech_s: float = 0.25, min_silence_s: float = 0.1
    ) -> list[tuple[float, float]]:
        """Speech segments ``(start_s, end_s)``: frames at or above ``threshold``, with pauses shorter than
        ``min_silence_s`` bridged and then segments shorter than ``min_speech_s`` dropped."""
        return mask_segments(self.mask(threshold), self.frame_s, min_speech_s, min_silence_s)

    def resample(self, frame_s: float) -> npt.NDArray[np.float32]:
        """The probability on another frame grid (mean over each new frame; linear where finer)."""
        n = int(np.ceil(self.duration_s / frame_s - 1e-9))
        if n == 0 or len(self.prob) == 0:
            return np.zeros(n, dtype=np.float32)
        # integrate the step function, then difference it at the new frame edges
        cum = np.concatenate([[0.0], np.cumsum(self.prob, dtype=np.float64)]) * self.frame_s
        edges = np.minimum(np.arange(n + 1) * frame_s, self.duration_s)
        pos = edges / self.frame_s
        vals = np.interp(pos, np.arange(len(cum)), cum)
        width = np.maximum(np.diff(edges), 1e-12)
        return np.asarray(np.clip(np.diff(vals) / width, 0.0, 1.0), dtype=np.float32)


def mask_segments(
    mask: npt.NDArray[np.bool_], frame_s: float, min_speech_s: float = 0.25, min_silence_s: float = 0.1
) -> list[tuple[float, float]]:
    """Runs of ``True`` in ``mask`` as ``(start_s, end_s)``, bridging short gaps and dropping short runs."""
    m = np.asarray(mask, dtype=bool)
    if m.size == 0:
        return []
    d = np.diff(np.concatenate([[0], m.astype(np.int8), [0]]))
    starts = np.flatnonzero(d == 1)
    ends = np.flatnonzero(d == -1)
    merged: list[list[int]] = []
    gap = min_silence_s / frame_s
    for s, e in zip(starts.tolist(), ends.tolist(), strict=True):
        if merged and s - merged[-1][1] < gap:
            merged[-1][1] = e
        else:
            merged.append([s, e])
    return [(s * frame_s, e * frame_s) for s, e in merged if (e - s) * frame_s >= min_speech_s]


#: The sequence export, shipped with reelkit (MIT, ``models/SILERO-LICENSE.txt``): ``pip install reelkit``
#: cannot install ``silero-vad`` itself without torch, and the default detector must work without it
_PACKAGED = Path(__file__).resolve().parent / "models" / "silero_vad_16k_sequence.onnx"


def _silero_dir() -> Path | None:
    # find the package without importing it: its ``__init__`` needs torch, which reelkit does not install
    spec = importlib.util.find_spec("silero_vad")
    for loc in list(spec.submodule_search_locations or []) if spec is not None else []:
        if (Path(loc) / "data" / "silero_vad.onnx").is_file():
            return Path(loc) / "data"
    return None


def silero_model_path(kind: Literal["stream", "sequence"] = "stream") -> Path | None:
    """Path of a Silero ONNX model.

    ``sequence`` is ``silero_vad_16k_sequence.onnx`` (silero-vad 6.2.3's export), shipped with reelkit: what
    ``speech_activity`` runs. ``stream`` is ``silero_vad.onnx`` of an installed ``silero-vad`` package (the
    network one window per call; the tests check it gives the same probabilities), or ``None`` where that
    package is not installed.
    """
    if kind == "sequence":
        return _PACKAGED
    data = _silero_dir()
    return None if data is None else data / "silero_vad.onnx"


@lru_cache(maxsize=2)
def _silero_session(kind: Literal["stream", "sequence"]) -> Any:
    import onnxruntime

    path = silero_model_path(kind)
    if path is None:
        return None
    opts = onnxruntime.SessionOptions()
    opts.inter_op_num_threads = 1
    opts.intra_op_num_threads = 1
    opts.log_severity_level = 3
    return onnxruntime.InferenceSession(str(path), sess_options=opts, providers=["CPUExecutionProvider"])


def _to_rate(samples: npt.NDArray[np.float32], sample_rate: int, target: int) -> npt.NDArray[np.float32]:
    if sample_rate == target:
        return samples
    from scipy.signal import resample_poly

    g = gcd(int(sample_rate), target)
    return np.asarray(resample_poly(samples, target // g, int(sample_rate) // g), dtype=np.float32)


def _check_input(samples: npt.ArrayLike, sample_rate: int) -> npt.NDArray[np.float32]:
    x = np.asarray(samples, dtype=np.float32)
    if x.ndim == 2 and x.shape[1] == 1:
        x = x[:, 0]
    if x.ndim != 1:
        raise ConfigError(f"speech_activity needs mono samples shaped (n,), got shape {x.shape}")
    if sample_rate <= 0:
        raise ConfigError(f"sample_rate must be positive, got {sample_rate}")
    return np.nan_to_num(x, nan=0.0, posinf=1.0, neginf=-1.0)


def _silero_inputs(x16: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """Model inputs, one row per 512-sample window (zero-padded at the end), each prefixed by the previous
    window's last 64 samples (zeros before the first): shape ``(n_windows, 576)``."""
    n_win = (len(x16) + _WINDOW - 1) // _WINDOW
    flat = np.zeros(n_win * _WINDOW, dtype=np.float32)
    flat[: len(x16)] = x16
    frames = flat.reshape(n_win, _WINDOW)
    ctx = np.zeros((n_win, _CONTEXT), dtype=np.float32)
    ctx[1:] = frames[:-1, -_CONTEXT:]
    return np.concatenate([ctx, frames], axis=1)


def _silero_probs_stream(x16: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """``silero_vad.onnx`` one window at a time, carrying the state ``(2, 1, 128)`` between calls — the
    logic of ``OnnxWrapper.audio_forward``."""
    sess = _silero_session("stream")
    inputs = _silero_inputs(x16)
    state = np.zeros((2, 1, 128), dtype=np.float32)
    sr = np.array(_SR, dtype=np.int64)
    out = np.zeros(len(inputs), dtype=np.float32)
    for i in range(len(inputs)):
        prob, state = sess.run(None, {"input": inputs[i : i + 1], "state": state, "sr": sr})
        out[i] = prob[0, 0]
    return out


def _silero_probs(x16: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """Per-window speech probabilities of 16 kHz audio.

    Runs the sequence export shipped with reelkit (the same network, many windows per call; bit-identical
    to the streamed run, about twice as fast).
    """
    sess = _silero_session("sequence")
    inputs = _silero_inputs(x16)
    h = np.zeros((1, 1, 128), dtype=np.float32)
    c = np.zeros((1, 1, 128), dtype=np.float32)
    out: list[npt.NDArray[np.float32]] = []
    for i in range(0, len(inputs), _SEQ_BLOCK):
        probs, h, c = sess.run(None, {"input": inputs[i : i + _SEQ_BLOCK], "h": h, "c": c})
        out.append(np.asarray(probs, dtype=np.float32).reshape(-1))
    return np.concatenate(out) if out else np.zeros(0, dtype=np.float32)


def _webrtc_probs(x16: npt.NDArray[np.float32], aggressiveness: int = 3) -> npt.NDArray[np.float32]:
    import webrtcvad

    vad = webrtcvad.Vad(aggressiveness)
    frame = int(0.03 * _SR)
    n = len(x16) // frame
    pcm = (np.clip(x16[: n * frame], -1.0, 1.0) * 32767.0).astype("<i2")
    raw = pcm.tobytes()
    step = frame * 2
    return np.array([vad.is_speech(raw[i * step : (i + 1) * step], _SR) for i in range(n)], dtype=np.float32)


def speech_activity(
    samples: npt.ArrayLike,
    sample_rate: int,
    *,
    method: Literal["silero", "webrtc"] = "silero",
) -> SpeechActivity:
    """Speech probability per frame of a mono float signal (any sample rate; resampled to 16 kHz).

    ``silero`` gives 32 ms frames with a probability in [0, 1]; ``webrtc`` gives 30 ms frames with 0 or 1.
    """
    x = _check_input(samples, sample_rate)
    x16 = _to_rate(x, sample_rate, _SR)
    if method == "silero":
        return SpeechActivity(_WINDOW / _SR, _silero_probs(x16))
    if method == "webrtc":
        return SpeechActivity(0.03, _webrtc_probs(x16))
    raise ConfigError(f"unknown VAD method {method!r}; use 'silero' or 'webrtc'")
