"""The player's journey in a real browser: sign up, log out, log in, the upload rules checked
before sending, upload with a progress bar, statuses updating by themselves until processed (and
failed with the reason), play the clip, the delete rules, the shareable page."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import expect

from tests.web.harness import PASSWORD, PROCESSING_TIMEOUT_S, log_in

# A real stack, ffmpeg and a browser: run with the slow tests.
pytestmark = pytest.mark.slow

PROCESSING_MS = PROCESSING_TIMEOUT_S * 1000


# Records the highest value the upload progress bar shows.
WATCH_PROGRESS = """() => {
    const bar = document.querySelector('#upload-progress');
    window.__maxProgress = 0;
    new MutationObserver(() => {
      window.__maxProgress = Math.max(window.__maxProgress, bar.value);
    }).observe(bar, {attributes: true});
}"""


def _upload(page, title: str, path) -> tuple[str, int]:
    """Upload through the page; returns the video id and the highest progress shown."""
    page.goto("/upload")
    page.evaluate(WATCH_PROGRESS)
    page.get_by_label("Title").fill(title)
    page.get_by_label("Video file (MP4, at most 100 MB)").set_input_files(str(path))
    page.get_by_role("button", name="Upload").click()
    done = page.locator("#done")
    expect(done).to_contain_text("was uploaded and is queued for processing")
    href = done.get_by_role("link", name="Open its page").get_attribute("href")
    return href.rsplit("/", 1)[-1], page.evaluate("window.__maxProgress")


def test_player_signs_up_uploads_watches_processing_plays_and_deletes(
    new_page, web_stack, clips, screenshot, tmp_path
):
    page = new_page()
    uploads_sent = []
    page.on(
        "request",
        lambda r: uploads_sent.append(r.url) if r.url.endswith("/api/videos/upload") else None,
    )

    # Sign up (visible labels), which logs in and leads to the upload page.
    page.goto("/signup")
    email = f"maya-{uuid.uuid4().hex[:6]}@example.com"
    for label, value in [
        ("First name", "Maya"),
        ("Last name", "Moore"),
        ("Email", email),
        ("Password", PASSWORD),
        ("Confirm password", PASSWORD),
        ("City", "Medellín"),
        ("Country", "Colombia"),
    ]:
        page.get_by_label(label, exact=True).fill(value)
    screenshot(page, "signup")
    page.get_by_role("button", name="Create account").click()
    expect(page).to_have_url(re.compile(r"/upload$"))
    expect(page.get_by_text("Maya Moore")).to_be_visible()

    # Log out, then log in again with the keyboard only.
    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(re.compile(r"/$"))
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Log in")).to_be_visible()
    nav.get_by_role("link", name="Log in").click()
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/my-videos$"))
    expect(page.get_by_text("You have not uploaded any clip yet")).to_be_visible()

    # The rules are checked before anything is sent: content (not the name) and size.
    page.goto("/upload")
    page.get_by_label("Title").fill("Not a video")
    page.get_by_label("Video file (MP4, at most 100 MB)").set_input_files(str(clips["text"]))
    page.get_by_role("button", name="Upload").click()
    expect(page.get_by_role("alert")).to_contain_text("not an MP4 video")
    big = tmp_path / "big.mp4"
    with open(big, "wb") as f:  # sparse: 101 MB without writing them
        f.write(clips["good"].read_bytes()[:64])
        f.truncate(101 * 1024 * 1024)
    page.get_by_label("Video file (MP4, at most 100 MB)").set_input_files(str(big))
    page.get_by_role("button", name="Upload").click()
    expect(page.get_by_role("alert")).to_contain_text("the limit is 100 MB")
    assert uploads_sent == []

    # A real upload: the progress bar reaches 100 %.
    good_id, progress = _upload(page, "Crossover <b>drill</b>", clips["good"])
    assert progress == 100
    assert len(uploads_sent) == 1
    broken_id, _ = _upload(page, "Broken file", clips["broken"])

    # My videos: statuses change by themselves, without reloading the page.
    page.get_by_role("link", name="My videos").first.click()
    page.evaluate("window.__sameDocument = true")
    good = page.locator(f'li[data-video-id="{good_id}"]')
    broken = page.locator(f'li[data-video-id="{broken_id}"]')
    # The title is shown as text: the markup in it is not interpreted.
    expect(good.get_by_role("link", name="Crossover <b>drill</b>")).to_be_visible()
    expect(good.locator("b")).to_have_count(0)
    assert good.get_attribute("data-status") in ("uploaded", "processing")
    expect(good).to_have_attribute("data-status", "processed", timeout=PROCESSING_MS)
    expect(broken).to_have_attribute("data-status", "failed", timeout=PROCESSING_MS)
    assert page.evaluate("window.__sameDocument") is True
    expect(broken.locator(".error")).to_contain_text("Reason: ")
    # The rule: a processed video is public and cannot be deleted; a failed one can.
    expect(good.get_by_role("button", name=re.compile("Delete"))).to_have_count(0)
    expect(good).to_contain_text("cannot be deleted")
    screenshot(page, "my-videos")
    page.once("dialog", lambda dialog: dialog.accept())
    broken.get_by_role("button", name="Delete Broken file").click()
    expect(page.locator("#message")).to_contain_text("“Broken file” was deleted.")
    expect(broken).to_have_count(0)

    # The video's page plays the processed clip, with its poster and its votes.
    good.get_by_role("link", name="Watch the clip").click()
    expect(page).to_have_url(re.compile(f"/videos/{good_id}$"))
    expect(page.get_by_role("heading", name="Crossover <b>drill</b>")).to_be_visible()
    expect(page.locator("#votes")).to_have_text("0 votes")
    video = page.locator("video")
    assert "poster.jpg" in (video.get_attribute("poster") or "")
    page.wait_for_function(
        "() => { const v = document.querySelector('video');"
        " return v.readyState >= 1 && v.duration > 0 }"
    )
    page.evaluate("() => document.querySelector('video').play()")
    page.wait_for_function("() => document.querySelector('video').currentTime > 0")
    assert page.evaluate("document.querySelector('video').duration") > 2
    expect(page.get_by_role("button", name=re.compile("Delete"))).to_have_count(0)
    share = page.get_by_label("Link to this video").input_value()
    assert share == f"{web_stack.url}/videos/{good_id}"
    page.evaluate("() => document.querySelector('video').pause()")
    screenshot(page, "video-owner")

    # The shared link works for anyone, without an account.
    visitor = new_page()
    visitor.goto(f"/videos/{good_id}")
    expect(visitor.get_by_role("heading", name="Crossover <b>drill</b>")).to_be_visible()
    expect(visitor.get_by_text("Maya Moore")).to_be_visible()
    expect(visitor.get_by_role("button", name="Vote for Crossover <b>drill</b>")).to_be_disabled()
    expect(visitor.locator(".reason")).to_contain_text("Log in to vote.")


def test_the_forms_show_the_api_s_reasons(new_page, web_stack, expected_console_errors):
    """Checks the browser cannot make (a taken email, a wrong password) come back from the API
    and are shown next to the form."""
    expected_console_errors += [r"status of 400", r"status of 401"]
    taken = web_stack.signup("Tomas", "Taken")
    page = new_page()
    page.goto("/signup")
    for label, value in [
        ("First name", "Other"),
        ("Last name", "Person"),
        ("Email", taken["email"]),
        ("Password", PASSWORD),
        ("Confirm password", PASSWORD + "x"),
        ("City", "Cali"),
        ("Country", "Colombia"),
    ]:
        page.get_by_label(label, exact=True).fill(value)
    page.get_by_role("button", name="Create account").click()
    # Checked in the page first (nothing sent), with the field marked and focused.
    expect(page.get_by_role("alert")).to_have_text("The passwords do not match.")
    expect(page.get_by_label("Confirm password")).to_be_focused()
    expect(page.get_by_label("Confirm password")).to_have_attribute("aria-invalid", "true")
    page.get_by_label("Confirm password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("alert")).to_have_text("an account with this email already exists")

    page.goto("/login")
    page.get_by_label("Email").fill(taken["email"])
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_have_text("wrong email or password")
    expect(page.get_by_label("Password")).to_be_focused()


def test_processing_percentage_is_shown_and_follows_the_api(new_page, web_stack):
    """`progress` (GET /api/videos/{id}, filled by the pipeline's progress messages) is shown as
    a percentage on "My videos" and on the video's page, and followed by polling. The API's
    answers are scripted here (Playwright routes) so that the page is checked on its own,
    whatever the speed of the real transcode."""
    user = web_stack.signup("Pia", "Progress")
    video_id = str(uuid.uuid4())
    state = {"status": "processing", "progress": 12}

    def summary() -> dict:
        return {
            "video_id": video_id,
            "title": "Step-back three",
            "status": state["status"],
            "uploaded_at": "2026-01-02T03:04:05Z",
        }

    def detail() -> dict:
        return {
            **summary(),
            "processed_at": None,
            "original_url": None,
            "processed_url": None,
            "votes": 0,
            "task_id": f"{video_id}-1",
            "progress": state["progress"],
        }

    page = new_page()
    log_in(page, user)
    page.route("**/api/videos", lambda route: route.fulfill(json=[summary()]))
    page.route(f"**/api/videos/{video_id}", lambda route: route.fulfill(json=detail()))

    page.goto("/my-videos")
    item = page.locator(f'li[data-video-id="{video_id}"]')
    expect(item.locator(".percent")).to_have_text("12 %")
    expect(item.get_by_label("Processing")).to_have_attribute("value", "12")
    state["progress"] = 57
    expect(item.locator(".percent")).to_have_text("57 %")

    page.goto(f"/videos/{video_id}")
    expect(page.locator("#status")).to_contain_text("Processing")
    expect(page.locator(".percent")).to_have_text("57 %")
    state["progress"] = 90
    expect(page.locator(".percent")).to_have_text("90 %")
    state["status"], state["progress"] = "failed", None
    expect(page.locator("#status")).to_contain_text("Failed")
    expect(page.locator(".percent")).to_have_count(0)
