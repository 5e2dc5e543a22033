"""argon2id's cost comes from the settings: production's default is RFC 9106's second
option, less than OWASP's minimum is refused outside development and test, a stored hash
verifies whatever the cost is now, and the app hashes at the cost it was given."""

from __future__ import annotations

import pytest

from infra_mind.config import SettingsError, load_settings
from infra_mind.kit.security import HashCost, PasswordHashing
from infra_mind.services.auth import password_hashing
from tests.platform_fixtures import CHEAP_HASHING

JWT = "k" * 48


def params(encoded: str) -> str:
    """``m=65536,t=3,p=4`` of an encoded argon2id hash."""
    return encoded.split("$")[3]


def test_the_default_cost_is_rfc_9106s_and_production_accepts_it():
    cfg = load_settings(environment="production", jwt_secret_key=JWT)
    assert (cfg.password_hash_time_cost, cfg.password_hash_memory_kib,
            cfg.password_hash_parallelism) == (3, 65_536, 4)
    hashing = PasswordHashing(1, 1.0, HashCost(cfg.password_hash_time_cost,
                                               cfg.password_hash_memory_kib,
                                               cfg.password_hash_parallelism))
    assert params(hashing.hash("correct horse battery")) == "m=65536,t=3,p=4"


@pytest.mark.parametrize("environment", ["staging", "production"])
@pytest.mark.parametrize(("memory_kib", "time_cost"), [(8, 1), (19_455, 2), (65_536, 1)])
def test_below_owasps_minimum_is_refused_outside_development(environment, memory_kib,
                                                              time_cost):
    with pytest.raises(SettingsError, match="below the minimum"):
        load_settings(environment=environment, jwt_secret_key=JWT,
                      password_hash_memory_kib=memory_kib, password_hash_time_cost=time_cost)


def test_owasps_minimum_itself_is_accepted_in_production():
    cfg = load_settings(environment="production", jwt_secret_key=JWT,
                        password_hash_memory_kib=19_456, password_hash_time_cost=2,
                        password_hash_parallelism=1)
    assert cfg.password_hash_memory_kib == 19_456


@pytest.mark.parametrize("environment", ["development", "test"])
def test_development_and_test_may_hash_cheaply(environment, tmp_path):
    cfg = load_settings(environment=environment, jwt_secret_key=JWT,
                        database_url=f"sqlite+aiosqlite:///{tmp_path}/db.sqlite",
                        **CHEAP_HASHING)
    assert cfg.password_hash_memory_kib == 8


def test_a_hash_made_at_one_cost_verifies_at_another():
    cheap = PasswordHashing(1, 1.0, HashCost(time_cost=1, memory_kib=8, parallelism=1))
    dear = PasswordHashing(1, 1.0, HashCost(time_cost=2, memory_kib=1024, parallelism=2))
    stored = cheap.hash("correct horse battery")
    assert params(stored) == "m=8,t=1,p=1"
    assert dear.verify(stored, "correct horse battery")
    assert not dear.verify(stored, "wrong horse battery")
    assert not dear.verify(None, "correct horse battery")  # unknown email: a dummy, False
    assert not dear.verify("not a hash", "correct horse battery")


async def test_the_app_hashes_at_its_settings_cost(app):
    assert params(password_hashing(app.state.platform).hash("x" * 12)) == "m=8,t=1,p=1"
