"""Audio input for the post-production checks: any container through ffmpeg, WAV/FLAC through soundfile.

:func:`read_audio` returns float32 samples shaped ``(n, channels)`` with their rate. Every failure a user can
cause (a missing file, a folder, a file without an audio stream, a codec ffmpeg cannot decode, an empty
stream) raises :class:`~reelkit.errors.MediaError` naming the file and what to do.
"""

from __future__ import annotations

import errno
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from reelkit._files import atomic_path, check_output_file, naming_output
from reelkit.errors import ConfigError, MediaError, ReelkitWarning, TimeLimitError, ToolError

__all__ = ["LEAD_IN_MIN_S", "Audio", "read_audio", "write_audio_file"]

#: Extensions soundfile (libsndfile) reads directly; everything else goes through ffmpeg.
_SOUNDFILE_EXT = {".wav", ".flac", ".w64", ".rf64", ".aif", ".aiff"}


#: A soundtrack starting later than this into its programme has a lead-in worth a word (qc's ``audio_start``
#: finding, normalize's padding): under it, an encoder's priming (an AAC track's 21-44 ms), a transport
#: stream's few milliseconds, a lip-sync offset no one sees.
LEAD_IN_MIN_S = 0.05


@dataclass(frozen=True)
class Audio:
    """Decoded audio: ``samples`` float32 ``(n, channels)`` in [-1, 1] full scale, and its rate."""

    samples: npt.NDArray[np.float32]
    sample_rate: int
    path: str | None = None
    #: What the file's header declares, in seconds, when the file holds less (a WAV cut short in transfer:
    #: only the samples present are read); ``None`` when it holds what it declares.
    declared_duration_s: float | None = None
    #: ffmpeg's name of the channel layout (``5.1(side)``, ``FL+FR+TBL``): as ffmpeg reports it, or a WAV's
    #: channel mask; ``None`` when the file gives none (the default order for the count is meant).
    layout: str | None = None
    #: How many audio streams the file holds (this is one of them: ``stream``).
    streams: int = 1
    stream: int = 0
    #: Where the soundtrack starts on the file's timeline, in seconds (a delayed audio stream of a video:
    #: 3.0; 0 for a WAV). Read ``on_timeline``, the samples hold that much silence in front.
    start_s: float = 0.0
    #: The integer PCM bit depth the file stores (8, 16, 24, 32): its largest positive code, 127/128 in 8
    #: bits, is its full scale; ``None`` for float, lossy or unknown.
    bits: int | None = None

    @property
    def channels(self) -> int:
        return int(self.samples.shape[1])

    @property
    def frames(self) -> int:
        return int(self.samples.shape[0])

    @property
    def duration_s(self) -> float:
        return self.frames / self.sample_rate

    def mono(self) -> npt.NDArray[np.float32]:
        """The channels averaged to one, shaped ``(n,)``."""
        return np.asarray(self.samples.mean(axis=1, dtype=np.float64), dtype=np.float32)


def _check_path(path: str | Path) -> Path:
    p = Path(path)
    if not p.exists():
        raise MediaError("no such file; check the path", path=str(p))
    if p.is_dir():
        raise MediaError("is a folder, not an audio or video file", path=str(p))
    return p


def _pcm_bits(name: str) -> int | None:
    """The integer PCM bit depth of libsndfile's subtype or ffmpeg's codec name (``PCM_U8``, ``pcm_s24le``);
    ``None`` for anything else (float, lossy)."""
    found = re.fullmatch(r"(?i)pcm_[su]?(\d+)(?:[lb]e)?", name)
    return int(found.group(1)) if found else None


def _read_soundfile(p: Path) -> tuple[npt.NDArray[np.float32], int, int | None] | None:
    """Samples, rate and PCM bit depth by libsndfile, or None when it cannot read the file (then ffmpeg
    tries)."""
    import soundfile

    try:
        with soundfile.SoundFile(str(p)) as f:
            data = f.read(dtype="float32", always_2d=True)
            rate, subtype = f.samplerate, f.subtype
    except (RuntimeError, soundfile.LibsndfileError, TypeError, ValueError):
        return None
    return np.ascontiguousarray(data, dtype=np.float32), int(rate), _pcm_bits(subtype)


