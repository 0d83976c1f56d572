"""Browser tests: a real `vidpipe up` (its own SQLite and embedded moto, the processing policy
lowered so that a 2 s clip is accepted) driven through Debian's chromium by Playwright.

Fixtures for any test (a plugin of tests/conftest.py; tests/web and tests/console use them):
- `stack_env` (module): extra environment for the stack; override it in a module to change
  settings (the defaults lower the policy: VIDPIPE_MIN_DURATION_SECONDS / VIDPIPE_MIN_HEIGHT).
- `web_stack` (module): the running stack: `.url`, `.data_dir`, `.env_file`, `.database_url`,
  `.api` (an httpx client on the API), `.signup()` / `.token()` / `.upload()` / `.wait_status()`.
- `log_in(page, user, next_path=None)`: log in through the login page.
- `browser` (session): Chromium (the system's, via executable_path; Playwright's own browser
  download is not used).
- `new_page(width=1280, height=800)`: a page in a fresh browser context (no cookies) whose console
  errors, uncaught exceptions and failed requests fail the test; `page` is one such page. A test
  that provokes an error answer on purpose lists it in `expected_console_errors` (regexes).
- `clips` (module): MP4 files made with ffmpeg: "good" (2 s 426x240 H.264), "broken" (an ftyp
  header then garbage: uploads, then fails processing), "text" (a text file named .mp4).
- `screenshot(page, name)`: a PNG in the test's tmp dir, and in $WEB_SCREENSHOTS_DIR when set
  (`WEB_SCREENSHOTS_DIR=docs/screenshots pytest tests/web` refreshes the README's pictures).

Chromium missing: skipped on a developer machine, a failure under CI (the CI variable set).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from localcloud.ports import free_port_pair

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # The tests start playback from a script, without a user gesture.
    "--autoplay-policy=no-user-gesture-required",
]
# Processing policy lowered for tiny clips (README, "vidpipe up"); 1 s bumpers keep runs short.
LOW_POLICY = {
    "VIDPIPE_MIN_DURATION_SECONDS": "1",
    "VIDPIPE_MIN_HEIGHT": "240",
    "VIDPIPE_BUMPER_SECONDS": "1",
}
PASSWORD = "long-enough-password"
# Waiting for a real transcode on a busy 2-core machine.
PROCESSING_TIMEOUT_S = 180


def _chromium() -> str:
    path = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).exists():
        message = "chromium is not installed (apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(message + ": CI must run the browser tests")
        pytest.skip(message)
    return path


@dataclass
class WebStack:
    url: str
    data_dir: Path
    process: subprocess.Popen
    log_path: Path
    api: httpx.Client = field(repr=False)
    _tokens: dict[str, str] = field(default_factory=dict, repr=False)

    @property
    def env_file(self) -> Path:
        """KEY=VALUE settings the operator commands need to reach this stack (`--env-file`)."""
        return self.data_dir / "local.env"

    @property
    def database_url(self) -> str:
        """The stack's SQLite database (`vidpipe up` puts it in its data dir)."""
        return f"sqlite:///{self.data_dir / 'vidpipe.db'}"

    def signup(self, first="Ana", last="Perez", city="Cali", country="Colombia") -> dict:
        """A new player through the API; returns the signup body with the password."""
        body = {
            "first_name": first,
            "last_name": last,
            "email": f"{first.lower()}-{uuid.uuid4().hex[:8]}@example.com",
            "password1": PASSWORD,
            "password2": PASSWORD,
            "city": city,
            "country": country,
        }
        r = self.api.post("/api/auth/signup", json=body)
        assert r.status_code == 201, r.text
        return {**body, "id": r.json()["id"], "password": PASSWORD}

    def token(self, user: dict) -> str:
        """A bearer token for the user (one login per user: sign-ins are throttled)."""
        if user["email"] not in self._tokens:
            r = self.api.post(
                "/api/auth/login", json={"email": user["email"], "password": user["password"]}
            )
            assert r.status_code == 200, r.text
            self._tokens[user["email"]] = r.json()["access_token"]
        return self._tokens[user["email"]]

    def upload(self, user: dict, path: Path, title: str) -> str:
        r = self.api.post(
            "/api/videos/upload",
            headers={"Authorization": f"Bearer {self.token(user)}"},
            files={"video_file": (path.name, path.read_bytes(), "video/mp4")},
            data={"title": title},
        )
        assert r.status_code == 201, r.text
        return r.json()["video_id"]

    def wait_status(
        self, user: dict, video_id: str, statuses=("processed", "failed"), timeout: float = 0
    ) -> dict:
        """Poll GET /api/videos/{id} until the status is one of `statuses` (bounded)."""
        headers = {"Authorization": f"Bearer {self.token(user)}"}
        end = time.monotonic() + (timeout or PROCESSING_TIMEOUT_S)
        while True:
            body = self.api.get(f"/api/videos/{video_id}", headers=headers).json()
            if body.get("status") in statuses:
                return body
            assert time.monotonic() < end, f"video {video_id} still {body.get('status')}"
            time.sleep(0.5)

    def log_tail(self, lines: int = 60) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


