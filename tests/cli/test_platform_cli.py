"""``infra-mind migrate``, ``serve`` and ``worker``: configuration errors are one line."""

from pathlib import Path

import pytest

import infra_mind.migrations
from infra_mind.cli.main import main

#: Every migration's revision id, in order (the files are named after them).
REVISIONS = sorted(p.name.split("_")[0] for p in
                   (Path(infra_mind.migrations.__file__).parent / "versions").glob("0*.py"))


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_migrate_dry_run_then_apply(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/m.db")
    code, out, _ = run(capsys, "migrate", "--dry-run")
    assert code == 0 and f"pending: {', '.join(REVISIONS)}" in out and "nothing applied" in out
    code, out, _ = run(capsys, "migrate")
    assert code == 0 and f"applied {len(REVISIONS)} migration(s); now at {REVISIONS[-1]}" in out
    code, out, _ = run(capsys, "migrate")
    assert code == 0 and "up to date" in out


def test_production_refuses_a_placeholder_secret(capsys, monkeypatch):
    monkeypatch.setenv("ENVIRONMENT", "production")
    monkeypatch.setenv("JWT_SECRET_KEY", "changeme")
    for command in ("serve", "migrate", "worker"):
        code, _, err = run(capsys, command)
        assert code == 2
        assert err.strip() == ("error: JWT_SECRET_KEY must be set to a random value of at "
                               "least 32 characters when ENVIRONMENT=production (a "
                               "placeholder is refused)")


def test_worker_needs_redis(capsys, monkeypatch):
    monkeypatch.delenv("REDIS_URL", raising=False)
    code, _, err = run(capsys, "worker")
    assert code == 2 and "needs REDIS_URL" in err


def test_unreachable_database_is_one_line(capsys, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")
    code, _, err = run(capsys, "migrate")
    assert code == 1 and err.startswith("error: cannot reach postgresql+asyncpg://***@")
    assert len(err.strip().splitlines()) == 1


def test_only_development_runs_without_a_secret(monkeypatch):
    from infra_mind.config import SettingsError, load_settings

    monkeypatch.delenv("JWT_SECRET_KEY", raising=False)
    assert len(load_settings(environment="development").secret()) >= 32
    for environment in ("test", "staging", "production"):
        try:
            load_settings(environment=environment)
        except SettingsError as exc:
            assert str(exc).startswith("JWT_SECRET_KEY must be set")
        else:
            raise AssertionError(f"{environment} ran without JWT_SECRET_KEY")


@pytest.mark.parametrize("command", ["serve", "worker"])
def test_broken_agents_configuration_stops_with_one_line(capsys, monkeypatch, tmp_path,
                                                         command):
    bad = tmp_path / "agents.yaml"
    bad.write_text("agents:\n  cto: {temperature: 9}\n")
    monkeypatch.setenv("AGENTS_CONFIG", str(bad))
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/m.db")
    code, _, err = run(capsys, command)
    assert code == 2
    assert err.strip() == (f"error: {bad}: agents.cto.temperature: Input should be less "
                           "than or equal to 2")
    monkeypatch.setenv("AGENTS_CONFIG", str(tmp_path / "missing.yaml"))
    monkeypatch.setenv("LLM_PROVIDER_ORDER", "openai,bogus")
    code, _, err = run(capsys, command)
    assert code == 2 and "cannot read" in err and err.count("\n") == 1
