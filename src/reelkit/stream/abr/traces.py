"""Network traces: Pensieve's cooked format and Mahimahi packet-delivery traces.

* Cooked (Pensieve, ``sim/load_trace.py``): one ``time_s throughput_Mbps`` pair per line, whitespace
  separated. The simulator holds ``throughput[i]`` over ``(time[i-1], time[i]]``; ``throughput[0]`` is never
  used, and at the last line the trace wraps to index 1 with the clock at 0 (``sim/fixed_env.py``).
* Mahimahi: one integer per line, the millisecond at which one 1500-byte packet can be delivered (the link
  repeats with the period of its last timestamp). It is turned into a cooked trace by counting the packets
  in windows of ``window_s`` (default 1 s): ``time[i] = i * window_s`` and ``throughput[i]`` = the bits
  delivered in ``((i-1) w, i w]`` per second.

:func:`load_trace` detects the format from the first data line (two numbers: cooked; one integer: Mahimahi).
A file whose first data line has a comma is read as comma-separated values (``0.0,1.5``, as a spreadsheet
exports them), and may start with one header line of names (``time,mbps``); a file ending in ``.gz`` is
read gzip-compressed.
"""

from __future__ import annotations

import gzip
import math
import warnings
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from reelkit.errors import ConfigError, DataFormatError, EmptyDataError, ReelkitWarning, shown

__all__ = ["MAHIMAHI_PACKET_BYTES", "Trace", "load_trace", "load_traces"]

MAHIMAHI_PACKET_BYTES = 1500


#: Throughputs a trace may hold, Mbit/s: below 1 bit/s a chunk would take years of simulated time, above
#: 1 Tbit/s the value is not in Mbit/s.
MIN_MBPS, MAX_MBPS = 1e-6, 1e6
#: the shortest period a trace may have, s: Mahimahi's resolution (1 ms); the simulator plays a trace one
#: period at a time, so a period of 1e-300 s ran for ever
MIN_PERIOD_S = 1e-3
#: a cooked trace whose median throughput is above this, Mbit/s, is warned about: it looks like kbps (a
#: 0.5 Mbit/s trace written as 500 played every chunk at 4300 kbps without a stall), and is ten times a 4K
#: ladder's top rung (about 20 Mbit/s) even if it is not; a warning, not an error, as such links exist
KBPS_LIKE_MBPS = 200.0


@dataclass(frozen=True, eq=False)
class Trace:
    """A throughput trace: ``times_s`` (non-decreasing) and ``mbps`` (Mbit/s), as Pensieve's cooked files."""

    times_s: np.ndarray
    mbps: np.ndarray
    name: str = "trace"

    def __post_init__(self) -> None:
        t = np.ascontiguousarray(self.times_s, dtype=np.float64).reshape(-1)
        b = np.ascontiguousarray(self.mbps, dtype=np.float64).reshape(-1)
        where = self.name
        if t.shape != b.shape:
            raise DataFormatError("times and throughputs differ in length", path=where)
        if t.shape[0] < 2:
            raise EmptyDataError("a trace needs at least two lines (time_s throughput_Mbps)", path=where)
        if not (np.all(np.isfinite(t)) and np.all(np.isfinite(b))):
            raise DataFormatError("non-finite value in trace", path=where)
        if np.any(b < 0):
            i = int(np.argmax(b < 0))
            raise DataFormatError(f"negative throughput {b[i]}", path=where, line=i + 1)
        odd = (b > 0) & (b < MIN_MBPS) | (b > MAX_MBPS)
        if np.any(odd):
            i = int(np.argmax(odd))
            raise DataFormatError(
                f"throughput {b[i]:g} Mbit/s is outside {MIN_MBPS:g}..{MAX_MBPS:g} (write 0 for none; values "
                "are Mbit/s)",
                path=where,
                line=i + 1,
            )
        if t[0] < 0:
            raise DataFormatError(f"negative time {t[0]}", path=where, line=1)
        d = np.diff(t)
        if np.any(d < 0):
            i = int(np.argmax(d < 0)) + 1
            raise DataFormatError(f"time goes backwards ({t[i - 1]} then {t[i]})", path=where, line=i + 1)
        if t[-1] == t[0]:
            raise DataFormatError(f"every line has the same time ({t[0]:g} s); time must pass", path=where)
        if t[0] > 0:
            # the simulator wraps to index 1 with the clock at 0 (as Pensieve's does), so a trace stamped
            # from t0 (epoch seconds, a cut from a longer log) is taken to start at 0: the first interval
            # after a wrap was t0 seconds long
            t = t - t[0]
            d = np.diff(t)
        if t[-1] < MIN_PERIOD_S:
            raise DataFormatError(
                f"the trace lasts {t[-1]:g} s, under {MIN_PERIOD_S:g} s (times are seconds)", path=where
            )
        # the simulator wraps to index 1 with the clock at 0: the payload of one period must be positive
        first = t[1] - 0.0
        bits = np.sum(b[2:] * d[1:]) + b[1] * first
        if not (bits > 0):
            raise DataFormatError("trace delivers no data (all throughputs zero)", path=where)
        if bits / t[-1] < MIN_MBPS:  # a spike of 1e-300 s in zeros: a chunk took 1e300 periods
            raise DataFormatError(
                f"the trace delivers {bits / t[-1]:g} Mbit/s over its {t[-1]:g} s, under {MIN_MBPS:g}",
                path=where,
            )
        t.setflags(write=False)
        b.setflags(write=False)
        object.__setattr__(self, "times_s", t)
        object.__setattr__(self, "mbps", b)

    @property
    def duration_s(self) -> float:
        return float(self.times_s[-1])

    @property
    def mean_mbps(self) -> float:
        """Time-weighted mean throughput over one period (as the simulator sees it)."""
        d = np.diff(self.times_s)
        total = float(self.times_s[-1])
        return float(np.sum(self.mbps[1:] * d) / total) if total > 0 else float(self.mbps[1])

    @classmethod
    def constant(
        cls, mbps: float, duration_s: float = 1000.0, step_s: float = 1.0, name: str = "constant"
    ) -> Trace:
        """A flat trace of ``mbps`` (handy in tests)."""
        n = max(2, math.ceil(duration_s / step_s) + 1)
        t = np.arange(n, dtype=np.float64) * step_s
        return cls(t, np.full(n, float(mbps)), name=name)


