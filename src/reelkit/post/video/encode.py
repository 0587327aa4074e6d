"""Encoding candidates with libx264/libx265 and scoring them, cached on disk.

One candidate is an :class:`EncodeSpec` (size, CRF or target bitrate, preset, GOP, optional frame range of the
source). :func:`encode_and_score` encodes it through :func:`reelkit.media.run_ffmpeg`, measures the bitrate
from the packet sizes (no container overhead) and scores VMAF at the source's (display) resolution. Encodes
and scores are cached apart under ``cache_dir``: ``<e>.mp4`` and ``<e>.encode.json`` keyed by a content hash
of the source, the spec and the ffmpeg version, and ``<e>.score-<s>.json`` by the scoring options (display
size, subsampling). A rerun encodes nothing twice, and scoring the same encodes another way only scores.
(Entries of the earlier layout, ``<key>.json`` plus ``<key>.mp4`` under one key of both, are still read.)

Every encode has closed GOPs of a fixed length (``gop_s``, no scene-cut keyframes), so the rungs of a ladder
are segment-aligned for DASH.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import asdict, dataclass, replace
from fractions import Fraction
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from reelkit._files import atomic_write_text, sha256_file
from reelkit.errors import ConfigError
from reelkit.media import X264_PRESETS, ffmpeg_exe, frame_rate, probe, run_ffmpeg
from reelkit.post.video.quality import measure_quality, require_filter

__all__ = [
    "CODECS",
    "DEAD_ENCODE_S",
    "QUALITY_RANGE",
    "EncodeResult",
    "EncodeSpec",
    "EncodeTask",
    "clear_dead_encodes",
    "default_cache_dir",
    "encode_and_score",
    "file_hash",
    "packet_bytes",
]

CODECS = {"x264": "libx264", "x265": "libx265"}
#: the CRF and QP range of 8-bit x264 and x265 (ffmpeg takes -1 as "unset" and clamps above 51)
QUALITY_RANGE = (0.0, 51.0)
CACHE_VERSION = 1  # the earlier layout's keys (encode and scores under one key)
ENCODE_CACHE_VERSION = 2


@dataclass(frozen=True)
class EncodeSpec:
    """One encode: ``crf`` (constant rate factor), ``qp`` (constant quantiser, as in Netflix's per-title and
    dynamic-optimizer papers) or ``bitrate_kbps`` (1-pass ABR, peak 2x, buffer 2x). ``cuts``: frames (of the
    encode) where a closed GOP must start, the GOP cadence counting again from each: a whole-title encode
    with the keyframes of shot encodes, so that their DASH segments align."""

    width: int
    height: int
    crf: float | None = None
    bitrate_kbps: float | None = None
    qp: float | None = None
    codec: Literal["x264", "x265"] = "x264"
    preset: str = "veryfast"
    gop_s: float = 2.0
    start_frame: int | None = None
    end_frame: int | None = None
    threads: int = 1
    cuts: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        cuts = tuple(int(c) for c in self.cuts)
        if any(c <= 0 for c in cuts) or list(cuts) != sorted(set(cuts)):
            raise ConfigError(f"cuts {list(cuts)} must be increasing frame numbers above 0")
        object.__setattr__(self, "cuts", cuts)  # a list read back from JSON becomes the tuple again
        if sum(x is not None for x in (self.crf, self.bitrate_kbps, self.qp)) != 1:
            raise ConfigError("an encode needs exactly one of crf, qp and bitrate_kbps")
        if self.codec not in CODECS:
            raise ConfigError(f"unknown codec {self.codec!r}; choose from {sorted(CODECS)}")
        if self.width % 2 or self.height % 2 or self.width <= 0 or self.height <= 0:
            raise ConfigError(f"encode size {self.width}x{self.height} must be positive and even")
        lo, hi = QUALITY_RANGE
        for name, v in (("crf", self.crf), ("qp", self.qp)):
            if v is not None and not lo <= v <= hi:
                raise ConfigError(f"{name} {v:g} is outside {self.codec}'s range {lo:g}-{hi:g}")
        if self.qp is not None and self.qp != int(self.qp):
            # x264's and x265's qp is an integer: ffmpeg rounded 26.4 to 26 and 26.6 to 27 in silence
            raise ConfigError(f"qp {self.qp:g} must be a whole number ({self.codec} takes an integer QP)")
        if self.bitrate_kbps is not None and not 0 < self.bitrate_kbps < float("inf"):
            raise ConfigError(f"bitrate {self.bitrate_kbps:g} kbps must be a positive number")
        if self.preset not in X264_PRESETS:
            raise ConfigError(f"unknown preset {self.preset!r}; choose from {', '.join(X264_PRESETS)}")
        if not 0 < self.gop_s < float("inf"):
            raise ConfigError(f"GOP length {self.gop_s:g} s must be positive")

    @property
    def quality_param(self) -> float | None:
        """The CRF or QP of a constant-quality encode (``None`` for a bitrate target)."""
        return self.crf if self.crf is not None else self.qp

    @property
    def label(self) -> str:
        if self.crf is not None:
            q = f"crf{self.crf:g}"
        elif self.qp is not None:
            q = f"qp{self.qp:g}"
        else:
            q = f"{self.bitrate_kbps:g}k"
        shot = f"_f{self.start_frame}-{self.end_frame}" if self.start_frame is not None else ""
        shot += f"_{len(self.cuts)}cuts" if self.cuts else ""
        return f"{self.width}x{self.height}_{q}{shot}"


@dataclass(frozen=True)
class EncodeResult:
    """An encode and its scores (VMAF ``vmaf_v0.6.1`` mean at display resolution, PSNR-Y, bitrate)."""

    spec: EncodeSpec
    path: str
    bits: int
    frames: int
    duration_s: float
    bitrate_kbps: float
    vmaf: float
    vmaf_hmean: float
    vmaf_p5: float
    psnr_y: float
    encode_s: float
    cached: bool = False

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["spec"] = asdict(self.spec)
        return d

    @staticmethod
    def from_dict(d: dict[str, Any]) -> EncodeResult:
        d = dict(d)
        d["spec"] = EncodeSpec(**d["spec"])
        return EncodeResult(**d)


@dataclass(frozen=True)
class EncodeTask:
    """What a worker needs: the source, its content hash, the spec, the cache and the scoring options."""

    source: str
    source_hash: str
    spec: EncodeSpec
    cache_dir: str
    display_width: int
    display_height: int
    vmaf_subsample: int = 1


#: A temporary encode folder in the cache with nothing written for this long is a killed run's (ffmpeg
#: writes its output as it encodes); it is removed.
DEAD_ENCODE_S = 3600.0
_ENCODE_TMP = "reelkit-enc-"


def clear_dead_encodes(cache_dir: str | Path, *, idle_s: float = DEAD_ENCODE_S) -> int:
    """Remove the temporary encode folders of runs that were killed (SIGKILL, power: nothing removed them)
    from ``cache_dir``, each a part-written encode up to the title's size: by the last write in them, not by
    process id (workers on other machines share the cache). Returns how many were removed."""
    removed = 0
    now = time.time()
    try:
        folders = [p for p in Path(cache_dir).iterdir() if p.name.startswith(_ENCODE_TMP)]
    except OSError:
        return 0
    for folder in folders:
        try:
            if folder.is_symlink() or not folder.is_dir():
                continue
            latest = max([folder.stat().st_mtime, *(p.stat().st_mtime for p in folder.iterdir())])
        except OSError:  # removed meanwhile (its run finished), or unreadable: not ours to judge
            continue
        if now - latest > idle_s:
            shutil.rmtree(folder, ignore_errors=True)
            removed += 1
    return removed


def default_cache_dir() -> Path:
    """``$REELKIT_CACHE/video`` or ``~/.cache/reelkit/video``."""
    root = os.environ.get("REELKIT_CACHE")
    return Path(root) / "video" if root else Path.home() / ".cache" / "reelkit" / "video"


@lru_cache(maxsize=256)
def _hash_cached(path: str, size: int, mtime_ns: int) -> str:
    return sha256_file(path)


def file_hash(path: str | Path) -> str:
    """sha256 of a file's bytes (memoised per path, size and modification time)."""
    st = os.stat(path)
    return _hash_cached(str(Path(path).resolve()), st.st_size, st.st_mtime_ns)


