"""The console page's files, checked without a browser (as tests/web/test_assets.py checks the
other pages): CSP-clean HTML, every local URL served, no HTML parsing of API data, no CDN."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from tests.web.test_assets import FORBIDDEN_JS, WEB, _Collect


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    from api.main import create_app
    from vidpipe.settings import Settings

    url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'console.db'}"
    secret = "console-page-test-secret-0123456789abcdefgh"
    return TestClient(create_app(Settings(database_url=url, jwt_secret=secret)))


def test_console_page_is_csp_clean_and_everything_it_loads_is_served(client):
    page = client.get("/console")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    collected = _Collect()
    collected.feed(page.text)
    assert collected.problems == []
    local = [u for u in collected.urls if u.startswith("/") and not u.startswith("//")]
    assert "/console/assets/console.js" in local and "/console/assets/console.css" in local
    assert not [u for u in collected.urls if re.match(r"^(https?:)?//", u)]
    for url in local:
        if not url.startswith("/console#") and url != "/":
            assert client.get(url).status_code == 200, url


def test_console_module_inserts_data_as_text_and_imports_served_modules(client):
    source = (WEB / "console" / "console.js").read_text(encoding="utf-8")
    assert not FORBIDDEN_JS.search(source)
    imports = re.findall(r'^import .*? from "(.+?)";', source, flags=re.M)
    assert imports
    for target in imports:
        assert target.startswith("/static/js/"), f"{target}: only our own modules"
        assert client.get(target).status_code == 200, target


def test_console_stylesheet_loads_nothing(client):
    css = client.get("/console/assets/console.css")
    assert css.status_code == 200
    assert not re.search(r"url\(|@import", css.text)
