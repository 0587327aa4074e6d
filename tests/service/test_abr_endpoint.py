"""The ABR routes of the service: decisions per session, validation, the player log, the shaped server."""

from __future__ import annotations

import json
import re
import shutil
import threading
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("fastapi", reason="the service extra (fastapi, uvicorn, jinja2, httpx) is not installed")

from starlette.exceptions import StarletteDeprecationWarning

with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient

from reelkit.service.app import create_app
from reelkit.service.routers.abr import AbrSession, SessionTable, dashjs_path
from reelkit.service.settings import ServiceSettings

from .test_web_review import _contrast_with_white

LADDER = [300.0, 750.0, 1200.0, 1850.0, 2850.0, 4300.0]


def _settings(data_dir: Path) -> ServiceSettings:
    return ServiceSettings.load(data_dir, environ={}, model_poll_seconds=0, warm_pages=0)


@pytest.fixture
def abr_client(tmp_path: Path) -> Iterator[TestClient]:
    with TestClient(create_app(_settings(tmp_path / "data"))) as c:
        yield c


def _decide(client: TestClient, **kw: object) -> dict[str, object]:
    body: dict[str, object] = {"session_id": "s1", "chunk_index": 0, "ladder_kbps": LADDER, **kw}
    r = client.post("/v1/abr/decide", json=body)
    assert r.status_code == 200, r.text
    out: dict[str, object] = r.json()
    return out


def _feed(client: TestClient, sid: str, mbps: float, start: int, n: int, algo: str = "rate") -> list[int]:
    """Chunks of 4 s at the level last decided, downloaded at ``mbps`` (RTT included), buffer at 20 s."""
    levels = []
    level = 1
    for k in range(start, start + n):
        size = LADDER[level] * 1000 / 8 * 4
        out = _decide(
            client,
            session_id=sid,
            chunk_index=k,
            last_chunk_bytes=size,
            download_s=size * 8 / (mbps * 1e6),
            buffer_s=20.0,
            algo=algo,
        )
        level = int(out["level"])  # type: ignore[call-overload]
        levels.append(level)
    return levels


def test_first_chunk_at_level_one_then_the_policy(abr_client: TestClient) -> None:
    first = _decide(abr_client, algo="rate")
    assert first["level"] == 1 and first["new_session"] is True and first["algo"] == "rate"
    assert first["bitrate_kbps"] == 750.0 and first["decisions"] == 1
    # rate-based: the highest bitrate under the harmonic mean of the measured throughputs
    high = _feed(abr_client, "s1", 10.0, 1, 5)
    assert high[-1] == 5  # 10 Mbps > 4300 kbps
    low = _feed(abr_client, "s1", 0.5, 6, 6)
    assert low[-1] == 0  # 0.5 Mbps < 750 kbps
    info = abr_client.get("/v1/abr/sessions/s1").json()
    assert [d["chunk_index"] for d in info["decisions"]] == list(range(12))
    assert info["algo"] == "rate" and info["ladder_kbps"] == LADDER


def test_sessions_are_independent_and_restart_at_chunk_zero(abr_client: TestClient) -> None:
    _decide(abr_client, session_id="a", algo="rate")
    _decide(abr_client, session_id="b", algo="bba")
    assert _feed(abr_client, "a", 20.0, 1, 5)[-1] == 5
    b = _decide(
        abr_client, session_id="b", chunk_index=1, last_chunk_bytes=375_000, download_s=1.0, buffer_s=4.0
    )
    assert b["algo"] == "bba" and b["new_session"] is False
    # BBA: a 4 s buffer is below its 5 s reservoir, so the lowest level
    assert b["level"] == 0
    again = _decide(abr_client, session_id="a", algo="rate")
    assert again["new_session"] is True and again["decisions"] == 1 and again["level"] == 1
    # another algo for the same session id starts it afresh too
    switched = _decide(
        abr_client, session_id="a", chunk_index=1, algo="bola", last_chunk_bytes=1, download_s=1
    )
    assert switched["new_session"] is True and switched["algo"] == "bola"


def test_another_chunk_length_starts_a_new_session(abr_client: TestClient) -> None:
    """Pins chunk_s as part of a session's identity: the same session asking with 2 s chunks instead of 4 s
    starts anew (its policy's video had 4 s chunks); asking again with 2 s keeps it."""
    _decide(abr_client, session_id="cs", algo="bba", chunk_s=4.0)
    asked = {"session_id": "cs", "algo": "bba", "chunk_index": 1, "buffer_s": 10.0}
    assert _decide(abr_client, chunk_s=4.0, **asked)["new_session"] is False
    assert _decide(abr_client, chunk_s=2.0, **asked)["new_session"] is True
    assert _decide(abr_client, chunk_s=2.0, **asked)["new_session"] is False


def test_buffer_based_policies_need_no_download_time(abr_client: TestClient) -> None:
    for algo in ("bba", "bola"):
        _decide(abr_client, session_id=f"b-{algo}", algo=algo)
        out = _decide(abr_client, session_id=f"b-{algo}", algo=algo, chunk_index=1, buffer_s=12.0)
        assert 0 <= int(out["level"]) < len(LADDER)  # type: ignore[call-overload]


def test_a_session_keeps_its_algorithm_and_zero_bytes_is_a_client_error(abr_client: TestClient) -> None:
    assert _decide(abr_client, session_id="k", algo="bba")["algo"] == "bba"
    # a restart (chunk 0) or a ladder change that names no algorithm keeps the session's
    assert _decide(abr_client, session_id="k")["algo"] == "bba"
    assert _decide(abr_client, session_id="k", ladder_kbps=LADDER[:4])["algo"] == "bba"
    _decide(abr_client, session_id="z", algo="robustmpc")
    body = {
        "session_id": "z",
        "chunk_index": 1,
        "ladder_kbps": LADDER,
        "last_chunk_bytes": 0,
        "download_s": 1.0,
    }
    r = abr_client.post("/v1/abr/decide", json=body)  # a zero throughput divided by zero: a 500, then a 400
    assert r.status_code == 422 and r.json()["fields"] == [
        {"field": "last_chunk_bytes", "message": "last_chunk_bytes must be positive; got 0.0"}
    ]
    # a throughput that underflows to 0 MB/s divided by zero in every throughput-based algo: a 500
    for algo in ("rate", "robustmpc", "fugu"):
        tiny = {
            **body,
            "session_id": f"t{algo}",
            "algo": algo,
            "last_chunk_bytes": 5e-324,
            "download_s": 86400,
        }
        _decide(abr_client, session_id=f"t{algo}", algo=algo)
        r = abr_client.post("/v1/abr/decide", json=tiny)
        assert r.status_code == 422 and r.json()["fields"][0]["field"] == "last_chunk_bytes", r.text
        assert "below the least a throughput predictor takes" in r.text


