from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import CurrentUser, OptionalUser, SessionDep, SettingsDep, parse_video_id
from api.schemas import MessageOut, Paging, PublicVideo, RankingRow, error_responses
from vidpipe import storage, voting

router = APIRouter(prefix="/api/public", tags=["public"])

PagingQuery = Annotated[Paging, Query()]


@router.get(
    "/videos",
    response_model=list[PublicVideo],
    response_model_exclude_none=True,
    responses=error_responses(400, 401, 503),
    # The credential is optional here: {} lists "no authentication" as an alternative.
    openapi_extra={"security": [{}, {"HTTPBearer": []}, {"APIKeyCookie": []}]},
)
def public_videos(
    paging: PagingQuery, session: SessionDep, settings: SettingsDep, user: OptionalUser
):
    rows = voting.public_videos(
        session, city=paging.city, page=paging.page, page_size=paging.page_size
    )
    voted = voting.voted_video_ids(session, user, [v.id for v, _ in rows]) if user else set()
    return [
        PublicVideo(
            video_id=video.id,
            title=video.title,
            player=owner.display_name,
            city=owner.city,
            processed_url=storage.presigned_get(video.processed_key, settings),
            poster_url=storage.presigned_get(video.poster_key, settings),
            votes=video.votes,
            voted=(video.id in voted) if user else None,
        )
        for video, owner in rows
    ]


@router.post(
    "/videos/{video_id}/vote",
    response_model=MessageOut,
    responses=error_responses(400, 401, 403, 404, 503),
)
def vote(video_id: str, user: CurrentUser, session: SessionDep) -> MessageOut:
    voting.vote(session, user, parse_video_id(video_id))
    return MessageOut(message="vote recorded")


@router.get("/rankings", response_model=list[RankingRow], responses=error_responses(400, 503))
def rankings(paging: PagingQuery, session: SessionDep) -> list[RankingRow]:
    players = voting.rankings(
        session, city=paging.city, page=paging.page, page_size=paging.page_size
    )
    first = (paging.page - 1) * paging.page_size
    return [
        RankingRow(
            position=first + index + 1,
            username=player.display_name,
            city=player.city,
            votes=player.votes_received,
        )
        for index, player in enumerate(players)
    ]


# Additive (not in the contract): one public video, for its shareable page in the web app.
@router.get("/videos/{video_id}", response_model=PublicVideo, response_model_exclude_none=True)
def public_video(video_id: str, session: SessionDep, settings: SettingsDep, user: OptionalUser):
    """A processed video as in the public list; 404 when it is not public."""
    video, owner = voting.public_video(session, parse_video_id(video_id))
    voted = user is not None and bool(voting.voted_video_ids(session, user, [video.id]))
    return PublicVideo(
        video_id=video.id,
        title=video.title,
        player=owner.display_name,
        city=owner.city,
        processed_url=storage.presigned_get(video.processed_key, settings),
        poster_url=storage.presigned_get(video.poster_key, settings),
        votes=video.votes,
        voted=voted if user else None,
    )
