"""No token can be forged with a key from the repository: servers refuse to start without
VIDPIPE_JWT_SECRET or with the development default earlier versions shipped; each local stack
generates its own key and keeps it in its data directory."""

from __future__ import annotations

import stat

import pytest
from pydantic import ValidationError

from api.main import create_app
from localcloud.secrets import jwt_secret
from vidpipe.settings import MissingJwtSecret, Settings


def test_the_api_refuses_to_start_without_a_signing_key(tmp_path, monkeypatch):
    monkeypatch.delenv("VIDPIPE_JWT_SECRET", raising=False)
    settings = Settings(_env_file=None, database_url=f"sqlite:///{tmp_path / 'db.sqlite'}")
    assert settings.jwt_secret is None
    with pytest.raises(MissingJwtSecret, match="VIDPIPE_JWT_SECRET is not set"):
        create_app(settings)


@pytest.mark.parametrize("secret", ["change-me-local-only-secret-key-32b", "too-short"])
def test_a_published_or_short_signing_key_is_refused(secret):
    with pytest.raises(ValidationError, match="at least 32 characters"):
        Settings(_env_file=None, jwt_secret=secret)


def test_each_local_stack_generates_its_own_key_and_keeps_it(tmp_path):
    one, two = tmp_path / "one", tmp_path / "two"
    key = jwt_secret(one)
    assert len(key) >= 32 and Settings(_env_file=None, jwt_secret=key).jwt_key() == key
    assert jwt_secret(one) == key, "reused across restarts"
    assert jwt_secret(two) != key, "no two stacks share a key"
    assert stat.S_IMODE((one / "jwt-secret").stat().st_mode) == 0o600
