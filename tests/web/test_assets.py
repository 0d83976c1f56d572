"""The pages' files, checked without a browser: what the CSP and the escaping rule need.

- no inline script, inline style or event-handler attribute (CSP script-src/style-src 'self');
- no HTML parsing of data in the modules (innerHTML, outerHTML, insertAdjacentHTML,
  document.write, eval, new Function): titles and all API values are inserted as text;
- nothing loaded from another origin (no CDN);
- every local URL a page or module refers to is served, and every page route answers HTML.
"""

from __future__ import annotations

import re
import secrets
from html.parser import HTMLParser
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.routes import pages

WEB = Path(pages.__file__).resolve().parents[2] / "web"
MODULES = sorted((WEB / "static" / "js").rglob("*.js"))
FORBIDDEN_JS = re.compile(
    r"\.innerHTML|\.outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function\("
)


class _Collect(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.problems: list[str] = []
        self.urls: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        for name in attributes:
            if name == "style" or name.startswith("on"):
                self.problems.append(f"inline {name} on <{tag}>")
        if tag == "style":
            self.problems.append("<style> element")
        if tag == "script":
            if not attributes.get("src"):
                self.problems.append("inline <script>")
            self._in_script = True
        for name in ("src", "href", "action"):
            if attributes.get(name):
                self.urls.append(attributes[name])

    def handle_endtag(self, tag):
        self._in_script = False if tag == "script" else self._in_script


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    from api.main import create_app
    from vidpipe.settings import Settings

    url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'pages.db'}"
    settings = Settings(database_url=url, jwt_secret=secrets.token_urlsafe(48))
    return TestClient(create_app(settings))


ROUTES = [*pages.PAGE_ROUTES, "/videos/3f1b1e6e-0000-4000-8000-000000000000"]


@pytest.mark.parametrize("path", ROUTES)
def test_every_page_is_csp_clean_html_whose_local_urls_are_served(client, path):
    response = client.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    collected = _Collect()
    collected.feed(response.text)
    assert collected.problems == []
    for url in collected.urls:
        assert not re.match(r"^(https?:)?//", url), f"{url}: loaded from another origin"
        if url.startswith("/static/"):
            assert client.get(url).status_code == 200, url


@pytest.mark.parametrize("module", MODULES, ids=lambda p: str(p.relative_to(WEB)))
def test_modules_never_parse_data_as_html_and_import_only_served_files(client, module):
    source = module.read_text(encoding="utf-8")
    assert not FORBIDDEN_JS.search(source), FORBIDDEN_JS.search(source).group(0)
    for target in re.findall(r'^import .*? from "(.+?)";', source, flags=re.M):
        assert target.startswith("."), f"{target}: only relative imports of our own modules"
        served = (module.parent / target).resolve().relative_to(WEB)
        assert client.get(f"/{served.as_posix()}").status_code == 200, served


def test_the_stylesheet_loads_nothing_from_another_origin(client):
    css = client.get("/static/css/app.css").text
    assert not re.search(r"url\(|@import", css)
