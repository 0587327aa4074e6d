"""RFC 6381 codec strings (the DASH ``codecs`` attribute) read from an MP4's decoder configuration, and the
one string that covers several streams joined into one (shot-based rungs: the profile and level of the most
demanding shot)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

__all__ = [
    "avc_codec_string",
    "hevc_codec_string",
    "joined_codec_string",
    "most_demanding_avc",
    "most_demanding_hevc",
]


def _config_box(path: str | Path, box: bytes) -> tuple[bytes, int]:
    """The file's first MiB (``+faststart`` files keep their ``moov`` there) and where ``box`` sits in it
    (-1: absent)."""
    with open(path, "rb") as fh:
        head = fh.read(1 << 20)
    return head, head.find(box)


def most_demanding_avc(codecs: Sequence[str]) -> str:
    """One ``avc3.PPCCLL`` string covering every shot: the highest profile (with the constraint flags its
    shots all set) and, separately, the highest level."""
    parsed = [(c.split(".")[0], int(c[-6:-4], 16), int(c[-4:-2], 16), int(c[-2:], 16)) for c in codecs]
    profile = max(p for _, p, _, _ in parsed)
    flags = 0xFF
    for _, p, f, _ in parsed:
        if p == profile:
            flags &= f
    level = max(lv for *_, lv in parsed)
    return f"{parsed[0][0]}.{profile:02x}{flags:02x}{level:02x}"


def avc_codec_string(path: str | Path, sample_entry: str = "avc3") -> str | None:
    """RFC 6381 codec string (``avc3.PPCCLL``: profile, constraint flags, level) from an MP4's ``avcC``
    box, or ``None`` when the file has none in its first MiB (``+faststart`` files keep it there)."""
    head, at = _config_box(path, b"avcC")
    if at < 0 or len(head) < at + 8:
        return None
    profile, flags, level = head[at + 5], head[at + 6], head[at + 7]
    return f"{sample_entry}.{profile:02x}{flags:02x}{level:02x}"


_HEVC_PROFILE_SPACE = "ABC"  # general_profile_space 1..3 (0: no letter)


def hevc_codec_string(path: str | Path, sample_entry: str = "hev1") -> str | None:
    """RFC 6381 codec string from an MP4's ``hvcC`` box (ISO/IEC 14496-15 E.3:
    ``hev1.[space]profile.compatibility.{L|H}level[.constraint bytes]``, e.g. ``hev1.1.6.L60.90``), or
    ``None`` when the file has none in its first MiB (``+faststart`` files keep it there)."""
    head, at = _config_box(path, b"hvcC")
    if at < 0 or len(head) < at + 17 or head[at + 4] != 1:  # configurationVersion 1
        return None
    b = head[at + 5 : at + 17]
    space, tier, profile = b[0] >> 6, (b[0] >> 5) & 1, b[0] & 0x1F
    compat = int.from_bytes(b[1:5], "big")
    return _hevc_string(sample_entry, space, profile, compat, tier, b[11], list(b[5:11]))


def _hevc_string(
    entry: str, space: int, profile: int, compat: int, tier: int, level: int, constraints: Sequence[int]
) -> str:
    """Format the fields (``compat`` as stored, flag 0 the most significant bit) as a codec string."""
    reversed_compat = int(f"{compat:032b}"[::-1], 2)  # E.3: the flags in reverse bit order
    cons = list(constraints)
    while cons and cons[-1] == 0:  # trailing zero bytes are omitted
        cons.pop()
    prefix = _HEVC_PROFILE_SPACE[space - 1] if space else ""
    tail = "".join(f".{c:X}" for c in cons)
    return f"{entry}.{prefix}{profile}.{reversed_compat:X}.{'LH'[tier]}{level}{tail}"


def most_demanding_hevc(codecs: Sequence[str]) -> str:
    """One ``hev1`` string covering every shot: the highest profile (with the compatibility and constraint
    flags its shots all set), and, separately, the highest tier and level."""
    parsed = []
    for c in codecs:
        entry, prof, compat_hex, tier_level, *cons = c.split(".")
        space = _HEVC_PROFILE_SPACE.find(prof[0]) + 1 if prof[0].isalpha() else 0
        flags = int(f"{int(compat_hex, 16):032b}"[::-1], 2)  # back to the stored bit order
        constraints = [int(x, 16) for x in cons] + [0] * (6 - len(cons))
        parsed.append((entry, (space, int(prof[1:] if space else prof)), flags, tier_level, constraints))
    profile = max(p for _, p, *_ in parsed)
    compat, constraints = 0xFFFFFFFF, [0xFF] * 6
    for _, p, f, _, cs in parsed:
        if p == profile:
            compat &= f
            constraints = [a & b for a, b in zip(constraints, cs, strict=True)]
    tier = max(int(tl[0] == "H") for *_, tl, _ in parsed)
    level = max(int(tl[1:]) for *_, tl, _ in parsed)
    return _hevc_string(parsed[0][0], *profile, compat, tier, level, constraints)


def joined_codec_string(paths: Sequence[str | Path], codec: str) -> str | None:
    """The in-band (``avc3``/``hev1``) codec string of a stream joined from ``paths`` (x264 or x265
    encodes): the most demanding part's profile and level; ``None`` when no part has a readable config."""
    if codec == "x264":
        found = [c for p in paths if (c := avc_codec_string(p))]
        return most_demanding_avc(found) if found else None
    if codec == "x265":
        found = [c for p in paths if (c := hevc_codec_string(p))]
        return most_demanding_hevc(found) if found else None
    return None
