"""Cues that are not speech: music, song lyrics, sound effects — recognised so the sync can down-weight them.

A voice-activity detector does not fire on ``[MUSIC]`` or ``(door slams)``, and only partly on singing, so
such cues would pull an alignment towards silence. Rules (SDH conventions of the common style guides):

* ``effect``: nothing is left once bracketed descriptions ``[...]``, ``(...)``, ``{...}`` and ``*...*`` are
  removed, or the cue is a lone upper-case description such as ``MUSIC PLAYING`` / ``APPLAUSE`` (at most
  four words, none of them I, ME, YOU, WE...: ``STOP PLAYING GAMES WITH ME!`` is shouted dialogue);
* ``lyrics``: the cue holds a music note (♪ ♫ ♬ ♩ or ``#`` used as one at both ends of a line);
* ``speech``: anything else (a cue like ``[laughs] Hello`` is speech).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Literal

import numpy as np
import numpy.typing as npt

__all__ = ["CueKind", "cue_kind", "cue_weights"]

CueKind = Literal["speech", "lyrics", "effect"]

_BRACKETED = re.compile(r"\[[^\]]*\]|\([^)]*\)|\{[^}]*\}|\*[^*]*\*|<[^>]*>")
_NOTES = re.compile(r"[♪♫♬♩]")
_HASH_SONG = re.compile(r"^\s*#.*#\s*$", re.MULTILINE)
_DESCRIPTIONS = re.compile(
    r"^(?:[A-Z ,.'-]*\b(?:MUSIC|PLAYING|APPLAUSE|LAUGH\w*|SIGH\w*|GASP\w*|SILENCE|NOISE|"
    r"SCREAM\w*|CHEER\w*|GUNSHOTS?|EXPLOSIONS?|THUNDER|BEEP\w*|RINGS?|RINGING|KNOCK\w*|BARK\w*)"
    r"\b[A-Z ,.'-]*)$"
)
_PERSONS = {"I", "I'M", "ME", "MY", "YOU", "YOU'RE", "YOUR", "WE", "US", "OUR"}
_SPEAKER = re.compile(r"^\s*(?:-\s*)?[A-Z][A-Z0-9 .'-]{1,30}:\s*")

WEIGHTS: dict[CueKind, float] = {"speech": 1.0, "lyrics": 0.3, "effect": 0.05}


def cue_kind(text: str) -> CueKind:
    """Classify a cue's plain text (markup already removed) as speech, lyrics or an effect description."""
    if _NOTES.search(text) or _HASH_SONG.search(text):
        return "lyrics"
    rest = _BRACKETED.sub(" ", text)
    lines = [_SPEAKER.sub("", ln).strip(" -–—:.,!?\t") for ln in rest.split("\n")]
    lines = [ln for ln in lines if ln]
    if not lines or not any(ch.isalnum() for ln in lines for ch in ln):
        return "effect"
    if all(_is_description(ln) for ln in lines):
        return "effect"
    return "speech"


def _is_description(line: str) -> bool:
    words = line.split()
    return bool(_DESCRIPTIONS.match(line)) and len(words) <= 4 and not _PERSONS.intersection(words)


def cue_weights(texts: Sequence[str], weights: dict[CueKind, float] | None = None) -> npt.NDArray[np.float64]:
    """The alignment weight of each cue: 1 for speech, less for lyrics and effects (see ``WEIGHTS``)."""
    w = weights or WEIGHTS
    return np.array([w[cue_kind(t)] for t in texts], dtype=np.float64)
