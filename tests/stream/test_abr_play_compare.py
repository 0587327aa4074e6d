"""Lining a player's log up with the simulator (no browser): a log made from the simulator agrees exactly."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from reelkit.errors import ConfigError
from reelkit.stream.abr import Video, make_policy
from reelkit.stream.abr.sim import PENSIEVE, simulate
from reelkit.stream.playback import PlayedChunk, chunks_from_log, compare_with_simulator
from reelkit.stream.shaping import step_trace

LADDER = [100.0, 250.0, 500.0, 1000.0]


def _video() -> Video:
    rng = np.random.default_rng(0)
    base = np.asarray(LADDER)[:, None] * 1000 / 8 * 4
    return Video(np.asarray(LADDER), 4.0, base * rng.uniform(0.9, 1.1, size=(1, 8)))


def test_a_log_that_is_the_simulation_agrees_exactly() -> None:
    video, trace = _video(), step_trace([(2.0, 4.0), (200.0, 0.3)])
    sim = simulate(make_policy("robustmpc"), trace, video, config=PENSIEVE)
    log = [
        {
            "kind": "chunk",
            "t_s": float(sim.time_s[k]),
            "chunk_index": k,
            "level": int(sim.levels[k]),
            "bytes": float(sim.chunk_bytes[k]),
            "download_s": float(sim.download_s[k]),
            "buffer_s": float(sim.buffer_s[k]),
            "stall_s": float(sim.rebuffer_s[k]),
        }
        for k in reversed(range(6))  # out of order, with a stall event and a duplicate
    ]
    log.insert(2, {"kind": "stall", "t_s": 3.0})
    log.append(dict(log[0]))
    chunks = chunks_from_log(log)
    assert [c.chunk_index for c in chunks] == list(range(6))
    cmp = compare_with_simulator(chunks, trace, video, "robustmpc")
    assert cmp.n_chunks == 6 and cmp.level_agreement == 1.0 and cmp.mean_abs_level_diff == 0.0
    assert cmp.download_ratio == pytest.approx(1.0)
    assert cmp.sim_levels.tolist() == sim.levels[:6].tolist()
    assert cmp.player_rebuffer_s == pytest.approx(cmp.sim_rebuffer_s)
    assert cmp.player_qoe == pytest.approx(cmp.sim_qoe)
    assert len(cmp.rows()) == 6 and cmp.summary()["chunks"] == 6


def test_the_players_qoe_stalls_and_download_ratio_by_hand() -> None:
    """Pins the comparison's player side: QoE (lin) per chunk over chunks 1..n-1, the log's stall_s as each
    chunk's rebuffering (startup left out) and download_ratio as the player's time over the simulator's."""
    from reelkit.stream.abr.sim import simulate_levels

    video, trace = _video(), step_trace([(2.0, 4.0), (200.0, 0.3)])
    cfg = dataclasses.replace(PENSIEVE, total_chunks=video.n_chunks)
    replay = simulate_levels(np.array([0, 2, 1]), trace, video, config=cfg)
    log = [
        {
            "kind": "chunk",
            "chunk_index": k,
            "level": lv,
            "download_s": 2 * float(replay.download_s[k]),
            "buffer_s": 4.0,
            "stall_s": stall,
        }
        for k, (lv, stall) in enumerate([(0, 0.5), (2, 1.0), (1, 0.0)])
    ]
    cmp = compare_with_simulator(chunks_from_log(log), trace, video, "robustmpc")
    # chunk 1: 0.5 Mbit/s - 4.3 x 1 s - |0.5 - 0.1|; chunk 2: 0.25 - 0 - |0.25 - 0.5|; their mean
    assert cmp.player_qoe == pytest.approx((-4.2 + 0.0) / 2)
    assert cmp.player_rebuffer_s == pytest.approx(1.0)
    assert cmp.download_ratio == pytest.approx(2.0)


