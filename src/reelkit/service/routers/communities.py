"""``/v1/communities``: the taste communities of the current model version, named as trained; sizes,
favourites and distinctive titles count the events stored since, as the home page's community rows do."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path

from reelkit.recommend.communities import Community
from reelkit.service.deps import BundleDep, require_read
from reelkit.service.models import ModelBundle
from reelkit.service.schemas import (
    CommunityDetail,
    CommunityList,
    CommunitySummary,
    ErrorBody,
    GenreLift,
    TitleScore,
)

__all__ = ["router"]

router = APIRouter(prefix="/v1/communities", tags=["communities"], dependencies=[Depends(require_read)])


def _titles(
    bundle: ModelBundle, items: list[tuple[str, float]] | list[tuple[str, int]], n: int
) -> list[TitleScore]:
    return [TitleScore(title_id=t, name=bundle.home.name_of(t), score=float(s)) for t, s in items[:n]]


def _summary(bundle: ModelBundle, c: Community, n: int = 5) -> CommunitySummary:
    return CommunitySummary(
        id=c.id,
        name=c.name,
        size=c.size,
        genres=[GenreLift(genre=g, lift=v) for g, v in c.genres],
        distinctive=_titles(bundle, c.distinctive, n),
    )


@router.get("", response_model=CommunityList)
def list_communities(bundle: BundleDep) -> CommunityList:
    """Every community, largest first: name, size, most distinctive genres and titles."""
    return CommunityList(
        model_version=bundle.version,
        communities=[_summary(bundle, c) for c in bundle.home.community_profiles],
    )


@router.get("/{community_id}", response_model=CommunityDetail, responses={404: {"model": ErrorBody}})
def get_community(community_id: Annotated[int, Path(ge=0, le=100_000)], bundle: BundleDep) -> CommunityDetail:
    """One community's profile: distinctive titles (by lift) and favourites (most watched)."""
    c = bundle.home.community(community_id)
    s = _summary(bundle, c, 20)
    return CommunityDetail(
        **s.model_dump(), model_version=bundle.version, favourites=_titles(bundle, c.favourites, 20)
    )