def test_default_algo_is_listed(abr_client: TestClient) -> None:
    algos = abr_client.get("/v1/abr/algos").json()
    assert {"rate", "bba", "robustmpc"} <= set(algos["algos"])
    out = _decide(abr_client, session_id="d")
    assert out["algo"] == algos["default"]


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"ladder_kbps": [750, 300]}, "ladder_kbps"),
        ({"ladder_kbps": []}, "ladder_kbps"),
        ({"ladder_kbps": [300, -1]}, "ladder_kbps[1]"),  # the rung named (its bounds are in the schema)
        ({"ladder_kbps": [1, 1e308]}, "ladder_kbps[1]"),  # a 400 'chunk sizes must be positive and finite'
        ({"download_s": -1}, "download_s"),
        ({"buffer_s": "lots"}, "buffer_s"),
        ({"chunk_index": -2}, "chunk_index"),
        ({"session_id": "../x"}, "session_id"),
        ({"session_id": None}, "session_id"),
        ({"chunk_s": 0}, "chunk_s"),
    ],
)
def test_invalid_requests_are_422_naming_the_field(
    abr_client: TestClient, patch: dict[str, object], field: str
) -> None:
    body = {"session_id": "v", "chunk_index": 0, "ladder_kbps": LADDER, **patch}
    r = abr_client.post("/v1/abr/decide", json=body)
    assert r.status_code == 422
    err = r.json()
    assert err["error"] == "invalid_request"
    assert field in [f["field"] for f in err["fields"]]


def test_unknown_algo_and_level_and_stream(abr_client: TestClient) -> None:
    r = abr_client.post(
        "/v1/abr/decide", json={"session_id": "u", "chunk_index": 0, "ladder_kbps": LADDER, "algo": "magic"}
    )
    assert r.status_code == 422
    assert r.json()["fields"][0]["field"] == "algo" and "robustmpc" in r.json()["fields"][0]["message"]
    _decide(abr_client, session_id="u", algo="rate")
    r = abr_client.post(
        "/v1/abr/decide",
        json={"session_id": "u", "chunk_index": 1, "ladder_kbps": LADDER, "algo": "rate", "last_level": 9},
    )
    assert r.status_code == 422 and r.json()["fields"][0]["field"] == "last_level"
    r = abr_client.post(
        "/v1/abr/decide", json={"session_id": "u", "chunk_index": 0, "ladder_kbps": LADDER, "stream": "nope"}
    )
    assert r.status_code == 404 and "reelkit abr package" in r.json()["message"]
    assert abr_client.get("/v1/abr/sessions/never").status_code == 404


def test_the_last_chunk_is_decided_and_the_one_past_it_refused(abr_client: TestClient) -> None:
    """Pins the bound on chunk_index: without a stream the video has 1000 chunks, so 999 is its last and
    1000 a 422 naming the field."""
    _decide(abr_client, session_id="end", algo="bba")
    assert _decide(abr_client, session_id="end", algo="bba", chunk_index=999, buffer_s=30.0)["level"] == 5
    r = abr_client.post(
        "/v1/abr/decide",
        json={"session_id": "end", "chunk_index": 1000, "ladder_kbps": LADDER, "algo": "bba", "buffer_s": 30},
    )
    assert r.status_code == 422 and r.json()["fields"][0]["field"] == "chunk_index"


def test_a_session_begun_past_chunk_zero_takes_the_last_level_as_the_start_level(
    abr_client: TestClient,
) -> None:
    """Pins the default last_level of a session first heard of at chunk 1: level 1 (where chunk 0 was
    fetched). robustMPC at 0.3 MB/s with 4 s of buffer plans level 2 from level 1 but 0 from level 0."""
    asked = {"chunk_index": 1, "last_chunk_bytes": 300_000, "download_s": 1.0, "buffer_s": 4.0}
    assert _decide(abr_client, session_id="late", algo="robustmpc", **asked)["level"] == 2
    assert _decide(abr_client, session_id="one", algo="robustmpc", last_level=1, **asked)["level"] == 2
    assert _decide(abr_client, session_id="zero", algo="robustmpc", last_level=0, **asked)["level"] == 0


def test_player_log_round_trip(abr_client: TestClient) -> None:
    _decide(abr_client, session_id="log1", algo="rate")
    events = [
        {"kind": "play", "t_s": 1.2, "stall_s": 1.2},
        {
            "kind": "chunk",
            "t_s": 1.0,
            "chunk_index": 0,
            "level": 1,
            "bytes": 375000,
            "download_s": 0.9,
            "buffer_s": 4,
        },
        {"kind": "stall", "t_s": 9.0},
        {"kind": "resume", "t_s": 10.5, "stall_s": 1.5},
    ]
    r = abr_client.post("/v1/abr/sessions/log1/log", json={"events": events})
    assert r.status_code == 200 and r.json() == {"stored": 4, "total": 4}
    log = abr_client.get("/v1/abr/sessions/log1").json()["log"]
    assert [e["kind"] for e in log] == ["play", "chunk", "stall", "resume"] and log[3]["stall_s"] == 1.5
    bad = abr_client.post("/v1/abr/sessions/log1/log", json={"events": [{"kind": "explode", "t_s": 1}]})
    assert bad.status_code == 422 and bad.json()["fields"][0]["field"].startswith("events[0]")
    assert abr_client.post("/v1/abr/sessions/none/log", json={"events": []}).status_code == 404
    # Infinity was stored and read back as null; a level of 10^23 was stored as sent: the decide bounds
    for field, value in (("bytes", float("inf")), ("level", 10**23), ("level", 32), ("stall_s", 1e9)):
        odd = {"kind": "chunk", "t_s": 1, field: value}
        body = json.dumps({"events": [odd]})  # with Infinity (json.dumps writes it; httpx refuses to)
        r = abr_client.post(
            "/v1/abr/sessions/log1/log", content=body, headers={"content-type": "application/json"}
        )
        assert r.status_code == 422 and r.json()["fields"][0]["field"] == f"events[0].{field}", r.text
    assert len(abr_client.get("/v1/abr/sessions/log1").json()["log"]) == 4


