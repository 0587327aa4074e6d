"""The web pages after a review in a real browser: browsers get pages (not JSON) for errors they can reach,
error pages say what went wrong, colours keep white text readable, no server path is shown."""

from __future__ import annotations

import colorsys
import re
from pathlib import Path

import pytest

from reelkit.service.app import create_app
from reelkit.service.routers.web import genre_colour, poster_style

from .conftest import TestClient, make_settings

HTML = {"accept": "text/html,application/xhtml+xml"}


def test_browsers_get_pages_for_errors_they_can_reach(client: TestClient) -> None:
    for url in ("/?offset=-1", "/?offset=abc", "/events?limit=0", "/titles/" + "x" * 200):
        r = client.get(url, headers=HTML)
        assert r.status_code in (404, 422), url
        assert r.headers["content-type"].startswith("text/html"), url
        assert "<title>" in r.text
    # the API keeps its JSON
    r = client.get("/v1/members?limit=0", headers=HTML)
    assert r.status_code == 422 and r.headers["content-type"].startswith("application/json")
    # an error page's title says what happened (every one read "Not found")
    r = client.delete("/qc", headers=HTML)
    assert r.status_code == 405 and "<title>Not allowed here" in r.text


def test_too_large_uploads_get_a_page(data_dir: Path) -> None:
    with TestClient(create_app(make_settings(data_dir, max_upload_bytes=2048))) as c:
        r = c.post(
            "/qc", content=b"x" * 4096, headers={**HTML, "content-type": "multipart/form-data; boundary=b"}
        )
        assert r.status_code == 413 and r.headers["content-type"].startswith("text/html")
        assert "too large" in r.text


def _contrast_with_white(css: str) -> float:
    h, s, lightness = (
        float(x.rstrip("%")) for x in re.findall(r"hsl\(([\d.]+) ([\d.]+%) ([\d.]+%)\)", css)[0]
    )
    r, g, b = colorsys.hls_to_rgb(h / 360, lightness / 100, s / 100)

    def lin(x: float) -> float:
        return x / 12.92 if x <= 0.03928 else ((x + 0.055) / 1.055) ** 2.4

    lum = 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b)
    return 1.05 / (lum + 0.05)


def test_chip_and_poster_colours_keep_white_text_readable() -> None:
    genres = [f"genre-{i}" for i in range(400)]  # many hues
    assert min(_contrast_with_white(genre_colour(g)) for g in genres) >= 4.5
    first = [re.search(r"hsl\([^)]*\)", poster_style([g], "t1")).group(0) for g in genres]  # type: ignore[union-attr]
    # the title text is #e8e8e8, not white: a little less contrast than white gives
    assert min(_contrast_with_white(c) for c in first) * (0.807 + 0.05) / 1.05 >= 4.5


def test_a_one_genre_poster_is_a_gradient_of_two_hues() -> None:
    """A title of one genre shades from the genre's hue to 50 degrees on (crc32("Drama") % 360 = 120, so
    120 to 170), not one flat hue; a second genre gives the second hue (crc32("Comedy") % 360 = 347)."""
    import zlib

    assert zlib.crc32(b"Drama") % 360 == 120 and zlib.crc32(b"Comedy") % 360 == 347
    one = poster_style(["Drama"], "t1")
    assert "hsl(120 62% 25%) 0%, hsl(170 58% 18%) 70%, hsl(170 50% 10%) 100%" in one
    two = poster_style(["Drama", "Comedy"], "t1")
    assert "hsl(120 62% 25%) 0%, hsl(347 58% 18%) 70%, hsl(347 50% 10%) 100%" in two


def test_pages_name_no_server_paths(client: TestClient, data_dir: Path) -> None:
    import pytest
    from fastapi import HTTPException

    from reelkit.service.routers.abr import _load_link_trace, _runtime

    # (not the sample stream: asking for it starts packaging it in the background)
    for url in ("/abr/demo?stream=nosuch", "/abr/stream/nosuch/zzz/s1/chunk-0-00001.m4s"):
        r = client.get(url, headers=HTML)
        assert str(data_dir) not in r.text, url
    with pytest.raises(HTTPException) as err:
        _load_link_trace(_runtime(client.app.state.reelkit), "zzz")  # type: ignore[attr-defined]
    assert str(data_dir) not in str(err.value.detail) and "DATA/abr/traces" in str(err.value.detail)


