"""The operator's journey in a real browser (tests/web's harness: `vidpipe up`, Debian chromium):
the console, a failed video's graph and timeline, retry from the DLQ until processed, the
charts and the cost. Screenshots go to $WEB_SCREENSHOTS_DIR (docs/screenshots) when set.

The failure is an operator's, not the player's (an unusable upload is rejected without reaching
the DLQ): the stack's task definition names a watermark logo that is not there yet, so the real
job fails with Transcode.Failed; the operator puts the logo in place and retries from the DLQ."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys

import pytest
from playwright.sync_api import expect

import statemachines
from jobs.transcode.settings import DEFAULT_LOGO
from tests.web.harness import LOW_POLICY, PROCESSING_TIMEOUT_S, log_in

pytestmark = pytest.mark.slow
PROCESSING_MS = PROCESSING_TIMEOUT_S * 1000


@pytest.fixture(scope="module")
def logo_path(tmp_path_factory):
    """Where the stack's transcode tasks look for the watermark logo (absent at first)."""
    return tmp_path_factory.mktemp("operator") / "logo.png"


@pytest.fixture(scope="module")
def stack_env(logo_path) -> dict[str, str]:
    return {**LOW_POLICY, "VIDPIPE_LOGO_PATH": str(logo_path)}


def grant_operator(stack, email: str) -> None:
    """`vidpipe users grant-operator EMAIL`, as an operator runs it against this stack."""
    done = subprocess.run(
        [sys.executable, "-m", "cli", "users", "grant-operator", email]
        + ["--env-file", str(stack.env_file)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert email in done.stdout


def no_horizontal_scroll(page) -> bool:
    return page.evaluate(
        "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
    )


def test_operator_sees_a_failed_run_and_retries_it_from_the_dlq(
    new_page, web_stack, clips, screenshot, logo_path
):
    player = web_stack.signup(first="Pat", last="Player")
    operator = web_stack.signup(first="Olga", last="Operator")
    video_id = web_stack.upload(player, clips["good"], "Crossover drill")
    failed = web_stack.wait_status(player, video_id)
    assert failed["status"] == "failed", failed

    # A player is not an operator: the console's API answers 403 and the page says so.
    page = new_page()
    log_in(page, player, next_path="/console")
    page.goto("/console")
    expect(page.get_by_role("alert")).to_contain_text("for operators")

    grant_operator(web_stack, operator["email"])
    page = new_page()
    log_in(page, operator, next_path="/console")
    page.goto("/console")
    expect(page.get_by_role("heading", name="Pipeline console")).to_be_visible()
    expect(page.locator('[data-queue="dlq"] .queue-number')).to_have_text("1")
    expect(page.locator("#chart-hourly svg rect.bar--failed").first).to_be_visible()

    # The failed execution, found with the status filter.
    page.get_by_role("link", name="Executions", exact=True).click()
    page.get_by_label("Status").select_option("FAILED")
    row = page.locator(f'#executions tr[data-execution="{video_id}-1"]')
    expect(row).to_contain_text("Crossover drill")
    expect(row).to_contain_text("FAILED")
    row.get_by_role("link", name=f"{video_id}-1").click()
    expect(page).to_have_url(re.compile(rf"#/executions/{video_id}-1$"))

    # The graph: drawn from the definition, the path taken, the failed state highlighted.
    graph = page.locator("#graph svg")
    states = json.loads(statemachines.DEFINITION_PATH.read_text())["States"]
    expect(graph.locator("[data-state]")).to_have_count(len(states))
    expect(graph.locator('[data-state="Transcode"]')).to_have_attribute("data-status", "failed")
    expect(graph.locator(".node--root-cause")).to_have_attribute("data-state", "Transcode")
    for state in ("MarkProcessing", "RecordFailure", "SendToDlq"):
        expect(graph.locator(f'[data-state="{state}"]')).to_have_attribute(
            "data-status", "succeeded"
        )
    expect(graph.locator('[data-state="VideoFailed"]')).to_have_attribute("data-status", "failed")
    expect(graph.locator('[data-state="Processed"]')).to_have_attribute("data-status", "unvisited")
    taken = graph.locator('path.edge--taken[data-from="Transcode"][data-to="RecordFailure"]')
    expect(taken).to_have_count(1)
    expect(page.locator("#failed-state")).to_have_text("Transcode")
    # The timeline: the rows of `vidpipe history`, with the error and its cause.
    failure = page.locator('#timeline tr[data-event="TaskFailed"]').last  # retried once
    expect(failure).to_contain_text("Transcode")
    expect(failure).to_contain_text("Transcode.Failed")
    expect(failure).to_contain_text("logo not found")
    expect(page.locator('#timeline tr[data-event="ExecutionFailed"]')).to_be_visible()
    screenshot(page, "console-execution-failed")

    # Readable on a phone: nothing scrolls sideways (tables scroll inside their box).
    page.set_viewport_size({"width": 375, "height": 800})
    assert no_horizontal_scroll(page)
    page.set_viewport_size({"width": 1280, "height": 800})

    # The operator puts the logo in place and retries the video from the DLQ.
    shutil.copyfile(DEFAULT_LOGO, logo_path)
    page.get_by_role("link", name="Dead-letter queue").click()
    message = page.locator(f'#dlq tr[data-video="{video_id}"]')
    expect(message).to_contain_text("Transcode.Failed")
    screenshot(page, "console-dlq")
    message.get_by_role("button", name=f"Retry video {video_id}").click()
    expect(page.get_by_role("status")).to_contain_text(f"attempt 2 ({video_id}-2) queued")

    # Until processed: the executions list refreshes by itself.
    page.get_by_role("link", name="Executions", exact=True).click()
    page.get_by_label("Status").select_option("")
    retried = page.locator(f'#executions tr[data-execution="{video_id}-2"]')
    expect(retried).to_have_attribute("data-status", "SUCCEEDED", timeout=PROCESSING_MS)
    retried.get_by_role("link", name=f"{video_id}-2").click()
    graph = page.locator("#graph svg")
    expect(graph.locator('[data-state="Processed"]')).to_have_attribute("data-status", "succeeded")
    expect(graph.locator(".node--root-cause")).to_have_count(0)
    expect(page.locator("#run-cost")).to_have_text(re.compile(r"^\$0\.\d+$"))
    assert web_stack.wait_status(player, video_id)["status"] == "processed"

    # The DLQ message is settled now: "Redrive all" removes it, as `vidpipe dlq redrive` does.
    page.get_by_role("link", name="Dead-letter queue").click()
    expect(message).to_be_visible()
    page.get_by_role("button", name="Redrive all").click()
    expect(page.get_by_role("status")).to_contain_text("1 removed")
    expect(page.locator("#dlq-empty")).to_be_visible()

    # The overview: queues, charts of processed and failed runs, processing time, cost per day.
    page.get_by_role("link", name="Overview").click()
    expect(page.locator("#chart-hourly svg rect.bar--processed").first).to_be_visible()
    durations = page.locator("#chart-durations svg")
    expect(durations.locator(".marker--p50")).to_have_count(1)
    expect(durations.locator(".marker--p95")).to_have_count(1)
    expect(durations).to_contain_text("p95")
    expect(page.locator("#chart-cost svg rect.bar--cost").first).to_be_visible()
    screenshot(page, "console-overview")
    page.set_viewport_size({"width": 375, "height": 800})
    assert no_horizontal_scroll(page)
