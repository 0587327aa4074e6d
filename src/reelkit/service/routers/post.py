"""Post-production in the service: quality control of an uploaded deliverable.

* ``GET /qc``: a page with an upload form (media, optional subtitles, delivery spec).
* ``POST /qc``: runs the QC (:func:`reelkit.post.qc.run_qc`) on the upload and shows the report on the page.
* ``POST /v1/qc``: the same as JSON (the ``reelkit qc --json`` document).

Uploads are copied to a private temporary folder (removed when the request ends, whatever happens) in chunks,
and refused with 413 beyond ``MAX_UPLOAD_BYTES`` (the app's upload limit, ``max_upload_bytes``, applies
first when lower). QC runs in the thread pool, at most ``MAX_CONCURRENT`` at a time, so the event loop stays
free.
"""

from __future__ import annotations

import dataclasses
import re
import shutil
import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, HTTPException, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from reelkit.errors import ReelkitError, TimeLimitError, UserInputError
from reelkit.post.findings import Severity
from reelkit.post.qc import DeliverySpec
from reelkit.service.deps import ServiceState, StateDep, app_semaphore, require_pages, require_read
from reelkit.service.schemas import ErrorBody

__all__ = ["MAX_CONCURRENT", "MAX_UPLOAD_BYTES", "QcOut", "router"]

router = APIRouter(tags=["post"])

#: Largest media upload accepted (the app's ``max_upload_bytes`` may be lower and then applies first).
MAX_UPLOAD_BYTES = 512 * 1024 * 1024
#: QC jobs running at once (each decodes the whole file into memory).
MAX_CONCURRENT = 2
_CHUNK = 1024 * 1024
_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


def _safe_name(name: str | None, default: str) -> str:
    """A file name safe to create in our temporary folder (keeps the extension the decoders look at)."""
    base = Path(name or "").name
    cleaned = _SAFE.sub("_", base).strip("._")[-100:]
    return cleaned or default


async def _save(upload: UploadFile, folder: Path, default: str, limit: int) -> Path:
    folder.mkdir()  # one folder per upload: media and subtitles with the same name never collide
    dest = folder / _safe_name(upload.filename, default)
    size = 0
    with dest.open("wb") as fh:
        while chunk := await upload.read(_CHUNK):
            size += len(chunk)
            if size > limit:
                raise HTTPException(
                    status_code=413, detail=f"upload too large: at most {limit} bytes; send a shorter file"
                )
            fh.write(chunk)
    if size == 0:
        raise HTTPException(status_code=422, detail=f"the uploaded file {upload.filename!r} is empty")
    return dest


def _limit(state: ServiceState) -> int:
    return min(MAX_UPLOAD_BYTES, state.settings.max_upload_bytes)


_PLAYLIST_HEADS = (b"#EXTM3U", b"ffconcat", b"<?xml", b"<MPD", b"<SmoothStreamingMedia")


def _is_playlist(path: Path) -> bool:
    """Whether an upload is a text playlist or manifest: ffmpeg would open the files and URLs it names on
    the server, so it is refused before ffmpeg sees it."""
    with open(path, "rb") as fh:
        head = fh.read(512).lstrip(b"\xef\xbb\xbf \t\r\n")
    return head.startswith(_PLAYLIST_HEADS)


#: Most decoded audio one QC job may hold (float32 samples): a small compressed upload can decode to
#: gigabytes (an hour of 8-channel 192 kHz FLAC is 22 GB).
MAX_DECODED_BYTES = 2 * 1024**3


def _decoded_too_big(path: Path) -> str | None:
    """A message when the upload's audio would decode to more than :data:`MAX_DECODED_BYTES`; ``None``
    otherwise, or when the file cannot be probed (the QC then reports why)."""
    from reelkit.media import probe, untrusted_inputs

    try:
        with untrusted_inputs():  # an upload (a manifest would open the files it names)
            info = probe(path)
    except ReelkitError:
        return None
    if info.duration_s is None:
        return None
    rate = sum(a.sample_rate * a.channels for a in info.audio)
    need = info.duration_s * rate * 4
    if need <= MAX_DECODED_BYTES:
        return None
    return (
        f"the audio decodes to about {need / 1024**3:.1f} GiB, more than the {MAX_DECODED_BYTES / 1024**3:g} "
        "GiB one QC job may hold; run 'reelkit qc' on it locally or upload a shorter part"
    )


