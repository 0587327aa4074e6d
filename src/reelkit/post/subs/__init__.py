"""Subtitles: reading and writing (SRT, WebVTT, ASS/SSA, TTML, ...), timing checks, and synchronisation to
the speech in the media or to a reference subtitle file."""

from reelkit.post.subs.check import SubtitleRules, check_subtitles
from reelkit.post.subs.io import Cue, SubtitleFile, load_subtitles, write_subtitles
from reelkit.post.subs.nonspeech import cue_kind
from reelkit.post.subs.sync import (
    FRAME_RATIOS,
    Split,
    SyncOptions,
    SyncResult,
    apply_sync,
    sync_subtitles,
    write_synced,
)

__all__ = [
    "FRAME_RATIOS",
    "Cue",
    "Split",
    "SubtitleFile",
    "SubtitleRules",
    "SyncOptions",
    "SyncResult",
    "apply_sync",
    "check_subtitles",
    "cue_kind",
    "load_subtitles",
    "sync_subtitles",
    "write_subtitles",
    "write_synced",
]