def _read_ffmpeg(
    p: Path, stream: int, on_timeline: bool
) -> tuple[npt.NDArray[np.float32], int, str, int, float | None, float, int | None]:
    """Samples, rate, layout, the number of audio streams, the container's duration when less than it
    decodes (an MP4 cut short: its index at the front lists all of it), else ``None``, the stream's start on
    the file's timeline, and its PCM bit depth (``None``: not integer PCM)."""
    from reelkit import media

    info = media.probe(p)
    if not info.audio:
        if info.video:  # the picture alone has its own checks
            raise MediaError(
                "has no audio stream (video only); give a file with a soundtrack, or check the picture "
                "alone with 'reelkit video qc'",
                path=str(p),
            )
        raise MediaError("has no audio stream (no audio); give a file with a soundtrack", path=str(p))
    if stream >= len(info.audio):
        raise MediaError(
            f"has {len(info.audio)} audio stream(s); stream {stream} does not exist", path=str(p)
        )
    codec = info.audio[stream].codec
    messages: list[str] = []
    try:
        samples, rate = media.decode_audio(
            p, stream=stream, on_timeline=on_timeline, messages=messages, info=info
        )
    except TimeLimitError:
        raise  # the job's time limit, not the file: the caller says so
    except ToolError as exc:
        raise MediaError(
            f"ffmpeg cannot decode its audio (codec {codec!r}): {exc}; convert it to WAV or FLAC first",
            path=str(p),
        ) from None
    decoded = samples.shape[0] / rate if rate > 0 and samples.ndim == 2 else 0.0
    short, _ = media.cut_short(info, decoded, messages)
    cut = info.duration_s if short else None
    a = info.audio[stream]
    return samples, rate, a.layout, len(info.audio), cut, a.start_s, _pcm_bits(a.codec)


def read_audio(path: str | Path, *, stream: int = 0, on_timeline: bool = False) -> Audio:
    """Decode the ``stream``-th audio stream of ``path`` (WAV/FLAC by soundfile, the rest by ffmpeg).

    The samples start at the stream's first sample (``Audio.start_s`` says where that lies on the file's
    timeline); ``on_timeline``: at the file's time 0, as a player plays it against the picture (a delayed
    soundtrack's lead-in and gaps inside it filled with silence), so times measured on them are the
    file's."""
    p = _check_path(path)
    got = _read_soundfile(p) if p.suffix.lower() in _SOUNDFILE_EXT and stream == 0 else None
    layout, streams, cut, start = None, 1, None, 0.0
    if got is not None:
        samples, rate, bits = got
    else:
        samples, rate, layout, streams, cut, start, bits = _read_ffmpeg(p, stream, on_timeline)
    if samples.ndim != 2 or samples.shape[0] == 0 or samples.shape[1] == 0:
        raise MediaError("its audio stream holds no samples", path=str(p))
    if rate <= 0:
        raise MediaError("its audio stream has no sample rate", path=str(p))
    if not np.isfinite(samples).all():
        raise MediaError("its audio holds NaN or infinite samples", path=str(p))
    declared = None
    if got is not None and p.suffix.lower() != ".wav" and samples.shape[1] > 2:
        from reelkit import media  # a FLAC's (or AIFF's) layout, which libsndfile does not report

        try:
            probed = media.probe(p).audio
        except TimeLimitError:
            raise
        except (MediaError, ToolError):
            probed = []  # read by libsndfile already: the count's default layout then
        if probed and probed[0].channels == samples.shape[1]:
            layout = probed[0].layout
    if got is not None and p.suffix.lower() in (".wav", ".rf64", ".w64"):
        head = _wav_header(p)
        layout = head.layout or layout
        if head.declared_bytes is not None and head.block_align:
            declared = head.declared_bytes // head.block_align / rate
            warnings.warn(
                f"{p}: truncated: its header declares {head.declared_bytes:,} bytes of audio "
                f"({declared:.2f} s), the file holds {samples.shape[0] / rate:.2f} s",
                ReelkitWarning,
                stacklevel=2,
            )
    elif got is not None and (frames := _aiff_frames(p)) is not None and frames > samples.shape[0]:
        declared = frames / rate
        warnings.warn(
            f"{p}: truncated: its header declares {frames:,} sample frames ({declared:.2f} s), the file "
            f"holds {samples.shape[0] / rate:.2f} s",
            ReelkitWarning,
            stacklevel=2,
        )
    elif stream == 0 and (total := _flac_total_samples(p)) is not None and total > samples.shape[0]:
        # libsndfile stops at a lost sync and ffmpeg decodes what frames it can: the rest is missing
        declared = total / rate
        warnings.warn(
            f"{p}: truncated or damaged: its FLAC header declares {total:,} samples ({declared:.2f} s), "
            f"{samples.shape[0] / rate:.2f} s of them decode",
            ReelkitWarning,
            stacklevel=2,
        )
    elif cut is not None:  # any other container ffmpeg read (MP4, MKV, Ogg, an MP3 with a Xing header)
        declared = cut
        warnings.warn(
            f"{p}: truncated or damaged: the container declares {declared:.2f} s, "
            f"{samples.shape[0] / rate:.2f} s of its audio decode",
            ReelkitWarning,
            stacklevel=2,
        )
    return Audio(
        samples,
        rate,
        str(p),
        declared_duration_s=declared,
        layout=layout,
        streams=streams,
        stream=stream,
        start_s=start,
        bits=bits,
    )


