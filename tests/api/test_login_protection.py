"""Login throttling (per account, per client address, shared through the database), the
password policy, and what sign-up reveals."""

from __future__ import annotations

import dataclasses
import threading

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, update

from api.main import create_app
from tests.api.bodies import SIGNUP
from tests.api.live import wait_for
from vidpipe import login_throttle, users
from vidpipe.db.models import LoginThrottle, User, utcnow
from vidpipe.security import common_passwords, hash_password

ADDRESS_FREE = login_throttle.ADDRESS.free


@pytest.fixture(autouse=True)
def long_blocks(monkeypatch):
    """Blocks of a minute and more, so none runs out while a slow machine runs the test; time
    passing is simulated by `_time_passes` (no sleeps, no clock in the assertions)."""
    for name in ("ACCOUNT", "ADDRESS"):
        limits = getattr(login_throttle, name)
        monkeypatch.setattr(
            login_throttle, name, dataclasses.replace(limits, base_seconds=60, max_seconds=3600)
        )


def _login(client, email="ana@example.com", password="long-enough", path="/api/auth/login"):
    return client.post(path, json={"email": email, "password": password})


def _time_passes(db):
    """Every block has run out (instead of sleeping through it)."""
    db.execute(update(LoginThrottle).values(blocked_until=utcnow()))
    db.commit()


def test_guessing_one_account_is_throttled_then_the_right_password_waits(client, db):
    assert client.post("/api/auth/signup", json=SIGNUP).status_code == 201
    answers = [_login(client, password=f"guess-{i}") for i in range(30)]
    codes = [answer.status_code for answer in answers]
    assert codes[:5] == [401] * 5
    assert set(codes[5:]) == {429}, codes
    blocked = answers[5]
    assert int(blocked.headers["Retry-After"]) >= 1
    assert "too many sign-in attempts" in blocked.json()["detail"]
    right = _login(client)
    assert right.status_code == 429  # not even the right password while blocked

    _time_passes(db)
    assert _login(client).status_code == 200
    # Success forgives the account: the owner has their free attempts again.
    assert [_login(client, password="typo-typo").status_code for _ in range(5)] == [401] * 5


def test_the_delay_doubles_after_each_further_failure(client, db):
    assert client.post("/api/auth/signup", json=SIGNUP).status_code == 201
    waits = []
    for _ in range(4):
        for _ in range(10):
            answer = _login(client, password="wrong-wrong")
            if answer.status_code == 429:
                waits.append(int(answer.headers["Retry-After"]))
                break
        _time_passes(db)
    assert len(waits) == 4
    assert waits[1] >= 2 * waits[0] - 1 and waits[3] >= 2 * waits[2] - 1, waits


def test_the_session_endpoint_shares_the_throttle(client):
    assert client.post("/api/auth/signup", json=SIGNUP).status_code == 201
    for _ in range(5):
        assert _login(client, password="wrong-wrong").status_code == 401
    assert _login(client, path="/api/auth/session").status_code == 429


def test_one_address_guessing_many_accounts_is_throttled(client):
    codes = [_login(client, email=f"who{i}@example.com").status_code for i in range(25)]
    assert codes[:20] == [401] * 20
    assert set(codes[20:]) == {429}


def test_forwarded_for_is_ignored_unless_the_proxy_is_trusted(settings):
    untrusted = create_app(settings)
    behind_alb = create_app(settings.model_copy(update={"trusted_proxy_count": 1}))
    try:
        with TestClient(untrusted) as client:
            codes = [
                client.post(
                    "/api/auth/login",
                    json={"email": f"who{i}@example.com", "password": "x"},
                    headers={"X-Forwarded-For": f"10.0.0.{i}"},
                ).status_code
                for i in range(22)
            ]
            assert codes[-1] == 429  # a made-up header does not give a fresh address
        with TestClient(behind_alb) as client:
            # Behind the ALB, the address it appended (last entry) is the client's.
            codes = [
                client.post(
                    "/api/auth/login",
                    json={"email": f"other{i}@example.com", "password": "x"},
                    headers={"X-Forwarded-For": f"6.6.6.6, 10.1.{i}.1"},
                ).status_code
                for i in range(22)
            ]
            assert set(codes) == {401}, codes
    finally:
        untrusted.state.engine.dispose()
        behind_alb.state.engine.dispose()


