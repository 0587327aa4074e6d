"""Trace-shaped sending: hand-computed transfer times (Pensieve's link semantics) and the async pacer."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pytest

from reelkit.errors import ConfigError, DataFormatError
from reelkit.stream.abr.traces import Trace, load_trace
from reelkit.stream.shaping import ShapedLink, step_trace

MB = 1e6 / 8  # bytes per second at 1 Mbps


def _pensieve_delay(times: list[float], mbps: list[float], size: float, ptr: int, last: float) -> tuple:
    """Pensieve's download loop (sim/fixed_env.py), transcribed in plain Python as the reference."""
    delay = 0.0
    sent = 0.0
    while True:
        throughput = mbps[ptr] * MB
        duration = times[ptr] - last
        payload = throughput * duration * 0.95
        if sent + payload > size:
            frac = (size - sent) / throughput / 0.95
            delay += frac
            last += frac
            break
        sent += payload
        delay += duration
        last = times[ptr]
        ptr += 1
        if ptr >= len(mbps):
            ptr, last = 1, 0.0
    return delay, ptr, last


def test_constant_trace_hand_computed() -> None:
    link = ShapedLink(Trace.constant(2.0), rtt_s=0.08)
    # 2 Mbps * 0.95 = 237500 bytes/s: 475000 bytes take exactly 2 s, plus the 80 ms RTT
    assert link.transfer_s(475_000, 0.0) == pytest.approx(2.0)
    assert link.download_s(475_000, 3.0) == pytest.approx(2.08)
    assert link.bytes_between(1.0, 3.0) == pytest.approx(475_000)
    assert link.transfer_s(0, 5.0) == 0.0


def test_step_trace_uses_the_rate_at_the_end_of_each_interval() -> None:
    # interval (0,1] runs at mbps[1] = 8, interval (1,3] at mbps[2] = 1 (mbps[0] is never used)
    trace = Trace(np.array([0.0, 1.0, 3.0]), np.array([123.0, 8.0, 1.0]))
    link = ShapedLink(trace, payload=1.0)
    assert link.transfer_s(1e6, 0.0) == pytest.approx(1.0)  # 8 Mbps = 1e6 bytes in the first second
    # 1e6 + 125000 bytes: the first second, then 1 s at 1 Mbps
    assert link.transfer_s(1.125e6, 0.0) == pytest.approx(2.0)
    # starting at 0.5 s: 0.5e6 bytes in 0.5 s then 0.25e6 bytes at 125000 B/s = 2 s
    assert link.transfer_s(0.75e6, 0.5) == pytest.approx(2.5)


def test_wraps_to_the_interval_from_zero() -> None:
    # a trace stamped from 1 s is read as one from 0 (times since its start); every pass is then alike:
    # 1 s at 1 Mbps, then 1 s at 4 Mbps (Pensieve's loop would make every pass after the first 3 s long,
    # its first interval running from 0 to t[1])
    trace = Trace(np.array([1.0, 2.0, 3.0]), np.array([0.0, 1.0, 4.0]))
    assert trace.times_s.tolist() == [0.0, 1.0, 2.0]
    link = ShapedLink(trace, payload=1.0)
    assert link.bytes_between(0.0, 2.0) == pytest.approx(625_000)  # 125000 + 500000
    assert link.bytes_between(2.0, 4.0) == pytest.approx(625_000)  # the second pass, the same
    assert link.bytes_between(4.0, 5.0) == pytest.approx(125_000)
    # 1375000 bytes: two passes (4 s, 1250000), then 125000 at 1 Mbps (1 s)
    assert link.transfer_s(625_000 + 750_000, 0.0) == pytest.approx(5.0)
    assert link.transfer_s(625_000 + 750_000, 1.0) == pytest.approx(4.25)  # from 1 s: 4 Mbps first


