"""Registration and sign-in under attack (issue #10, items 5, 8, 9 and 11): registration
answers alike for new and taken emails and is limited per address, password hashing is
bounded per process, weak passwords are refused with the reason, failed sign-ins earn a
growing delay per (account, address) pair instead of locking the account, and token
responses are not cached.

Every test runs on SQLite and on PostgreSQL (the ``database_url`` fixture).
"""

from __future__ import annotations

import asyncio
import json
import threading

import httpx
import pytest
from argon2 import PasswordHasher

from infra_mind.config import load_settings
from infra_mind.kit.db import session_scope
from infra_mind.models import User
from infra_mind.services.auth import password_hashing

LOGIN_ATTEMPTS = 3
REGISTER_ATTEMPTS = 4
PASSWORD = "correct horse battery"
REGISTER = "/api/v1/auth/register"
LOGIN = "/api/v1/auth/login"


@pytest.fixture()
def settings(database_url):
    """Small budgets, so each limit is reached in a few requests; the production hash
    cost (the suite's is cheaper, tests/conftest.py), as these tests are about its work."""
    return load_settings(environment="test", database_url=database_url, redis_url=None,
                         jwt_secret_key="t" * 48, login_attempts=LOGIN_ATTEMPTS,
                         login_address_attempts=100, login_window_s=60,
                         register_attempts=REGISTER_ATTEMPTS, register_window_s=600,
                         password_hash_concurrency=2, password_hash_wait_s=0.5,
                         password_hash_time_cost=3, password_hash_memory_kib=65_536,
                         password_hash_parallelism=4)


def client_at(app, address: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=(address, 40000)),
                             base_url="http://test")


async def register(client, email: str = "ada@example.com", password: str = PASSWORD
                   ) -> httpx.Response:
    return await client.post(REGISTER, json={"email": email, "password": password,
                                             "full_name": "Ada Lovelace"})


async def login(client, email: str = "ada@example.com", password: str = PASSWORD
                ) -> httpx.Response:
    return await client.post(LOGIN, json={"email": email, "password": password})


class Argon2Work:
    """The process's real argon2 hasher, with a count of the work it does: the parameters
    of each hash it computed, how many verifications, and the most it ran at once. The
    hashes are still computed: this measures the work, it does not replace it."""

    def __init__(self, real: PasswordHasher) -> None:
        self._real = real
        self._lock = threading.Lock()
        self.hashes: list[str] = []  # "argon2id$v=19$m=65536,t=3,p=4" for each hash
        self.verified = 0
        self.running = 0
        self.most_at_once = 0

    def _enter(self) -> None:
        with self._lock:
            self.running += 1
            self.most_at_once = max(self.most_at_once, self.running)

    def _leave(self) -> None:
        with self._lock:
            self.running -= 1

    def hash(self, password: str, **kwargs) -> str:
        self._enter()
        try:
            encoded = self._real.hash(password, **kwargs)
        finally:
            self._leave()
        with self._lock:
            self.hashes.append("$".join(encoded.split("$")[1:4]))
        return encoded

    def verify(self, encoded: str, password: str) -> bool:
        self._enter()
        try:
            return self._real.verify(encoded, password)
        finally:
            self._leave()
            with self._lock:
                self.verified += 1

    def __getattr__(self, name: str):
        return getattr(self._real, name)


@pytest.fixture()
def argon2_work(app, monkeypatch) -> Argon2Work:
    hashing = password_hashing(app.state.platform)
    work = Argon2Work(hashing._hasher)
    monkeypatch.setattr(hashing, "_hasher", work)
    return work


async def account(app, email: str = "ada@example.com", password: str = PASSWORD) -> None:
    """A user written straight to the database (the sign-in tests do not depend on how
    registration answers)."""
    async with session_scope(app.state.platform.sessions) as session:
        hashing = password_hashing(app.state.platform)
        session.add(User(email=email, password_hash=hashing.hash(password),
                         full_name="Ada Lovelace"))


# -- item 5: registration -----------------------------------------------------------------------


async def test_registration_is_limited_per_address(app):
    async with client_at(app, "10.5.0.1") as one:
        statuses = [(await register(one, f"user{i}@example.com")).status_code
                    for i in range(REGISTER_ATTEMPTS)]
        assert statuses == [202] * REGISTER_ATTEMPTS
        refused = await register(one, "one-more@example.com")
        assert refused.status_code == 429
        assert 1 <= int(refused.headers["Retry-After"]) <= 600
        assert refused.json() == {
            "detail": "too many registrations from this address; try again later"}
    async with client_at(app, "10.5.0.2") as other:
        assert (await register(other, "one-more@example.com")).status_code == 202
        assert (await login(other, "one-more@example.com")).status_code == 200