def test_the_profile_menu_waits_for_a_choice(client: TestClient) -> None:
    page = client.get("/", headers=HTML).text
    select = re.search(r"<select id=\"member-select\"[^>]*>", page)
    assert select is not None and "onchange" not in select.group(0)  # arrow keys navigated away (WCAG 3.2.2)
    assert 'id="member-go"' in page and 'maxlength="128"' in page


def test_an_unknown_typed_id_is_kept_to_correct(client: TestClient) -> None:
    r = client.get("/?member=nobody-42", headers=HTML)
    assert r.status_code == 404
    field = re.search(r'<input type="text" name="member" id="member-id"[^>]*>', r.text)
    assert field is not None and 'value="nobody-42"' in field.group(0) and "disabled" not in field.group(0)
    # a screen reader hears the error: the page's title says it, the message is an alert and describes the
    # field that gets the focus (the title read "reelkit" and the message was linked to nothing)
    assert "<title>No such member · reelkit</title>" in r.text
    assert re.search(r'<p class="error" id="member-error" role="alert">There is no member', r.text)
    assert 'aria-describedby="member-error"' in field.group(0)


def test_a_typed_member_replaces_the_chosen_profile(client: TestClient) -> None:
    """``/?member=B`` after choosing A opens B's home and makes B the profile (A, from the cookie, won)."""
    import html

    (a, b) = client.get("/v1/members?limit=2").json()["members"]
    client.get(f"/?member={a['member_id']}", headers=HTML)
    page = client.get(f"/?member={b['member_id']}", headers=HTML).text
    assert f"<h1>Home of {html.escape(b['name'])}</h1>" in page
    assert f"<h1>Home of {html.escape(b['name'])}</h1>" in client.get("/", headers=HTML).text


def test_api_docs_work_without_internet(client: TestClient) -> None:
    page = client.get("/docs").text
    scripts = re.findall(r'(?:src|href)="([^"]+\.(?:js|css))"', page)
    assert scripts and all(s.startswith("/docs-assets/") for s in scripts)  # no CDN
    for s in scripts:
        assert client.get(s).status_code == 200
    # only what the page loads is served from the wheel's folder
    assert client.get("/docs-assets/swagger-editor-bundle.js").status_code == 404
    assert client.get("/docs-assets/swagger-initializer.js").status_code == 404


def test_every_page_keeps_the_chosen_profile_in_its_header(client: TestClient) -> None:
    home = client.get("/", headers=HTML).text
    member = re.search(r'href="/\?member=([^"]+)"', home).group(1)  # type: ignore[union-attr]
    client.get(f"/?member={member}", headers=HTML)  # sets the profile cookie
    name = re.search(r"<h1>Home of ([^<]+)</h1>", client.get("/", headers=HTML).text).group(1)  # type: ignore[union-attr]
    for url in ("/qc", "/produce/stripboard", "/no-such-page"):
        assert name in client.get(url, headers=HTML).text, url


def test_every_page_answers_head_as_get(client: TestClient) -> None:
    """Link checkers and uptime monitors ask with HEAD (RFC 9110 9.3.2); every page was a 405."""
    pages = ("/", "/titles/t001", "/titles/no-such", "/communities", "/events", "/qc", "/produce/stripboard")
    for path in pages:
        r = client.head(path, headers=HTML)
        assert r.status_code == client.get(path, headers=HTML).status_code, path
        assert r.status_code == (404 if path == "/titles/no-such" else 200) and r.content == b"", path
        assert r.headers["content-type"].startswith("text/html"), path


def test_a_restart_keeps_the_chosen_profile(data_dir: Path) -> None:
    """The profile cookie was signed with a key random per process: a restart signed every browser out (an
    open title page's Play then failed: "choose a profile on the home page first"). The key is kept in the
    data folder (session.key, 0600), so a restarted server reads the cookie the first one set."""
    import html

    with TestClient(create_app(make_settings(data_dir))) as first:
        member = first.get("/v1/members?limit=1").json()["members"][0]
        first.get(f"/?member={member['member_id']}", headers=HTML)
        cookies = dict(first.cookies)
    key = data_dir / "session.key"
    assert key.is_file() and (key.stat().st_mode & 0o777) == 0o600 and len(key.read_bytes()) == 32
    with TestClient(create_app(make_settings(data_dir)), cookies=cookies) as second:
        assert f"<h1>Home of {html.escape(member['name'])}</h1>" in second.get("/", headers=HTML).text
    assert len(key.read_bytes()) == 32  # the same file, not a new key


