"""SSIM and MS-SSIM pinned to known answers: an independent numpy reference of libvmaf's ``float_ssim`` and
``float_ms_ssim`` (written from libvmaf's algorithm: ``ssim.c``, ``ms_ssim.c``, ``iqa/ssim_tools.c``,
``iqa/convolve.c``, ``iqa/decimate.c``), and closed forms on flat pictures.

What the reference does, as libvmaf does:
- SSIM first downsamples by Wang's factor ``max(1, round(min(w, h) / 256))``: a factor x factor box leaning
  left, mirrored border, one sample every factor pixels.
- The 11x11 Gaussian (sigma 1.5) is libvmaf's rounded 1-D taps (sum 1.000002, not renormalised), applied
  only where the window fits (maps of ``(w - 10) x (h - 10)``); K1 = 0.01, K2 = 0.03, L = 255, C3 = C2 / 2;
  variances clamped at 0.
- MS-SSIM: five scales with the 9x9 9/7 low-pass between them, the product of the scales' mean l^alpha c^beta
  s^gamma (NaN where a mean structure term is negative: libvmaf logs ``null``).
Double precision here agrees with libvmaf's float32 code to about 2e-7; libvmaf's log prints six decimals.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from scipy import ndimage

from reelkit.post.video.quality import measure_quality
from reelkit.testing.video import write_y4m

pytestmark = pytest.mark.media

F32 = npt.NDArray[np.float32]
f32 = np.float32

#: libvmaf's 1-D Gaussian taps (``g_gaussian_window_h``), used as they are
GAUSS = np.array(
    [
        0.001028,
        0.007599,
        0.036001,
        0.109361,
        0.213006,
        0.266012,
        0.213006,
        0.109361,
        0.036001,
        0.007599,
        0.001028,
    ],
    f32,
)
#: the 9x9 9/7 biorthogonal low-pass between MS-SSIM's scales (libvmaf's rounded 2-D ``g_lpf``)
_LPF_ROWS = [
    [0.000714, -0.000450, -0.002090, 0.007132, 0.016114],
    [-0.000450, 0.000283, 0.001316, -0.004490, -0.010146],
    [-0.002090, 0.001316, 0.006115, -0.020867, -0.047149],
    [0.007132, -0.004490, -0.020867, 0.071207, 0.160885],
    [0.016114, -0.010146, -0.047149, 0.160885, 0.363505],
]
LPF = np.array([r + r[-2::-1] for r in _LPF_ROWS + _LPF_ROWS[-2::-1]], f32)  # symmetric both ways
BETAS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)  # = gammas; alpha is 0 but at the last scale (0.1333)
C1, C2 = f32(f32(0.01) * f32(255)) ** 2, f32(f32(0.03) * f32(255)) ** 2
C3 = C2 / f32(2)


def _valid(img: F32) -> F32:
    """Separable convolution where the whole window fits: float32 products summed in double, each pass
    stored as float32 (as libvmaf's C; in double throughout, SSIM moves by up to 7e-6 on noisy pictures)."""
    n, (h, w) = len(GAUSS), img.shape
    rows = np.zeros((h, w - n + 1))
    for k in range(n):
        rows += img[:, k : k + w - n + 1] * GAUSS[k]
    tmp, out = rows.astype(f32), np.zeros((h - n + 1, w - n + 1))
    for k in range(n):
        out += tmp[k : k + h - n + 1] * GAUSS[k]
    return out.astype(f32)


def _decimate(img: F32, kernel: F32, f: int) -> F32:
    """Filter with ``kernel`` (taps from -k//2, leaning left when even), mirrored border, every f-th pixel."""
    (h, w), (kh, kw) = img.shape, kernel.shape
    out_h, out_w = h // f + (h & 1), w // f + (w & 1)
    pad = max(kh, kw) + f
    p = np.pad(img, pad, mode="symmetric")
    acc = np.zeros((out_h, out_w))
    for j in range(kh):
        for i in range(kw):
            r0, c0 = pad + j - kh // 2, pad + i - kw // 2
            acc += p[r0 : r0 + f * (out_h - 1) + 1 : f, c0 : c0 + f * (out_w - 1) + 1 : f] * kernel[j, i]
    return acc.astype(f32)


def _lcs(x: F32, y: F32) -> tuple[float, float, float, float]:
    """Mean SSIM, and the means of its luminance, contrast and structure terms."""
    mx, my = _valid(x), _valid(y)
    vx = np.maximum(_valid(x * x) - mx * mx, f32(0))
    vy = np.maximum(_valid(y * y) - my * my, f32(0))
    cxy = _valid(x * y) - mx * my
    sxy = np.sqrt((vx * vy).astype(np.float64)).astype(f32)
    lum = (2.0 * mx.astype(np.float64) * my + C1) / (mx * mx + my * my + C1).astype(np.float64)
    con = (2.0 * sxy.astype(np.float64) + C2) / (vx + vy + C2).astype(np.float64)
    st = ((np.where((cxy < 0) & (sxy <= 0), f32(0), cxy) + C3) / (sxy + C3)).astype(np.float64)
    means = [float(f32(v.mean())) for v in (lum * con * st, lum, con, st)]
    return means[0], means[1], means[2], means[3]


def ref_ssim(ref: npt.ArrayLike, dist: npt.ArrayLike) -> float:
    x, y = np.asarray(ref, f32), np.asarray(dist, f32)
    f = max(1, math.floor(min(x.shape) / 256 + 0.5))
    if f > 1:
        box = np.full((f, f), f32(1) / f32(f * f), f32)
        x, y = _decimate(x, box, f), _decimate(y, box, f)
    return _lcs(x, y)[0]


def ref_ms_ssim(ref: npt.ArrayLike, dist: npt.ArrayLike) -> float:
    x, y = np.asarray(ref, f32), np.asarray(dist, f32)
    score = 1.0
    for k, beta in enumerate(float(f32(b)) for b in BETAS):
        if k:
            x, y = _decimate(x, LPF, 2), _decimate(y, LPF, 2)
        _, lum, con, st = _lcs(x, y)
        if st < 0:
            return math.nan
        score *= con**beta * st**beta * (lum**beta if k == len(BETAS) - 1 else 1.0)
    return score


def _picture(w: int, h: int, kind: str, rng: np.random.Generator) -> npt.NDArray[np.uint8]:
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    if kind == "gradient":
        img = 40 + 90 * xx / w + 60 * yy / h + rng.normal(0, 12, (h, w))
    else:  # checker
        img = np.where((xx // 7 + yy // 5) % 2 == 0, 60, 190) + rng.normal(0, 4, (h, w))
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


def _distorted(ref: npt.NDArray[np.uint8], rng: np.random.Generator) -> list[npt.NDArray[np.uint8]]:
    r = ref.astype(np.float64)
    out = [
        r,
        ndimage.gaussian_filter(r, 1.2, mode="nearest"),
        r + rng.normal(0, 10, r.shape),
        np.floor(r / 24) * 24 + 12,
        np.roll(r, (1, 2), axis=(0, 1)),
        r * 0.7 + 20,
        255 - r,  # MS-SSIM: a negative structure term, no value
    ]
    return [np.clip(np.rint(x), 0, 255).astype(np.uint8) for x in out]


@pytest.mark.parametrize(
    ("w", "h", "kind"),
    [(256, 176, "gradient"), (321, 181, "checker"), (527, 385, "checker"), (768, 720, "gradient")],
    ids=["256x176", "321x181-odd", "527x385-downsampled-2x", "768x720-downsampled-3x"],
)
def test_ssim_and_ms_ssim_match_the_reference_frame_by_frame(
    tmp_path: Path, w: int, h: int, kind: str
) -> None:
    """Seven distortions (none, blur, noise, quantisation, a shift, contrast, inversion), every frame within
    the log's six decimals; the inverted frame has no MS-SSIM (NaN)."""
    rng = np.random.default_rng(w)
    ref = _picture(w, h, kind, rng)
    dists = _distorted(ref, rng)
    got = measure_quality(
        write_y4m(tmp_path / "ref.y4m", [ref] * len(dists)),
        write_y4m(tmp_path / "dist.y4m", dists),
        models=(),
        features=("ssim", "ms_ssim"),
    )
    want_ssim = [ref_ssim(ref, d) for d in dists]
    want_ms = [ref_ms_ssim(ref, d) for d in dists]
    assert got.per_frame["ssim"] == pytest.approx(want_ssim, abs=1e-6)
    assert got.per_frame["ms_ssim"][:-1] == pytest.approx(want_ms[:-1], abs=1e-6)
    assert math.isnan(want_ms[-1]) and math.isnan(got.per_frame["ms_ssim"][-1])
    assert want_ssim[0] == 1.0 and max(want_ssim[1:]) < 0.999  # every distortion is seen


def test_flat_pictures_have_closed_forms(tmp_path: Path) -> None:
    """Flat a against flat b: contrast and structure are 1, so SSIM = (2ab + C1) / (a^2 + b^2 + C1) and
    MS-SSIM is that to the power 0.1333 (only the coarsest scale weighs luminance). 100 vs 110: 0.995476 /
    0.999396; 16 vs 235: 0.135643 / 0.766211; the same at 640x480 (SSIM downsampled 2x)."""
    pairs = [(100, 110), (16, 235), (50, 60)]
    for w, h in ((320, 240), (640, 480)):
        refs = [np.full((h, w), a, np.uint8) for a, _ in pairs]
        dists = [np.full((h, w), b, np.uint8) for _, b in pairs]
        got = measure_quality(
            write_y4m(tmp_path / f"r{w}.y4m", refs),
            write_y4m(tmp_path / f"d{w}.y4m", dists),
            models=(),
            features=("ssim", "ms_ssim"),
        )
        lum = [(2 * a * b + C1) / (a * a + b * b + C1) for a, b in pairs]
        assert got.per_frame["ssim"] == pytest.approx(lum, abs=1e-6)
        assert got.per_frame["ms_ssim"] == pytest.approx([v**0.1333 for v in lum], abs=1e-6)
    assert lum[0] == pytest.approx(0.995476, abs=5e-7) and lum[1] == pytest.approx(0.135643, abs=5e-7)


def test_the_reference_itself_on_hand_cases() -> None:
    """The reference's own known answers: identical textured pictures score 1; swapping the pictures changes
    nothing; the downsampling factor is Wang's (1 below 384 lines, 2 from 384, 3 from 640)."""
    rng = np.random.default_rng(1)
    a = _picture(200, 180, "gradient", rng)
    b = _distorted(a, rng)[2]
    assert ref_ssim(a, a) == pytest.approx(1.0, abs=1e-12) and ref_ms_ssim(a, a) == pytest.approx(
        1.0, abs=1e-12
    )
    assert ref_ssim(a, b) == pytest.approx(ref_ssim(b, a), abs=1e-12)
    assert ref_ms_ssim(a, b) == pytest.approx(ref_ms_ssim(b, a), abs=1e-12)
    # Wang's 2x2 box leans left: output (r, c) is the mean of input rows 2r-1, 2r and columns 2c-1, 2c
    img = rng.integers(0, 255, (12, 10)).astype(f32)
    small = _decimate(img, np.full((2, 2), f32(0.25), f32), 2)
    assert small.shape == (6, 5)
    for r, c in ((1, 1), (2, 3), (5, 4)):
        assert small[r, c] == pytest.approx(
            img[2 * r - 1 : 2 * r + 1, 2 * c - 1 : 2 * c + 1].mean(), abs=1e-4
        )
    assert small[0, 0] == pytest.approx(img[0:1, 0:1].mean(), abs=1e-4)  # mirrored: rows/columns -1 = 0