async def test_a_taken_email_costs_the_same_work_as_a_new_one(app, argon2_work):
    """Before: 409 in 19 ms against 201 in 916 ms, the taken email skipping the hash. Now
    both compute one argon2id hash of the password, at the same cost parameters, verify
    nothing, and answer alike: the hash is most of the time of both, so counting it
    compares the paths without a clock (which a loaded machine makes noisy)."""
    async with client_at(app, "10.5.1.1") as first:
        assert (await register(first, "taken@example.com")).status_code == 202
    work = {}
    for i, email in enumerate(("new@example.com", "taken@example.com")):
        hashed, verified = len(argon2_work.hashes), argon2_work.verified
        async with client_at(app, f"10.5.1.{10 + i}") as c:
            response = await register(c, email)
        work[email] = (response.status_code, response.content,
                       argon2_work.hashes[hashed:], argon2_work.verified - verified)
    new, taken = work["new@example.com"], work["taken@example.com"]
    assert new[0] == 202 and len(new[2]) == 1 and new[3] == 0, new
    assert new[2][0].startswith("argon2id$"), new
    assert taken == new


async def test_hashing_waits_for_a_slot_then_answers_503(app, argon2_work):
    """With every hashing slot taken, a registration and a sign-in wait at most
    PASSWORD_HASH_WAIT_S and answer 503 with Retry-After; nothing else waits."""
    async with client_at(app, "10.5.2.1") as c:
        assert (await register(c)).status_code == 202
    hashing = password_hashing(app.state.platform)
    done = (len(argon2_work.hashes), argon2_work.verified)
    async with hashing.slot(), hashing.slot(), client_at(app, "10.5.2.2") as c:
        # answered while both slots are still held: the wait gave up by itself (0.5 s)
        # instead of queueing; wait_for only turns a regression into a failure, not a hang
        busy = await asyncio.wait_for(asyncio.gather(register(c, "late@example.com"),
                                                     login(c)), 60)
        health = await c.get("/health")
        assert (len(argon2_work.hashes), argon2_work.verified) == done  # no slot, no hash
    assert [r.status_code for r in busy] == [503, 503]
    assert busy[0].json() == {
        "detail": "too many sign-ins and registrations at once; try again shortly"}
    assert all(r.headers["Retry-After"] == "2" for r in busy)
    assert health.status_code == 200
    async with client_at(app, "10.5.2.2") as c:  # the slots are back
        assert (await login(c)).status_code == 200


async def test_concurrent_registrations_are_all_answered(app, argon2_work):
    """Forty at once from forty addresses, two hashing slots: each is answered, 202 or
    503 (waited too long for a slot); none is lost, never more than two hashes run at
    once (unbounded, forty took 2.5 GiB and starved /health for seconds), and /health
    answers while they are being worked on."""
    clients = [client_at(app, f"10.5.3.{i}") for i in range(40)]
    try:
        burst = asyncio.ensure_future(asyncio.gather(*(
            register(c, f"burst{i}@example.com") for i, c in enumerate(clients))))
        for _ in range(1000):  # until the first hash has started (bounded)
            if argon2_work.most_at_once or burst.done():
                break
            await asyncio.sleep(0.01)
        health = await clients[0].get("/health")
        answered_during_burst = not burst.done()
        statuses = [r.status_code for r in await burst]
    finally:
        for c in clients:
            await c.aclose()
    assert health.status_code == 200 and answered_during_burst
    assert 1 <= argon2_work.most_at_once <= 2  # PASSWORD_HASH_CONCURRENCY
    assert set(statuses) <= {202, 503} and 202 in statuses, statuses
    assert len(argon2_work.hashes) == statuses.count(202)


# -- item 8: password policy ----------------------------------------------------------------


