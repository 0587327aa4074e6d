"""The QC page and API of the service: upload, report, limits, temporary files removed."""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from fastapi.testclient import TestClient

from reelkit.service.routers import post as post_router

RATE = 16000


def wav_bytes(seconds: float = 4.0, clip: bool = True) -> bytes:
    rng = np.random.default_rng(0)
    x = (0.05 * rng.standard_normal((int(seconds * RATE), 2))).astype(np.float32)
    if clip:
        x[RATE : RATE + 4, 0] = 1.0
    buf = io.BytesIO()
    sf.write(buf, x, RATE, format="WAV", subtype="PCM_16")
    return buf.getvalue()


@pytest.fixture
def made_dirs(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Records the temporary folders the router makes, to check that they are gone afterwards."""
    made: list[Path] = []
    real = tempfile.mkdtemp

    def spy(*args: object, **kwargs: object) -> str:
        path = real(*args, **kwargs)  # type: ignore[arg-type]
        made.append(Path(path))
        return path

    monkeypatch.setattr(post_router.tempfile, "mkdtemp", spy)
    return made


def test_form_page(client: TestClient) -> None:
    r = client.get("/qc")
    assert r.status_code == 200
    assert 'enctype="multipart/form-data"' in r.text and 'name="media"' in r.text
    assert "EBU R128" in r.text and "Netflix" in r.text


def test_upload_shows_report(client: TestClient, made_dirs: list[Path]) -> None:
    r = client.post(
        "/qc",
        files={"media": ("mix.wav", wav_bytes(), "audio/wav")},
        data={"spec": "ebu-r128"},
    )
    assert r.status_code == 200, r.text
    assert 'id="qc-verdict"' in r.text and "FAIL" in r.text
    assert "clipping" in r.text and "00:00:01.000" in r.text
    assert "data:image/png;base64," in r.text and "mix.wav" in r.text
    assert made_dirs and not any(d.exists() for d in made_dirs)


def test_api_json(client: TestClient, made_dirs: list[Path]) -> None:
    srt = b"1\n00:00:00,500 --> 00:00:02,000\nHello.\n\n2\n00:00:01,500 --> 00:00:03,000\nOverlap.\n"
    r = client.post(
        "/v1/qc",
        files={"media": ("mix.wav", wav_bytes(), "audio/wav"), "subs": ("mix.srt", srt, "text/plain")},
        data={"spec": "atsc-a85"},
    )
    assert r.status_code == 200, r.text
    data = r.json()
    assert data["media"] == "mix.wav" and data["subs"] == "mix.srt"
    assert data["spec"]["name"] == "atsc-a85" and data["passed"] is False
    kinds = {f["kind"] for f in data["findings"]}
    assert {"clipping", "loudness"} <= kinds
    assert all("timecode" in f for f in data["findings"])
    # the document is what the schema declares, field for field (its models take no field they do not name)
    report = post_router.QcOut.model_validate(data)
    assert report.loudness.channels == 2 and report.counts["error"] >= 2
    assert not any(d.exists() for d in made_dirs)
    # a note quoting the subtitles' path named the server's temporary folder
    one = b"1\n00:00:00,500 --> 00:00:02,000\nHello.\n"
    r = client.post(
        "/v1/qc",
        files={"media": ("mix.wav", wav_bytes(), "audio/wav"), "subs": ("one.srt", one, "text/plain")},
        data={"spec": "netflix"},
    )
    notes = r.json()["notes"]
    assert any(n.startswith("subtitle sync check failed: one.srt: ") for n in notes), notes
    assert "reelkit-qc-" not in r.text


def test_bad_uploads(client: TestClient, made_dirs: list[Path]) -> None:
    r = client.post("/v1/qc", files={"media": ("x.wav", wav_bytes(1.0), "audio/wav")}, data={"spec": "bbc"})
    assert r.status_code == 400 and "unknown delivery spec" in r.json()["message"]
    r = client.post("/v1/qc", files={"media": ("x.wav", b"", "audio/wav")})
    assert r.status_code == 422
    r = client.post("/v1/qc", files={"media": ("x.wav", b"not audio" * 100, "audio/wav")})
    assert r.status_code == 400 and "x.wav" in r.json()["message"]
    assert "reelkit-qc-" not in r.json()["message"]  # the temporary folder is not leaked
    r = client.post("/qc", files={"media": ("x.txt", b"not audio" * 100, "text/plain")})
    assert r.status_code == 400 and 'id="qc-error"' in r.text
    r = client.post("/v1/qc")
    assert r.status_code == 422
    # an empty file on the form (media or subtitles) gets the form back, saying so, with the spec kept (it
    # got the generic error page)
    for files in (
        {"media": ("empty.wav", b"", "audio/wav")},
        {"media": ("x.wav", wav_bytes(1.0), "audio/wav"), "subs": ("empty.srt", b"", "text/plain")},
    ):
        r = client.post("/qc", files=files, data={"spec": "atsc-a85"})
        assert r.status_code == 422 and 'class="qc-form"' in r.text
        name = files["subs" if "subs" in files else "media"][0]
        assert f'<p class="qc-error" id="qc-error">the uploaded file &#39;{name}&#39; is empty</p>' in r.text
        assert '<option value="atsc-a85" selected>' in r.text
    assert not any(d.exists() for d in made_dirs)


def test_upload_limit(client: TestClient, monkeypatch: pytest.MonkeyPatch, made_dirs: list[Path]) -> None:
    monkeypatch.setattr(post_router, "MAX_UPLOAD_BYTES", 10_000)
    r = client.post("/v1/qc", files={"media": ("big.wav", wav_bytes(2.0), "audio/wav")})
    assert r.status_code == 413 and "too large" in r.json()["message"]
    assert not any(d.exists() for d in made_dirs)


def test_an_upload_of_exactly_the_limit_is_taken(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, made_dirs: list[Path]
) -> None:
    """'at most N bytes': an upload of N bytes is checked, one of N + 1 is refused with 413."""
    media = wav_bytes(1.0)
    monkeypatch.setattr(post_router, "MAX_UPLOAD_BYTES", len(media))
    r = client.post("/v1/qc", files={"media": ("a.wav", media, "audio/wav")})
    assert r.status_code == 200, r.text
    monkeypatch.setattr(post_router, "MAX_UPLOAD_BYTES", len(media) - 1)
    r = client.post("/v1/qc", files={"media": ("a.wav", media, "audio/wav")})
    assert r.status_code == 413, r.text
    assert not any(d.exists() for d in made_dirs)


def test_upload_names_are_confined_and_do_not_collide(client: TestClient, made_dirs: list[Path]) -> None:
    srt = b"1\n00:00:00,500 --> 00:00:02,000\nHello.\n"
    # the same (hostile) name for both parts: each lands in its own folder inside the temporary one
    r = client.post(
        "/v1/qc",
        files={"media": ("../../take", wav_bytes(), "audio/wav"), "subs": ("../take", srt, "text/plain")},
    )
    assert r.status_code == 200, r.text
    assert {"clipping", "loudness"} <= {f["kind"] for f in r.json()["findings"]}
    assert not any(d.exists() for d in made_dirs)
    assert post_router._safe_name("../../etc/passwd", "x") == "passwd"
    assert post_router._safe_name("..", "media.bin") == "media.bin"
    assert post_router._safe_name("ünï cødé.wav", "x") == "n_c_d_.wav"


def test_a_long_upload_name_keeps_its_end_and_extension() -> None:
    """Names are cut to their last 100 characters: the extension the decoders look at stays."""
    name = "a" * 150 + "_take2.wav"
    assert post_router._safe_name(name, "x") == name[-100:]


def test_uploads_take_the_upload_limit_not_the_json_limit(tmp_path: Path) -> None:
    """The app's JSON body limit (``max_body_bytes``) is small; a QC upload above it but below
    ``max_upload_bytes`` is taken, and one above that is refused with 413."""
    from reelkit.service.app import create_app
    from reelkit.service.settings import ServiceSettings

    media = wav_bytes(2.0)  # about 128 kB
    small_json = {"max_body_bytes": 20_000, "model_poll_seconds": 0, "warm_pages": 0}
    settings = ServiceSettings.load(tmp_path / "a", environ={}, max_upload_bytes=10_000_000, **small_json)
    with TestClient(create_app(settings)) as c:
        r = c.post("/v1/qc", files={"media": ("a.wav", media, "audio/wav")})
        assert r.status_code == 200, r.text
    settings = ServiceSettings.load(tmp_path / "b", environ={}, max_upload_bytes=50_000, **small_json)
    with TestClient(create_app(settings)) as c:
        r = c.post("/v1/qc", files={"media": ("a.wav", media, "audio/wav")})
        assert r.status_code == 413, r.text


def test_the_form_states_the_upload_limit_in_mib(tmp_path: Path) -> None:
    """The page says 'up to N MiB' from max_upload_bytes: 50 MiB (52,428,800 bytes) is 50, not 52."""
    from reelkit.service.app import create_app
    from reelkit.service.settings import ServiceSettings

    settings = ServiceSettings.load(
        tmp_path, environ={}, max_upload_bytes=50 * 1024**2, model_poll_seconds=0, warm_pages=0
    )
    with TestClient(create_app(settings)) as c:
        r = c.get("/qc")
    assert r.status_code == 200 and "up to 50 MiB" in r.text


def test_playlists_are_refused_before_ffmpeg_opens_what_they_name(
    client: TestClient, tmp_path: Path, made_dirs: list[Path]
) -> None:
    """An HLS playlist naming a file on the server would make ffmpeg open it (and tell whether it exists)."""
    target = tmp_path / "private.wav"
    target.write_bytes(wav_bytes(1.0))
    playlists = [
        f"#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\n{target}\n#EXT-X-ENDLIST\n",
        f"\ufeff  ffconcat version 1.0\nfile {target}\n",
        '<?xml version="1.0"?><MPD xmlns="urn:mpeg:dash:schema:mpd:2011"></MPD>',
    ]
    for text in playlists:
        r = client.post("/v1/qc", files={"media": ("q.m3u8", text.encode(), "application/vnd.apple.mpegurl")})
        assert r.status_code == 400 and "playlists and manifests" in r.json()["message"], r.text
    assert not any(d.exists() for d in made_dirs)
    # a manifest whose first bytes are a comment passed that test, and ffmpeg read the server's file it
    # named (a 200 with its loudness): ffmpeg itself now reads an upload as media containers only
    from reelkit.media import run_ffmpeg

    clip = tmp_path / "private.mp4"
    run_ffmpeg(["-v", "error", "-f", "lavfi", "-i", "sine=d=2", "-c:a", "aac", str(clip)])
    manifest = (
        '<!-- c --><MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static" mediaPresentationDuration="PT2S" '
        'profiles="urn:mpeg:dash:profile:isoff-on-demand:2011" minBufferTime="PT1S"><Period>'
        '<AdaptationSet mimeType="audio/mp4"><Representation id="a" '
        f'bandwidth="64000" codecs="mp4a.40.2"><BaseURL>{clip}</BaseURL></Representation></AdaptationSet>'
        "</Period></MPD>"
    )
    r = client.post("/v1/qc", files={"media": ("upload.mp4", manifest.encode(), "video/mp4")})
    assert r.status_code in (400, 422) and "integrated_lufs" not in r.text, r.text


def test_uploads_that_decode_to_too_much_audio_are_refused(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, made_dirs: list[Path]
) -> None:
    """A 1 s stereo 16 kHz WAV decodes to 128 kB of float32: over a 100 kB cap it is refused from its
    header, before anything is decoded; the real cap (2 GiB) takes it."""
    monkeypatch.setattr(post_router, "MAX_DECODED_BYTES", 100_000)
    r = client.post("/v1/qc", files={"media": ("a.wav", wav_bytes(1.0), "audio/wav")})
    assert r.status_code == 400 and "decodes to about" in r.json()["message"], r.text
    monkeypatch.setattr(post_router, "MAX_DECODED_BYTES", 2 * 1024**3)
    r = client.post("/v1/qc", files={"media": ("a.wav", wav_bytes(1.0), "audio/wav")})
    assert r.status_code == 200, r.text
    assert not any(d.exists() for d in made_dirs)


def test_openapi_documents_the_error_bodies(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    ref = {"$ref": "#/components/schemas/ErrorBody"}
    qc = paths["/v1/qc"]["post"]["responses"]
    for code in ("400", "413", "422"):
        assert qc[code]["content"]["application/json"]["schema"] == ref, code
    assert qc["200"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/QcOut"}
    advice = paths["/v1/download-advice"]["post"]["responses"]
    assert advice["400"]["content"]["application/json"]["schema"] == ref


@pytest.mark.media
def test_a_qc_past_the_time_limit_is_stopped(tmp_path: Path) -> None:
    """Every ffmpeg run of one QC upload ends within ``qc_time_limit_s`` in all: a file that would hold a
    worker longer is stopped with a message (here a limit far too short for any ffmpeg run)."""
    from reelkit.media import run_ffmpeg
    from reelkit.service.app import create_app
    from reelkit.service.settings import ServiceSettings

    clip = tmp_path / "clip.m4a"  # decoded by ffmpeg (a WAV would be read without it)
    run_ffmpeg(["-f", "lavfi", "-i", "sine=frequency=440:duration=2", "-c:a", "aac", str(clip)])
    base = {"model_poll_seconds": 0, "warm_pages": 0}
    for limit, status in ((1e-4, 400), (600.0, 200)):
        settings = ServiceSettings.load(tmp_path / f"d{status}", environ={}, qc_time_limit_s=limit, **base)
        with TestClient(create_app(settings)) as c:
            r = c.post("/v1/qc", files={"media": ("clip.m4a", clip.read_bytes(), "audio/mp4")})
        assert r.status_code == status, r.text
        if status == 400:
            assert "took longer than 0.0001 s and was stopped" in r.json()["message"]