def test_a_partial_playback_counts_the_simulators_stalls_of_the_chunks_played_only() -> None:
    """Pins sim_rebuffer_s to chunks 1..n-1 of the n played: on 6 s at 4 Mbit/s then 0.05 Mbit/s the
    simulator stalls at chunks 6 and 7 only (28.3 s), so four chunks played compare against 0 s."""
    video, trace = _video(), step_trace([(6.0, 4.0), (200.0, 0.05)])
    sim = simulate(make_policy("robustmpc"), trace, video, config=PENSIEVE)
    assert float(np.sum(sim.rebuffer_s[6:])) > 20.0  # the stalls the comparison must leave out
    chunks = [
        PlayedChunk(k, int(sim.levels[k]), float(sim.chunk_bytes[k]), float(sim.download_s[k]), 4.0, 0.0, k)
        for k in range(4)
    ]
    cmp = compare_with_simulator(chunks, trace, video, "robustmpc")
    assert (
        cmp.sim_rebuffer_s == pytest.approx(float(np.sum(sim.rebuffer_s[1:4]))) and cmp.sim_rebuffer_s == 0.0
    )


def test_disagreement_is_measured_and_gaps_refused() -> None:
    video, trace = _video(), step_trace([(2.0, 4.0), (200.0, 0.3)])
    chunks = [PlayedChunk(k, 0, float(video.sizes[0, k]), 1.0, 4.0, 0.0, float(k)) for k in range(4)]
    cmp = compare_with_simulator(chunks, trace, video, "robustmpc")
    assert cmp.level_agreement < 1.0 and cmp.mean_abs_level_diff > 0
    with pytest.raises(ConfigError, match=r"not 0\.\."):
        compare_with_simulator(chunks[1:], trace, video, "robustmpc")
    with pytest.raises(ConfigError, match="no chunks"):
        compare_with_simulator([], trace, video, "robustmpc")


def test_served_trace_names_match_the_servers_pattern() -> None:
    import re

    from reelkit.service.routers.abr import _NAME
    from reelkit.stream.playback import _served_trace_name

    for name in ("norway_bus_1", "café trace.txt", "ü" * 300, "a b/c\\d", "x" * 99):
        served = _served_trace_name(name)
        assert re.fullmatch(_NAME, served), (name, served)
    assert _served_trace_name("café 1.log") == "trace-caf__1.log"
    # a long gzipped trace's name was cut to 100 characters, '.gz' with it, and the server read gzip as text
    long = _served_trace_name("t" * 100 + ".txt.gz")
    assert long == "trace-" + "t" * 87 + ".txt.gz" and len(long) == 100


def test_a_long_gzipped_trace_is_served_gzipped(tmp_path: Path) -> None:
    """The served copy of a gzipped trace with a long name is read as the original is (it was text)."""
    import gzip

    from reelkit.stream.abr.traces import load_trace
    from reelkit.stream.playback import _served_trace_name

    original = tmp_path / ("t" * 100 + ".txt.gz")
    original.write_bytes(gzip.compress(b"0 1.5\n1 2.5\n2 0.5\n"))
    served = tmp_path / "served" / _served_trace_name(original.name)
    served.parent.mkdir()
    served.write_bytes(original.read_bytes())
    assert load_trace(served).mbps.tolist() == load_trace(original).mbps.tolist() == [1.5, 2.5, 0.5]


def test_playback_json_keys_are_snake_case_one_per_column() -> None:
    import re

    from reelkit.cli.abr_play import _COLUMNS, _KEYS

    # the JSON used the table's headings ("sim download s (player's levels)") as keys
    assert len(_KEYS) == len(_COLUMNS) == len(set(_KEYS))
    assert all(re.fullmatch(r"[a-z]+(_[a-z]+)*", k) for k in _KEYS)


def test_playback_json_keeps_the_chunk_count_beside_the_rows() -> None:
    """The per-chunk rows went under "chunks", replacing the summary's count of chunks (the table's)."""
    from reelkit.cli.abr_play import _KEYS, playback_doc

    video, trace = _video(), step_trace([(2.0, 4.0), (200.0, 0.3)])
    sim = simulate(make_policy("robustmpc"), trace, video, config=PENSIEVE)
    played = [
        PlayedChunk(k, int(sim.levels[k]), float(sim.chunk_bytes[k]), float(sim.download_s[k]), 0.0, 0.0, 0.0)
        for k in range(4)
    ]
    cmp = compare_with_simulator(played, trace, video, "robustmpc")
    doc = playback_doc(cmp.summary(), cmp.rows())
    assert doc["chunks"] == cmp.summary()["chunks"] == len(doc["per_chunk"]) == len(cmp.rows())
    assert list(doc["per_chunk"][0]) == list(_KEYS)
