"""``infra-mind migrate``, ``serve`` and ``worker``: configuration errors are one line."""

from infra_mind.cli.main import main


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_migrate_dry_run_then_apply(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/m.db")
    code, out, _ = run(capsys, "migrate", "--dry-run")
    assert code == 0 and "pending: 0001, 0002" in out and "nothing applied" in out
    code, out, _ = run(capsys, "migrate")
    assert code == 0 and "applied 2 migration(s); now at 0002" in out
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
