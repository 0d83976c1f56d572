"""`vidpipe users grant-operator|revoke-operator EMAIL` against a migrated database."""

from __future__ import annotations

from sqlalchemy import select
from typer.testing import CliRunner

from cli import app
from vidpipe import users
from vidpipe.db.migrate import upgrade_to_head
from vidpipe.db.models import User
from vidpipe.db.session import make_engine, session_factory


def test_grant_and_revoke_operator(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'vidpipe.db'}"
    upgrade_to_head(url)
    sessions = session_factory(make_engine(url))
    with sessions() as session:
        users.sign_up(
            session,
            first_name="Olga",
            last_name="Operator",
            email="olga@example.com",
            password="long-enough",
            city="Cali",
            country="CO",
        )
    env_file = tmp_path / "local.env"
    env_file.write_text(f"VIDPIPE_DATABASE_URL={url}\n")
    # The command reads the file into the environment: let monkeypatch restore it afterwards.
    monkeypatch.setenv("VIDPIPE_DATABASE_URL", "unset")
    monkeypatch.delenv("VIDPIPE_DATABASE_URL")

    def operator_flag() -> bool:
        with sessions() as session:
            return session.scalar(select(User.is_operator).where(User.email == "olga@example.com"))

    runner = CliRunner()
    args = ["--env-file", str(env_file)]
    granted = runner.invoke(app, ["users", "grant-operator", " Olga@Example.com ", *args])
    assert granted.exit_code == 0, granted.output
    assert "olga@example.com (Olga Operator) is now an operator" in granted.output
    assert operator_flag() is True

    revoked = runner.invoke(app, ["users", "revoke-operator", "olga@example.com", *args])
    assert revoked.exit_code == 0, revoked.output
    assert operator_flag() is False

    unknown = runner.invoke(app, ["users", "grant-operator", "nobody@example.com", *args])
    assert unknown.exit_code == 1
    assert "no account with email nobody@example.com" in unknown.output