def _flac_total_samples(p: Path) -> int | None:
    """The sample count a native FLAC file's STREAMINFO declares (``None``: not FLAC, or unknown: 0). An
    ID3v2 tag in front (some taggers write one) is skipped; FLAC in Ogg is not read (encoders mostly leave
    its count at 0)."""
    try:
        with p.open("rb") as f:
            tag = f.read(10)
            if len(tag) == 10 and tag[:3] == b"ID3":  # size: four 7-bit bytes, plus a footer when flagged
                size = sum((tag[6 + i] & 0x7F) << (7 * (3 - i)) for i in range(4))
                f.seek(10 + size + (10 if tag[5] & 0x10 else 0))
            else:
                f.seek(0)
            head = f.read(4 + 4 + 34)
    except OSError:
        return None
    if len(head) < 42 or head[:4] != b"fLaC" or head[4] & 0x7F != 0:  # STREAMINFO is the first block
        return None
    info = head[8:42]
    total = int.from_bytes(info[13:18], "big") & ((1 << 36) - 1)  # the low 36 bits of bytes 13..17
    return total or None


#: WAVE_FORMAT_EXTENSIBLE's channel mask bits, lowest first, as ffmpeg names the channels.
_MASK_CHANNELS = (
    *("FL", "FR", "FC", "LFE", "BL", "BR", "FLC", "FRC", "BC"),
    *("SL", "SR", "TC", "TFL", "TFC", "TFR", "TBL", "TBC", "TBR"),
)


@dataclass(frozen=True)
class _WavHeader:
    #: ffmpeg's name of the layout its channel mask gives (``None``: no mask, or not one per channel).
    layout: str | None = None
    #: What the data chunk declares, when the file holds less (``None``: whole, streamed, or unknown).
    declared_bytes: int | None = None
    block_align: int = 0


def _wav_header(p: Path) -> _WavHeader:
    """What a RIFF WAVE file's chunks say that libsndfile does not: the channel layout of a
    WAVE_FORMAT_EXTENSIBLE mask, and a data chunk declaring more than the file holds (cut short in a copy).
    RF64 and Sony Wave64 are read alike (their chunks listed by :func:`~reelkit.post.bwf.riff_chunks`)."""
    import struct

    from reelkit.media import CHANNEL_LAYOUTS
    from reelkit.post.bwf import riff_chunks

    found = riff_chunks(p, rf64=True, w64=True)
    if found is None:
        return _WavHeader()
    layout: str | None = None
    block = 0
    try:
        with p.open("rb") as f:
            for cid, at, held, n in found[0]:
                if cid == b"fmt ":
                    f.seek(at)
                    fmt = f.read(min(held, 40))
                    if len(fmt) >= 16:
                        tag, channels, _, _, block = struct.unpack("<HHIIH", fmt[:14])
                        if tag == 0xFFFE and len(fmt) >= 24:  # extensible: the mask names the channels
                            mask = struct.unpack("<I", fmt[20:24])[0]
                            names = [c for i, c in enumerate(_MASK_CHANNELS) if mask >> i & 1]
                            names = names[:channels]  # bits past the channel count are ignored (as ffmpeg)
                            if len(names) == channels:
                                joined = "+".join(names)
                                layout = next(
                                    (k for k, v in CHANNEL_LAYOUTS.items() if "+".join(v) == joined), joined
                                )
                elif cid == b"data":
                    # 0, 0xFFFFFFFF and (Wave64, RF64) sizes past 2**62: placeholders of a streamed
                    # writer (ffmpeg writing Wave64 to a pipe leaves 0x7FFFFFFFFFFFFFFF), not sizes
                    cut = n not in (0, 0xFFFFFFFF) and n < 2**62 and held < n
                    return _WavHeader(layout, n if cut else None, block)
    except (OSError, struct.error):
        return _WavHeader()
    return _WavHeader(layout, None, block)