def test_unknown_fields_are_422_naming_them(abr_client: TestClient) -> None:
    """A decision and a player log dropped unknown fields: a misspelled ``bufer_s`` decided on a buffer of 0,
    and a chunk's ``chunkIndex`` and ``lvl`` were stored as ``{"kind": "chunk", "t_s": 1.0}``."""
    _decide(abr_client, session_id="x1", algo="bba")
    r = abr_client.post("/v1/abr/decide", json={"session_id": "x1", "chunk_index": 1, "ladder_kbps": LADDER,
                                                "bufer_s": 30})  # fmt: skip
    assert r.status_code == 422 and [f["field"] for f in r.json()["fields"]] == ["bufer_s"], r.text
    chunk = {"kind": "chunk", "t_s": 1, "chunkIndex": 3, "lvl": 2}
    r = abr_client.post("/v1/abr/sessions/x1/log", json={"events": [chunk]})
    assert r.status_code == 422, r.text
    assert sorted(f["field"] for f in r.json()["fields"]) == ["events[0].chunkIndex", "events[0].lvl"]
    r = abr_client.post("/v1/abr/sessions/x1/log", json={"events": [], "session": "x1"})
    assert r.status_code == 422 and [f["field"] for f in r.json()["fields"]] == ["session"], r.text
    assert abr_client.get("/v1/abr/sessions/x1").json()["log"] == []
    # what the demo page's abr_rule.js sends is taken whole
    sent = {"kind": "chunk", "t_s": 2.5, "chunk_index": 0, "level": 1, "bytes": 375000, "download_s": 0.9,
            "buffer_s": 8.0, "stall_s": 0.0}  # fmt: skip
    assert abr_client.post("/v1/abr/sessions/x1/log", json={"events": [sent]}).status_code == 200
    assert abr_client.get("/v1/abr/sessions/x1").json()["log"] == [{**sent, "bytes": 375000.0}]


def test_session_table_is_bounded_and_expires() -> None:
    table = SessionTable(max_sessions=2, ttl_s=1.0)  # long enough for a loaded machine's pauses

    def s(name: str) -> AbrSession:
        return AbrSession(name, "rate", (300.0,), 4.0, None, policy=None)

    table.put(s("a"))
    table.put(s("b"))
    assert table.get("a") is not None  # a is now the most recently used
    table.put(s("c"))
    assert table.get("b") is None and table.get("a") is not None and len(table) == 2
    time.sleep(1.05)
    assert table.get("a") is None and len(table) == 0


def test_trimming_keeps_each_sessions_newest_share() -> None:
    """Pins trim() by hand: 38 entries over a 20-entry budget in 2 sessions: a share of 10 each, half of
    it decisions and half log; a's 30 decisions keep their newest 5, b's 4 and 4 stay whole."""
    table = SessionTable(max_entries=20)
    a = AbrSession("a", "rate", (300.0,), 4.0, None, policy=None)
    b = AbrSession("b", "rate", (300.0,), 4.0, None, policy=None)
    a.decisions = [{"chunk_index": k} for k in range(30)]
    b.decisions, b.log = [{"chunk_index": k} for k in range(4)], [{"kind": "play"}] * 4
    table.put(a)
    table.put(b)
    table.trim()
    assert [d["chunk_index"] for d in a.decisions] == [25, 26, 27, 28, 29]
    assert len(b.decisions) == 4 and len(b.log) == 4