@pytest.mark.parametrize(("password", "why"), [
    ("aaaaaaaaaaaa", "password is one character repeated"),
    (" " * 12, "password is only spaces"),
    ("password1234", "password is one of the most common passwords found in data breaches"),
    ("PassWord1234", "password is one of the most common passwords found in data breaches"),
    ("qwertyuiop123", "password is one of the most common passwords found in data breaches"),
    ("abcabcabcabc", "password is a short pattern repeated"),
    ("passpasspass1", "password is a short pattern repeated"),
    ("aaaaaa123456", "password is mostly one repeated character"),
    ("abcdefghijklm", "password is a run of consecutive characters"),
    ("123456789012", "password is a run of consecutive characters"),
    ("Lovelace!2024", "password is built on the email address's name"),
    ("ada.lovelace.1815", "password is built on the email address's name"),
    ("InfraMind-2026!", "password is built on the name of this service"),
])
async def test_weak_passwords_are_refused_with_the_reason(client, password, why):
    response = await client.post(REGISTER, json={
        "email": "ada.lovelace@example.com", "password": password, "full_name": "Ada"})
    assert response.status_code == 422
    assert response.json() == {"detail": f"password refused: {why}",
                               "problems": [f"body.password: {why}"]}
    assert password.strip() not in json.dumps(response.json()) or not password.strip()


async def test_a_strong_password_is_accepted(client):
    for i, password in enumerate(("correct horse battery", "xK9#mP2$vL7@qR",
                                  "lovelace rides a purple bicycle")):
        response = await client.post(REGISTER, json={
            "email": f"lovelace@example{i}.org", "password": password, "full_name": "Ada"})
        assert response.status_code == 202, (password, response.text)


# -- item 9: a growing delay per (account, address), never a lockout --------------------------


async def test_the_right_password_from_another_address_is_never_refused(app, client):
    """Before: five (here three) wrong guesses locked the account for the window, for
    everyone, the right password included."""
    await account(app)
    async with client_at(app, "10.9.0.66") as attacker:
        statuses = [(await login(attacker, password="a wrong guess")).status_code
                    for _ in range(LOGIN_ATTEMPTS + 3)]
    assert statuses[:LOGIN_ATTEMPTS] == [401] * LOGIN_ATTEMPTS
    assert 429 in statuses[LOGIN_ATTEMPTS:]
    async with client_at(app, "10.9.0.7") as owner:
        assert (await login(owner)).status_code == 200


#: A first wait no run of these tests outlasts: on a loaded machine the default (1 s) can
#: pass while the last free attempt's password is hashed. The doubling on a clock the test
#: moves: tests/services/test_login_throttle.py.
LONG_WAIT_S = 200  # under the default maximum (LOGIN_MAX_DELAY_S, 300 s)


async def test_the_pair_waits_and_says_how_long(app, client, monkeypatch):
    monkeypatch.setattr(app.state.platform.settings, "login_first_delay_s", LONG_WAIT_S)
    await account(app)
    async with client_at(app, "10.9.1.1") as guesser:
        for _ in range(LOGIN_ATTEMPTS):
            assert (await login(guesser, password="a wrong guess")).status_code == 401
        waiting = await login(guesser)  # even the right password waits its turn here
        assert waiting.status_code == 429
        assert LONG_WAIT_S - 60 < int(waiting.headers["Retry-After"]) <= LONG_WAIT_S
        assert (await login(guesser, password="a wrong guess")).status_code == 429
    async with client_at(app, "10.9.1.2") as owner:
        assert (await login(owner)).status_code == 200


async def test_concurrent_guesses_get_one_attempt_per_delay(app, client, monkeypatch):
    monkeypatch.setattr(app.state.platform.settings, "login_first_delay_s", LONG_WAIT_S)
    await account(app)
    async with client_at(app, "10.9.2.1") as guesser:
        for _ in range(LOGIN_ATTEMPTS - 1):
            assert (await login(guesser, password="a wrong guess")).status_code == 401
        # the last free attempt and five more at once: one is checked, the rest wait
        burst = await asyncio.gather(*(login(guesser, password=f"guess {i}")
                                       for i in range(6)))
    assert sorted(r.status_code for r in burst) == [401] + [429] * 5


# -- item 11: tokens are not cached --------------------------------------------------------


async def test_token_responses_are_not_stored(app, client):
    await account(app)
    signed_in = await login(client)
    refreshed = await client.post("/api/v1/auth/refresh",
                                  json={"refresh_token": signed_in.json()["refresh_token"]})
    for response in (signed_in, refreshed):
        assert response.status_code == 200
        assert response.headers["cache-control"] == "no-store"
        assert response.headers["pragma"] == "no-cache"