def _aiff_frames(p: Path) -> int | None:
    """The sample frames an AIFF or AIFF-C file's COMM chunk declares (``None``: not AIFF, or unreadable);
    libsndfile reads what the file holds and says nothing of the rest."""
    import struct

    try:
        size = p.stat().st_size
        with p.open("rb") as f:
            head = f.read(12)
            if len(head) < 12 or head[:4] != b"FORM" or head[8:12] not in (b"AIFF", b"AIFC"):
                return None
            pos = 12
            while pos + 8 <= size:
                f.seek(pos)
                cid, n = struct.unpack(">4sI", f.read(8))
                if cid == b"COMM":
                    comm = f.read(6)
                    return int(struct.unpack(">hI", comm)[1]) if len(comm) == 6 else None
                pos += 8 + n + (n & 1)
    except (OSError, struct.error):
        return None
    return None


#: ffmpeg's words when no format writes audio to an extension (no muxer, or one without an audio encoder:
#: .txt, .xyz, .srt, .png)
_NO_AUDIO_FORMAT = (
    "Unable to choose an output format",
    "Error initializing the muxer",
    "Encoder not found",
    "Automatic encoder selection failed",
)
#: Extensions whose ffmpeg muxers write a playlist and segment files beside it, not one audio file (they
#: reported success and left hidden segments of a temporary name)
SEGMENTED_EXTENSIONS = frozenset((".m3u8", ".mpd", ".ism", ".f4m"))


def output_extension(path: Path) -> str:
    """The lower-case extension an audio output is written in (the format); none, or a streaming playlist
    (HLS, DASH: segments beside it), is an error."""
    if not path.suffix:
        raise MediaError("the output has no extension; name it .wav, .flac, .mp3, .m4a, ...", path=str(path))
    ext = path.suffix.lower()
    if ext in SEGMENTED_EXTENSIONS:
        raise MediaError(
            f"{ext} is a streaming playlist (segments beside it), not an audio file; write .wav, .flac, "
            ".m4a, ... (package a stream with 'reelkit abr package')",
            path=str(path),
        )
    return ext