async def _run(
    state: ServiceState, media: UploadFile, subs: UploadFile | None, spec: str
) -> tuple[Any, str | None]:
    """Save the uploads, run QC in the thread pool; returns (report, error message for the user)."""
    from reelkit.post.qc import get_spec

    sp = get_spec(spec)  # an unknown spec is a user error (400) before any upload is read
    folder = Path(tempfile.mkdtemp(prefix="reelkit-qc-"))
    try:
        media_path = await _save(media, folder / "media", "media.bin", _limit(state))
        if _is_playlist(media_path):
            return (
                None,
                "playlists and manifests (HLS, DASH, concat) are not taken; upload the media file itself",
            )
        too_big = await run_in_threadpool(_decoded_too_big, media_path)
        if too_big:
            return None, too_big
        subs_path = None
        if subs is not None and subs.filename:
            subs_path = await _save(subs, folder / "subs", "subtitles.srt", _limit(state))
        async with app_semaphore(state, "qc_semaphore", MAX_CONCURRENT):
            try:
                report = await run_in_threadpool(
                    _qc_within, state.settings.qc_time_limit_s, media_path, subs_path, sp
                )
            except TimeLimitError:
                return None, (
                    f"the QC took longer than {state.settings.qc_time_limit_s:g} s and was stopped; run "
                    "'reelkit qc' on the file locally, or upload a shorter part"
                )
            except UserInputError as exc:
                return None, _unfoldered(str(exc), folder)
        # a note or finding may quote the upload's path (a failed subtitle sync check named the server's
        # temporary folder): the user reads their file's name
        return dataclasses.replace(
            report,
            notes=tuple(_unfoldered(n, folder) for n in report.notes),
            findings=tuple(
                dataclasses.replace(f, message=_unfoldered(f.message, folder)) for f in report.findings
            ),
        ), None
    finally:
        await run_in_threadpool(shutil.rmtree, folder, True)


def _unfoldered(text: str, folder: Path) -> str:
    """``text`` with the uploads' temporary folder left out of the paths it names."""
    for sub in ("media", "subs"):
        text = text.replace(str(folder / sub) + "/", "")
    return text.replace(str(folder) + "/", "")


def _qc_within(seconds: float, media: Path, subs: Path | None, spec: Any) -> Any:
    """:func:`run_qc` with every ffmpeg run ending within ``seconds`` in all (in the worker thread)."""
    from reelkit.media import time_limit, untrusted_inputs
    from reelkit.post.qc import run_qc

    with time_limit(seconds), untrusted_inputs():
        return run_qc(media, subs=subs, spec=spec)


def _page(request: Request, state: ServiceState, context: dict[str, Any], status: int = 200) -> Response:
    from reelkit.post.qc import SPECS

    ctx = {
        **state.header(request),
        "specs": SPECS,
        "chosen_spec": "ebu-r128",
        "max_mb": _limit(state) // (1024 * 1024),
        **context,
    }
    return state.templates.TemplateResponse(
        request, "qc.html", ctx, status_code=status, headers={"Cache-Control": "no-store"}
    )


@router.get("/qc", response_class=HTMLResponse, include_in_schema=False)
@router.head("/qc", response_class=HTMLResponse, include_in_schema=False)
def qc_form(request: Request, state: StateDep) -> Response:
    """The upload form."""
    require_pages(state)
    return _page(request, state, {"report": None})