@lru_cache(maxsize=1)
def _ffmpeg_version() -> str:
    out = subprocess.run([ffmpeg_exe(), "-version"], capture_output=True, text=True, check=False).stdout
    return out.splitlines()[0] if out else "unknown"


# a framecrc line: stream, dts, pts, duration, size, hash (lines with N/A times do not match)
_PACKET = re.compile(r"^\s*\d+,\s*-?\d+,\s*(-?\d+),\s*-?\d+,\s*(\d+),", re.MULTILINE)


def video_packets(path: str | Path) -> list[tuple[int, int]]:
    """(pts, bytes) of each packet of the first video stream, in file order, from ffmpeg's ``framecrc``
    listing of a stream copy (no decoding)."""
    proc = run_ffmpeg(
        ["-v", "error", "-i", str(path), "-map", "0:V:0", "-c", "copy", "-f", "framecrc", "-"],
        what=f"reading the video packets of {path}",
    )
    return [(int(t), int(b)) for t, b in _PACKET.findall(proc.stdout.decode("ascii", "replace"))]


def packet_bytes(path: str | Path) -> tuple[int, int]:
    """(bytes, packets) of the first video stream."""
    sizes = [b for _, b in video_packets(path)]
    return sum(sizes), len(sizes)


def encode_args(source: str, spec: EncodeSpec, fps: float, out: str) -> list[str]:
    """The ffmpeg arguments of one encode (video only, yuv420p, fixed closed GOPs)."""
    gop = max(1, round(spec.gop_s * fps))
    vf = []
    if spec.start_frame is not None:
        end = f":end_frame={spec.end_frame}" if spec.end_frame is not None else ""
        vf += [f"trim=start_frame={spec.start_frame}{end}", "setpts=PTS-STARTPTS"]
    vf += [f"scale={spec.width}:{spec.height}:flags=bicubic", "format=yuv420p"]
    args = ["-v", "error", "-y", "-i", source, "-map", "0:V:0", "-an", "-sn", "-vf", ",".join(vf)]
    args += ["-c:v", CODECS[spec.codec], "-preset", spec.preset, "-threads", str(spec.threads)]
    if spec.crf is not None:
        args += ["-crf", f"{spec.crf:g}"]
    elif spec.qp is not None:
        args += ["-qp", f"{spec.qp:g}"]
    else:
        kb = spec.bitrate_kbps or 0.0
        args += ["-b:v", f"{kb:g}k", "-maxrate", f"{2 * kb:g}k", "-bufsize", f"{2 * kb:g}k"]
    if spec.cuts:
        # an IDR frame at each cut; the encoder's own cadence (every `gop` frames since the last IDR) then
        # restarts there, as it does in an encode of the shot alone. As times half a frame before each cut
        # at the exact rate, so the cut frame is the first at or past it (an expression of frame numbers
        # is refused by ffmpeg past 100 terms, and a feature film has a thousand cuts)
        rate = frame_rate(fps)
        times = ",".join(f"{float((c - Fraction(1, 2)) / rate):.6f}" for c in spec.cuts)
        args += ["-force_key_frames", times, "-forced-idr", "1"]
    if spec.codec == "x264":
        args += ["-g", str(gop), "-keyint_min", str(gop), "-sc_threshold", "0", "-flags", "+cgop"]
        args += ["-x264-params", "open-gop=0"]
    else:
        args += ["-x265-params", f"keyint={gop}:min-keyint={gop}:scenecut=0:open-gop=0:log-level=error"]
        args += ["-tag:v", "hvc1"]
    return [*args, "-movflags", "+faststart", out]


