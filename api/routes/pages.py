"""The web app: HTML pages and their static files, served by the API itself (no second server).

Each page is one HTML fragment from web/pages/ placed in web/pages/_layout.html, plus an ES module
from web/static/js/pages/ that calls the same JSON API as any other client. Nothing is rendered
from user data on the server, so the pages are plain files (no template engine needed); the
modules insert API data as text, never as HTML.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

import web

WEB = Path(web.__file__).resolve().parent
PAGES = WEB / "pages"

router = APIRouter(include_in_schema=False)
router.mount("/static", StaticFiles(directory=WEB / "static"), name="static")

# Pages are re-fetched on each visit (no-cache revalidates), so a deploy shows up at once.
_HEADERS = {"Cache-Control": "no-cache"}


@cache
def render(fragment: str, title: str, script: str) -> str:
    layout = (PAGES / "_layout.html").read_text(encoding="utf-8")
    main = (PAGES / fragment).read_text(encoding="utf-8")
    return (
        layout.replace("{{title}}", title).replace("{{script}}", script).replace("{{main}}", main)
    )


def _page(fragment: str, title: str, script: str, status_code: int = 200) -> HTMLResponse:
    return HTMLResponse(render(fragment, title, script), status_code=status_code, headers=_HEADERS)


# path -> (fragment, <title>, module under /static/js/pages/)
PAGE_ROUTES = {
    "/": ("gallery.html", "Gallery", "gallery"),
    "/rankings": ("rankings.html", "Rankings", "rankings"),
    "/login": ("login.html", "Log in", "login"),
    "/signup": ("signup.html", "Sign up", "signup"),
    "/upload": ("upload.html", "Upload a clip", "upload"),
    "/my-videos": ("my-videos.html", "My videos", "my-videos"),
}


def _route(fragment: str, title: str, script: str):
    def page() -> HTMLResponse:
        return _page(fragment, title, script)

    return page


for _path, (_fragment, _title, _script) in PAGE_ROUTES.items():
    router.add_api_route(_path, _route(_fragment, _title, _script), methods=["GET"])


@router.get("/videos/{video_id}")
def video_page(video_id: str) -> HTMLResponse:
    """One video's shareable page; the module reads the id from the URL."""
    return _page("video.html", "Video", "video")


# The operators' console (web/console/, the console helper's files): the site layout around
# console.html, with the console's own module instead of one from /static/js/pages/.
CONSOLE = WEB / "console"
router.mount("/console/assets", StaticFiles(directory=CONSOLE), name="console-assets")


@cache
def _console_html() -> str:
    html = render("../console/console.html", "Console", "console")
    return html.replace("/static/js/pages/console.js", "/console/assets/console.js")


@router.get("/console")
def console_page() -> HTMLResponse:
    """The console; its data come from /api/console/* (operators only, 403 for others)."""
    return HTMLResponse(_console_html(), headers=_HEADERS)