@router.post("/qc", response_class=HTMLResponse, include_in_schema=False)
async def qc_page(
    request: Request,
    state: StateDep,
    media: Annotated[UploadFile, File(description="Audio or video file")],
    subs: Annotated[UploadFile | None, File(description="Subtitle file (optional)")] = None,
    spec: Annotated[str, Form()] = "ebu-r128",
) -> Response:
    """Run QC on the upload and show the report."""
    from reelkit.post.qc import report_context

    require_pages(state)
    try:
        report, error = await _run(state, media, subs, spec)
    except ReelkitError as exc:
        return _page(request, state, {"report": None, "error": str(exc), "chosen_spec": spec}, status=400)
    except HTTPException as exc:
        if exc.status_code != 422:
            raise
        # an empty file: the form again with the message and the spec chosen (not the generic error page)
        return _page(request, state, {"report": None, "error": exc.detail, "chosen_spec": spec}, status=422)
    if report is None:
        return _page(request, state, {"report": None, "error": error, "chosen_spec": spec}, status=400)
    ctx = report_context(report)
    ctx["media_name"] = media.filename or ctx["media_name"]
    return _page(request, state, {**ctx, "chosen_spec": spec})


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class QcLoudness(_Out):
    """The loudness measured (null where undefined: silence, no speech found)."""

    integrated_lufs: float | None
    lra_lu: float | None
    true_peak_dbtp: float | None
    sample_peak_dbfs: float | None
    momentary_max_lufs: float | None
    short_term_max_lufs: float | None
    dialogue_lufs: float | None = Field(
        description="The dialogue's own loudness (the bed under it subtracted) where it could be estimated"
    )
    speech_fraction: float | None
    dialogue_gated_lufs: float | None = Field(description="The mix while someone speaks")
    duration_s: float
    sample_rate: int
    channels: int
    true_peak_time_s: float | None
    dialogue_isolated_lufs: float | None


class QcFinding(_Out):
    kind: str = Field(description="black, freeze, clipping, silence, overlap, loudness, sync, ...")
    start_s: float
    end_s: float | None = Field(description="null for an instant")
    severity: Severity
    message: str
    source: str = Field(description="The check that found it: audio, subtitles, video or loudness")
    timecode: str
    source_timecode: str | None = Field(description="On the source's own timecode, when it carries one")


class QcOut(_Out):
    """The QC report (the ``reelkit qc --json`` document; ``media`` and ``subs`` name the uploads)."""

    media: str
    subs: str | None
    spec: DeliverySpec
    passed: bool = Field(description="No finding of severity error")
    counts: dict[str, int] = Field(description="Findings by severity")
    programme_lufs: float | None
    programme_measure: str
    programme_target_lufs: float | None
    programme_tolerance_lu: float | None
    loudness: QcLoudness
    start_timecode: str | None
    findings: list[QcFinding]
    notes: list[str]


_QC_ERRORS: dict[int | str, dict[str, Any]] = {
    200: {"model": QcOut, "description": "The QC report (the ``reelkit qc --json`` document)"},
    400: {
        "model": ErrorBody,
        "description": "The upload cannot be checked (not media, a playlist, too long)",
    },
    413: {"model": ErrorBody, "description": "The upload is larger than the limit"},
    422: {"model": ErrorBody, "description": "A form field is missing or invalid"},
}


@router.post("/v1/qc", dependencies=[Depends(require_read)], responses=_QC_ERRORS)
async def qc_api(
    state: StateDep,
    media: Annotated[UploadFile, File(description="Audio or video file")],
    subs: Annotated[UploadFile | None, File(description="Subtitle file (optional)")] = None,
    spec: Annotated[str, Form(description="netflix, ebu-r128 or atsc-a85")] = "ebu-r128",
) -> Response:
    """QC of an uploaded deliverable as JSON: loudness, findings with timecodes and severities."""
    report, error = await _run(state, media, subs, spec)
    if report is None:
        return JSONResponse({"error": "bad_request", "message": error, "fields": []}, status_code=400)
    data = report.to_dict()
    data["media"] = media.filename
    if subs is not None and subs.filename:
        data["subs"] = subs.filename
    return JSONResponse(data)
