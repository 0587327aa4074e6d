"""Real playback: dash.js in headless chromium plays a reelkit DASH stream through a trace-shaped segment
server, its levels chosen by ``/v1/abr/decide``; the player adapts, and agrees with the simulator.

The trace: 4 Mbps for 2 s, then 0.3 Mbps. The ladder: 100, 250, 500, 1000 kbps, six 4 s segments, of
which the first five are played. robustMPC starts at level 1, climbs to the top while the link is fast, and
drops to the bottom after the throughput falls (the simulator: levels 1, 3, 3, 0, 0). The trace clock is
``busy`` (the simulator's). Tolerances, stated: the player's levels equal the simulator's on at least 4
of the 5 chunks; its total download time is within -10%..+20% of the simulator's for the same levels
(HTTP and browser overhead come on top); each paced transfer is within 10% (+50 ms) of the link's own
prediction. Skips, saying why, without chromium, playwright or dash.js.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from reelkit.service.routers.abr import dashjs_path
from reelkit.stream.abr.traces import load_trace
from reelkit.stream.dash import SMALL_LADDER, load_stream, make_sample_clip, package_dash
from reelkit.stream.playback import DEFAULT_CHROMIUM, compare_with_simulator, run_headless_playback
from reelkit.stream.shaping import step_trace

pytestmark = [pytest.mark.slow, pytest.mark.media]


def _requirements() -> None:
    pytest.importorskip("playwright.sync_api", reason="the playwright Python package is not installed")
    if not DEFAULT_CHROMIUM.exists() and shutil.which("chromium") is None:
        pytest.skip("no chromium browser at /usr/bin/chromium (apt-get install chromium)")
    if dashjs_path() is None:
        pytest.skip("dash.js is not installed: run scripts/vendor_dashjs.sh (npm ci in web/abr)")


def test_dashjs_adapts_to_a_shaped_trace_like_the_simulator(tmp_path: Path) -> None:
    _requirements()
    clip = make_sample_clip(tmp_path / "clip.mp4", duration_s=24, size=(320, 180), audio=False)
    stream = package_dash(clip, tmp_path / "stream", renditions=SMALL_LADDER, preset="ultrafast")
    assert stream.n_segments == 6
    trace = step_trace([(2.0, 4.0), (200.0, 0.3)], name="drop")
    trace_file = tmp_path / "drop.txt"
    trace_file.write_text(
        "".join(f"{t:.3f} {r:.3f}\n" for t, r in zip(trace.times_s, trace.mbps, strict=True))
    )

    chromium = DEFAULT_CHROMIUM if DEFAULT_CHROMIUM.exists() else Path(str(shutil.which("chromium")))
    run = run_headless_playback(
        stream.folder, trace_file, algo="robustmpc", chromium=chromium, timeout_s=90, chunks=5
    )

    # the player logged every chunk with its level, download time and buffer, and its stalls
    assert [c.chunk_index for c in run.chunks] == [0, 1, 2, 3, 4]
    assert all(c.download_s > 0 and c.buffer_s > 0 and c.bytes > 0 for c in run.chunks)
    assert run.stalls >= 0 and 0 <= run.stall_s < 3.0 and run.startup_s is not None
    levels = run.levels
    assert levels[0] == 1  # the first chunk at level 1, as in the simulator
    assert levels[1:3].max() >= 2  # up while the link is fast
    assert levels[-1] <= 1  # down after the throughput fell

    # the segment server paced each chunk as its link predicted
    chunk_transfers = [t for t in run.transfers if t["chunk_index"] is not None]
    assert len(chunk_transfers) >= 5
    for t in chunk_transfers:
        took = t["end_s"] - t["start_s"]
        assert took == pytest.approx(t["predicted_s"], rel=0.10, abs=0.05), t

    # and the player agrees with the simulator on the same trace and video
    cmp = compare_with_simulator(
        run.chunks, load_trace(trace_file), load_stream(stream.folder).video(), "robustmpc"
    )
    assert cmp.level_agreement >= 0.8, cmp.summary()
    assert 0.9 <= cmp.download_ratio <= 1.2, cmp.summary()
    assert cmp.sim_levels.tolist() == [1, 3, 3, 0, 0]