def test_the_throttle_holds_across_api_tasks(settings):
    first, second = create_app(settings), create_app(settings)
    try:
        with TestClient(first) as one, TestClient(second) as two:
            assert one.post("/api/auth/signup", json=SIGNUP).status_code == 201
            for _ in range(5):
                assert _login(one, password="wrong-wrong").status_code == 401
            assert _login(two).status_code == 429
    finally:
        first.state.engine.dispose()
        second.state.engine.dispose()


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("password", "most common"),
        ("12345678", "most common"),
        ("Password1", "most common"),
        ("iloveyou", "most common"),
        ("        ", "only spaces"),
        ("\u3000" * 8, "only spaces"),
    ],
)
def test_common_and_blank_passwords_are_refused(client, password, reason):
    body = {**SIGNUP, "password1": password, "password2": password}
    response = client.post("/api/auth/signup", json=body)
    assert response.status_code == 400
    assert reason in response.json()["detail"]
    assert "password1" in response.json()["detail"]


def test_the_bundled_list_is_the_20k_list():
    listed = common_passwords()
    assert len(listed) > 19_000
    assert {"qwerty123", "football", "sunshine"} <= listed


def test_a_taken_email_costs_the_same_hash_and_counts_against_the_address(client, monkeypatch):
    hashed = []
    real_hash = users.hash_password
    monkeypatch.setattr(users, "hash_password", lambda p: hashed.append(p) or real_hash(p))
    assert client.post("/api/auth/signup", json=SIGNUP).status_code == 201
    taken = client.post("/api/auth/signup", json=SIGNUP)
    assert taken.status_code == 400
    assert taken.json()["detail"] == "an account with this email already exists"
    assert len(hashed) == 2  # the taken email was not answered before the hash
    codes = [client.post("/api/auth/signup", json=SIGNUP).status_code for _ in range(25)]
    assert 429 in codes  # probing emails in bulk is throttled like guessing passwords
    fresh = {**SIGNUP, "email": "new@example.com"}
    assert client.post("/api/auth/signup", json=fresh).status_code == 429


def test_many_people_signing_in_at_once_behind_one_address_are_not_blocked(app, client, db):
    """Attempts still being checked must not count against the address (only failures do)."""
    password_hash = hash_password("s3cret-pass")
    emails = [f"office{i}@example.com" for i in range(ADDRESS_FREE + 2)]
    for email in emails:
        db.add(
            User(
                first_name="O",
                last_name="P",
                email=email,
                password_hash=password_hash,
                city="Cali",
                city_key="cali",
                country="CO",
            )
        )
    db.commit()
    held = emails[:-1]  # more sign-ins in flight than the address's free attempts
    arrived, release = [], threading.Event()
    real = users.authenticate

    def slow_authenticate(session, user, password):
        if user.email in held:
            arrived.append(user.email)
            release.wait(timeout=120)
        return real(session, user, password)

    answers = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(users, "authenticate", slow_authenticate)
        threads = [
            threading.Thread(
                target=lambda e=email: answers.append(_login(client, e, "s3cret-pass"))
            )
            for email in held
        ]
        for thread in threads:
            thread.start()
        try:
            wait_for(lambda: len(arrived) == len(held), "every held sign-in to be checking")
            meanwhile = _login(client, emails[-1], "s3cret-pass")
        finally:
            release.set()
            for thread in threads:
                thread.join(timeout=120)
    assert meanwhile.status_code == 200, meanwhile.text
    assert [answer.status_code for answer in answers] == [200] * len(held)