# ------------------------------------------------------------------------------------------ the stream server
@pytest.fixture(scope="module")
def tiny_stream(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from reelkit.stream.dash import SMALL_LADDER, make_sample_clip, package_dash

    root = tmp_path_factory.mktemp("abr-stream")
    clip = make_sample_clip(root / "clip.mp4", duration_s=8, size=(320, 180), audio=False)
    package_dash(clip, root / "tiny", renditions=SMALL_LADDER[:2], segment_s=4.0, preset="ultrafast")
    return root / "tiny"


@pytest.fixture
def stream_client(tmp_path: Path, tiny_stream: Path) -> Iterator[TestClient]:
    data = tmp_path / "data"
    shutil.copytree(tiny_stream, data / "abr" / "streams" / "tiny")
    (data / "abr" / "traces").mkdir(parents=True)
    (data / "abr" / "traces" / "slow.txt").write_text("0 0.8\n100 0.8\n")
    with TestClient(create_app(_settings(data))) as c:
        yield c


@pytest.mark.media
def test_segments_are_paced_by_the_trace(stream_client: TestClient) -> None:
    listing = stream_client.get("/v1/abr/streams").json()
    assert listing["streams"][0]["name"] == "tiny" and listing["streams"][0]["segments"] == 2
    assert listing["traces"] == ["none", "slow.txt"]
    assert stream_client.get(listing["streams"][0]["mpd"]).status_code == 200
    mpd = stream_client.get("/abr/stream/tiny/slow.txt/p1/manifest.mpd")
    assert (
        mpd.status_code == 200
        and "<MPD" in mpd.text
        and mpd.headers["content-type"].startswith("application/dash+xml")
    )
    assert stream_client.get("/abr/stream/tiny/slow.txt/p1/init-0.m4s").status_code == 200
    _decide(stream_client, session_id="p1", algo="rate", ladder_kbps=[100.0, 250.0], stream="tiny")
    t = time.monotonic()
    seg = stream_client.get("/abr/stream/tiny/slow.txt/p1/chunk-0-00001.m4s")
    took = time.monotonic() - t
    assert seg.status_code == 200 and int(seg.headers["content-length"]) == len(seg.content)
    # 0.8 Mbps x 0.95 payload = 95000 B/s, plus the 80 ms round trip
    expected = 0.08 + len(seg.content) / 95_000
    # never faster than the link; later only by a loaded machine's scheduling (a second pacing would be 2x)
    assert 0.85 * expected - 0.05 <= took <= 1.5 * expected + 0.3, (took, expected)
    info = stream_client.get("/v1/abr/sessions/p1").json()
    (tr,) = info["transfers"]
    assert info["trace"] == "slow.txt" and (tr["chunk_index"], tr["level"], tr["bytes"]) == (
        0,
        0,
        len(seg.content),
    )
    assert tr["predicted_s"] - 0.03 <= tr["end_s"] - tr["start_s"] <= 1.5 * tr["predicted_s"] + 0.3, tr
    # unshaped and bad requests
    fast = stream_client.get("/abr/stream/tiny/none/p1/chunk-1-00002.m4s")
    assert fast.status_code == 200
    assert stream_client.get("/abr/stream/tiny/none/p1/..%2Fstream.json").status_code == 404
    assert stream_client.get("/abr/stream/tiny/none/p1/secret.txt").status_code == 404
    assert stream_client.get("/abr/stream/nope/none/p1/manifest.mpd").status_code == 404
    assert stream_client.get("/abr/stream/tiny/missing.txt/p2/chunk-0-00001.m4s").status_code == 404
    # a decision for a packaged stream must use its ladder
    r = stream_client.post(
        "/v1/abr/decide",
        json={"session_id": "p3", "chunk_index": 0, "ladder_kbps": [1.0, 2.0], "stream": "tiny"},
    )
    assert r.status_code == 422 and r.json()["fields"][0]["field"] == "ladder_kbps"


@pytest.mark.media
def test_demo_page_and_scripts(stream_client: TestClient) -> None:
    page = stream_client.get("/abr/demo?stream=tiny&trace=slow.txt&algo=bba&session=demo1")
    assert page.status_code == 200
    html = page.text
    assert (
        'id="abr-video"' in html
        and "/abr/rule.js" in html
        and "/abr/stream/tiny/slow.txt/demo1/manifest.mpd" in html
    )
    assert "cdn" not in html.lower()
    # the ladder's chips keep white text readable (WCAG AA 4.5:1; level 1 was 4.21:1)
    chips = re.findall(r'<span class="chip" style="background: (hsl\([^)]*\))">', html)
    assert len(chips) == 2 and min(_contrast_with_white(c) for c in chips) >= 4.5
    rule = stream_client.get("/abr/rule.js")
    assert rule.status_code == 200 and "addABRCustomRule" in rule.text and "getSwitchRequest" in rule.text
    js = stream_client.get("/abr/vendor/dash.all.min.js")
    if dashjs_path() is None:
        assert js.status_code == 404 and "vendor_dashjs.sh" in js.json()["message"]
        assert 'id="abr-missing"' in html
    else:
        assert js.status_code == 200 and "dashjs" in js.text[:5000].lower()
    assert stream_client.get("/abr/demo?stream=tiny&algo=magic").status_code == 404
    # a trained model is passed on to the player's decisions; one the decisions could not use is refused
    settings = stream_client.app.state.reelkit.settings  # type: ignore[attr-defined]
    models = Path(settings.data_dir) / "abr" / "models"
    models.mkdir(parents=True)
    import reelkit.stream.abr as abr

    shutil.copyfile(Path(abr.__file__).parent / "models" / "fugu_ttp.npz", models / "mine.npz")
    (models / "junk.npz").write_text("not a model")
    own = stream_client.get("/abr/demo?stream=tiny&algo=fugu&model=mine.npz&session=demo4")
    assert own.status_code == 200 and '"model": "mine.npz"' in own.text and 'id="abr-model"' in own.text
    # the form keeps it (pressing Play to change the trace played the shipped model), and offers the others
    chosen = r'<select name="model" id="abr-model-choice">.*<option value="mine.npz" selected>'
    assert re.search(chosen, own.text, re.S)
    # for an algo that takes no model the choice is off (a disabled select is not sent; it gave a 404)
    plain = stream_client.get("/abr/demo?stream=tiny&algo=bba&session=demo6")
    assert re.search(r'<select name="model" id="abr-model-choice" disabled', plain.text)
    assert '"fugu"' in plain.text and "learned.indexOf(algo.value)" in plain.text
    assert '<option value="junk.npz">' in own.text and '<option value="">shipped' in own.text
    shipped = stream_client.get("/abr/demo?stream=tiny&algo=fugu&model=&session=demo5")  # "shipped"
    assert shipped.status_code == 200 and '"model": null' in shipped.text
    html = {"accept": "text/html"}
    bad = stream_client.get("/abr/demo?stream=tiny&algo=bba&model=mine.npz", headers=html)
    assert bad.status_code == 404 and "bba takes none" in bad.text
    junk = stream_client.get("/abr/demo?stream=tiny&algo=fugu&model=junk.npz", headers=html)  # it played on
    assert (
        junk.status_code == 404 and "not a usable fugu model" in junk.text and "/abr/models/" not in junk.text
    )
    assert stream_client.get("/abr/demo?stream=tiny&algo=fugu&model=..", headers=html).status_code == 404
    alias = stream_client.get("/abr/demo?stream=tiny&algo=rmpc&session=demo2")  # as /v1/abr/decide takes
    assert alias.status_code == 200 and '"algo": "robustmpc"' in alias.text
    assert stream_client.get("/abr/demo?stream=tiny&trace=unknown.txt").status_code == 404
    # a constant rate the segment server refuses is refused by the page too (it played no segment)
    for rate in ("0", "99999"):
        r = stream_client.get(f"/abr/demo?stream=tiny&trace=const-{rate}", headers={"accept": "text/html"})
        assert r.status_code == 404 and "the rate must be in (0, 10000] Mbps" in r.text, rate
    assert stream_client.get("/abr/demo?stream=tiny&trace=const-10000").status_code == 200
    head = stream_client.head("/abr/demo?stream=tiny&trace=slow.txt&session=demo3")  # as GET, no body
    assert head.status_code == 200 and head.content == b""


@pytest.mark.media
def test_sample_stream_is_built_on_first_use(
    abr_client: TestClient, tiny_stream: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import reelkit.service.routers.abr as abr_router

    built, release = threading.Event(), threading.Event()

    def fast_build(folder: Path) -> None:  # the real one encodes 48 s of 720p: a minute
        # held until the test has asked during the build (a 0.2 s sleep finished first on a loaded machine)
        release.wait(30)
        shutil.copytree(tiny_stream, folder)
        built.set()

    monkeypatch.setattr(abr_router, "build_sample_stream", fast_build)
    first = abr_client.get("/abr/demo")
    assert first.status_code == 503 and 'id="abr-building"' in first.text
    # no timed reload of the whole page (a screen reader started again from the top every 5 s): it asks
    assert 'http-equiv="refresh"' not in first.text and 'role="status"' in first.text
    assert "method: 'HEAD'" in first.text
    assert abr_client.get("/abr/stream/sample/none/-/manifest.mpd").status_code == 503
    release.set()
    assert built.wait(30)
    rt = abr_client.app.state.reelkit.extra["abr"]  # type: ignore[attr-defined]
    rt.builder.join(10)
    page = abr_client.get("/abr/demo")
    assert page.status_code == 200 and "/abr/stream/sample/none/" in page.text


def test_a_failed_sample_build_reaches_the_page_that_polls_for_it(
    abr_client: TestClient, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The building page asks with HEAD: that HEAD took the failed build's report, and the page's reload (a
    GET) started a new build, for ever. A HEAD reports it and keeps it; the GET shows it (naming the data
    folder DATA, not the server's path), once."""
    import reelkit.service.routers.abr as abr_router
    from reelkit.errors import ReelkitError

    def failing_build(folder: Path) -> None:
        raise ReelkitError(f"{folder} is a file; remove it")

    monkeypatch.setattr(abr_router, "build_sample_stream", failing_build)
    assert abr_client.get("/abr/demo").status_code == 503
    rt = abr_client.app.state.reelkit.extra["abr"]  # type: ignore[attr-defined]
    rt.builder.join(10)
    assert [abr_client.head("/abr/demo").status_code for _ in range(2)] == [500, 500]
    shown = abr_client.get("/abr/demo", headers={"accept": "text/html"})
    assert shown.status_code == 500 and "DATA/abr/streams/sample is a file" in shown.text
    assert str(tmp_path) not in shown.text
    assert abr_client.get("/abr/demo").status_code == 503  # reported once: the next request tries again


@pytest.mark.parametrize(
    "overrides", [{"web_ui": False}, {"protect_reads": True, "api_token": "s3cret-token"}]
)
def test_demo_page_is_gone_when_pages_are_off(tmp_path: Path, overrides: dict[str, object]) -> None:
    """The dash.js demo page is a web page: off with the pages (a browser cannot send the token)."""
    settings = ServiceSettings.load(
        tmp_path / "data", environ={}, model_poll_seconds=0, warm_pages=0, **overrides
    )
    with TestClient(create_app(settings)) as c:
        r = c.get("/abr/demo")
    assert r.status_code == 404
    assert "turned off" in r.text


def test_a_trained_model_in_the_data_folder_decides_for_a_learned_algo(
    abr_client: TestClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A policy from 'reelkit abr train' could not be played: the decide endpoint (and so the demo page and
    'abr playback') knew only the shipped models. ``model`` names a file in DATA/abr/models for the learned
    algos; a session keeps it, another model starts a new one, and what cannot be used is a 422 naming it."""
    import reelkit.stream.abr as abr

    models = tmp_path / "data" / "abr" / "models"
    models.mkdir(parents=True)
    shipped = Path(abr.__file__).parent / "models" / "fugu_ttp.npz"
    shutil.copyfile(shipped, models / "mine.npz")
    (models / "junk.npz").write_text("not a model")
    made: list[object] = []
    real = abr.make_policy

    def spy(name: str, *, model: object = None) -> object:
        made.append(model)
        return real(name, model=model)  # type: ignore[arg-type]

    monkeypatch.setattr(abr, "make_policy", spy)
    first = _decide(abr_client, algo="fugu", model="mine.npz")
    assert first["new_session"] is True and first["model"] == "mine.npz" and made == [models / "mine.npz"]
    size = LADDER[1] * 1000 / 8 * 4
    step = {"chunk_index": 1, "last_chunk_bytes": size, "download_s": 1.0, "buffer_s": 4.0}
    assert _decide(abr_client, algo="fugu", model="mine.npz", **step)["new_session"] is False
    # a request that names no model keeps the session's, as one naming no algo keeps its algo (it fell back
    # to the shipped model mid-playback), also across a restart at chunk 0; another algo drops it
    kept = _decide(abr_client, **{**step, "chunk_index": 2})
    assert kept["new_session"] is False and kept["model"] == "mine.npz"
    restart = _decide(abr_client, algo="fugu")
    assert (
        restart["new_session"] is True and restart["model"] == "mine.npz" and made[-1] == models / "mine.npz"
    )
    other = _decide(abr_client, algo="rate", **step)
    assert other["new_session"] is True and other["model"] is None and made[-1] is None
    assert abr_client.get("/v1/abr/sessions/s1").json()["model"] is None
    _decide(abr_client, session_id="s3", algo="fugu", model="mine.npz")
    assert abr_client.get("/v1/abr/sessions/s3").json()["model"] == "mine.npz"
    assert abr_client.get("/v1/abr/streams").json()["models"] == ["junk.npz", "mine.npz"]
    for model, algo, message in (
        ("mine.npz", "rate", "model 'mine.npz': rate takes none (the learned algos do: fugu, best)"),
        (
            "nope.npz",
            "fugu",
            "no model 'nope.npz': put a file from 'reelkit abr train -o' in DATA/abr/models",
        ),
        # the server's own file: said without its path (a damaged trace or stream is too)
        ("junk.npz", "fugu", "model 'junk.npz' is not a usable fugu model on the server; retrain it"),
        ("../mine.npz", "fugu", "String should match pattern"),
    ):
        body = {"session_id": "s2", "chunk_index": 0, "ladder_kbps": LADDER, "algo": algo, "model": model}
        r = abr_client.post("/v1/abr/decide", json=body)
        assert r.status_code == 422 and message in r.text, r.text
        assert r.json()["fields"][0]["field"] == "model", r.text
        assert str(tmp_path) not in r.text


def test_an_mpc_over_a_long_ladder_is_refused_not_enumerated(abr_client: TestClient) -> None:
    """24 rungs: 24^5 = 8M plans per decision took the server from 280 MB to 1.3 GB (32 rungs: ~5 GB)."""
    body = {"session_id": "big", "chunk_index": 0, "algo": "robustmpc",
            "ladder_kbps": [300.0 * i for i in range(1, 25)]}  # fmt: skip
    r = abr_client.post("/v1/abr/decide", json=body)
    assert 400 <= r.status_code < 500, r.text
    assert "at most 16 levels" in r.text
    ok = abr_client.post("/v1/abr/decide", json=body | {"ladder_kbps": [300.0 * i for i in range(1, 17)]})
    assert ok.status_code == 200, ok.text


def test_algorithm_aliases_work_as_in_simulate_and_keep_the_session(abr_client: TestClient) -> None:
    ladder = [300.0, 750.0, 1200.0]
    first = abr_client.post("/v1/abr/decide", json={"session_id": "al", "chunk_index": 0, "algo": "RMPC",
                                                    "ladder_kbps": ladder})  # fmt: skip
    assert first.status_code == 200, first.text
    for k in range(1, 4):  # the alias names the session's policy: no restart at every chunk
        body = {"session_id": "al", "chunk_index": k, "algo": "rmpc", "ladder_kbps": ladder,
                "download_s": 1.0, "last_chunk_bytes": 400_000.0, "buffer_s": 8.0}  # fmt: skip
        r = abr_client.post("/v1/abr/decide", json=body)
        assert r.status_code == 200, r.text
    log = abr_client.get("/v1/abr/sessions/al").json()
    assert log["algo"] == "robustmpc" and len(log["decisions"]) == 4


def test_a_missing_download_time_is_named_as_the_api_names_it(abr_client: TestClient) -> None:
    ladder = [300.0, 750.0, 1200.0]
    abr_client.post("/v1/abr/decide", json={"session_id": "dl", "chunk_index": 0, "algo": "robustmpc",
                                            "ladder_kbps": ladder})  # fmt: skip
    r = abr_client.post("/v1/abr/decide", json={"session_id": "dl", "chunk_index": 1, "ladder_kbps": ladder,
                                                "last_chunk_bytes": 100_000.0})  # fmt: skip
    # a 400 with no field named; a misspelled field was taken as this one missing; it was not sent, so the
    # message is not "download_s must be positive; got 0.0"
    assert r.status_code == 422 and r.json()["fields"] == [
        {
            "field": "download_s",
            "message": "download_s is needed by robustmpc from chunk_index 1 on; it was not sent",
        }
    ]
    assert "last_download_s" not in r.text
    r = abr_client.post("/v1/abr/decide", json={"session_id": "dl", "chunk_index": 1, "ladder_kbps": ladder,
                                                "last_chunk_bytes": 100_000.0, "download_s": 0})  # fmt: skip
    assert r.json()["fields"] == [{"field": "download_s", "message": "download_s must be positive; got 0.0"}]


@pytest.mark.media
def test_a_paced_fetch_before_any_decision_serves_the_stream_the_url_names(
    stream_client: TestClient, tiny_stream: Path, tmp_path: Path
) -> None:
    """The session the segment server starts was named by stream.json's name: a renamed folder said 'no
    stream', and a packaged name that is not a URL name ('My Stream') was a 500."""
    import json

    streams = tmp_path / "data" / "abr" / "streams"  # stream_client's
    shutil.copytree(tiny_stream, streams / "renamed")
    shutil.copytree(tiny_stream, streams / "spaced")
    doc = json.loads((streams / "spaced" / "stream.json").read_text())
    (streams / "spaced" / "stream.json").write_text(json.dumps(doc | {"name": "My Stream"}))
    for name in ("renamed", "spaced"):
        r = stream_client.get(f"/abr/stream/{name}/const-100/x-{name}/chunk-0-00001.m4s")
        assert r.status_code == 200, r.text
        assert stream_client.get(f"/v1/abr/sessions/x-{name}").json()["stream"] == name
    bad = stream_client.get("/abr/stream/renamed/doesnotexist/x-bad/chunk-0-00001.m4s")
    assert bad.status_code == 404 and "no trace 'doesnotexist'" in bad.json()["message"]


@pytest.mark.media
def test_a_trace_named_none_something_is_a_trace(stream_client: TestClient, tmp_path: Path) -> None:
    """Any trace whose name started with 'none' was served unshaped: a file nonet.txt, and an unknown
    'nonexistent' (200 instead of 404)."""
    (tmp_path / "data" / "abr" / "traces" / "nonet.txt").write_text("0 100\n100 100\n")
    r = stream_client.get("/abr/stream/tiny/nonet.txt/n1/chunk-0-00001.m4s")
    assert r.status_code == 200
    (tr,) = stream_client.get("/v1/abr/sessions/n1").json()["transfers"]
    assert tr["file"] == "chunk-0-00001.m4s" and tr["bytes"] == len(r.content)
    missing = stream_client.get("/abr/stream/tiny/nonexistent/n2/chunk-0-00001.m4s")
    assert missing.status_code == 404 and "no trace 'nonexistent'" in missing.json()["message"]
    for unshaped in ("none", "none~busy"):
        assert stream_client.get(f"/abr/stream/tiny/{unshaped}/n3/chunk-0-00001.m4s").status_code == 200
    assert stream_client.get("/v1/abr/sessions/n3").status_code == 404  # no session for unshaped fetches


@pytest.mark.media
def test_a_busy_trace_clock_runs_only_while_payload_moves(stream_client: TestClient) -> None:
    """Pins '<trace>~busy': the first transfer starts at trace 0 (not after its 80 ms round trip, as on
    wall time) and the second where the first's payload ended (its predicted time less the RTT)."""
    for file in ("chunk-0-00001.m4s", "chunk-1-00002.m4s"):
        assert stream_client.get(f"/abr/stream/tiny/const-1~busy/bz/{file}").status_code == 200
    first, second = stream_client.get("/v1/abr/sessions/bz").json()["transfers"]
    assert first["trace_start_s"] == 0.0
    assert second["trace_start_s"] == pytest.approx(first["predicted_s"] - 0.08)
    assert stream_client.get("/abr/stream/tiny/const-1~wall/wl/chunk-0-00001.m4s").status_code == 200
    (wall,) = stream_client.get("/v1/abr/sessions/wl").json()["transfers"]
    assert wall["trace_start_s"] >= 0.08


@pytest.mark.media
def test_a_restarted_session_keeps_its_link(stream_client: TestClient) -> None:
    """Pins the network belonging to the session id: a decision at chunk 0 after a paced fetch starts a new
    policy but keeps the link, its trace and its logged transfer."""
    assert stream_client.get("/abr/stream/tiny/const-100/rs/chunk-0-00001.m4s").status_code == 200
    assert _decide(stream_client, session_id="rs", ladder_kbps=[100.0, 250.0], stream="tiny")["new_session"]
    info = stream_client.get("/v1/abr/sessions/rs").json()
    assert info["trace"] == "const-100" and [t["file"] for t in info["transfers"]] == ["chunk-0-00001.m4s"]


@pytest.mark.media
def test_a_constant_trace_of_10000_mbps_is_the_highest_served(stream_client: TestClient) -> None:
    """Pins the const-<Mbps> bound as inclusive: const-10000 is served, const-10000.5 is a 404."""
    assert stream_client.get("/abr/stream/tiny/const-10000/top/chunk-0-00001.m4s").status_code == 200
    r = stream_client.get("/abr/stream/tiny/const-10000.5/top2/chunk-0-00001.m4s")
    assert r.status_code == 404 and "(0, 10000] Mbps" in r.json()["message"]


@pytest.mark.media
def test_audio_segments_are_no_video_level(tmp_path: Path) -> None:
    """With --audio the audio Representation (id 2 after two rungs) went through the session's link and
    was logged as level 2, so a player's link carried more than the simulator's and its levels differed."""
    from reelkit.stream.dash import SMALL_LADDER, make_sample_clip, package_dash

    data = tmp_path / "data"
    clip = make_sample_clip(tmp_path / "clip.mp4", duration_s=4, size=(192, 108))  # both rungs
    package_dash(clip, data / "abr" / "streams" / "av", renditions=SMALL_LADDER[:2], audio=True,
                 preset="ultrafast")  # fmt: skip
    with TestClient(create_app(_settings(data))) as c:
        for file in ("chunk-2-00001.m4s", "chunk-1-00001.m4s"):
            assert c.get(f"/abr/stream/av/const-100/au/{file}").status_code == 200
        transfers = c.get("/v1/abr/sessions/au").json()["transfers"]
        assert [(t["file"], t["level"]) for t in transfers] == [("chunk-1-00001.m4s", 1)]
        # the audio's segments are audio/mp4, stream.json is JSON (all were video/mp4); HEAD was a 405
        for file, kind in (("chunk-2-00001.m4s", "audio/mp4"), ("init-2.m4s", "audio/mp4"),
                           ("init-0.m4s", "video/mp4"), ("chunk-0-00001.m4s", "video/mp4"),
                           ("stream.json", "application/json")):  # fmt: skip
            r = c.get(f"/abr/stream/av/none/-/{file}")
            assert r.status_code == 200 and r.headers["content-type"] == kind, (file, r.headers)
        head = c.head("/abr/stream/av/const-100/au/chunk-0-00001.m4s")
        assert head.status_code == 200 and head.headers["content-type"] == "video/mp4" and not head.content
        size = (data / "abr" / "streams" / "av" / "chunk-0-00001.m4s").stat().st_size
        assert int(head.headers["content-length"]) == size
        assert len(c.get("/v1/abr/sessions/au").json()["transfers"]) == 1  # a HEAD moves nothing


@pytest.mark.media
def test_a_damaged_trace_is_a_server_error_without_its_path(
    stream_client: TestClient, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A trace file that does not parse ('0 abc') was a 400 bad_request naming the server's absolute path,
    and the demo page played it until the first segment failed."""
    (tmp_path / "data" / "abr" / "traces" / "bad.txt").write_text("0 abc\n")
    _decide(stream_client, session_id="bt", algo="rate", ladder_kbps=[100.0, 250.0], stream="tiny")
    with caplog.at_level("ERROR"):
        for r in (
            stream_client.get("/abr/stream/tiny/bad.txt/bt/chunk-0-00001.m4s"),
            stream_client.get("/abr/demo?stream=tiny&trace=bad.txt&session=bt2"),
        ):
            assert r.status_code == 500, r.text
            assert "trace 'bad.txt' is damaged on the server" in r.json()["message"], r.text
            assert str(tmp_path) not in r.text
    assert str(tmp_path / "data" / "abr" / "traces" / "bad.txt") in caplog.text  # the log keeps it


@pytest.mark.media
def test_a_damaged_stream_is_a_server_error_without_its_path(
    stream_client: TestClient, tmp_path: Path
) -> None:
    """A corrupt stream.json was a 400 bad_request (the client's fault) naming the server's absolute path."""
    streams = tmp_path / "data" / "abr" / "streams"
    shutil.copytree(streams / "tiny", streams / "broken")
    (streams / "broken" / "stream.json").write_text("{not json")
    for r in (
        stream_client.get("/abr/stream/broken/none/-/manifest.mpd"),
        stream_client.post("/v1/abr/decide", json={"session_id": "b", "chunk_index": 0,
                                                   "ladder_kbps": [100.0, 250.0], "stream": "broken"}),
    ):  # fmt: skip
        assert r.status_code == 500 and "'broken' is damaged on the server" in r.json()["message"], r.text
        assert str(tmp_path) not in r.text
    assert [s["name"] for s in stream_client.get("/v1/abr/streams").json()["streams"]] == ["tiny"]


def test_openapi_says_what_the_stream_files_are_answered_with(abr_client: TestClient) -> None:
    """The stream's files were documented as an empty JSON body and a 422 only; they are an MPD, video and
    audio segments or stream.json, and 404, 409 (a paced session on a server of several processes), 500
    (damaged on the server) and 503 (with Retry-After)."""
    ops = abr_client.get("/openapi.json").json()["paths"]["/abr/stream/{stream}/{trace}/{session_id}/{file}"]
    error = {"$ref": "#/components/schemas/ErrorBody"}
    for method in ("get", "head"):
        resp = ops[method]["responses"]
        assert sorted(resp) == ["200", "206", "304", "400", "404", "409", "416", "422", "500", "503"]
        kinds = resp["200"]["content"]
        assert sorted(kinds) == ["application/dash+xml", "application/json", "audio/mp4", "video/mp4"]
        assert kinds["video/mp4"]["schema"] == {"type": "string", "format": "binary"}
        ours = ("404", "409", "422", "500", "503")  # Starlette's range answers (400, 416) are plain text
        assert all(resp[code]["content"] == {"application/json": {"schema": error}} for code in ours)
        assert "content" not in resp["304"] and list(resp["416"]["content"]) == ["text/plain"]
        assert resp["503"]["headers"]["Retry-After"]["schema"] == {"type": "integer"}
    missing = abr_client.get("/abr/stream/nothing/none/-/manifest.mpd")
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"


@pytest.mark.media
def test_stream_files_answer_preconditions_and_a_paced_heads_headers_are_its_gets(
    stream_client: TestClient,
) -> None:
    """The ETag just sent came back in If-None-Match and got the whole file again (RFC 9110 13.1.2: an origin
    server evaluates it); a HEAD of a paced segment said Accept-Ranges and an ETag while its GET ignores
    Range and sends neither. Unpaced files keep their ranges (206, 416)."""
    url = "/abr/stream/tiny/none/-/chunk-0-00001.m4s"
    first = stream_client.get(url)
    etag, modified = first.headers["etag"], first.headers["last-modified"]
    assert first.status_code == 200 and first.headers["accept-ranges"] == "bytes"
    for headers in ({"If-None-Match": etag}, {"If-None-Match": f'"x", W/{etag}'}, {"If-None-Match": "*"},
                    {"If-Modified-Since": modified}):  # fmt: skip
        again = stream_client.get(url, headers=headers)
        assert again.status_code == 304 and not again.content and again.headers["etag"] == etag, headers
    assert stream_client.get(url, headers={"If-None-Match": '"other"'}).status_code == 200
    assert stream_client.get(url, headers={"If-Modified-Since": "Mon, 01 Jan 2001 00:00:00 GMT"}).content
    assert stream_client.get(url, headers={"If-Modified-Since": "junk"}).status_code == 200
    part = stream_client.get(url, headers={"Range": "bytes=0-9"})
    assert part.status_code == 206 and len(part.content) == 10
    assert stream_client.get(url, headers={"Range": "bytes=99999999-"}).status_code == 416
    _decide(stream_client, session_id="ph", algo="rate", ladder_kbps=[100.0, 250.0], stream="tiny")
    paced = "/abr/stream/tiny/const-100/ph/chunk-0-00001.m4s"
    head = stream_client.head(paced)
    get = stream_client.get(paced, headers={"Range": "bytes=0-9"})
    assert get.status_code == 200 and len(get.content) == int(head.headers["content-length"])
    for name in ("accept-ranges", "etag", "last-modified"):
        assert name not in head.headers and name not in get.headers, name
    for trace in ("nosuch.txt", "const-0", "const-abc"):  # a HEAD answers as its GET does: 200 was any
        bad = f"/abr/stream/tiny/{trace}/ph/chunk-0-00001.m4s"
        assert stream_client.head(bad).status_code == stream_client.get(bad).status_code == 404, trace
    # an If-Modified-Since in any of HTTP's three date forms (asctime has no zone: GMT)
    for since in (
        "Sun, 06 Nov 2094 08:49:37 GMT",
        "Thursday, 06-Nov-36 08:49:37 GMT",
        "Sun Nov  6 08:49:37 2094",
    ):
        assert stream_client.get(url, headers={"If-Modified-Since": since}).status_code == 304, since
    spec = stream_client.get("/openapi.json").json()["paths"][
        "/abr/stream/{stream}/{trace}/{session_id}/{file}"
    ]["get"]["responses"]
    assert {"206", "304", "400", "416"} <= set(spec)


def test_decide_says_what_the_client_sent_and_its_schema_says_the_rungs_bounds(
    abr_client: TestClient,
) -> None:
    """A first decision at chunk 1 with a 1e-300 kbps rung was a 400 blaming "last_chunk_bytes (5e-298) over
    last_download_s (1)", neither sent (the warm-up's own measurement); a download time never sent was
    "download_s must be positive; got 0.0". The rungs' bounds were checked but not in the schema."""
    body = {"session_id": "w1", "chunk_index": 1, "ladder_kbps": [1e-300, 750], "algo": "rate"}
    r = abr_client.post("/v1/abr/decide", json={**body, "last_chunk_bytes": 50_000})
    assert r.status_code == 422 and r.json()["fields"] == [
        {
            "field": "download_s",
            "message": "download_s is needed by rate from chunk_index 1 on; it was not sent",
        }
    ]
    r = abr_client.post("/v1/abr/decide", json={**body, "last_chunk_bytes": 50_000, "download_s": 1.0})
    assert r.status_code == 200, r.text
    spec = abr_client.get("/openapi.json").json()["components"]["schemas"]
    for model in ("DecideRequest", "AdviceRequest"):
        ladder = spec[model]["properties"]["ladder_kbps"]
        items = ladder["items"] if "items" in ladder else ladder["anyOf"][0]["items"]
        assert (items["exclusiveMinimum"], items["maximum"]) == (0, 100_000), model
        assert "strictly ascending" in ladder["description"]


def test_an_unknown_stream_and_a_misspelt_constant_trace_are_said_as_such(stream_client: TestClient) -> None:
    """ "no such file 'a' in stream 'x'" for a stream x that does not exist; const-1e-9 was told to put a
    cooked trace file in DATA/abr/traces."""
    r = stream_client.get("/abr/stream/x/none/s1/a")
    assert r.status_code == 404 and "no stream 'x'" in r.json()["message"], r.text
    r = stream_client.get("/abr/stream/tiny/none/s1/a")
    assert r.status_code == 404 and "no such file 'a' in stream 'tiny'" in r.json()["message"]
    r = stream_client.get("/abr/stream/tiny/const-1e-9/s1/chunk-0-00001.m4s")
    assert r.status_code == 404 and "write the rate as const-<Mbps>" in r.json()["message"], r.text


@pytest.mark.media
def test_a_stream_a_killed_packaging_left_beside_is_served_again(
    stream_client: TestClient, tmp_path: Path
) -> None:
    """Where the system has no one-step exchange, a re-packaging killed between its two renames leaves the
    complete old folder as .NAME.old-PID: the service put it back nowhere (404, and missing from the list),
    though a library reader does. It lists and serves it again, as it was."""
    import subprocess
    import sys

    streams = tmp_path / "data" / "abr" / "streams"
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()  # the killed packaging
    (streams / "tiny").rename(streams / f".tiny.old-{gone.pid}")
    assert [s["name"] for s in stream_client.get("/v1/abr/streams").json()["streams"]] == ["tiny"]
    assert (streams / "tiny" / "stream.json").is_file() and not list(streams.glob(".tiny.old-*"))
    (streams / "tiny").rename(streams / f".tiny.old-{gone.pid}")  # and by a request for one of its files
    assert stream_client.get("/abr/stream/tiny/none/-/manifest.mpd").status_code == 200
