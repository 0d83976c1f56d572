import time
import uuid

import jwt
import pytest
from sqlalchemy import select

from tests.api.bodies import SIGNUP
from vidpipe.db.models import User


def signup(client, **changes):
    return client.post("/api/auth/signup", json={**SIGNUP, **changes})


def test_signup_creates_account_with_hashed_password(client, db):
    response = signup(client)
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"message", "id"}
    user = db.scalar(select(User).where(User.email == "ana@example.com"))
    assert str(user.id) == body["id"]
    assert user.password_hash.startswith("$argon2")
    assert "long-enough" not in user.password_hash
    assert "password" not in response.text


def test_duplicate_email_is_400_case_insensitively(client):
    assert signup(client).status_code == 201
    again = signup(client, email="ANA@Example.com")
    assert again.status_code == 400
    assert "already exists" in again.json()["detail"]


def test_signup_validation_errors_are_400_with_a_readable_reason(client):
    cases = {
        "passwords do not match": {"password2": "different-one"},
        "password1": {"password1": "short", "password2": "short"},
        "email": {"email": "not-an-email"},
        "first_name": {"first_name": "   "},
    }
    for expected, change in cases.items():
        response = signup(client, **change)
        assert response.status_code == 400, change
        assert isinstance(response.json()["detail"], str)
        assert expected in response.json()["detail"], response.json()
    missing = {k: v for k, v in SIGNUP.items() if k != "city"}
    response = client.post("/api/auth/signup", json=missing)
    assert response.status_code == 400
    assert "city is required" in response.json()["detail"]


def test_malformed_json_and_wrong_content_type_are_400(client):
    bad = client.post(
        "/api/auth/signup", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert bad.status_code == 400
    assert bad.json()["detail"] == "request body is not valid JSON"
    form = client.post("/api/auth/login", data={"email": "a@b.co", "password": "x"})
    assert form.status_code == 400


def test_login_returns_bearer_token(client, settings):
    signup(client)
    response = client.post(
        "/api/auth/login", json={"email": "ana@example.com", "password": "long-enough"}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    claims = jwt.decode(
        body["access_token"], settings.jwt_secret.get_secret_value(), algorithms=["HS256"]
    )
    assert claims["exp"] - claims["iat"] == 3600


def test_wrong_password_and_unknown_email_give_the_same_401(client):
    signup(client)
    wrong = client.post(
        "/api/auth/login", json={"email": "ana@example.com", "password": "nope-nope"}
    )
    unknown = client.post("/api/auth/login", json={"email": "who@example.com", "password": "x"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()


def _token(settings, **claims):
    now = int(time.time())
    payload = {"sub": str(uuid.uuid4()), "iat": now, "exp": now + 60, **claims}
    return jwt.encode(payload, settings.jwt_secret.get_secret_value(), algorithm="HS256")


def test_missing_expired_tampered_and_orphan_tokens_are_401(client, settings, make_player):
    player = make_player()
    assert client.get("/api/videos").status_code == 401
    expired = _token(settings, sub=player.id, exp=int(time.time()) - 5)
    response = client.get("/api/videos", headers={"Authorization": f"Bearer {expired}"})
    assert response.status_code == 401
    assert response.json()["detail"] == "token expired"
    head, payload, signature = player.token.split(".")
    tampered = f"{head}.{payload}.{signature[:-3]}abc"
    assert (
        client.get("/api/videos", headers={"Authorization": f"Bearer {tampered}"}).status_code
        == 401
    )
    forged = jwt.encode(
        {"sub": player.id, "exp": int(time.time()) + 60},
        "other-secret-key-of-32-bytes-long",
        algorithm="HS256",
    )
    assert (
        client.get("/api/videos", headers={"Authorization": f"Bearer {forged}"}).status_code == 401
    )
    orphan = _token(settings)  # a valid signature for a user that does not exist
    assert (
        client.get("/api/videos", headers={"Authorization": f"Bearer {orphan}"}).status_code == 401
    )
    assert client.get("/api/videos", headers={"Authorization": "Bearer"}).status_code == 401
    assert client.get("/api/videos", headers=player.headers).status_code == 200


# pwdlib's default, then the 19 MiB, 2 passes configuration used before.
@pytest.mark.parametrize(
    "older",
    [
        {"time_cost": 3, "memory_cost": 65536},
        {"time_cost": 2, "memory_cost": 19456, "parallelism": 1},
    ],
)
def test_login_upgrades_a_hash_made_with_older_parameters(client, db, older):
    from pwdlib import PasswordHash
    from pwdlib.hashers.argon2 import Argon2Hasher

    signup(client)
    user = db.scalar(select(User).where(User.email == "ana@example.com"))
    user.password_hash = PasswordHash((Argon2Hasher(**older),)).hash("long-enough")
    db.commit()
    login = client.post(
        "/api/auth/login", json={"email": "ana@example.com", "password": "long-enough"}
    )
    assert login.status_code == 200
    db.expire_all()
    assert "m=7168,t=5,p=1" in db.get(User, user.id).password_hash
