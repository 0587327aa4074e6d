"""Trace-shaped sending: how long N bytes take on a network trace, and a pacer that sends at that rate.

The link model is the one of Pensieve's simulator (``sim/env.py`` / ``test/fixed_env.py``, and reelkit's
:mod:`reelkit.stream.abr` simulator), so that a real player fed by :class:`ShapedLink` sees the same download
times as the simulator predicts:

* a trace (:class:`reelkit.stream.abr.traces.Trace`, read by its ``load_trace``) is ``time_s
  throughput_Mbps`` per line; the throughput of the interval
  ``(time[i-1], time[i]]`` is ``mbps[i]`` (constant between points);
* a transfer moves ``mbps * 1e6 / 8 * payload`` bytes per second, ``payload`` = 0.95 by default;
* the trace starts at ``time[0]``; after its last point it wraps to the interval ``(0, time[1]]``
  (Pensieve resets its pointer to 1 and its clock to 0), so every later pass lasts ``time[-1]`` seconds;
* each request adds one round trip (80 ms) before its first byte.

When the trace advances is a choice (``trace_clock``): on wall time (``wall``, a real network: the RTT and
the player's pauses between requests move it), or only while payload moves (``busy``: the simulator's
clock, whose trace does not advance during the RTT, exact as long as the player's buffer never reaches its
cap, since the simulator's buffer-full sleeps do advance the trace).

:class:`ShapedLink` is asyncio-friendly: ``async for piece in link.paced(body)`` yields the body in pieces at
the times the trace allows; transfers of one link are serialised (a shared bottleneck), and each finished
transfer is recorded as a :class:`Transfer`.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import numpy.typing as npt

from reelkit.errors import ConfigError
from reelkit.stream.abr.traces import Trace

__all__ = [
    "DEFAULT_PAYLOAD",
    "DEFAULT_RTT_S",
    "ShapedLink",
    "TraceClock",
    "Transfer",
    "step_trace",
]

#: Pensieve's ``PACKET_PAYLOAD_PORTION``: the share of the trace's throughput that carries payload.
DEFAULT_PAYLOAD = 0.95
#: Pensieve's ``LINK_RTT`` (80 ms), added once per chunk.
DEFAULT_RTT_S = 0.08
_BYTES_PER_MBIT = 1e6 / 8.0

FloatArray = npt.NDArray[np.float64]


def step_trace(steps: list[tuple[float, float]], *, name: str = "steps") -> Trace:
    """``[(seconds, mbps), ...]``: ``mbps`` for ``seconds``, then the next step (points about 1 s apart)."""
    if not steps:
        raise ConfigError("a step trace needs at least one (seconds, mbps) step")
    times: list[float] = [0.0]
    rates: list[float] = [steps[0][1]]
    now = 0.0
    for seconds, mbps in steps:
        if not 0 < seconds < math.inf:
            raise ConfigError(f"trace step length must be > 0 s; got {seconds}")
        n = max(1, math.ceil(seconds))
        for k in range(1, n + 1):
            times.append(now + seconds * k / n)
            rates.append(mbps)
        now += seconds
    return Trace(np.asarray(times), np.asarray(rates), name=name)


class _Capacity:
    """Bytes deliverable from trace time 0 to ``s`` (piecewise linear, unrolled over the wraps), and back."""

    def __init__(self, trace: Trace, payload: float) -> None:
        t, r = trace.times_s, trace.mbps
        rate = r[1:] * _BYTES_PER_MBIT * payload  # bytes/s of interval i = (t[i-1], t[i]]
        first = np.diff(t)
        again = first.copy()
        again[0] = t[1]  # after a wrap the first interval starts at 0, not t[0]
        self.e1 = np.concatenate([[0.0], np.cumsum(first)])
        self.b1 = np.concatenate([[0.0], np.cumsum(first * rate)])
        self.e2 = np.concatenate([[0.0], np.cumsum(again)])
        self.b2 = np.concatenate([[0.0], np.cumsum(again * rate)])
        self.first_s = float(self.e1[-1])
        self.period_s = float(self.e2[-1])
        self.first_b = float(self.b1[-1])
        self.period_b = float(self.b2[-1])
        if self.period_b <= 0:
            raise ConfigError(f"trace {trace.name!r}: no capacity after the first pass (zero throughput)")

    def bytes_at(self, s: float) -> float:
        if s <= self.first_s:
            return float(np.interp(max(s, 0.0), self.e1, self.b1))
        k, rem = divmod(s - self.first_s, self.period_s)
        return self.first_b + k * self.period_b + float(np.interp(rem, self.e2, self.b2))

    def time_at(self, b: float) -> float:
        """The earliest session time at which ``b`` bytes have been delivered."""
        if b <= self.first_b:
            return _invert(self.e1, self.b1, max(b, 0.0))
        k, rem = divmod(b - self.first_b, self.period_b)
        if rem == 0.0 and k > 0:  # exactly at the end of a pass
            k, rem = k - 1, self.period_b
        return self.first_s + k * self.period_s + _invert(self.e2, self.b2, rem)


def _invert(edges: FloatArray, cum: FloatArray, b: float) -> float:
    i = int(np.searchsorted(cum, b, side="left"))
    if i <= 0:
        return float(edges[0])
    if i >= cum.size:
        return float(edges[-1])
    span = cum[i] - cum[i - 1]
    frac = 0.0 if span <= 0 else (b - cum[i - 1]) / span
    return float(edges[i - 1] + frac * (edges[i] - edges[i - 1]))


@dataclass(frozen=True)
class Transfer:
    """One paced response: what was sent and when (seconds of the link's wall clock), and the trace time at
    which its payload started."""

    label: str
    n_bytes: int
    start_s: float
    first_byte_s: float
    end_s: float
    trace_start_s: float
    predicted_s: float

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


#: ``wall``: the trace runs on wall time from the first transfer (a real network). ``busy``: the trace
#: advances only while payload moves (the simulator's clock when the buffer never fills: the RTT and the
#: player's pauses between requests do not move it).
TraceClock = Literal["wall", "busy"]


@dataclass
class ShapedLink:
    """A bottleneck link that follows ``trace``; its clock starts at the first transfer (or :meth:`start`).

    ``trace_clock`` says when the trace advances (:data:`TraceClock`); ``clock`` is a monotonic seconds
    function (replaceable in tests); ``piece_bytes`` is how much is handed to the server at a time.
    """

    trace: Trace
    payload: float = DEFAULT_PAYLOAD
    rtt_s: float = DEFAULT_RTT_S
    trace_clock: TraceClock = "wall"
    piece_bytes: int = 16_384
    clock: Callable[[], float] = time.monotonic
    transfers: list[Transfer] = field(default_factory=list)
    max_records: int = 10_000
    _t0: float | None = field(default=None, init=False, repr=False)
    _busy_s: float = field(default=0.0, init=False, repr=False)
    _lock: asyncio.Lock | None = field(default=None, init=False, repr=False)
    _cap: _Capacity = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if not 0 < self.payload <= 1:
            raise ConfigError(f"payload must be in (0, 1]; got {self.payload}")
        if self.rtt_s < 0:
            raise ConfigError(f"rtt must be >= 0 s; got {self.rtt_s}")
        if self.piece_bytes < 1:
            raise ConfigError(f"piece_bytes must be >= 1; got {self.piece_bytes}")
        if self.trace_clock not in ("wall", "busy"):
            raise ConfigError(f"trace_clock must be 'wall' or 'busy'; got {self.trace_clock!r}")
        self._cap = _Capacity(self.trace, self.payload)

    # --- the math (no clock involved) ---
    def transfer_s(self, n_bytes: float, start_s: float) -> float:
        """Seconds to deliver ``n_bytes`` starting at trace time ``start_s`` (no RTT)."""
        if n_bytes <= 0:
            return 0.0
        start_b = self._cap.bytes_at(start_s)
        return max(0.0, self._cap.time_at(start_b + n_bytes) - start_s)

    def download_s(self, n_bytes: float, start_s: float) -> float:
        """What the simulator calls the chunk's delay: ``rtt_s`` plus :meth:`transfer_s`."""
        return self.rtt_s + self.transfer_s(n_bytes, start_s)

    def bytes_between(self, start_s: float, end_s: float) -> float:
        """Bytes the link can deliver between two trace times."""
        return max(0.0, self._cap.bytes_at(end_s) - self._cap.bytes_at(start_s))

    # --- the clock ---
    def start(self) -> None:
        """Start the link's clock now (the first transfer does it otherwise)."""
        if self._t0 is None:
            self._t0 = self.clock()

    def now_s(self) -> float:
        """Wall seconds since the link's clock started (0 before it started)."""
        return 0.0 if self._t0 is None else self.clock() - self._t0

    def trace_now_s(self) -> float:
        """Where the trace is now (between transfers, for the ``busy`` clock)."""
        return self.now_s() if self.trace_clock == "wall" else self._busy_s

    async def paced(self, body: bytes, *, label: str = "") -> AsyncIterator[bytes]:
        """Yield ``body`` in pieces, each no earlier than the trace allows; one transfer at a time."""
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            self.start()
            start = self.now_s()
            if self.rtt_s > 0:
                await asyncio.sleep(self.rtt_s)
            first = self.now_s()
            # the payload is paced from the trace time at which its first byte may leave
            tau0 = self.trace_now_s()
            base_b = self._cap.bytes_at(tau0)
            sent = 0
            n = len(body)
            view = memoryview(body)
            while sent < n:
                piece = min(self.piece_bytes, n - sent)
                due = first + self._cap.time_at(base_b + sent + piece) - tau0
                wait = due - self.now_s()
                if wait > 0:
                    await asyncio.sleep(wait)
                yield bytes(view[sent : sent + piece])
                sent += piece
            end = self.now_s()
            transfer = self.transfer_s(n, tau0)
            if self.trace_clock == "busy":
                self._busy_s = tau0 + transfer
            self._record(Transfer(label, n, start, first, end, tau0, self.rtt_s + transfer))

    def _record(self, t: Transfer) -> None:
        self.transfers.append(t)
        if len(self.transfers) > self.max_records:
            del self.transfers[: len(self.transfers) - self.max_records]
