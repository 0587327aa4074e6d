"""Real playback: dash.js in headless chromium plays a reelkit DASH stream through a trace-shaped segment
server, its levels chosen by ``/v1/abr/decide``; the player adapts, and agrees with the simulator.

The trace: 4 Mbps for 2 s, then 0.3 Mbps. The ladder: 100, 250, 500, 1000 kbps, six 4 s segments, of
which the first five are played. robustMPC starts at level 1, climbs to the top while the link is fast, and
drops to the bottom after the throughput falls (the simulator: levels 1, 3, 3, 0, 0). The trace clock is
``busy`` (the simulator's). Tolerances, stated: the player's levels equal the simulator's on at least 4
of the 5 chunks; its total download time is within -10%..+20% of the simulator's for the same levels
(HTTP and browser overhead come on top); each paced transfer is within 10% (+50 ms) of the link's own
prediction. Skips, saying why, without chromium, playwright or dash.js. The rule itself is checked on a
stubbed dash.js too (a failed segment download).
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


def test_a_trained_model_plays_as_it_simulates(tmp_path: Path) -> None:
    """A policy from 'reelkit abr train' could not be played back (the player's decisions used the shipped
    model): trained here on two steady links (one episode; its choices differ from the shipped model's on
    the fast one), it decides the player's levels, which are the simulator's with the same model."""
    _requirements()
    from typer.testing import CliRunner

    from reelkit.cli import app
    from reelkit.stream.abr import make_policy
    from reelkit.stream.abr.sim import simulate

    clip = make_sample_clip(tmp_path / "clip.mp4", duration_s=24, size=(320, 180), audio=False)
    stream = package_dash(clip, tmp_path / "stream", renditions=SMALL_LADDER, preset="ultrafast")
    traces = tmp_path / "traces"
    traces.mkdir()
    for name, mbps in (("fast.txt", 3.0), ("slow.txt", 0.4)):
        (traces / name).write_text(f"0 {mbps}\n1000 {mbps}\n")
    model = tmp_path / "trained.npz"
    train = ["abr", "train", "--traces", str(traces), "--video", str(stream.folder), "-o", str(model)]
    r = CliRunner().invoke(app, [*train, "--episodes", "1", "--epochs", "2", "--members", "1", "--seed", "3"])
    assert r.exit_code == 0, r.output
    video, fast = load_stream(stream.folder).video(), load_trace(traces / "fast.txt")
    mine = simulate(make_policy("fugu", model=model), fast, video).levels.tolist()
    assert mine != simulate(make_policy("fugu"), fast, video).levels.tolist()  # else nothing is shown

    chromium = DEFAULT_CHROMIUM if DEFAULT_CHROMIUM.exists() else Path(str(shutil.which("chromium")))
    run = run_headless_playback(
        stream.folder, traces / "fast.txt", algo="fugu", model=model, chromium=chromium, timeout_s=90
    )
    cmp = compare_with_simulator(run.chunks, fast, video, "fugu", model=model)
    assert run.levels.tolist() == cmp.sim_levels.tolist() == mine[: len(run.chunks)], cmp.summary()


# dash.js stubbed: only the events the rule listens to, fired by hand (no stream, no server)
_STUB_DASHJS = """
window.player = { handlers: {}, updateSettings() {}, addABRCustomRule() {}, initialize() {},
  on(type, f) { this.handlers[type] = f; }, getBufferLength() { return 8; } };
window.dashjs = {
  FactoryMaker: { getClassFactoryByName: () => null, getClassFactory: (c) => c },
  Debug: { LOG_LEVEL_WARNING: 3 },
  MediaPlayer: Object.assign(() => ({ create: () => window.player }),
    { events: { FRAGMENT_LOADING_COMPLETED: "completed", ERROR: "error" } }),
};
"""


def test_a_failed_segment_download_is_an_error_not_a_chunk_played() -> None:
    """dash.js fires FRAGMENT_LOADING_COMPLETED for a failed download too (``e.error``): a 404's 98-byte JSON
    body was logged as a chunk played and sent as the next decision's ``last_chunk_bytes``."""
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="the playwright Python package is not installed"
    )
    if not DEFAULT_CHROMIUM.exists() and shutil.which("chromium") is None:
        pytest.skip("no chromium browser at /usr/bin/chromium (apt-get install chromium)")
    from reelkit.service.testing import CHROMIUM_ARGS

    rule = Path(__file__).resolve().parents[2] / "src/reelkit/service/static/abr_rule.js"
    chromium = DEFAULT_CHROMIUM if DEFAULT_CHROMIUM.exists() else Path(str(shutil.which("chromium")))
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page()
            page.set_content('<video id="v"></video>')
            page.add_script_tag(content=_STUB_DASHJS)
            page.add_script_tag(content=rule.read_text())
            out = page.evaluate(
                """() => {
                const c = ReelkitAbr.start(document.getElementById("v"), {sessionId: "s", stream: "x",
                  algo: "bba", ladderKbps: [100, 250], segmentS: 4, segments: 1, mpd: "", decideUrl: "",
                  logUrl: ""});
                c.errors.length = 0;  // the first decision, with no server to answer it
                const fire = window.player.handlers.completed;
                const request = {mediaType: "video", type: "MediaSegment", index: 0, duration: 4,
                  representation: {id: "1"}, startDate: new Date(0), endDate: new Date(500)};
                fire({request: request, response: new ArrayBuffer(98),
                  error: {code: 28, message: "segment not loaded: HTTP 404"}});
                const failed = {chunks: c.chunks.length, log: c.log.length, errors: c.errors.slice()};
                fire({request: request, response: new ArrayBuffer(5000)});  // the retry loads
                return {failed: failed, chunks: c.chunks};
            }"""
            )
        finally:
            browser.close()
    assert out["failed"] == {
        "chunks": 0,
        "log": 0,
        "errors": ["chunk 0 failed: segment not loaded: HTTP 404"],
    }
    (chunk,) = out["chunks"]
    assert (chunk["chunk_index"], chunk["level"], chunk["bytes"], chunk["download_s"]) == (0, 1, 5000, 0.5)