def _shown(text: str) -> str:
    """``text`` quoted for a message, cut to 80 characters (a one-line 10 MB trace was echoed whole)."""
    return repr(shown(text))


def _parse_float(tok: str, path: str, lineno: int, what: str) -> float:
    try:
        v = float(tok)
    except ValueError:
        raise DataFormatError(f"{what} {_shown(tok)} is not a number", path=path, line=lineno) from None
    if not math.isfinite(v):
        raise DataFormatError(f"{what} {_shown(tok)} is not finite", path=path, line=lineno)
    return v


def _is_number(tok: str) -> bool:
    try:
        float(tok)
    except ValueError:
        return False
    return True


def _read_text(p: Path, sp: str) -> str:
    """The file's text (gunzipped when its name ends in ``.gz``, as event files and cache traces are)."""
    try:
        if p.name.lower().endswith(".gz"):
            with gzip.open(p, "rb") as fh:
                data = fh.read()
        else:
            data = p.read_bytes()
    except (OSError, EOFError, zlib.error) as exc:
        if isinstance(exc, OSError) and exc.filename is not None:
            raise  # missing or unreadable: it says so itself
        raise DataFormatError(f"not a readable gzip file ({exc})", path=sp) from None
    try:
        return data.decode("utf-8-sig")  # a byte-order mark is not part of the first time
    except UnicodeDecodeError:
        raise DataFormatError("trace file is not text", path=sp) from None


def _split_rows(lines: list[tuple[int, str]], sp: str) -> list[tuple[int, list[str]]]:
    """Each data line's values: split on whitespace, or on commas when the first line has one (then one
    header line of names, such as ``time,mbps``, is skipped)."""
    if "," not in lines[0][1]:
        return [(lineno, line.split()) for lineno, line in lines]
    rows: list[tuple[int, list[str]]] = []
    for i, (lineno, line) in enumerate(lines):
        fields = [f.strip() for f in line.split(",")]
        if i == 0 and not any(_is_number(f) for f in fields):
            rows.append((lineno, fields))  # a header line: its names may have spaces ("time (s)")
            continue
        spaced = next((f for f in fields if len(f.split()) > 1), None)
        if spaced is not None:  # "0 1,5": a decimal comma, which must not be read as two values
            raise DataFormatError(
                f"{_shown(line)} has both commas and spaces ({_shown(spaced)}); separate the values by "
                "whitespace or by commas, and write decimals with a point (1.5)",
                path=sp,
                line=lineno,
            )
        rows.append((lineno, fields))
    if not any(_is_number(f) for f in rows[0][1]):
        return rows[1:]
    return rows