def test_a_transfer_ends_when_its_last_byte_arrives_not_after_the_outage_that_follows() -> None:
    """Pins the earliest time a byte count is reached where the trace then delivers nothing: 1 s at 8 Mbit/s
    then 1 s of outage; 1e6 bytes take 1 s, and 2e6 bytes (the first pass, then the second pass's fast
    second) 3 s, not 2 and 4."""
    trace = Trace(np.array([0.0, 1.0, 2.0, 3.0]), np.array([8.0, 8.0, 0.0, 8.0]))
    assert ShapedLink(trace, payload=1.0).transfer_s(1e6, 0.0) == pytest.approx(1.0)
    tail = Trace(np.array([0.0, 1.0, 2.0]), np.array([8.0, 8.0, 0.0]))
    assert ShapedLink(tail, payload=1.0).transfer_s(2e6, 0.0) == pytest.approx(3.0)


@pytest.mark.parametrize("seed", range(5))
def test_matches_pensieve_loop_on_random_traces(seed: int) -> None:
    rng = np.random.default_rng(seed)
    times = np.concatenate([[0.0], np.cumsum(rng.uniform(0.2, 2.0, 30))]).round(3)
    mbps = rng.uniform(0.05, 5.0, times.size).round(3)
    link = ShapedLink(Trace(times, mbps), rtt_s=0.08)
    ptr, last, clock = 1, 0.0, 0.0
    for size in rng.uniform(2e4, 2e6, 40):
        delay, ptr, last = _pensieve_delay(times.tolist(), mbps.tolist(), size, ptr, last)
        assert link.transfer_s(size, clock) == pytest.approx(delay, rel=1e-9, abs=1e-9)
        clock += delay  # the simulator's trace clock moves by the transfer only (not the RTT)


def test_steps_builder_and_bad_input(tmp_path: Path) -> None:
    tr = step_trace([(2.0, 3.0), (3.0, 0.5)])
    link = ShapedLink(tr, payload=1.0)
    assert link.bytes_between(0, 2) == pytest.approx(2 * 3 * MB)
    assert link.bytes_between(2, 5) == pytest.approx(3 * 0.5 * MB)
    for seconds in (0.0, -1.0, float("nan"), float("inf")):
        with pytest.raises(ConfigError):
            step_trace([(seconds, 1.0)])
    with pytest.raises(ConfigError):
        ShapedLink(tr, payload=0.0)
    with pytest.raises(ConfigError):
        ShapedLink(tr, rtt_s=-1.0)
    bad = tmp_path / "bad.txt"
    bad.write_text("0 1\n1 x\n")
    with pytest.raises(DataFormatError):
        load_trace(bad)


