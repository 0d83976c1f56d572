"""The voter's journey in a real browser: the gallery (filter by city, pages), Vote (and why it
is disabled), the rankings by city with their shareable URLs; and every page at 375 px wide."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import expect

from tests.web.harness import log_in

# A real stack, ffmpeg and a browser: run with the slow tests.
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def showcase(web_stack, clips):
    """Two processed clips by the only player from Cali (the module's stack is its own)."""
    city = "Cali"
    player = web_stack.signup("Luis", "Díaz", city=city)
    ids = [web_stack.upload(player, clips["good"], title) for title in ("Dunk", "Fadeaway")]
    for video_id in ids:
        assert web_stack.wait_status(player, video_id)["status"] == "processed"
    return {"city": city, "player": player, "ids": ids}


def test_voter_votes_in_the_gallery_and_sees_the_rankings(
    new_page, web_stack, showcase, screenshot
):
    city = showcase["city"]
    voter = web_stack.signup("Vera", "Voter", city="Bogotá")
    page = new_page()

    # Anonymous: the gallery shows the clips; voting asks to log in.
    page.goto(f"/?city={city}")
    cards = page.locator("li.card")
    expect(cards).to_have_count(2)
    dunk = cards.filter(has=page.get_by_role("link", name="Dunk"))
    expect(dunk).to_contain_text("Luis Díaz")
    expect(dunk).to_contain_text(city)
    assert "poster.jpg" in (dunk.locator("video").get_attribute("poster") or "")
    expect(dunk.get_by_role("button", name="Vote for Dunk")).to_be_disabled()
    expect(dunk.get_by_role("link", name="Log in")).to_be_visible()

    # The city filter is a form; the URL can be shared.
    page.goto("/")
    page.get_by_label("City").fill(city)
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"\?city=Cali$"))
    expect(cards).to_have_count(2)
    page.get_by_label("City").fill("Nowhere at all")
    page.get_by_label("City").press("Enter")
    expect(page.get_by_text("No public videos from Nowhere at all yet.")).to_be_visible()
    # Pages: a page past the end says so and links back; page URLs can be shared.
    page.goto(f"/?city={city}&page=2")
    expect(page.get_by_text("No more videos.")).to_be_visible()
    page.get_by_role("link", name="← Previous page").click()
    expect(page).to_have_url(re.compile(r"page=1"))
    expect(cards).to_have_count(2)

    # Signed in: vote once; the button then says why it is disabled, also after a reload.
    log_in(page, voter, next_path="/")
    page.goto(f"/?city={city}")
    vote = dunk.get_by_role("button", name="Vote for Dunk")
    expect(vote).to_be_enabled()
    vote.press("Enter")  # by keyboard
    expect(dunk.locator(".votes")).to_have_text("1 vote")
    expect(dunk.locator(".reason")).to_have_text("Thanks, your vote was recorded.")
    expect(vote).to_be_disabled()
    page.reload()
    expect(dunk.get_by_role("button", name="Vote for Dunk")).to_be_disabled()
    expect(dunk.locator(".reason")).to_have_text("You already voted for this video.")
    expect(dunk.locator(".votes")).to_have_text("1 vote")
    screenshot(page, "gallery")

    # The video's own page shows the same.
    dunk.get_by_role("link", name="Dunk").click()
    expect(page.get_by_role("heading", name="Dunk")).to_be_visible()
    expect(page.locator(".votes")).to_have_text("1 vote")
    expect(page.get_by_role("button", name="Vote for Dunk")).to_be_disabled()
    screenshot(page, "video")

    # Rankings by city, paged, with a URL to share.
    page.get_by_role("link", name="Rankings").click()
    page.get_by_label("City").fill(city)
    page.get_by_role("button", name="Show ranking").click()
    expect(page).to_have_url(re.compile(r"/rankings\?city=Cali$"))
    rows = page.locator("#rankings tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Luis Díaz")
    expect(rows.first.locator("td").last).to_have_text("1")
    screenshot(page, "rankings")
    page.goto(f"/rankings?city={city}&page=2")
    expect(rows).to_have_count(0)
    expect(page.get_by_text("No more players.")).to_be_visible()
    expect(page.get_by_role("link", name="← Previous page")).to_have_attribute(
        "href", re.compile(r"page=1")
    )