def load_trace(path: str | Path, *, mahimahi_window_s: float = 1.0) -> Trace:
    """Read one trace file, its format told by its first data line: cooked (``time_s throughput_Mbps``),
    Mahimahi (one millisecond delivery time per line), or a raw Norway HSDPA log (six columns: unix time,
    ms since the log began, latitude, longitude, bytes received, ms taken), turned into Mbit/s.

    Values are separated by whitespace, or by commas when the first data line has one (a comma-separated
    file may start with one header line, such as ``time,mbps``); lines starting with ``#`` are comments;
    a name ending in ``.gz`` is read gzip-compressed."""
    p = Path(path)
    sp = str(p)
    if p.is_dir():  # simulate's --traces takes folders, playback's --trace one file: said, not "missing"
        raise DataFormatError("is a folder, not a trace file: give one trace file from it", path=sp)
    if not p.is_file():
        raise DataFormatError("trace file does not exist", path=sp)
    text = _read_text(p, sp)
    lines: list[tuple[int, str]] = []
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        lines.append((lineno, line))
    rows = _split_rows(lines, sp) if lines else []
    if not rows:
        raise EmptyDataError("empty trace file", path=sp)
    if not any(_is_number(f) for f in rows[0][1]):  # a header, or another separator (time;mbps)
        raise DataFormatError(
            f"{_shown(' '.join(rows[0][1]))} is not a line of numbers; a trace is lines of 'time_s mbps' "
            "separated by whitespace or by commas (a comma-separated one may start with a header line), "
            "one millisecond time per line (Mahimahi) or the six columns of a Norway HSDPA log",
            path=sp,
            line=rows[0][0],
        )
    ncols = len(rows[0][1])
    if ncols == 6:
        return _hsdpa_log(rows, sp, p.name)
    if ncols > 2:
        raise DataFormatError(
            f"expected 'time_s throughput_Mbps' (a cooked trace), one millisecond time (Mahimahi) or the six "
            f"columns of a Norway HSDPA log; got {ncols} columns: {_shown(' '.join(rows[0][1]))}",
            path=sp,
            line=rows[0][0],
        )
    if ncols == 2:
        times = np.empty(len(rows))
        bws = np.empty(len(rows))
        for i, (lineno, toks) in enumerate(rows):
            if len(toks) != 2:  # a third value on a later line was dropped unread
                raise DataFormatError(
                    f"expected 'time_s throughput_Mbps', got {_shown(' '.join(toks))}", path=sp, line=lineno
                )
            times[i] = _parse_float(toks[0], sp, lineno, "time")
            bws[i] = _parse_float(toks[1], sp, lineno, "throughput")
            if bws[i] < 0:
                raise DataFormatError(f"negative throughput {_shown(toks[1])}", path=sp, line=lineno)
            if i > 0 and times[i] < times[i - 1]:
                raise DataFormatError(
                    f"time goes backwards ({times[i - 1]:g} then {times[i]:g})", path=sp, line=lineno
                )
        trace = _trace_of_rows(times, bws, rows, sp, p.name)
        live = bws[bws > 0]
        median = float(np.median(live)) if live.size else 0.0
        if median > KBPS_LIKE_MBPS:  # once per file (the loader's unit check, as the video loader's)
            warnings.warn(
                f"{sp}: the median throughput is {median:.4g} Mbit/s (over {KBPS_LIKE_MBPS:g}, ten times a "
                "4K stream's top rate); a cooked trace's throughputs are Mbit/s: is it in kbps?",
                ReelkitWarning,
                stacklevel=2,
            )
        return trace
    # Mahimahi: one integer millisecond timestamp per line
    ms = np.empty(len(rows))
    for i, (lineno, toks) in enumerate(rows):
        if len(toks) != 1:
            raise DataFormatError(
                f"expected one millisecond timestamp, got {_shown(' '.join(toks))}", path=sp, line=lineno
            )
        v = _parse_float(toks[0], sp, lineno, "timestamp")
        if v < 0 or v != int(v):
            raise DataFormatError(
                f"timestamp {_shown(toks[0])} must be a non-negative integer", path=sp, line=lineno
            )
        if i > 0 and v < ms[i - 1]:
            raise DataFormatError(
                f"timestamp goes backwards ({ms[i - 1]:g} then {v:g})", path=sp, line=lineno
            )
        ms[i] = v
    try:
        return mahimahi_to_trace(ms, window_s=mahimahi_window_s, name=p.name)
    except DataFormatError as exc:  # about the windows made from the file: name the file
        raise type(exc)(exc.message, path=sp) from None


def _hsdpa_log(rows: list[tuple[int, list[str]]], sp: str, name: str) -> Trace:
    """A raw Norway HSDPA log (``unix_s ms_since_start lat lon bytes ms_elapsed`` per line) as a cooked
    trace: each line's bytes over its elapsed ms is the throughput up to its time, as Pensieve cooked them."""
    times = np.empty(len(rows))
    bws = np.empty(len(rows))
    for i, (lineno, toks) in enumerate(rows):
        if len(toks) != 6:
            raise DataFormatError(
                f"expected the six columns of a Norway HSDPA log, got {_shown(' '.join(toks))}",
                path=sp,
                line=lineno,
            )
        t_ms = _parse_float(toks[1], sp, lineno, "ms since the start")
        nbytes = _parse_float(toks[4], sp, lineno, "bytes")
        took = _parse_float(toks[5], sp, lineno, "elapsed ms")
        if nbytes < 0 or took <= 0:
            raise DataFormatError(
                f"bytes {_shown(toks[4])} over {_shown(toks[5])} ms is not a throughput", path=sp, line=lineno
            )
        times[i] = t_ms / 1000.0
        bws[i] = nbytes * 8.0 / took / 1000.0  # bytes per ms -> Mbit/s
        if i > 0 and times[i] < times[i - 1]:
            raise DataFormatError(
                f"time goes backwards ({times[i - 1]:g} then {times[i]:g} s)", path=sp, line=lineno
            )
    return _trace_of_rows(times - times[0], bws, rows, sp, name)