class _FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_pacer_yields_pieces_on_schedule(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = _FakeClock()

    async def fake_sleep(seconds: float) -> None:
        clock.now += max(0.0, seconds)

    monkeypatch.setattr(asyncio, "sleep", fake_sleep)
    link = ShapedLink(Trace.constant(1.0), payload=1.0, rtt_s=0.1, piece_bytes=50_000, clock=clock)

    async def run() -> list[tuple[float, int]]:
        out = []
        async for piece in link.paced(b"x" * 125_000, label="c1"):
            out.append((round(link.now_s(), 6), len(piece)))
        async for _ in link.paced(b"y" * 62_500, label="c2"):
            pass
        return out

    got = asyncio.run(run())
    # 125000 B/s after a 0.1 s RTT: pieces of 50000 at 0.5 s, 100000 at 0.9 s, the last 25000 at 1.1 s
    assert got == [(0.5, 50_000), (0.9, 50_000), (1.1, 25_000)]
    first, second = link.transfers
    assert (first.label, first.n_bytes) == ("c1", 125_000)
    assert first.duration_s == pytest.approx(1.1) and first.predicted_s == pytest.approx(1.1)
    assert second.start_s == pytest.approx(1.1) and second.end_s == pytest.approx(1.1 + 0.1 + 0.5)


def test_busy_clock_freezes_the_trace_between_transfers(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = _FakeClock()

    async def fake_sleep(seconds: float) -> None:
        clock.now += max(0.0, seconds)

    monkeypatch.setattr(asyncio, "sleep", fake_sleep)
    # 1 s at 8 Mbps (1e6 B/s), then 1 Mbps (125000 B/s)
    trace = Trace(np.array([0.0, 1.0, 100.0]), np.array([8.0, 8.0, 1.0]))
    busy = ShapedLink(trace, payload=1.0, rtt_s=0.1, trace_clock="busy", clock=clock)
    wall = ShapedLink(trace, payload=1.0, rtt_s=0.1, trace_clock="wall", clock=clock)

    async def run(link: ShapedLink) -> None:
        async for _ in link.paced(b"x" * 500_000):
            pass
        clock.now += 2.0  # the player pauses
        async for _ in link.paced(b"x" * 500_000):
            pass

    asyncio.run(run(busy))
    a, b = busy.transfers
    # busy: the trace stands still during RTTs and the pause, so both halves fit the fast first second
    assert (a.trace_start_s, b.trace_start_s) == (0.0, pytest.approx(0.5))
    assert b.duration_s == pytest.approx(0.6) and b.predicted_s == pytest.approx(0.6)
    asyncio.run(run(wall))
    a, b = wall.transfers
    # wall: the second transfer starts at 2.7 s of trace time, at 1 Mbps: 4 s
    assert b.trace_start_s == pytest.approx(2.7) and b.duration_s == pytest.approx(4.1)
    with pytest.raises(ConfigError):
        ShapedLink(trace, trace_clock="sometimes")  # type: ignore[arg-type]


def test_the_busy_clock_resumes_where_the_last_transfer_left_the_trace(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Pins the busy clock past a second transfer: 0.5 s, then 0.5 s of the fast second, so the third
    starts at trace 1.0 s and its 125000 bytes take 1 s at 1 Mbit/s (not 0.125 s from 0.5 s)."""
    clock = _FakeClock()

    async def fake_sleep(seconds: float) -> None:
        clock.now += max(0.0, seconds)

    monkeypatch.setattr(asyncio, "sleep", fake_sleep)
    trace = Trace(np.array([0.0, 1.0, 100.0]), np.array([8.0, 8.0, 1.0]))
    link = ShapedLink(trace, payload=1.0, rtt_s=0.1, trace_clock="busy", clock=clock)

    async def run() -> None:
        for n in (500_000, 500_000, 125_000):
            async for _ in link.paced(b"x" * n):
                pass

    asyncio.run(run())
    assert [t.trace_start_s for t in link.transfers] == [0.0, pytest.approx(0.5), pytest.approx(1.0)]
    assert link.transfers[2].predicted_s == pytest.approx(1.1)
    assert link.transfers[2].duration_s == pytest.approx(1.1)


def test_bytes_between_reversed_times_is_none() -> None:
    """Pins the clamp: from a later trace time to an earlier one the link delivers 0 bytes, not a negative
    count."""
    link = ShapedLink(Trace.constant(2.0), rtt_s=0.08)
    assert link.bytes_between(3.0, 1.0) == 0.0


def test_the_link_keeps_its_last_max_records_transfers(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pins the record trim: with max_records=2, three transfers keep the last two (not one)."""
    clock = _FakeClock()

    async def fake_sleep(seconds: float) -> None:
        clock.now += max(0.0, seconds)

    monkeypatch.setattr(asyncio, "sleep", fake_sleep)
    link = ShapedLink(Trace.constant(8.0), payload=1.0, rtt_s=0.0, clock=clock, max_records=2)

    async def run() -> None:
        for label in ("a", "b", "c"):
            async for _ in link.paced(b"x" * 1000, label=label):
                pass

    asyncio.run(run())
    assert [t.label for t in link.transfers] == ["b", "c"]
