"""The public list, voting and the rankings.

The public list and the rankings are the same for every anonymous visitor and change only when a
vote or a processed video lands, and each such change bumps the public revision
(vidpipe.public_revision) in its own transaction. So each app keeps their rendered pages (JSON
bytes + ETag) for as long as the revision stays the same, and re-reads the revision at most every
`public_cache_seconds` (one small query, shared by the requests that arrive meanwhile): that is
the bound on how stale a page can be after another process changed it. The app that records a
vote re-reads at once. An anonymous cache hit is answered on the event loop: no thread-pool hop,
no database session, no ORM objects, no pydantic. Answers carry an ETag (`If-None-Match` gets a
304) and `Cache-Control: public, no-cache` (clients revalidate, so they never show a page older
than the server's). A caller who sends credentials gets the same cached rows plus their own
`voted` flags, in one thread-pool hop.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
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
from vidpipe import public_revision, storage, voting
from vidpipe.settings import Settings
from vidpipe.users import city_key

router = APIRouter(prefix="/api/public", tags=["public"])

PagingQuery = Annotated[Paging, Query()]

CACHE_BUDGET_BYTES = 16 * 1024 * 1024  # rendered bytes of all cached pages of one process
# A page also ages out, whatever the revision, so the presigned URLs in it stay valid long enough:
# storage reuses a URL while >= 2/3 of its expiry remains, a page adds at most 1/6 of it, so every
# URL handed out has >= half its expiry left.
PAGE_MAX_AGE_SECONDS = 60.0


def page_max_age(settings: Settings) -> float:
    return min(PAGE_MAX_AGE_SECONDS, settings.presign_expiry_seconds / 6)


@dataclass(frozen=True)
class _Page:
    rows: tuple[dict[str, Any], ...]
    body: bytes
    etag: str
    revision: int | None
    created: float


def _render(rows: list[dict[str, Any]], revision: int | None) -> _Page:
    # The bytes FastAPI's JSONResponse would send, encoded once per cached page.
    body = json.dumps(rows, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()
    etag = '"' + hashlib.blake2b(body, digest_size=16).hexdigest() + '"'
    return _Page(tuple(rows), body, etag, revision, time.monotonic())


class _PageCache:
    """Rendered pages per (list, city key, page, page size), kept while the public revision they
    were read at is the current one (and at most `max_age`), within a byte budget.

    `revision` is the last one read from the database, at `checked_at` (monotonic, taken before
    the read). A page is tagged with the revision known before its rows were read, so its rows are
    at least that new; a page whose tag is no longer current is never served nor kept.
    """

    def __init__(self, bound: float, max_age: float, budget: int = CACHE_BUDGET_BYTES) -> None:
        self.bound = bound
        self.max_age = max_age
        self.budget = budget
        self.revision: int | None = None
        self.checked_at = -math.inf
        self._pages: OrderedDict[tuple, _Page] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()  # the authenticated path reads it from worker threads
        self._refresh: asyncio.Task | None = None

    @property
    def enabled(self) -> bool:
        return self.bound > 0

    def due(self) -> bool:
        """Whether the revision must be read again before a page is served."""
        return self.enabled and time.monotonic() - self.checked_at >= self.bound

    def observe(self, revision: int, read_started: float) -> None:
        with self._lock:
            if revision != self.revision:
                self._pages.clear()
                self._bytes = 0
                self.revision = revision
            self.checked_at = max(self.checked_at, read_started)

    def check_in_thread(self, session) -> None:
        """Re-read the revision if due, from a worker thread that has a session."""
        if self.due():
            self._read_now(lambda: public_revision.current(session))

    def _read_now(self, read_revision: Callable[[], int]) -> None:
        started = time.monotonic()  # before the read: a change during it is re-read next time
        self.observe(read_revision(), started)

    async def check(self, read_revision: Callable[[], int]) -> None:
        """Re-read the revision if due: one thread hop, shared by every request that arrives
        while it runs (under load, one query per `bound` instead of one per request)."""
        if not self.due():
            return
        loop = asyncio.get_running_loop()
        task = self._refresh
        # A task belongs to its event loop (each TestClient portal runs its own).
        if task is None or task.done() or task.get_loop() is not loop:
            task = self._refresh = loop.create_task(self._read(read_revision))
        await asyncio.shield(task)

    async def _read(self, read_revision: Callable[[], int]) -> None:
        await run_in_threadpool(self._read_now, read_revision)

    def get(self, key: tuple) -> _Page | None:
        with self._lock:
            page = self._pages.get(key)
            if page is None:
                return None
            if page.revision != self.revision or time.monotonic() - page.created >= self.max_age:
                self._drop(key)
                return None
            self._pages.move_to_end(key)
            return page

    def put(self, key: tuple, page: _Page) -> None:
        with self._lock:
            if not self.enabled or page.revision != self.revision:
                return  # off, or the revision moved while the page was being read
            if key in self._pages:
                self._drop(key)
            self._pages[key] = page
            self._bytes += len(page.body)
            while self._bytes > self.budget and self._pages:
                self._drop(next(iter(self._pages)))

    def changed(self) -> None:
        """This app changed what every visitor sees: re-read the revision before the next page."""
        with self._lock:
            self.checked_at = -math.inf

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
                settings = _settings(request)
                cache = state.public_page_cache = _PageCache(
                    settings.public_cache_seconds, page_max_age(settings)
                )
    return cache


def _read_revision(request: Request) -> Callable[[], int]:
    def read() -> int:
        # One statement: no transaction.
        with request.app.state.autocommit_sessionmaker() as session:
            return public_revision.current(session)

    return read


async def _cached_page(request: Request, key: tuple, read) -> _Page:
    """The shared page: from the cache when its revision is current, else read in one hop."""
    cache = _cache(request)
    await cache.check(_read_revision(request))
    page = cache.get(key)
    if page is None:
        page = await run_in_threadpool(_load, request, key, read)
    return page


def _settings(request: Request) -> Settings:
    # Read directly: the worker-thread paths have no dependency injection.
    return request.app.state.settings


def _key(kind: str, paging: Paging) -> tuple:
    return (kind, city_key(paging.city) if paging.city else None, paging.page, paging.page_size)


def _load(
    request: Request, key: tuple, read: Callable[[Any], list[dict[str, Any]]], session=None
) -> _Page:
    """Read and render a page (in a worker thread), and cache it."""
    revision = _cache(request).revision  # known before the rows are read: they are at least as new
    if session is None:
        with request.app.state.autocommit_sessionmaker() as own:  # one statement: no transaction
            rows = read(own)
    else:
        rows = read(session)
    page = _render(rows, revision)
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
        _cache(request).check_in_thread(session)
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
    page = await _cached_page(
        request, _key("videos", paging), _public_rows(_settings(request), paging)
    )
    return _shared_answer(request, page)


@router.post(
    "/videos/{video_id}/vote",
    response_model=MessageOut,
    responses=error_responses(400, 401, 403, 404, 503),
)
def vote(video_id: str, user: CurrentUser, session: SessionDep, request: Request) -> MessageOut:
    voting.vote(session, user, parse_video_id(video_id))
    # Visible at once through this app; other API processes see it within `public_cache_seconds`.
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
    page = await _cached_page(request, _key("rankings", paging), _ranking_rows(paging))
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