def write_audio_file(
    path: str | Path,
    samples: npt.ArrayLike,
    sample_rate: int,
    *,
    replace_in: str | Path | None = None,
    replace_stream: int = 0,
    picture: bool = True,
    metadata_from: str | Path | None = None,
    layout: str | None = None,
    start_s: float = 0.0,
) -> Path:
    """Write ``samples`` ``(n, channels)`` to ``path`` atomically (temporary file beside it, then rename).

    WAV and FLAC are written as 24-bit PCM by soundfile (by ffmpeg, which writes the channel mask, when
    ``layout`` is not the default for the channel count, and for a WAV of more than two channels: it is
    WAVE_FORMAT_EXTENSIBLE with ``layout``'s mask, or the count's default one); any other extension is encoded
    by ffmpeg (:func:`reelkit.media.write_audio`, which is atomic too). ``replace_in``: a programme (a video)
    whose audio stream ``replace_stream`` the samples replace, its other streams copied (subtitles a container
    cannot hold are left out, with a warning; the picture too without ``picture``: an audio container).
    ``metadata_from``: a file whose tags (title, artist, ...) go with it; ``layout``: the channels' layout as
    ffmpeg names it (``Audio.layout``), written into ffmpeg's outputs; ``start_s``: with ``replace_in``, where
    the samples start on the programme's timeline (its soundtrack's ``Audio.start_s``: a delayed track stays
    in its place against the picture). A WAV written from a broadcast WAV (``metadata_from``) keeps its
    ``bext``, ``iXML``, ``chna`` and ``axml`` chunks and its markers (:mod:`reelkit.post.bwf`).
    """
    x = np.asarray(samples, dtype=np.float32)
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2 or x.shape[0] == 0:
        raise ConfigError("no samples to write")
    out = check_output_file(path, MediaError, "out.wav")
    ext = output_extension(out)
    from reelkit.media import CHANNEL_LAYOUTS, DEFAULT_LAYOUTS

    # WAV/FLAC by soundfile carry no channel mask: a WAV of more than two channels goes through ffmpeg,
    # which writes it WAVE_FORMAT_EXTENSIBLE with the layout's mask (the count's default, which it was
    # measured in, when none is given: soundfile's plain header had ffmpeg read 3.0 as 2.1, the centre as
    # LFE, and quad as 4.0), as does any other layout than the count's default (2.1, quad(side); FLAC:
    # standard layouts only), 24-bit as soundfile would
    default = DEFAULT_LAYOUTS.get(x.shape[1])
    # (more than 8 channels without a layout: no mask is known, and ffmpeg would label them one of its own)
    surround_wav = ext == ".wav" and x.shape[1] > 2 and bool(layout or default)
    layout = layout or (default if surround_wav else None)
    masked = surround_wav or (
        bool(layout) and layout != default and (ext == ".wav" or layout in CHANNEL_LAYOUTS)
    )
    if ext not in (".wav", ".flac") or masked:
        from reelkit import media

        pcm = {".wav": ("pcm_s24le", ()), ".flac": ("flac", ("-sample_fmt", "s32"))}.get(ext)

        def write(
            subtitles: bool,
            labelled: str | None = layout,
            into: str | Path | None = replace_in,
            data: npt.NDArray[np.float32] = x,
        ) -> Path:
            return media.write_audio(
                out,
                data,
                sample_rate,
                codec=pcm[0] if pcm else None,
                extra=pcm[1] if pcm else (),
                replace_in=into,
                replace_stream=replace_stream,
                subtitles=subtitles,
                picture=picture,
                metadata_from=metadata_from,
                layout=labelled,
                start_s=start_s if into is not None else 0.0,
            )

        errors: list[ToolError] = []

        def tried(subtitles: bool, labelled: str | None, alone: bool = False) -> Path | None:
            try:
                if alone:  # without the programme's other streams: the lead-in as silence keeps the sync
                    lead = round(start_s * sample_rate) if start_s >= LEAD_IN_MIN_S else 0
                    pad = np.zeros((lead, x.shape[1]), np.float32)
                    return write(subtitles, labelled, None, np.concatenate([pad, x]) if lead else x)
                return write(subtitles, labelled)
            except TimeLimitError:
                raise  # the job's time limit, not this file's fault: no other attempt
            except ToolError as exc:
                errors.append(exc)
                return None

        written = tried(True, layout)
        if written is None and layout and layout != default:  # an encoder that refuses the layout: by count
            written = tried(True, None)
        if written is None and replace_in is not None and media.probe(replace_in).subtitles:
            written = tried(False, layout)  # the container cannot hold those subtitles (SRT in MP4)
            if written is not None:
                warnings.warn(
                    f"the subtitle streams of {replace_in} cannot go into a {ext} file and were left out "
                    "(write .mkv to keep them)",
                    ReelkitWarning,
                    stacklevel=2,
                )
        if written is None and replace_in is not None and not picture:
            # an audio container that cannot hold the other soundtracks' codecs (Opus or Vorbis in .m4a):
            # this soundtrack alone, as it was written before audio containers kept the others
            written = tried(False, layout, alone=True)
            if written is not None:
                warnings.warn(
                    f"the other streams of {replace_in} cannot go into a {ext} file and were left out: it "
                    "holds this soundtrack alone (write .mka or .mkv to keep them)",
                    ReelkitWarning,
                    stacklevel=2,
                )
        if written is not None:
            if ext == ".wav" and metadata_from is not None and replace_in is None:
                with naming_output(out):
                    _keep_broadcast_chunks(Path(metadata_from), written, x, sample_rate, layout)
            return written
        if replace_in is not None:
            raise MediaError(
                f"ffmpeg cannot copy the other streams of {replace_in} into a {ext} file with the new "
                f"audio ({errors[0]}); choose a container that holds their codecs (.mkv holds them all), or "
                "write the audio alone (.wav, .flac)",
                path=str(out),
            )
        reason = str(errors[0])
        if any(s in reason for s in _NO_AUDIO_FORMAT):
            # ffmpeg's text names the temporary file it was given, not the output asked for
            reason = f"no ffmpeg format writes audio to {ext} files"
        raise MediaError(
            f"ffmpeg cannot write this audio as {ext!r} ({reason}); write .wav (any number of channels), "
            ".flac or .m4a (up to 8), or .mp3 (up to 2)",
            path=str(out),
        )
    import soundfile

    tags = _tags(Path(metadata_from)) if metadata_from is not None else {}
    try:
        with atomic_path(out, ext) as tmp:
            with soundfile.SoundFile(
                tmp, "w", sample_rate, x.shape[1], subtype="PCM_24", format=ext[1:].upper()
            ) as f:
                for key, value in tags.items():
                    setattr(f, key, value)  # set before the samples: libsndfile writes them in the header
                f.write(x)
            if ext == ".wav" and metadata_from is not None:
                _keep_broadcast_chunks(Path(metadata_from), tmp, x, sample_rate, layout)
    except soundfile.LibsndfileError as exc:  # a full disk is "System error." from libsndfile
        raise OSError(errno.EIO, f"cannot write it (libsndfile: {exc})", str(out)) from None
    return out


