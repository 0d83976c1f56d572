"""Bounded bodies, text without control characters, JSON errors everywhere, security headers."""

from __future__ import annotations

import logging

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from tests.api.bodies import SIGNUP
from vidpipe import videos

# --- bodies are bounded before they are parsed -------------------------------------------


def test_a_declared_oversized_json_body_is_413_before_reading(client):
    response = client.post(
        "/api/auth/login",
        content=b"{}",
        headers={"Content-Type": "application/json", "Content-Length": str(100 * 1024 * 1024)},
    )
    assert response.status_code == 413
    assert "too large" in response.json()["detail"]


def test_a_streamed_json_body_is_cut_off_at_the_limit(client):
    sent = []

    def chunks():  # no Content-Length: the body arrives chunked, 1 MiB at a time
        for _ in range(100):
            sent.append(1)
            yield b" " * (1024 * 1024)

    response = client.post(
        "/api/auth/signup", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json()["detail"] == "request body too large: the limit is 64 KiB"


def test_json_bodies_under_the_limit_are_parsed(client):
    padded = {**SIGNUP, "bio": "x" * 60_000}  # 60 KB: parsed, then refused as an extra field
    response = client.post("/api/auth/signup", json=padded)
    assert response.status_code == 400
    assert "bio" in response.json()["detail"]


# --- control characters ------------------------------------------------------------------


@pytest.mark.parametrize("bad", ["\x00", "\x1b[31m", "\x7f", "\u0085"])
def test_control_characters_are_400_in_every_json_field(client, bad):
    for field in ("first_name", "last_name", "city", "country", "email"):
        value = f"ana{bad}x@example.com" if field == "email" else f"An{bad}a"
        response = client.post("/api/auth/signup", json={**SIGNUP, field: value})
        assert response.status_code == 400, (field, response.text)
        assert "control characters" in response.json()["detail"], response.json()
        assert field in response.json()["detail"]
    for body in (
        {**SIGNUP, "password1": f"long{bad}enough", "password2": f"long{bad}enough"},
        {"email": f"ana{bad}@example.com", "password": "long-enough"},
        {"email": "ana@example.com", "password": f"long{bad}enough"},
    ):
        path = "/api/auth/signup" if "password1" in body else "/api/auth/login"
        response = client.post(path, json=body)
        assert response.status_code == 400, (body, response.text)
        assert "control characters" in response.json()["detail"]


def test_a_lone_surrogate_is_400_not_a_database_error(client):
    raw = b'{"email": "a\\ud800@example.com", "password": "long-enough"}'
    response = client.post(
        "/api/auth/login", content=raw, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    detail = response.json()["detail"]
    assert detail.startswith("email: ")
    assert "control characters" in detail or "valid string" in detail


def test_control_characters_are_400_in_query_parameters(client):
    for path in ("/api/public/videos", "/api/public/rankings"):
        response = client.get(path, params={"city": "Bogo\x00ta"})
        assert response.status_code == 400, response.text
        assert "city" in response.json()["detail"]
        assert "control characters" in response.json()["detail"]


def test_control_characters_are_400_in_the_upload_title(make_player, upload):
    player = make_player()
    response = upload(player, title="Cross\x00over")
    assert response.status_code == 400
    assert "title" in response.json()["detail"]
    assert "control characters" in response.json()["detail"]


# --- every error is JSON ------------------------------------------------------------------


def test_an_unexpected_error_is_a_logged_json_500(client, make_player, monkeypatch, caplog):
    player = make_player()

    def broken(*_, **__):
        raise RuntimeError("something nobody expected")

    monkeypatch.setattr(videos, "list_own", broken)
    with caplog.at_level(logging.ERROR):
        response = client.get("/api/videos", headers=player.headers)
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/json"
    assert set(response.json()) == {"detail"}
    assert "something nobody expected" not in response.text  # no internals to the client
    assert any(
        r.exc_info and "something nobody expected" in str(r.exc_info[1]) for r in caplog.records
    )
    assert response.headers["x-content-type-options"] == "nosniff"


def test_unknown_paths_and_methods_are_json(client):
    assert client.get("/api/nope").json() == {"detail": "Not Found"}
    wrong = client.put("/api/public/rankings")
    assert wrong.status_code == 405 and "detail" in wrong.json()


# --- security headers ---------------------------------------------------------------------

BASE_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
}


def test_security_headers_on_every_answer(client, make_player):
    player = make_player()
    answers = [
        client.get("/api/health"),
        client.get("/api/public/rankings"),
        client.get("/api/nope"),
        client.get("/api/videos"),  # 401
        client.post("/api/auth/login", json={"email": "x@example.com", "password": "x"}),
        client.get("/api/videos", headers=player.headers),
        client.get("/openapi.json"),
    ]
    for response in answers:
        for name, value in BASE_HEADERS.items():
            assert response.headers.get(name) == value, (response.url, name)
        csp = response.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp
        assert "default-src 'self'" in csp and "base-uri 'none'" in csp
        assert "strict-transport-security" not in response.headers  # plain http
    authenticated = client.get("/api/videos", headers=player.headers)
    assert authenticated.headers["cache-control"] == "no-store"
    login = client.post("/api/auth/login", json={"email": player.email, "password": "s3cret-pass"})
    assert login.headers["cache-control"] == "no-store"


def test_the_csp_allows_the_media_origin_of_presigned_urls(client, settings):
    csp = client.get("/api/health").headers["content-security-policy"]
    media = [part for part in csp.split(";") if part.strip().startswith("media-src")][0]
    assert f"{settings.bucket}.s3.amazonaws.com" in media or "s3.amazonaws.com" in media
    assert "img-src 'self' data: blob:" in csp


def test_hsts_only_when_a_trusted_proxy_says_https(settings):
    forwarded = {"X-Forwarded-Proto": "https"}
    untrusted = create_app(settings)
    trusted = create_app(settings.model_copy(update={"trusted_proxy_count": 1}))
    try:
        with TestClient(untrusted) as plain, TestClient(trusted) as behind_alb:
            assert (
                "strict-transport-security"
                not in plain.get("/api/health", headers=forwarded).headers
            )
            assert "strict-transport-security" not in behind_alb.get("/api/health").headers
            hsts = behind_alb.get("/api/health", headers=forwarded).headers
            assert hsts["strict-transport-security"].startswith("max-age=")
        with TestClient(untrusted, base_url="https://testserver") as tls:
            assert "strict-transport-security" in tls.get("/api/health").headers
    finally:
        untrusted.state.engine.dispose()
        trusted.state.engine.dispose()


@pytest.mark.parametrize("workers", ["1", "2"])
def test_vidpipe_api_sends_no_server_banner(monkeypatch, tmp_path, workers):
    from typer.testing import CliRunner

    from cli import serve

    calls = []
    monkeypatch.setattr(serve, "exit_on_sigterm", lambda: None)  # leave pytest's SIGTERM alone
    monkeypatch.setattr(serve.uvicorn, "run", lambda *args, **kwargs: calls.append(kwargs))
    monkeypatch.setenv("VIDPIPE_DATABASE_URL", f"sqlite:///{tmp_path / 'vidpipe.db'}")
    monkeypatch.setenv("VIDPIPE_JWT_SECRET", "test-secret-that-is-long-enough-123")
    result = CliRunner().invoke(serve.app, ["api", "--port", "8999", "--workers", workers])
    assert result.exit_code == 0, result.output
    assert len(calls) == 1 and calls[0]["server_header"] is False


def test_the_validator_keeps_the_length_messages(client):
    short = client.post("/api/auth/signup", json={**SIGNUP, "password1": "s7", "password2": "s7"})
    assert short.status_code == 400
    assert "password1: String should have at least 8 characters" in short.json()["detail"]
    long_city = client.get("/api/public/rankings", params={"city": "x" * 101})
    assert "city: String should have at most 100 characters" in long_city.json()["detail"]
