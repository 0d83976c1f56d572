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


class _Forms(HTMLParser):
    """Each form's method, whether a script drives it (`novalidate`: the module validates), and
    how many of its submit buttons start enabled."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "form":
            self.forms.append(
                {
                    "method": (attributes.get("method") or "get").lower(),
                    "driven": "novalidate" in attributes,
                    "enabled_submit": 0,
                }
            )
        elif tag == "button" and attributes.get("type") == "submit" and self.forms:
            if "disabled" not in attributes:
                self.forms[-1]["enabled_submit"] += 1


@pytest.mark.parametrize("page", sorted((WEB / "pages").glob("*.html")), ids=lambda p: p.stem)
def test_a_script_driven_form_cannot_be_submitted_before_its_script_runs(page):
    """Page modules run after the page is parsed: a click before then submitted the form
    natively, as a GET with every field (the login password too) in the URL. Such a form posts,
    and its button starts disabled until the module has attached its handler (a browser test
    clicked into that gap once). Search filters stay plain GET forms on purpose: they work
    without a script and carry nothing secret."""
    found = _Forms()
    found.feed(page.read_text())
    for form in found.forms:
        if form["driven"]:
            assert form["method"] == "post", (page.name, form)
            assert form["enabled_submit"] == 0, (page.name, form)
        else:
            assert form["method"] == "get", (page.name, form)
