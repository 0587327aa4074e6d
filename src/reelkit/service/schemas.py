"""Request and response models of the HTTP API (pydantic), and conversions from library results."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from reelkit.recommend.home import HomePage, HomeRow, HomeTitle, RowKind

__all__ = [
    "RESERVED_EVENT_PREFIX",
    "CommunityDetail",
    "CommunityList",
    "CommunitySummary",
    "ErrorBody",
    "ErrorField",
    "EventBatch",
    "EventBatchResult",
    "EventIn",
    "HealthOut",
    "HomeOut",
    "MemberCreated",
    "MemberList",
    "MemberOut",
    "NewMember",
    "PlayEvent",
    "RatingEvent",
    "RecommendationsOut",
    "SimilarOut",
    "ThumbEvent",
    "TitleOut",
    "home_json",
    "home_out",
]

#: The longest id the API takes (imports warn about longer ones)
MAX_ID_CHARS = 128
#: Ids of members, titles and events: 1-128 printable characters, no control characters.
Id = Annotated[str, StringConstraints(min_length=1, max_length=MAX_ID_CHARS, pattern=r"^[^\x00-\x1f\x7f]+$")]
#: Ids a URL path cannot hold: clients and browsers resolve "." and ".." segments before sending a request
#: (``/v1/members/../home`` is sent as ``/v1/home``).
DOT_SEGMENTS = (".", "..")


def _not_dot_segment(value: str) -> str:
    if value in DOT_SEGMENTS:
        raise ValueError(
            f"{value!r} cannot be an id: clients drop it from a URL path, so it could not be reached"
        )
    return value


#: A new member's id: as :data:`Id`, no ``/``, and not ``.`` or ``..`` (it could never be used in a URL path).
NewMemberId = Annotated[
    str,
    StringConstraints(min_length=1, max_length=MAX_ID_CHARS, pattern=r"^[^\x00-\x1f\x7f/]+$"),
    AfterValidator(_not_dot_segment),
]
#: Event ids the server makes itself start with this (a member's liked titles at sign-up); clients may not.
RESERVED_EVENT_PREFIX = "signup:"


def _not_reserved(value: str) -> str:
    if value.startswith(RESERVED_EVENT_PREFIX):
        raise ValueError(f"event ids starting with {RESERVED_EVENT_PREFIX!r} are reserved for the server")
    return value


EventId = Annotated[
    str,
    StringConstraints(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:~@+\-]+$"),
    AfterValidator(_not_reserved),
]
#: Unix seconds from 1970 to 2100.
MAX_TIMESTAMP = 4_102_444_800
Timestamp = Annotated[int, Field(ge=0, le=MAX_TIMESTAMP)]


# ---------------------------------------------------------------------- errors
class ErrorField(BaseModel):
    field: str = Field(description="Where in the request, e.g. events[3].position")
    message: str


class ErrorBody(BaseModel):
    """Every error response has this shape."""

    error: str = Field(description="Machine-readable code: not_found, invalid_request, unauthorized, ...")
    message: str
    fields: list[ErrorField] = Field(default_factory=list)


# ---------------------------------------------------------------------- events
def _json_number(value: Any) -> Any:
    """Numbers only: ``true`` is not a rating and ``"10"`` not a position (Python would take both)."""
    if isinstance(value, bool | str):
        raise ValueError("must be a JSON number")
    return value


def _not_blank(value: Any) -> Any:
    if isinstance(value, str) and not value.strip():
        raise ValueError("must not be blank")
    return value


def _whole_seconds(value: Any) -> Any:
    """A timestamp as a JSON number of whole seconds (``1700000000.0`` from ``time.time() // 1`` is one)."""
    value = _json_number(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


class _EventBase(BaseModel):
    model_config = ConfigDict(extra="forbid")

    event_id: EventId = Field(description="The client's id for this event; repeating it is harmless.")
    member_id: Id
    title_id: Id
    timestamp: Annotated[Timestamp, BeforeValidator(_whole_seconds)] | None = Field(
        None,
        description="Unix seconds; the server's clock when omitted. More than 300 s ahead of the server's "
        "clock is refused (a client clock running fast, or milliseconds); a little ahead is taken as now.",
    )


class PlayEvent(_EventBase):
    """The member played a title up to ``position`` seconds into its ``duration``.

    Progress reports of one viewing may be sent as several play events, each with the furthest position
    reached so far: they count once (a play that reached no further than the one before starts a new
    viewing, a rewatch).
    """

    kind: Literal["play"]
    position: Annotated[float, BeforeValidator(_json_number)] = Field(
        ge=0, le=1_000_000, allow_inf_nan=False, description="Position reached in the title, seconds."
    )
    duration: Annotated[float, BeforeValidator(_json_number)] = Field(
        gt=0, le=1_000_000, allow_inf_nan=False, description="Length of the title, seconds."
    )

    @model_validator(mode="after")
    def _position_within(self) -> PlayEvent:
        if self.position > self.duration:
            raise ValueError("position is beyond the duration")
        return self


class RatingEvent(_EventBase):
    """An explicit rating on the catalog's usual scale: 0-1 (likes), 0-5 or 0-10, whichever holds the stored
    ratings, and 0-10 until 20 ratings are stored (a 2 is taken on a catalog whose model saw only 3-5 stars);
    values outside are refused (422). Imported -1/+1 ratings are read on -1 to 1, but a rating posted here
    is never negative: send a thumb (value -1) for a dislike."""

    kind: Literal["rating"]
    value: Annotated[float, BeforeValidator(_json_number)] = Field(ge=0, le=10, allow_inf_nan=False)


class ThumbEvent(_EventBase):
    """Thumb up (+1) or down (-1)."""

    kind: Literal["thumb"]
    value: Literal[1, -1]

    @field_validator("value", mode="before")
    @classmethod
    def _not_a_bool(cls, v: Any) -> Any:
        if isinstance(v, bool | str):  # true == 1 in Python: refuse it before the literal check sees 1
            raise ValueError("a thumb is the number 1 (up) or -1 (down)")
        return v


EventIn = Annotated[PlayEvent | RatingEvent | ThumbEvent, Field(discriminator="kind")]


class EventBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    events: list[EventIn] = Field(min_length=1, description="Stored all together, or not at all.")


class EventBatchResult(BaseModel):
    stored: int = Field(description="Events newly stored.")
    duplicates: int = Field(
        description="Events whose id was already stored (acknowledged, not stored again)."
    )
    last_seq: int = Field(description="The store's latest event sequence number.")


# ---------------------------------------------------------------------- home page
class TitleCard(BaseModel):
    title_id: str
    name: str
    genres: list[str]
    reason: str
    score: float
    progress: float | None = None


class RowOut(BaseModel):
    kind: RowKind
    heading: str
    reason: str
    engagement: float = Field(description="Expected engagement that ordered the rows.")
    anchor_title_id: str | None = None
    community_id: int | None = None
    titles: list[TitleCard]


class CommunityRef(BaseModel):
    id: int
    name: str


class HomeOut(BaseModel):
    member_id: str
    model_version: str
    community: CommunityRef | None
    history_titles: int = Field(
        description="Titles the page was ranked from (previews and thumbs-down left out)."
    )
    ranking: str = Field(description="How the rows were ordered.")
    popularity_computed_at: int = Field(
        description="When the Trending and community rows' popularity was last up to date with every stored "
        "event (Unix seconds; the server counts new events every `model_poll_seconds` and shows the counts "
        "every `popularity_refresh_s`; until it first has, the model version's training time). The member's "
        "own events show at once."
    )
    rows: list[RowOut]


def _card(t: HomeTitle) -> TitleCard:
    return TitleCard(
        title_id=t.title_id,
        name=t.name,
        genres=list(t.genres),
        reason=t.reason,
        score=t.score,
        progress=t.progress,
    )


def _row(r: HomeRow) -> RowOut:
    return RowOut(
        kind=r.kind,
        heading=r.heading,
        reason=r.reason,
        engagement=r.engagement,
        anchor_title_id=r.anchor_title_id,
        community_id=r.community_id,
        titles=[_card(t) for t in r.titles],
    )


def home_out(page: HomePage, version: str, computed_at: int) -> HomeOut:
    """``computed_at``: when the popularity rows were last up to date
    (``ModelBundle.popularity_computed_at``)."""
    community = (
        CommunityRef(id=page.community_id, name=page.community_name)
        if page.community_id is not None and page.community_name is not None
        else None
    )
    return HomeOut(
        member_id=page.member_id,
        model_version=version,
        community=community,
        history_titles=page.history_titles,
        ranking=page.ranking,
        popularity_computed_at=computed_at,
        rows=[_row(r) for r in page.rows],
    )


def home_json(page: HomePage, version: str, computed_at: int) -> bytes:
    """The :class:`HomeOut` JSON of a page, serialised directly (the hot path; a test checks the schema).
    ``computed_at``: when the popularity rows were last up to date
    (``ModelBundle.popularity_computed_at``)."""
    community = (
        {"id": page.community_id, "name": page.community_name}
        if page.community_id is not None and page.community_name is not None
        else None
    )
    rows = [
        {
            "kind": r.kind,
            "heading": r.heading,
            "reason": r.reason,
            "engagement": r.engagement,
            "anchor_title_id": r.anchor_title_id,
            "community_id": r.community_id,
            "titles": [
                {
                    "title_id": t.title_id,
                    "name": t.name,
                    "genres": list(t.genres),
                    "reason": t.reason,
                    "score": t.score,
                    "progress": t.progress,
                }
                for t in r.titles
            ],
        }
        for r in page.rows
    ]
    out = {
        "member_id": page.member_id,
        "model_version": version,
        "community": community,
        "history_titles": page.history_titles,
        "ranking": page.ranking,
        "popularity_computed_at": computed_at,
        "rows": rows,
    }
    return json.dumps(out, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()


def cards(titles: tuple[HomeTitle, ...] | list[HomeTitle]) -> list[TitleCard]:
    return [_card(t) for t in titles]


# ---------------------------------------------------------------------- members
class MemberOut(BaseModel):
    member_id: str
    name: str


class MemberList(BaseModel):
    members: list[MemberOut]
    total: int
    limit: int
    offset: int


class NewMember(BaseModel):
    """A new member; ``liked_titles`` are recorded as thumbs up and shape their first home page."""

    model_config = ConfigDict(extra="forbid")

    member_id: NewMemberId | None = Field(
        None,
        description="Chosen by the server when omitted; printable characters but '/', not '.' or '..'. "
        "Choose it to retry a create safely: the same body again returns the member (200).",
    )
    # "\S": not blank, in the schema too (spaces passed minLength 1, then read "at least 1 character")
    name: Annotated[
        str,
        StringConstraints(min_length=1, max_length=100, strip_whitespace=True, pattern=r"\S"),
        BeforeValidator(_not_blank),
    ]
    liked_titles: list[Id] = Field(default_factory=list, max_length=100)


class MemberCreated(BaseModel):
    member: MemberOut
    home: HomeOut | None = Field(description="The cold-start home page (null until a model is trained).")


class RecommendationsOut(BaseModel):
    member_id: str
    model_version: str
    titles: list[TitleCard]


# ---------------------------------------------------------------------- titles
class TitleCommunityOut(BaseModel):
    community_id: int
    name: str
    size: int
    share: float = Field(description="Share of the community that watched the title.")
    lift: float = Field(description="That share over the share of all members.")


class TitleOut(BaseModel):
    title_id: str
    name: str
    genres: list[str]
    year: int | None
    kind: str
    released: int | None
    duration: float | None
    in_model: bool = Field(description="Whether the current model version knows the title.")
    loved_by: list[TitleCommunityOut]


class SimilarOut(BaseModel):
    title_id: str
    model_version: str
    titles: list[TitleCard]


# ---------------------------------------------------------------------- communities
class GenreLift(BaseModel):
    genre: str
    lift: float


class TitleScore(BaseModel):
    title_id: str
    name: str
    score: float


class CommunitySummary(BaseModel):
    id: int
    name: str
    size: int
    genres: list[GenreLift]
    distinctive: list[TitleScore]


class CommunityList(BaseModel):
    model_version: str
    communities: list[CommunitySummary]


class CommunityDetail(CommunitySummary):
    model_version: str
    favourites: list[TitleScore]


# ---------------------------------------------------------------------- system
class HealthOut(BaseModel):
    status: Literal["ok", "no_model"] = Field(
        description="ok once a model version is loaded (an unfinished import does not change it: the model "
        "serves, and pending_imports names the import)."
    )
    model_version: str | None
    store: str
    events: int
    cached_pages: int = Field(description="Home pages in the served version's cache.")
    warmed: bool = Field(description="Whether the cache warm-up of the served version has finished.")
    popularity_behind: int = Field(
        0,
        description="Events stored but not yet counted into the Trending and community rows (the server "
        "counts them every model_poll_seconds; a backlog after an import or a retrain takes a few polls).",
    )
    pending_imports: list[str] = Field(
        default_factory=list,
        description="The file names (without their folders) of imports that did not finish (killed "
        "part-way, or still running): the pages fold in what they stored, and retrain refuses the store "
        "until each is completed or abandoned (reelkit import --abandon-pending).",
    )
