"""The JWT secret of development without ``JWT_SECRET_KEY``: one per database, in a 0600
file beside it, the same for every process (``serve --workers N``, ``worker``, a restart);
refused with one line where it cannot be kept; never generated outside development."""

from __future__ import annotations

import hashlib
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from infra_mind.cli.main import main
from infra_mind.config import (
    DEV_SECRET_FILE,
    SettingsError,
    development_secret_path,
    load_settings,
)

#: Prints a digest of the secret a fresh interpreter loads (never the secret itself).
DIGEST_OF_SECRET = ("import hashlib; from infra_mind.config import load_settings; "
                    "print(hashlib.sha256(load_settings().secret().encode()).hexdigest())")


@pytest.fixture(autouse=True)
def _no_configured_secret(monkeypatch):
    for name in ("JWT_SECRET_KEY", "ENVIRONMENT", "DATABASE_URL", "CONFIG_DIR"):
        monkeypatch.delenv(name, raising=False)


def sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


def test_two_loads_share_one_secret_in_a_private_file_beside_the_database(tmp_path):
    url = sqlite_url(tmp_path / "db" / "app.db")
    first = load_settings(environment="development", database_url=url)
    second = load_settings(environment="development", database_url=url)
    secret_file = tmp_path / "db" / "app.jwt-secret"
    assert first.secret() == second.secret()
    assert len(first.secret()) >= 32
    assert secret_file.read_text().strip() == first.secret()
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    assert [p.name for p in secret_file.parent.iterdir()] == ["app.jwt-secret"]  # no leftovers


def test_processes_started_together_read_the_same_secret(tmp_path):
    env = {**os.environ, "DATABASE_URL": sqlite_url(tmp_path / "shared.db"),
           "ENVIRONMENT": "development"}
    env.pop("JWT_SECRET_KEY", None)
    procs = [subprocess.Popen([sys.executable, "-c", DIGEST_OF_SECRET], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(4)]
    digests = set()
    for proc in procs:
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        digests.add(out.strip())
    on_disk = (tmp_path / "shared.jwt-secret").read_text().strip()
    assert digests == {hashlib.sha256(on_disk.encode()).hexdigest()}


def test_each_database_has_its_own_secret(tmp_path):
    one = load_settings(environment="development", database_url=sqlite_url(tmp_path / "a.db"))
    two = load_settings(environment="development", database_url=sqlite_url(tmp_path / "b.db"))
    assert one.secret() != two.secret()


def test_postgresql_keeps_it_in_the_data_directory(tmp_path):
    # tests run in their own tmp_path (tests/conftest.py), so ./data is this test's
    url = "postgresql+asyncpg://nobody@127.0.0.1:1/none"
    assert development_secret_path(url) == DEV_SECRET_FILE
    cfg = load_settings(environment="development", database_url=url)
    assert (tmp_path / DEV_SECRET_FILE).read_text().strip() == cfg.secret()
    assert stat.S_IMODE((tmp_path / DEV_SECRET_FILE).stat().st_mode) == 0o600


def test_an_in_memory_database_writes_nothing(tmp_path):
    url = "sqlite+aiosqlite:///:memory:"
    assert development_secret_path(url) is None
    assert len(load_settings(environment="development", database_url=url).secret()) >= 32
    assert list(tmp_path.iterdir()) == []


def test_a_configured_secret_wins_and_writes_nothing(tmp_path):
    cfg = load_settings(environment="development", database_url=sqlite_url(tmp_path / "c.db"),
                        jwt_secret_key="k" * 40)
    assert cfg.secret() == "k" * 40
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("environment", ["test", "staging", "production"])
def test_outside_development_there_is_no_generated_secret(tmp_path, environment):
    with pytest.raises(SettingsError, match=r"^JWT_SECRET_KEY must be set"):
        load_settings(environment=environment, database_url=sqlite_url(tmp_path / "p.db"))
    assert list(tmp_path.iterdir()) == []


def refusal(url: str) -> str:
    with pytest.raises(SettingsError) as refused:
        load_settings(environment="development", database_url=url)
    text = str(refused.value)
    assert "\n" not in text and text.startswith("JWT_SECRET_KEY is unset")
    return text


def test_a_file_others_can_read_is_refused_not_used(tmp_path):
    url = sqlite_url(tmp_path / "d.db")
    secret = load_settings(environment="development", database_url=url).secret()
    (tmp_path / "d.jwt-secret").chmod(0o644)
    text = refusal(url)
    assert "readable by others (mode 644)" in text and "chmod 600" in text
    assert secret not in text


@pytest.mark.parametrize("content", [b"", b"short\n", "é".encode() * 40])
def test_a_file_that_holds_no_secret_is_refused(tmp_path, content):
    secret_file = tmp_path / "e.jwt-secret"
    secret_file.write_bytes(content)
    secret_file.chmod(0o600)
    text = refusal(sqlite_url(tmp_path / "e.db"))
    assert "is not 32 or more ASCII characters" in text and "delete it" in text
    assert secret_file.read_bytes() == content  # left for the user to look at


def test_a_place_where_no_file_can_be_made_is_refused(tmp_path):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    text = refusal(sqlite_url(blocker / "f.db"))
    assert f"{blocker / 'f.jwt-secret'} cannot be kept" in text


def test_serve_says_so_in_one_line(tmp_path, monkeypatch, capsys):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    monkeypatch.setenv("DATABASE_URL", sqlite_url(blocker / "g.db"))
    assert main(["serve"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: JWT_SECRET_KEY is unset and the development secret")
    assert len(err.strip().splitlines()) == 1
