"""Synthetic test material for subtitle sync: espeak-ng speech laid out in time, music-like and noise
beds at stated levels, the true subtitle cues, and the distortions real files suffer (offsets, frame-rate
ratios, ad breaks and cuts).

Speech comes from the ``espeak-ng`` program (a Debian package; :func:`have_espeak` says whether it is
there). Everything is seeded: the same arguments give the same audio and cues.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import numpy.typing as npt

from reelkit.errors import ToolError

__all__ = [
    "SENTENCES",
    "VOICES",
    "Distortion",
    "Program",
    "SynthCue",
    "distort",
    "espeak",
    "have_espeak",
    "make_program",
    "music_bed",
    "noise_bed",
    "to_srt",
]

SR = 16000
F32 = npt.NDArray[np.float32]

SENTENCES: dict[str, list[str]] = {
    "en": [
        "Where were you last night?",
        "I told you already, I was at home.",
        "That is not what your brother said.",
        "We need to leave before the storm arrives.",
        "Have you seen the keys to the car?",
        "The meeting starts at nine tomorrow morning.",
        "Nobody knows what happened in that house.",
        "Could you pass me the salt, please?",
        "I think we are being followed.",
        "She never came back from the island.",
        "Let me explain everything from the beginning.",
        "The train was late again this morning.",
        "Do you really believe that story?",
        "We found the letter under the floorboards.",
        "Turn left at the next corner and keep going.",
        "It has been ten years since we last spoke.",
        "I am sorry, I did not mean to scare you.",
        "The doctor will see you in a few minutes.",
        "Why would anyone do something like that?",
        "Keep your voice down, they can hear us.",
        "This is the best coffee in the whole city.",
        "Tell me the truth for once in your life.",
        "My grandmother grew up on a farm near the river.",
        "The results came back this afternoon.",
    ],
    "de": [
        "Wo warst du gestern Abend?",
        "Ich habe es dir doch schon gesagt.",
        "Wir müssen los, bevor es dunkel wird.",
        "Hast du die Schlüssel gesehen?",
        "Niemand weiß, was in dem Haus passiert ist.",
        "Der Zug hatte heute wieder Verspätung.",
        "Erzähl mir endlich die ganze Wahrheit.",
        "Das Treffen beginnt morgen um neun Uhr.",
        "Ich glaube, wir werden verfolgt.",
        "Sie ist nie von der Insel zurückgekommen.",
        "Der Arzt kommt gleich zu Ihnen.",
        "Warum sollte jemand so etwas tun?",
    ],
    "fr": [
        "Où étais-tu hier soir ?",
        "Je te l'ai déjà dit, j'étais à la maison.",
        "Nous devons partir avant la tempête.",
        "As-tu vu les clés de la voiture ?",
        "Personne ne sait ce qui s'est passé.",
        "Le train était encore en retard ce matin.",
        "Dis-moi la vérité, pour une fois.",
        "La réunion commence demain à neuf heures.",
        "Je crois qu'on nous suit.",
        "Elle n'est jamais revenue de l'île.",
        "Le médecin va vous recevoir dans un instant.",
        "Pourquoi quelqu'un ferait une chose pareille ?",
    ],
    "es": [
        "¿Dónde estuviste anoche?",
        "Ya te lo dije, estaba en casa.",
        "Tenemos que irnos antes de la tormenta.",
        "¿Has visto las llaves del coche?",
        "Nadie sabe lo que pasó en esa casa.",
        "El tren llegó tarde otra vez esta mañana.",
        "Dime la verdad por una vez.",
        "La reunión empieza mañana a las nueve.",
        "Creo que alguien nos está siguiendo.",
        "Ella nunca volvió de la isla.",
        "El médico le atenderá en unos minutos.",
        "¿Por qué alguien haría algo así?",
    ],
}

VOICES: dict[str, list[str]] = {
    "en": ["en-us", "en-gb", "en-us+f3", "en-gb+m3", "en-us+f2"],
    "de": ["de", "de+f3"],
    "fr": ["fr", "fr+f2"],
    "es": ["es", "es+m3"],
}


def have_espeak() -> bool:
    return shutil.which("espeak-ng") is not None


@lru_cache(maxsize=512)
def _espeak_cached(text: str, voice: str, speed: int, pitch: int) -> bytes:
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise ToolError("espeak-ng is not installed (Debian package espeak-ng)")
    proc = subprocess.run(
        [exe, "-v", voice, "-s", str(speed), "-p", str(pitch), "--stdout", text],
        capture_output=True,
        check=False,
        timeout=60,
    )
    if proc.returncode != 0 or not proc.stdout:
        raise ToolError(f"espeak-ng failed for voice {voice}: {proc.stderr.decode(errors='replace')[-200:]}")
    return proc.stdout


def espeak(text: str, voice: str = "en-us", speed: int = 160, pitch: int = 50) -> F32:
    """Speech for ``text`` at 16 kHz, mono float32, with the silence espeak adds at both ends trimmed."""
    import soundfile as sf
    from scipy.signal import resample_poly

    data, rate = sf.read(io.BytesIO(_espeak_cached(text, voice, speed, pitch)), dtype="float32")
    if data.ndim > 1:
        data = data.mean(axis=1)
    x = np.asarray(resample_poly(data, 320, 441) if rate == 22050 else data, dtype=np.float32)
    loud = np.flatnonzero(np.abs(x) > 0.01)
    if len(loud) == 0:
        return x[:0]
    return x[loud[0] : loud[-1] + 1]


def _rms(x: F32) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64)))) if len(x) else 0.0


def music_bed(rng: np.random.Generator, n: int, sr: int = SR, *, tempo_bpm: float | None = None) -> F32:
    """Music-like sound: a chord progression (harmonic tones with soft attacks) and a drum pattern (kick,
    snare, hi-hat) — tonal and rhythmic energy that a voice detector should not take for speech."""
    t = np.arange(n) / sr
    bpm = tempo_bpm or float(rng.uniform(80, 140))
    beat = 60.0 / bpm
    roots = [220.0, 174.6, 261.6, 196.0, 246.9, 164.8]
    prog = rng.choice(len(roots), size=4, replace=False)
    out = np.zeros(n, dtype=np.float64)
    bar = 4 * beat
    n_bars = int(np.ceil(n / sr / bar)) + 1
    for k in range(n_bars):
        root = roots[int(prog[k % 4])]
        i0, i1 = int(k * bar * sr), min(n, int((k + 1) * bar * sr))
        if i0 >= n:
            break
        tt = t[i0:i1] - t[i0]
        env = np.minimum(tt / 0.05, 1.0) * np.exp(-tt / (bar * 0.8))
        for mult in (1.0, 1.26, 1.5, 2.0):
            for h, amp in ((1, 1.0), (2, 0.4), (3, 0.2)):
                out[i0:i1] += (
                    0.1 * amp * env * np.sin(2 * np.pi * root * mult * h * tt + rng.uniform(0, 6.28))
                )
    n_beats = int(n / sr / beat) + 1
    for b in range(n_beats):
        i0 = int(b * beat * sr)
        if i0 >= n:
            break
        length = min(n - i0, int(0.25 * sr))
        tt = np.arange(length) / sr
        if b % 2 == 0:  # kick
            out[i0 : i0 + length] += (
                0.8 * np.sin(2 * np.pi * (50 + 60 * np.exp(-tt * 30)) * tt) * np.exp(-tt * 12)
            )
        else:  # snare
            out[i0 : i0 + length] += 0.3 * rng.standard_normal(length) * np.exp(-tt * 20)
        j0 = int((b + 0.5) * beat * sr)
        if j0 < n:
            hl = min(n - j0, int(0.05 * sr))
            hh = rng.standard_normal(hl)
            out[j0 : j0 + hl] += (
                0.15 * np.diff(np.concatenate([[0.0], hh])) * np.exp(-np.arange(hl) / sr * 80)
            )
    return out.astype(np.float32)


def noise_bed(rng: np.random.Generator, n: int) -> F32:
    """Pink-ish noise (white noise through a one-pole low-pass plus a little white)."""
    from scipy.signal import lfilter

    white = rng.standard_normal(n)
    pink = lfilter([1.0], [1.0, -0.97], white) * 0.1
    return np.asarray(pink + 0.3 * white, dtype=np.float32)


@dataclass(frozen=True)
class SynthCue:
    start_s: float
    end_s: float
    text: str


@dataclass
class Program:
    """A synthetic programme: mono 16 kHz audio, its true cues, and how it was made."""

    audio: F32
    cues: list[SynthCue]
    speech_rms: float
    meta: dict[str, object] = field(default_factory=dict)

    @property
    def duration_s(self) -> float:
        return len(self.audio) / SR


def _wrap(text: str) -> str:
    return "\n".join(textwrap.wrap(text, 42)[:2])


def make_program(
    seed: int,
    *,
    duration_s: float = 240.0,
    languages: Sequence[str] = ("en",),
    speeds: tuple[int, int] = (140, 190),
    music_db: float | None = None,
    noise_db: float | None = None,
    nonspeech_cues: bool = True,
) -> Program:
    """Speech laid out in time with pauses (0.3-3 s, now and then a long music gap with a [MUSIC] or ♪
    cue), optionally mixed with a music bed and a noise bed at ``music_db`` / ``noise_db`` relative to the
    speech's RMS level. True cue times: speech onset minus 0-0.1 s, speech end plus 0.2-0.6 s (as a
    subtitler times them), never closer than 2 frames to the next cue."""
    rng = np.random.default_rng(seed)
    n = int(duration_s * SR)
    speech = np.zeros(n, dtype=np.float32)
    cues: list[SynthCue] = []
    t = float(rng.uniform(1.0, 8.0))
    spans: list[tuple[float, float, str]] = []
    while True:
        if rng.random() < 0.08:  # a long gap: music only, maybe a non-speech cue
            gap = float(rng.uniform(6.0, 16.0))
            if nonspeech_cues and rng.random() < 0.6 and t + gap < duration_s - 1:
                label = "[MUSIC]" if rng.random() < 0.5 else "♪ La la la, la la ♪"
                spans.append((t + 1.0, t + min(gap - 1.0, 4.0), label))
            t += gap
        lang = str(rng.choice(list(languages)))
        text = str(rng.choice(SENTENCES[lang]))
        voice = str(rng.choice(VOICES[lang]))
        speed = int(rng.integers(speeds[0], speeds[1] + 1))
        pitch = int(rng.integers(30, 70))
        x = espeak(text, voice, speed, pitch)
        if t + len(x) / SR > duration_s - 0.5:
            break
        i0 = int(t * SR)
        speech[i0 : i0 + len(x)] += x
        spans.append((t, t + len(x) / SR, text))
        t += len(x) / SR + float(rng.uniform(0.3, 3.0))
    spans.sort()
    for k, (a, b, text) in enumerate(spans):
        start = max(0.0, a - float(rng.uniform(0.0, 0.1)))
        end = b + float(rng.uniform(0.2, 0.6))
        if k + 1 < len(spans):
            end = min(end, spans[k + 1][0] - 0.1 - 2 / 24)
        end = max(end, b)
        cues.append(SynthCue(round(start, 3), round(end, 3), _wrap(text)))
    active = speech[np.abs(speech) > 0.01]
    level = _rms(active)
    mix = speech.astype(np.float64)
    if music_db is not None:
        m = music_bed(rng, n)
        mix += m * (level * 10 ** (music_db / 20) / max(_rms(m), 1e-9))
    if noise_db is not None:
        z = noise_bed(rng, n)
        mix += z * (level * 10 ** (noise_db / 20) / max(_rms(z), 1e-9))
    peak = float(np.abs(mix).max()) or 1.0
    gain = min(1.0, 0.9 / peak)
    meta: dict[str, object] = {
        "seed": seed,
        "duration_s": duration_s,
        "languages": list(languages),
        "music_db": music_db,
        "noise_db": noise_db,
    }
    return Program((mix * gain).astype(np.float32), cues, level * gain, meta)


@dataclass(frozen=True)
class Distortion:
    """How a subtitle file's timeline differs from the media's.

    The media gets ``breaks``: at each ``(program_time_s, length_s)`` an ad break of that length is
    inserted (length > 0) or that much is cut out (length < 0, with the cues inside it; with
    ``keep_cut_cues`` the subtitle file keeps them, as a file made before the cut would). The subtitle file
    keeps the programme's timeline, then ``t -> ratio * t + offset_s`` (``ratio`` is the frame-rate
    factor, e.g. 25/23.976 for a 23.976 fps file played at 25).
    """

    offset_s: float = 0.0
    ratio: float = 1.0
    breaks: tuple[tuple[float, float], ...] = ()
    ad_speech: bool = False  # ad breaks carry a voice-over (speech without subtitles)
    keep_cut_cues: bool = False


def distort(
    program: Program, d: Distortion, rng: np.random.Generator
) -> tuple[F32, list[SynthCue], list[SynthCue]]:
    """``(media audio, true cues in the media, cues of the distorted subtitle file)`` — the two cue lists
    correspond one to one, but for the cues of a cut scene kept with ``keep_cut_cues`` (in the file only:
    they have no place in the media). Cues that would start before zero in the distorted file are left out
    of both."""
    audio = program.audio
    pieces: list[F32] = []
    shifts: list[tuple[float, float, float]] = []  # (program from, program to, media shift)
    pos = 0.0
    shift = 0.0
    level = program.speech_rms or 0.05
    removed: list[tuple[float, float]] = []
    for at, length in sorted(d.breaks):
        pieces.append(audio[int(pos * SR) : int(at * SR)])
        shifts.append((pos, at, shift))
        if length > 0:
            n = int(length * SR)
            m = music_bed(rng, n)
            ad = m * (level * 0.5 / max(_rms(m), 1e-9))
            if d.ad_speech:
                t = float(rng.uniform(1.0, 3.0))
                while True:
                    x = espeak(str(rng.choice(SENTENCES["en"])), "en-us+m3", 180, 60)
                    x = x * (level / max(_rms(x), 1e-9))
                    i0 = int(t * SR)
                    if i0 + len(x) > n - SR:
                        break
                    ad[i0 : i0 + len(x)] += x
                    t += len(x) / SR + float(rng.uniform(0.3, 2.0))
            pieces.append(np.clip(ad, -0.9, 0.9).astype(np.float32))
            shift += length
            pos = at
        else:
            removed.append((at, at - length))
            shift += length
            pos = at - length
    pieces.append(audio[int(pos * SR) :])
    shifts.append((pos, float("inf"), shift))
    media = np.concatenate(pieces).astype(np.float32)
    truth: list[SynthCue] = []
    given: list[SynthCue] = []
    for c in program.cues:
        cut = any(a - 0.5 <= c.start_s <= b + 0.5 or a <= c.end_s <= b for a, b in removed)
        if cut and not d.keep_cut_cues:
            continue
        ts, te = c.start_s * d.ratio + d.offset_s, c.end_s * d.ratio + d.offset_s
        if ts < 0:
            continue
        if not cut:
            sh = next(s for a, b, s in shifts if a - 1e-9 <= c.start_s < b)
            truth.append(SynthCue(round(c.start_s + sh, 3), round(c.end_s + sh, 3), c.text))
        given.append(SynthCue(round(ts, 3), round(te, 3), c.text))
    return media, truth, given


def to_srt(cues: Sequence[SynthCue]) -> str:
    """SRT text for cues (times must be >= 0)."""

    def ts(t: float) -> str:
        ms = round(t * 1000)
        h, rem = divmod(ms, 3600000)
        m, rem = divmod(rem, 60000)
        s, f = divmod(rem, 1000)
        return f"{h:02d}:{m:02d}:{s:02d},{f:03d}"

    return "".join(f"{i + 1}\n{ts(c.start_s)} --> {ts(c.end_s)}\n{c.text}\n\n" for i, c in enumerate(cues))