def test_a_player_cannot_vote_for_their_own_clip(new_page, showcase):
    page = new_page()
    log_in(page, showcase["player"], next_path="/")
    page.goto(f"/?city={showcase['city']}")
    cards = page.locator("li.card")
    expect(cards).to_have_count(2)
    for card in cards.all():
        expect(card.get_by_role("button", name=re.compile("^Vote for"))).to_be_disabled()
        expect(card.locator(".reason")).to_have_text(
            "This is your clip: players cannot vote for their own videos."
        )


def _fits(page, path: str) -> None:
    page.goto(path)
    page.locator("main h1").first.wait_for()
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"{path} scrolls sideways by {overflow} px at 375 px"


def test_every_page_fits_375_px_and_works_by_keyboard(new_page, web_stack, showcase, screenshot):
    page = new_page(width=375, height=800)
    for path in ["/login", "/signup", "/", "/rankings"]:
        _fits(page, path)
    log_in(page, showcase["player"])
    for path in ["/", "/rankings", "/upload", "/my-videos", f"/videos/{showcase['ids'][0]}"]:
        _fits(page, path)
    page.goto(f"/?city={showcase['city']}")
    expect(page.locator("li.card")).to_have_count(2)
    screenshot(page, "gallery-375")

    # Keyboard: the skip link comes first and every control is reachable with Tab.
    page.goto("/rankings")
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    page.keyboard.press("Enter")
    for _ in range(10):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "city":
            break
    expect(page.get_by_label("City")).to_be_focused()
    page.keyboard.type(showcase["city"])
    page.keyboard.press("Enter")
    expect(page.locator("#rankings tbody tr")).to_have_count(1)


def test_the_public_video_api_behind_the_shareable_page(web_stack, showcase, clips):
    """GET /api/public/videos/{id} and poster_url: the additive API the pages rely on."""
    video_id = showcase["ids"][0]
    body = web_stack.api.get(f"/api/public/videos/{video_id}").json()
    assert {k: body[k] for k in ("video_id", "title", "player", "city")} == {
        "video_id": video_id,
        "title": "Dunk",
        "player": "Luis Díaz",
        "city": showcase["city"],
    }
    assert "voted" not in body  # anonymous
    poster = httpx.get(body["poster_url"], timeout=30)
    assert poster.status_code == 200 and poster.content[:3] == b"\xff\xd8\xff"  # a JPEG
    assert httpx.get(body["processed_url"], timeout=30).content[4:8] == b"ftyp"

    voter = web_stack.signup("Nico", "Neutral")
    auth = {"Authorization": f"Bearer {web_stack.token(voter)}"}
    assert (
        web_stack.api.get(f"/api/public/videos/{video_id}", headers=auth).json()["voted"] is False
    )
    owner = {"Authorization": f"Bearer {web_stack.token(showcase['player'])}"}
    detail = web_stack.api.get(f"/api/videos/{video_id}", headers=owner).json()
    assert "poster.jpg" in detail["poster_url"]
    listed = web_stack.api.get("/api/public/videos", params={"city": showcase["city"]}).json()
    assert all("poster.jpg" in item["poster_url"] for item in listed)

    # Not public (whatever its status before processing ends), unknown or malformed: 404.
    private = web_stack.upload(showcase["player"], clips["broken"], "Private")
    for missing in (private, "00000000-0000-0000-0000-000000000000", "not-an-id"):
        r = web_stack.api.get(f"/api/public/videos/{missing}")
        assert r.status_code == 404 and r.json() == {"detail": "no such public video"}