def _phase(task: EncodeTask) -> int:
    """Frames a shot encode skips before its first scored frame, so that with ``vmaf_subsample`` it is scored
    on the same frames of the title as a whole-title encode (and a joined rung) are. A shot shorter than the
    step may hold none of those: it is scored on its last frame (the one nearest the next), not refused."""
    start = task.spec.start_frame or 0
    phase = (-start) % task.vmaf_subsample
    end = task.spec.end_frame
    if task.spec.start_frame is not None and end is not None:
        phase = min(phase, max(0, end - start - 1))
    return phase


def _spec_key(spec: EncodeSpec) -> dict[str, Any]:
    """The spec as a cache key: ``cuts`` only when there are some, so keys of encodes without cuts (all of
    them before the field existed) stay as they were."""
    d = asdict(spec)
    if not d["cuts"]:
        del d["cuts"]
    return d


def _digest(payload: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:32]


def _legacy_key(task: EncodeTask) -> str:
    """The key of the earlier cache layout: encode and scoring options together."""
    payload = {
        "v": CACHE_VERSION,
        "source": task.source_hash,
        "spec": _spec_key(task.spec),
        "display": [task.display_width, task.display_height],
        "vmaf_subsample": task.vmaf_subsample,
        "ffmpeg": _ffmpeg_version(),
    }
    if _phase(task):  # keys of encodes scored from their first frame stay as they were
        payload["vmaf_phase"] = _phase(task)
    return _digest(payload)