@pytest.fixture(scope="module")
def stack_env() -> dict[str, str]:
    return dict(LOW_POLICY)


def _wait_healthy(stack: WebStack, deadline_s: float = 120) -> None:
    end = time.monotonic() + deadline_s
    while True:
        if stack.process.poll() is not None:
            raise AssertionError(f"vidpipe up exited early:\n{stack.log_tail()}")
        try:
            if stack.api.get("/api/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > end:
            raise AssertionError(f"/api/health not ok within {deadline_s} s:\n{stack.log_tail()}")
        time.sleep(0.3)


def _stop(process: subprocess.Popen) -> int | None:
    if process.poll() is not None:
        return process.returncode
    process.send_signal(signal.SIGTERM)
    try:
        return process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)  # its own session: the runner's jobs go too
        process.wait(timeout=10)
        return None


@pytest.fixture(scope="module")
def web_stack(tmp_path_factory, stack_env) -> Iterator[WebStack]:
    """`vidpipe up` as a user runs it (own port pair, own data dir), stopped with SIGTERM."""
    work = tmp_path_factory.mktemp("web-stack")
    port = free_port_pair()
    # A clean environment: no VIDPIPE_*/AWS_* from the test run, only the stack's own settings.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIDPIPE_", "AWS_"))}
    env.update(stack_env)
    log_path = work / "server.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "cli", "up", "--port", str(port)]
            + ["--data-dir", str(work / "data")],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    client = httpx.Client(base_url=url, timeout=60)
    stack = WebStack(url, work / "data", process, log_path, client)
    try:
        _wait_healthy(stack)
        yield stack
    finally:
        client.close()
        code = _stop(process)
    assert code == 0, f"vidpipe up did not stop cleanly (exit {code}):\n{stack.log_tail()}"


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    executable = _chromium()
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=executable, args=CHROMIUM_ARGS, headless=True
        )
        yield chromium
        chromium.close()


@pytest.fixture
def expected_console_errors() -> list[str]:
    """Regexes of console errors a test provokes on purpose (Chromium logs every 4xx answer as
    "Failed to load resource: ..."); anything else still fails the test."""
    return []


@pytest.fixture
def new_page(browser, web_stack, expected_console_errors) -> Iterator[Callable]:
    """new_page(width=1280, height=800): a page in its own context (its own cookies)."""
    contexts = []
    problems: list[str] = []

    def make(width: int = 1280, height: int = 800):
        context = browser.new_context(
            base_url=web_stack.url, viewport={"width": width, "height": height}
        )
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = context.new_page()
        # Every console error (CSP violations and failed loads are reported there too) and
        # every uncaught exception fails the test.
        page.on(
            "console",
            lambda m: problems.append(f"console {m.type}: {m.text} at {m.location.get('url')}")
            if m.type == "error"
            else None,
        )
        page.on("pageerror", lambda exc: problems.append(f"uncaught: {exc}"))
        # ERR_ABORTED is a request the page itself gave up: a navigation away while a fetch was
        # in flight, or a clip of which the player has read enough. Anything else is a failure.
        page.on(
            "requestfailed",
            lambda r: problems.append(f"request failed: {r.method} {r.url}: {r.failure}")
            if "ERR_ABORTED" not in (r.failure or "")
            else None,
        )
        return page

    yield make
    for context in contexts:
        context.close()
    unexpected = [
        problem
        for problem in problems
        if not any(re.search(pattern, problem) for pattern in expected_console_errors)
    ]
    assert not unexpected, "browser errors:\n" + "\n".join(unexpected)


@pytest.fixture
def page(new_page):
    return new_page()


def _ffmpeg(out: Path, *args: str) -> Path:
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-y", *args, str(out)],
        check=True,
        timeout=120,
    )
    return out


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("clips")
    good = _ffmpeg(
        d / "drill.mp4",
        *("-f", "lavfi", "-i", "testsrc2=size=426x240:rate=25", "-t", "2"),
        *("-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p"),
        *("-movflags", "+faststart"),
    )
    broken = d / "broken.mp4"
    broken.write_bytes(b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + os.urandom(16384))
    text = d / "notes.mp4"
    text.write_text("this is a text file, not a video\n")
    return {"good": good, "broken": broken, "text": text}


@pytest.fixture
def screenshot(tmp_path) -> Callable:
    target = os.environ.get("WEB_SCREENSHOTS_DIR")

    def take(page, name: str) -> Path:
        path = tmp_path / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        if target:
            Path(target).mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, Path(target) / path.name)
        return path

    return take


def log_in(page, user: dict, next_path: str | None = None) -> None:
    """Log in through the login page, as a person would."""
    page.goto("/login" + (f"?next={next_path}" if next_path else ""))
    page.get_by_label("Email").fill(user["email"])
    page.get_by_label("Password").fill(user["password"])
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("button", name="Log out").wait_for()