def test_the_session_key_is_private_whole_and_shared(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """session.key is made whole (written aside, then linked), so a second server starting at once reads
    the first one's key (it read an empty file and signed alone); a damaged short key is replaced; a link,
    a file others may read, or a folder that cannot hold it gives a key for this process, with a warning."""
    import os

    from reelkit.service import settings as st

    key = st.session_key(tmp_path)
    path = tmp_path / "session.key"
    assert len(key) == 32 and (path.stat().st_mode & 0o777) == 0o600 and st.session_key(tmp_path) == key
    # another server links its key in first: this one reads that, not its own
    other = tmp_path / "other"
    other.mkdir()
    theirs = b"k" * 32
    real_link = os.link

    def first_elsewhere(src: object, dst: object) -> None:
        fd = os.open(str(dst), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.write(fd, theirs)
        os.close(fd)
        real_link(src, dst)  # type: ignore[arg-type]

    monkeypatch.setattr(st.os, "link", first_elsewhere)
    assert st.session_key(other) == theirs and sorted(p.name for p in other.iterdir()) == ["session.key"]
    monkeypatch.undo()
    short = tmp_path / "short"
    short.mkdir()
    (short / "session.key").write_bytes(b"")
    (short / "session.key").chmod(0o600)
    fixed = st.session_key(short)
    assert len(fixed) == 32 and st.session_key(short) == fixed  # replaced, then kept
    caplog.set_level("WARNING", logger="reelkit.service.settings")
    public = tmp_path / "public"
    public.mkdir()
    (public / "session.key").write_bytes(b"p" * 32)
    (public / "session.key").chmod(0o644)
    linked = tmp_path / "linked"
    linked.mkdir()
    (tmp_path / "secret.txt").write_bytes(b"s" * 32)
    (linked / "session.key").symlink_to(tmp_path / "secret.txt")
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    for folder in (public, linked, blocker):
        caplog.clear()
        a, b = st.session_key(folder), st.session_key(folder)
        assert len(a) == len(b) == 32 and a != b and b"p" * 32 not in (a, b) and b"s" * 32 not in (a, b)
        assert "for this process only" in caplog.text and "session.key" in caplog.text, folder
    assert (public / "session.key").read_bytes() == b"p" * 32  # left as it was


def test_the_events_page_pages_back_and_says_its_units(client: TestClient) -> None:
    """The page showed the latest 50 of 160,000 events with no way to older ones, and times without a zone."""
    latest = client.get("/v1/events?limit=3").json()["events"]
    r = client.get("/events?limit=2", headers=HTML)
    assert r.status_code == 200 and "time (UTC)" in r.text and "position reached in seconds" in r.text
    seqs = [int(x) for x in re.findall(r"<tr><td>(\d+)</td>", r.text)]
    assert seqs == [latest[0]["seq"], latest[1]["seq"]]
    older = re.search(r'href="(/events\?before=(\d+)&amp;limit=2)" rel="next"', r.text)
    assert older is not None and int(older.group(2)) == seqs[-1]
    page2 = client.get(older.group(1).replace("&amp;", "&"), headers=HTML)
    assert re.findall(r"<tr><td>(\d+)</td>", page2.text)[0] == str(latest[2]["seq"])
    assert f"Events stored before #{seqs[-1]}" in page2.text and 'href="/events?limit=2"' in page2.text
    # the first event has nothing older
    first = client.get("/events?before=2", headers=HTML)
    assert 'rel="next"' not in first.text and [
        int(x) for x in re.findall(r"<tr><td>(\d+)</td>", first.text)
    ] == [1]


def test_replies_say_the_data_folder_as_data_whole_components_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A data folder given as ``.`` made every dot of a message DATA ("v1DATA2DATAmp4") and left the
    absolute path; one given relative left the absolute prefix."""
    from reelkit.service.errors import without_folder

    monkeypatch.chdir(tmp_path)
    (tmp_path / "svc").mkdir()
    assert without_folder(f"{tmp_path}/abr/x failed (v1.2.mp4)", ".") == "DATA/abr/x failed (v1.2.mp4)"
    text = f"svc/abr/streams/sample is a file; {tmp_path}/svc/abr"
    assert without_folder(text, "svc") == "DATA/abr/streams/sample is a file; DATA/abr"
    assert without_folder(f"{tmp_path}/svcx/y", "svc") == f"{tmp_path}/svcx/y"  # another folder, kept