def _trace_of_rows(
    times: np.ndarray, bws: np.ndarray, rows: list[tuple[int, list[str]]], sp: str, name: str
) -> Trace:
    """The trace of a file's parsed rows; a row the trace refuses is named by its line in the file."""
    if len(rows) < 2:
        raise EmptyDataError("a trace needs at least two lines", path=sp)
    try:
        return Trace(times, bws, name=name)
    except DataFormatError as exc:  # its line is a row of the data: name the file's line and its path
        at = rows[exc.line - 1][0] if exc.line is not None else None
        raise type(exc)(exc.message, path=sp, line=at) from None


#: At most this many windows per Mahimahi trace (a week at 10 ms).
MAX_MAHIMAHI_WINDOWS = 60_480_000


def mahimahi_to_trace(ms: np.ndarray, *, window_s: float = 1.0, name: str = "mahimahi") -> Trace:
    """Packet-delivery timestamps (ms, one 1500-byte packet each) → a cooked trace of ``window_s`` windows."""
    ms = np.asarray(ms, dtype=np.float64)
    if float(ms[-1]) <= 0:  # Mahimahi itself refuses it: the trace repeats with that period
        raise DataFormatError(
            "a Mahimahi trace's last timestamp (its period) must be more than 0 ms", path=name, line=len(ms)
        )
    period_ms = float(ms[-1])
    if not 0 < window_s < math.inf:
        raise ConfigError(f"the Mahimahi window must be a positive number of seconds; got {window_s}")
    w_ms = window_s * 1000.0
    if period_ms / w_ms > MAX_MAHIMAHI_WINDOWS:  # 1e-9 s over a 1 s trace asked for 1e9 windows (7 GiB)
        raise ConfigError(
            f"the Mahimahi window of {window_s:g} s cuts {name}'s {period_ms / 1000:g} s into more than "
            f"{MAX_MAHIMAHI_WINDOWS:,} windows; use a longer one (packets are 1 ms apart at best: 0.01 s or "
            "more)"
        )
    n = max(1, math.ceil(period_ms / w_ms))
    # a delivery at time t (ms) falls in window ceil(t / w) (1-based; t = 0 counts in window 1)
    idx = np.clip(np.ceil(ms / w_ms).astype(np.int64), 1, n)
    counts = np.bincount(idx, minlength=n + 1)[: n + 1].astype(np.float64)
    widths = np.full(n + 1, w_ms)
    widths[n] = period_ms - (n - 1) * w_ms
    mbps = counts * MAHIMAHI_PACKET_BYTES * 8.0 / (widths / 1000.0) / 1e6
    times = np.arange(n + 1, dtype=np.float64) * window_s
    times[n] = period_ms / 1000.0
    mbps[0] = mbps[1] if n >= 1 else 0.0
    return Trace(times, mbps, name=name)


#: files in a trace folder that are not traces: what a run may write beside them (a plot, a model, notes)
NOT_TRACES = (".png", ".jpg", ".jpeg", ".svg", ".pdf", ".npz", ".json", ".md", ".html")


def trace_files(path: str | Path) -> list[Path]:
    """The files :func:`load_traces` reads from ``path``: the file itself, or a folder's files sorted by name
    (hidden files and :data:`NOT_TRACES` skipped, so a plot or model written there is not read as a trace);
    empty when ``path`` does not exist."""
    p = Path(path)
    if p.is_file():
        return [p]
    if not p.is_dir():
        return []
    return sorted(
        f
        for f in p.iterdir()
        if f.is_file() and not f.name.startswith(".") and f.suffix.lower() not in NOT_TRACES
    )


def load_traces(path: str | Path | Sequence[str | Path], *, mahimahi_window_s: float = 1.0) -> list[Trace]:
    """Every trace file in a directory (see :func:`trace_files`), or the listed files."""
    if isinstance(path, str | Path):
        p = Path(path)
        if not p.exists():
            raise DataFormatError("trace directory does not exist", path=str(p))
        files = trace_files(p)
        if not files:
            raise EmptyDataError("no trace files in directory", path=str(p))
    else:
        files = [Path(f) for f in path]
    return [load_trace(f, mahimahi_window_s=mahimahi_window_s) for f in files]