def _encode_key(task: EncodeTask) -> str:
    """What the encoded file depends on: the source's bytes, the spec and the ffmpeg build."""
    spec = {"v": ENCODE_CACHE_VERSION, "source": task.source_hash, "spec": _spec_key(task.spec)}
    return _digest({**spec, "ffmpeg": _ffmpeg_version()})


def _score_key(task: EncodeTask) -> str:
    """What a score depends on besides the encode: display size, subsampling and its phase."""
    sub = task.vmaf_subsample
    return _digest(
        {"display": [task.display_width, task.display_height], "subsample": sub, "phase": _phase(task)}
    )[:16]


def _cached_result(meta: Path, media: Path) -> EncodeResult | None:
    if not (meta.exists() and media.exists()):
        return None
    try:
        res = EncodeResult.from_dict(json.loads(meta.read_text()))
    except (OSError, ValueError, TypeError, KeyError):
        return None  # a damaged entry is redone
    return replace(res, path=str(media), cached=True)


def _read_encode(meta: Path, media: Path) -> dict[str, Any] | None:
    """``bits``, ``frames`` and ``encode_s`` of a cached encode, or ``None``."""
    if not (meta.exists() and media.exists()):
        return None
    try:
        d = json.loads(meta.read_text())
        return {"bits": int(d["bits"]), "frames": int(d["frames"]), "encode_s": float(d["encode_s"])}
    except (OSError, ValueError, TypeError, KeyError):
        return None


def encode_and_score(task: EncodeTask) -> EncodeResult:
    """Encode ``task.spec`` (or take it from the cache) and score it (or take the score from the cache); safe
    to run in parallel threads."""
    if task.vmaf_subsample < 1:
        raise ConfigError(f"VMAF subsampling {task.vmaf_subsample} must be >= 1 (every n-th frame)")
    cache = Path(task.cache_dir)
    cache.mkdir(parents=True, exist_ok=True)
    legacy = _legacy_key(task)
    hit = _cached_result(cache / f"{legacy}.json", cache / f"{legacy}.mp4")
    if hit is not None:
        return hit
    ekey = _encode_key(task)
    media, enc_meta = cache / f"{ekey}.mp4", cache / f"{ekey}.encode.json"
    score_meta = cache / f"{ekey}.score-{_score_key(task)}.json"
    hit = _cached_result(score_meta, media)
    if hit is not None:
        return hit
    spec = task.spec
    info = probe(task.source)
    fps = float(info.video[0].rate or 25)
    ref_frames = (spec.start_frame, spec.end_frame) if spec.start_frame is not None else None
    if ref_frames is not None and ref_frames[1] is None:
        raise ConfigError("a frame range needs an end_frame")
    enc = _read_encode(enc_meta, media)
    cached = enc is not None
    if enc is None:
        require_filter(CODECS[spec.codec], "encoders")
        with tempfile.TemporaryDirectory(prefix=_ENCODE_TMP, dir=cache) as tmp:
            out = Path(tmp) / "enc.mp4"
            t0 = time.perf_counter()
            run_ffmpeg(encode_args(task.source, spec, fps, str(out)), what=f"encoding {spec.label}")
            elapsed = time.perf_counter() - t0
            nbytes, frames = packet_bytes(out)
            os.replace(out, media)
        enc = {"bits": 8 * nbytes, "frames": frames, "encode_s": elapsed}
        atomic_write_text(enc_meta, json.dumps({**enc, "spec": asdict(spec)}, indent=1))
    q = measure_quality(
        task.source,
        media,
        models=("vmaf",),
        features=("psnr",),
        width=task.display_width,
        height=task.display_height,
        subsample=task.vmaf_subsample,
        reference_frames=ref_frames,  # type: ignore[arg-type]
        first_frame=_phase(task),
    )
    duration = enc["frames"] / fps
    pooled = q.pooled["vmaf"]
    result = EncodeResult(
        spec=spec,
        path=str(media),
        bits=enc["bits"],
        frames=enc["frames"],
        duration_s=duration,
        bitrate_kbps=enc["bits"] / duration / 1000.0,
        vmaf=pooled.mean,
        vmaf_hmean=pooled.harmonic_mean,
        vmaf_p5=pooled.p5,
        psnr_y=q.psnr_y,
        encode_s=enc["encode_s"],
        cached=cached,
    )
    atomic_write_text(score_meta, json.dumps({**result.to_dict(), "cached": False}, indent=1))
    return result
