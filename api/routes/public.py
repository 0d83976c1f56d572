"""The public list, voting and the rankings.

The public list and the rankings are the same for every anonymous visitor and change only when a
vote or a processed video lands, so each app caches their rendered pages (JSON bytes + ETag) for at
most `public_cache_seconds`, and drops them at once when it records a vote. An anonymous cache hit
is answered on the event loop: no thread-pool hop, no database session, no ORM objects, no
pydantic. Answers carry an ETag (`If-None-Match` gets a 304) and `Cache-Control: public,
no-cache` (clients revalidate, so they never show a page older than the server's). A caller who
sends credentials gets the same cached rows plus their own `voted` flags, in one thread-pool hop.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.concurrency import run_in_threadpool

from api import deps
from api.deps import (
    BearerScheme,
    CookieScheme,
    CurrentUser,
    OptionalUser,
    SessionDep,
    SettingsDep,
    parse_video_id,
)
from api.schemas import MessageOut, Paging, PublicVideo, RankingRow, error_responses
from vidpipe import storage, voting
from vidpipe.settings import Settings
from vidpipe.users import city_key

router = APIRouter(prefix="/api/public", tags=["public"])

PagingQuery = Annotated[Paging, Query()]

CACHE_BUDGET_BYTES = 16 * 1024 * 1024  # rendered bytes of all cached pages of one process


@dataclass(frozen=True)
class _Page:
    rows: tuple[dict[str, Any], ...]
    body: bytes
    etag: str
    generation: int
    created: float


def _render(rows: list[dict[str, Any]], generation: int) -> _Page:
    # The bytes FastAPI's JSONResponse would send, encoded once per cached page.
    body = json.dumps(rows, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()
    etag = '"' + hashlib.blake2b(body, digest_size=16).hexdigest() + '"'
    return _Page(tuple(rows), body, etag, generation, time.monotonic())


class _PageCache:
    """Rendered pages per (list, city key, page, page size); TTL, change counter, byte budget.

    `generation` counts the changes this app made (votes): a page read before a change is never
    kept after it, even when its read finishes later.
    """

    def __init__(self, ttl: float, budget: int = CACHE_BUDGET_BYTES) -> None:
        self.ttl = ttl
        self.budget = budget
        self.generation = 0
        self._pages: OrderedDict[tuple, _Page] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()  # the authenticated path reads it from worker threads

    def get(self, key: tuple) -> _Page | None:
        with self._lock:
            page = self._pages.get(key)
            if page is None:
                return None
            if time.monotonic() - page.created >= self.ttl:
                self._drop(key)
                return None
            self._pages.move_to_end(key)
            return page

    def put(self, key: tuple, page: _Page) -> None:
        with self._lock:
            if self.ttl <= 0 or page.generation != self.generation:
                return  # off, or a change landed while the page was being read: don't keep it
            if key in self._pages:
                self._drop(key)
            self._pages[key] = page
            self._bytes += len(page.body)
            while self._bytes > self.budget and self._pages:
                self._drop(next(iter(self._pages)))

    def changed(self) -> None:
        """Something every visitor sees changed: forget every page."""
        with self._lock:
            self.generation += 1
            self._pages.clear()
            self._bytes = 0

    def _drop(self, key: tuple) -> None:
        self._bytes -= len(self._pages.pop(key).body)


_cache_lock = threading.Lock()


def _cache(request: Request) -> _PageCache:
    """One cache per app (each app may point at a different database)."""
    state = request.app.state
    cache = getattr(state, "public_page_cache", None)
    if cache is None:
        with _cache_lock:
            cache = getattr(state, "public_page_cache", None)
            if cache is None:
                ttl = _settings(request).public_cache_seconds
                cache = state.public_page_cache = _PageCache(ttl)
    return cache


def _settings(request: Request) -> Settings:
    # Read directly: the settings dependency is a sync function, i.e. one thread-pool hop.
    return request.app.state.settings


def _key(kind: str, paging: Paging) -> tuple:
    return (kind, city_key(paging.city) if paging.city else None, paging.page, paging.page_size)


def _load(
    request: Request, key: tuple, read: Callable[[Any], list[dict[str, Any]]], session=None
) -> _Page:
    """Read and render a page (in a worker thread), and cache it."""
    generation = _cache(request).generation  # before reading: a vote during it makes it stale
    if session is None:
        with request.app.state.read_sessionmaker() as own:  # one statement: no transaction
            rows = read(own)
    else:
        rows = read(session)
    page = _render(rows, generation)
    _cache(request).put(key, page)
    return page


def _shared_answer(request: Request, page: _Page) -> Response:
    headers = {"ETag": page.etag, "Cache-Control": "public, no-cache"}
    if _etag_matches(request.headers.get("if-none-match"), page.etag):
        return Response(status_code=304, headers=headers)
    return Response(page.body, media_type="application/json", headers=headers)


def _etag_matches(if_none_match: str | None, etag: str) -> bool:
    if not if_none_match:
        return False
    candidates = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return "*" in candidates or etag in candidates


def _sends_credentials(request: Request) -> bool:
    return "authorization" in request.headers or deps.SESSION_COOKIE in request.cookies


def _public_rows(settings: Settings, paging: Paging):
    def read(session) -> list[dict[str, Any]]:
        rows = voting.public_video_rows(
            session, city=paging.city, page=paging.page, page_size=paging.page_size
        )
        out = []
        for video_id, title, processed_key, poster_key, votes, first, last, city in rows:
            row = {
                "video_id": str(video_id),
                "title": title,
                "player": f"{first} {last}",  # User.display_name
                "city": city,
                "processed_url": storage.presigned_get(processed_key, settings),
                "poster_url": storage.presigned_get(poster_key, settings),
                "votes": votes,
            }
            # response_model_exclude_none, as for a model
            out.append({key: value for key, value in row.items() if value is not None})
        return out

    return read


def _public_videos_for_caller(request: Request, paging: Paging) -> Response:
    """The shared page plus the caller's `voted` flags (one worker thread)."""
    settings = _settings(request)
    key = _key("videos", paging)
    user = deps.optional_user_for(request)  # a bad credential is still a 401
    with request.app.state.sessionmaker() as session:
        page = _cache(request).get(key) or _load(
            request, key, _public_rows(settings, paging), session
        )
        if user is None:
            return _shared_answer(request, page)
        ids = [uuid.UUID(row["video_id"]) for row in page.rows]
        voted = voting.voted_video_ids(session, user, ids)
    voted_ids = {str(video_id) for video_id in voted}
    rows = [{**row, "voted": row["video_id"] in voted_ids} for row in page.rows]
    body = json.dumps(rows, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    return Response(body.encode(), media_type="application/json")


@router.get(
    "/videos",
    response_model=list[PublicVideo],
    response_model_exclude_none=True,
    responses=error_responses(400, 401, 503),
    # The credential is optional here: {} lists "no authentication" as an alternative.
    openapi_extra={"security": [{}, {"HTTPBearer": []}, {"APIKeyCookie": []}]},
)
async def public_videos(
    request: Request, paging: PagingQuery, _bearer: BearerScheme, _cookie: CookieScheme
):
    if _sends_credentials(request):
        return await run_in_threadpool(_public_videos_for_caller, request, paging)
    key = _key("videos", paging)
    page = _cache(request).get(key)
    if page is None:
        page = await run_in_threadpool(
            _load, request, key, _public_rows(_settings(request), paging)
        )
    return _shared_answer(request, page)


@router.post(
    "/videos/{video_id}/vote",
    response_model=MessageOut,
    responses=error_responses(400, 401, 403, 404, 503),
)
def vote(video_id: str, user: CurrentUser, session: SessionDep, request: Request) -> MessageOut:
    voting.vote(session, user, parse_video_id(video_id))
    # Visible at once through this app; other API processes see it within their cache's TTL.
    _cache(request).changed()
    return MessageOut(message="vote recorded")


def _ranking_rows(paging: Paging):
    def read(session) -> list[dict[str, Any]]:
        rows = voting.rankings(
            session, city=paging.city, page=paging.page, page_size=paging.page_size
        )
        first = (paging.page - 1) * paging.page_size
        return [
            {
                "position": first + index + 1,
                "username": f"{first_name} {last_name}",  # User.display_name
                "city": city,
                "votes": votes,
            }
            for index, (first_name, last_name, city, votes) in enumerate(rows)
        ]

    return read


@router.get("/rankings", response_model=list[RankingRow], responses=error_responses(400, 503))
async def rankings(request: Request, paging: PagingQuery):
    key = _key("rankings", paging)
    page = _cache(request).get(key)
    if page is None:
        page = await run_in_threadpool(_load, request, key, _ranking_rows(paging))
    return _shared_answer(request, page)


# Additive (not in the contract): one public video, for its shareable page in the web app.
@router.get(
    "/videos/{video_id}",
    response_model=PublicVideo,
    response_model_exclude_none=True,
    responses=error_responses(401, 404, 503),
    openapi_extra={"security": [{}, {"HTTPBearer": []}, {"APIKeyCookie": []}]},
)
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