def _keep_broadcast_chunks(
    source: Path, written: Path, x: npt.NDArray[np.float32], sample_rate: int, layout: str | None
) -> None:
    """A broadcast WAV's ``bext`` / ``iXML`` / ``chna`` / ``axml`` chunks (time reference, originator,
    coding history, ADM) and markers into the WAV written from it (:mod:`reelkit.post.bwf`): libsndfile and
    ffmpeg would drop or rewrite them. A version 2 ``bext``'s loudness fields and an ``axml``'s ADM loudness
    are measured on the samples written."""
    from reelkit.post import bwf

    def loudness() -> bwf.Loudness:
        from reelkit.post.loudness import Meter

        m = Meter().measure(x, sample_rate, layout=layout)
        return (m.integrated_lufs, m.lra_lu, m.true_peak_dbtp, m.momentary_max_lufs, m.short_term_max_lufs)

    mode = {1: ",M=mono", 2: ",M=stereo"}.get(x.shape[1], "")
    history = f"A=PCM,F={sample_rate},W=24{mode},T=reelkit"
    if bwf.copy_chunks(source, written, loudness=loudness, history=history) == "not kept":
        warnings.warn(
            f"{source}: its bext/iXML/chna/axml chunks (time reference, originator, ADM) and markers could "
            "not be kept in the WAV written (past RIFF's 4 GiB); carry them over with a BWF tool",
            ReelkitWarning,
            stacklevel=3,
        )


#: The tags libsndfile writes into WAV/FLAC, by the name ffmpeg gives them.
_SF_TAGS = {
    "title": "title",
    "artist": "artist",
    "album": "album",
    "date": "date",
    "comment": "comment",
    "genre": "genre",
    "copyright": "copyright",
    "track": "tracknumber",
}


def _tags(path: Path) -> dict[str, str]:
    """The string tags (title, artist, comment, ...) of ``path`` that WAV/FLAC can hold: as libsndfile reads
    them, or from ffmpeg's reading of any other container (an M4A's title)."""
    import soundfile

    try:
        with soundfile.SoundFile(str(path)) as f:
            return dict(f.copy_metadata())
    except (RuntimeError, soundfile.LibsndfileError, TypeError, ValueError):
        pass
    from reelkit import media

    try:
        proc = media.run_ffmpeg(
            ["-v", "error", "-i", str(path), "-f", "ffmetadata", "-"], what="reading tags"
        )
    except ToolError:
        return {}
    tags = _ffmetadata(proc.stdout.decode("utf-8", "replace"))
    return {_SF_TAGS[k.lower()]: v for k, v in tags.items() if k.lower() in _SF_TAGS and v}


def _ffmetadata(text: str) -> dict[str, str]:
    """The global tags of ffmpeg's FFMETADATA text: ``key=value`` lines before the first ``[section]``; a
    backslash escapes the next character (``=``, ``;``, ``#``, a backslash, or a newline inside a value)."""
    out: dict[str, str] = {}
    body = text.split("\n", 1)[1] if text.startswith(";FFMETADATA") else text
    entry: list[str] = []
    escaped = False
    for ch in body:
        if escaped:
            entry.append(ch)  # the escaped character itself; an escaped newline is part of the value
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == "\n":
            line = "".join(entry)
            entry = []
            if line.startswith("["):  # a stream's or chapter's section: the file's own tags come first
                break
            key, sep, value = line.partition("=")
            if sep and not key.startswith((";", "#")):
                out[key] = value
        else:
            entry.append(ch)
    return out
