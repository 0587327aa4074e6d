"""``/v1/titles``: a title's details (and the communities that love it), similar titles."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Query

from reelkit.errors import UnknownIdError
from reelkit.service.deps import BundleDep, StateDep, require_read
from reelkit.service.schemas import ErrorBody, SimilarOut, TitleCommunityOut, TitleOut, cards
from reelkit.service.store import TitleRecord

__all__ = ["TitlePath", "router"]

router = APIRouter(prefix="/v1/titles", tags=["titles"], dependencies=[Depends(require_read)])
TitlePath = Annotated[str, Path(min_length=1, max_length=128, description="A title id.")]


def require_title(state: StateDep, title_id: str) -> TitleRecord:
    title = state.store.get_title(title_id)
    if title is None:
        raise UnknownIdError(f"unknown title id {title_id!r}")
    return title


@router.get("/", include_in_schema=False)
def no_title_list() -> None:
    # the id routes take any path (ids may hold "/"): an empty id would be a 422
    raise HTTPException(404, "no such page or endpoint: /v1/titles/ (a title is /v1/titles/{title_id})")


@router.get("/{title_id:path}/similar", response_model=SimilarOut, responses={404: {"model": ErrorBody}})
def similar_titles(
    title_id: TitlePath, state: StateDep, bundle: BundleDep, n: Annotated[int, Query(ge=1, le=100)] = 10
) -> SimilarOut:
    """The titles most similar to this one (item-item similarity); empty for titles the model lacks."""
    require_title(state, title_id)
    titles = bundle.home.similar(title_id, n) if bundle.home.has_title(title_id) else ()
    return SimilarOut(title_id=title_id, model_version=bundle.version, titles=cards(titles))


@router.get("/{title_id:path}", response_model=TitleOut, responses={404: {"model": ErrorBody}})
def get_title(title_id: TitlePath, state: StateDep) -> TitleOut:
    """Catalog details, and the taste communities that watch the title most (by lift)."""
    # after /similar: an id may hold "/" (imported ids), matched greedily
    t = require_title(state, title_id)
    bundle = state.models.current
    loved = bundle.home.title_communities(title_id) if bundle is not None else ()
    return TitleOut(
        title_id=t.title_id,
        name=t.name,
        genres=[g for g in t.genres.split("|") if g],
        year=t.year,
        kind=t.kind,
        released=t.released,
        duration=t.duration,
        in_model=bundle is not None and bundle.home.has_title(title_id),
        loved_by=[TitleCommunityOut(**c.__dict__) for c in loved],
    )
