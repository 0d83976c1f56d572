"""Cookie sessions for the web app: POST/DELETE /api/auth/session, GET /api/auth/me."""

from sqlalchemy import update

from vidpipe.db.models import User

USER_KEYS = {"id", "email", "first_name", "last_name", "city", "country", "is_operator"}


def _sign_in(client, player, password="s3cret-pass", **headers):
    return client.post(
        "/api/auth/session", json={"email": player.email, "password": password}, headers=headers
    )


def test_session_sets_a_strict_http_only_cookie_and_answers_the_user(client, make_player):
    player = make_player()
    response = _sign_in(client, player)
    assert response.status_code == 200, response.text
    user = response.json()["user"]
    assert set(user) == USER_KEYS
    assert user["id"] == player.id and user["email"] == player.email
    assert user["is_operator"] is False
    assert "access_token" not in response.text
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("vidpipe_session=")
    attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")}
    assert {"httponly", "path", "samesite", "max-age"} <= attributes
    assert "Path=/api" in cookie and "SameSite=strict" in cookie
    assert "secure" not in attributes  # plain http here


def test_cookie_is_secure_behind_https(client, make_player):
    player = make_player()
    response = _sign_in(client, player, **{"X-Forwarded-Proto": "https"})
    assert response.status_code == 200
    assert "secure" in response.headers["set-cookie"].lower()


def test_wrong_password_on_session_is_the_login_401(client, make_player):
    player = make_player()
    response = _sign_in(client, player, password="wrong-password")
    assert response.status_code == 401
    assert response.json() == {"detail": "wrong email or password"}
    assert "set-cookie" not in response.headers


def test_me_with_cookie_or_bearer_and_401_without(client, make_player, db):
    player = make_player()
    assert client.get("/api/auth/me").status_code == 401
    bearer = client.get("/api/auth/me", headers=player.headers)
    assert bearer.status_code == 200 and bearer.json()["email"] == player.email
    db.execute(update(User).where(User.email == player.email).values(is_operator=True))
    db.commit()
    assert _sign_in(client, player).status_code == 200
    me = client.get("/api/auth/me")  # the client keeps the cookie
    assert me.status_code == 200
    assert set(me.json()) == USER_KEYS
    assert me.json()["is_operator"] is True
    assert client.get("/api/videos").status_code == 200


def test_cookie_changes_need_the_csrf_header(client, make_player, upload, process):
    owner, voter = make_player(), make_player(first="Ben")
    video_id = upload(owner).json()["video_id"]
    process(video_id)
    assert _sign_in(client, voter).status_code == 200
    path = f"/api/public/videos/{video_id}/vote"
    refused = client.post(path)
    assert refused.status_code == 403
    assert "X-CSRF" in refused.json()["detail"]
    assert client.post(path, headers={"X-CSRF": "0"}).status_code == 403
    accepted = client.post(path, headers={"X-CSRF": "1"})
    assert accepted.status_code == 200, accepted.text


def test_bearer_needs_no_csrf_header(client, make_player, upload, process):
    owner, voter = make_player(), make_player(first="Ben")
    video_id = upload(owner).json()["video_id"]
    process(video_id)
    response = client.post(f"/api/public/videos/{video_id}/vote", headers=voter.headers)
    assert response.status_code == 200


def test_delete_session_clears_the_cookie(client, make_player):
    player = make_player()
    assert _sign_in(client, player).status_code == 200
    assert client.delete("/api/auth/session").status_code == 403  # no X-CSRF
    assert client.get("/api/auth/me").status_code == 200
    response = client.delete("/api/auth/session", headers={"X-CSRF": "1"})
    assert response.status_code == 204
    cleared = response.headers["set-cookie"]
    assert cleared.startswith('vidpipe_session=""') or "Max-Age=0" in cleared
    assert "Path=/api" in cleared
    assert client.get("/api/auth/me").status_code == 401