def test_a_sign_in_is_four_autocommit_statements_in_two_checkouts(app, client):
    """Each step of a sign-in is one atomic statement, so it runs without BEGIN/COMMIT round
    trips: under load every round trip from a worker thread is another wait for the GIL. (It was
    six statements in four transactions, fourteen round trips.)"""
    assert client.post("/api/auth/signup", json=SIGNUP).status_code == 201
    checkouts: list[str] = []
    statements: list[tuple[str, str | None]] = []

    @event.listens_for(app.state.engine, "checkout")
    def checkout(*_args):
        checkouts.append("checkout")

    @event.listens_for(app.state.engine, "before_cursor_execute")
    def execute(conn, _cursor, statement, *_args):
        statements.append((statement, conn.get_execution_options().get("isolation_level")))

    assert _login(client, SIGNUP["email"], SIGNUP["password1"]).status_code == 200
    assert len(checkouts) == 2, checkouts  # the connection goes back during the hash
    kinds = [sql.split()[0].upper() for sql, _ in statements]
    assert kinds == ["SELECT", "SELECT", "INSERT", "DELETE"], statements
    assert {level for _, level in statements} == {"AUTOCOMMIT"}, statements


def test_a_burst_of_sign_ins_hashes_on_a_few_threads_only(client, monkeypatch):
    """Each hash takes argon2's memory from its thread's malloc arena, which keeps it: hashing on
    any of the thread pool's 40 threads, 40 concurrent failed sign-ins (anyone can send them, no
    account needed) took an API process from 166 MB to 450-639 MB, past the task's 512 MiB, and
    kept it (bench/login_burst_memory.py). Hashes now run on the process's hashing threads, at
    most that many at once; the other sign-ins wait their turn."""
    from vidpipe import security
    from vidpipe.settings import get_settings

    limit, burst = 3, 7
    monkeypatch.setenv("VIDPIPE_PASSWORD_HASH_CONCURRENCY", str(limit))
    get_settings.cache_clear()
    security._hashing_threads.cache_clear()
    lock = threading.Lock()
    arrived, inside, most_inside = [0], [0], [0]
    hashing_threads: set[int] = set()

    class CountingHash:
        """The real hasher; each hash stays in until every sign-in has asked for one, so all
        that are let in at once are seen at once."""

        def __init__(self, real):
            self.real = real

        def _hashing(self, method, *args):
            with lock:
                hashing_threads.add(threading.get_ident())
                inside[0] += 1
                most_inside[0] = max(most_inside[0], inside[0])
            try:
                wait_for(lambda: arrived[0] == burst, "every sign-in to ask for a hash")
                return getattr(self.real, method)(*args)
            finally:
                with lock:
                    inside[0] -= 1

        def verify(self, *args):
            return self._hashing("verify", *args)

        def verify_and_update(self, *args):
            return self._hashing("verify_and_update", *args)

    real_verify = users.verify_password

    def arriving(password, hashed):
        with lock:
            arrived[0] += 1
        return real_verify(password, hashed)

    monkeypatch.setattr(security, "password_hash", CountingHash(security.password_hash))
    monkeypatch.setattr(users, "verify_password", arriving)
    answers: list[int] = []
    threads = [
        threading.Thread(
            target=lambda i=i: answers.append(
                _login(client, f"burst{i}@example.com", f"wrong-password-{i}").status_code
            )
        )
        for i in range(burst)
    ]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
    finally:
        security._hashing_threads().shutdown()
        get_settings.cache_clear()
        security._hashing_threads.cache_clear()
    assert answers == [401] * burst
    assert most_inside[0] == limit
    assert len(hashing_threads) == limit


def test_new_passwords_are_hashed_with_the_7_mib_owasp_configuration():
    assert hash_password("long-enough-1").startswith("$argon2id$v=19$m=7168,t=5,p=1$")
