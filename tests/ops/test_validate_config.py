"""``infra-mind validate-config``: every problem one line naming the file (or the
environment) and the key, exit 1; a valid configuration exits 0."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from infra_mind.cli.main import main

SHIPPED = Path(__file__).resolve().parents[2] / "config"
#: Variables the checks read: none may leak in from the developer's shell.
CHECKED = ("CONFIG_DIR", "AGENTS_CONFIG", "ENVIRONMENT", "JWT_SECRET_KEY", "ENCRYPTION_KEY",
           "DATABASE_URL", "REDIS_URL", "CHECKPOINT_URL", "LLM_PROVIDER_ORDER",
           "OPENAI_BASE_URL", "ANTHROPIC_BASE_URL", "AWS_PRICING_ENDPOINT_URL",
           "AZURE_PRICES_URL", "GCP_BILLING_URL", "OTEL_EXPORTER_OTLP_ENDPOINT",
           "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "PROMETHEUS_ENDPOINT",
           "GRAFANA_ENDPOINT", "DB_POOL_SIZE")


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch):
    for name in CHECKED:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture()
def config_dir(tmp_path) -> Path:
    """A copy of the shipped configuration."""
    return Path(shutil.copytree(SHIPPED, tmp_path / "cfg"))


def run(capsys, *argv):
    code = main(["validate-config", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_the_shipped_configuration_is_valid(capsys, config_dir):
    code, out, err = run(capsys, "--config-dir", str(config_dir))
    assert (code, err) == (0, "")
    assert out == (f"configuration valid: {config_dir}/production.yaml, {config_dir}/agents.yaml, "
                   f"{config_dir}/integrations.yaml and the environment\n")


def test_config_dir_from_the_environment(capsys, config_dir, monkeypatch):
    monkeypatch.setenv("CONFIG_DIR", str(config_dir))
    code, out, _ = run(capsys)
    assert code == 0 and out.startswith(f"configuration valid: {config_dir}/production.yaml")


def test_implicit_config_dir_may_lack_files(capsys):
    code, out, err = run(capsys)  # ./config does not exist in the test's directory
    assert (code, err) == (0, "")
    assert out == ("configuration valid: no files and the environment (absent, defaults "
                   "apply: config/production.yaml, config/agents.yaml, "
                   "config/integrations.yaml)\n")


def test_a_named_directory_must_hold_every_file(capsys, config_dir, monkeypatch):
    (config_dir / "integrations.yaml").unlink()
    code, _, err = run(capsys, "--config-dir", str(config_dir))
    assert code == 1
    assert err == (f"error: {config_dir}/integrations.yaml: missing (the processes given "
                   "this directory will look for it)\n")
    monkeypatch.setenv("CONFIG_DIR", str(config_dir))  # named by the environment: the same
    assert run(capsys)[2] == err


def test_every_problem_is_one_line_naming_file_and_key(capsys, config_dir, monkeypatch):
    production = config_dir / "production.yaml"
    production.write_text(production.read_text() + "db_pool_sze: 3\n")  # unknown key
    agents = config_dir / "agents.yaml"
    agents.write_text(agents.read_text().replace("cto:            {temperature: 0.3",
                                                 "cto:            {temperature: 3"))
    (config_dir / "integrations.yaml").write_text("price_apis:\n  aws: [\n")  # YAML error
    monkeypatch.setenv("ENVIRONMENT", "production")  # and no JWT_SECRET_KEY
    monkeypatch.setenv("DATABASE_URL", "mysql://db/infra")
    monkeypatch.setenv("LLM_PROVIDER_ORDER", "openai,gemini")
    monkeypatch.setenv("PROMETHEUS_ENDPOINT", "prometheus:9090")
    monkeypatch.setenv("OPENAI_BASE_URL", "localhost:11434/v1")
    monkeypatch.setenv("REDIS_URL", "http://cache:6379")

    code, out, err = run(capsys, "--config-dir", str(config_dir))

    assert (code, out) == (1, "")
    assert err.splitlines() == [
        f"error: {production}: db_pool_sze: unknown key",
        f"error: {agents}: agents.cto.temperature: Input should be less than or equal to 2",
        f"error: {config_dir}/integrations.yaml: line 3: not valid YAML (expected the node "
        "content, but found '<stream end>')",
        "error: environment: DATABASE_URL must be sqlite+aiosqlite:// or postgresql+asyncpg://",
        "error: environment: PROMETHEUS_ENDPOINT: must be an http:// or https:// URL with a "
        "host",
        "error: environment: LLM_PROVIDER_ORDER: unknown provider 'gemini' (use openai, "
        "anthropic, offline)",
        "error: environment: OPENAI_BASE_URL: must be an http:// or https:// URL with a host",
        "error: environment: REDIS_URL: must start with redis://, rediss:// or unix://",
    ]


def test_secret_outside_development(capsys, config_dir, monkeypatch):
    monkeypatch.setenv("ENVIRONMENT", "production")
    monkeypatch.setenv("JWT_SECRET_KEY", "changeme")
    code, _, err = run(capsys, "--config-dir", str(config_dir))
    assert code == 1
    assert err == ("error: environment: JWT_SECRET_KEY must be set to a random value of at "
                   "least 32 characters when ENVIRONMENT=production (a placeholder is "
                   "refused)\n")


def test_credentials_that_need_each_other_and_are_never_echoed(capsys, config_dir,
                                                               monkeypatch):
    secret = "aws-secret-do-not-print-123"
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret)
    code, out, err = run(capsys, "--config-dir", str(config_dir))
    assert code == 1 and secret not in out + err
    assert err.splitlines() == [
        "error: environment: AWS_ACCESS_KEY_ID: not set while AWS_SECRET_ACCESS_KEY is"]
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    assert run(capsys, "--config-dir", str(config_dir))[0] == 0


def test_a_process_prints_no_traceback(config_dir):
    (config_dir / "agents.yaml").write_text("agents:\n  cto: {temperature: hot, tone: dry}\n")
    done = subprocess.run([sys.executable, "-m", "infra_mind", "validate-config",
                           "--config-dir", str(config_dir)], capture_output=True, text=True,
                          timeout=60, env={"PATH": "/usr/bin:/bin"})
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.splitlines() == [
        f"error: {config_dir}/agents.yaml: agents.cto.temperature: Input should be a valid "
        "number, unable to parse string as a number",
        f"error: {config_dir}/agents.yaml: agents.cto.tone: unknown key",
    ]


def test_implicit_config_dir_says_what_the_processes_will_not_read(capsys, tmp_path):
    shutil.copytree(SHIPPED, tmp_path / "config")  # ./config: the test's working directory
    code, out, _ = run(capsys)
    assert code == 0
    assert out.splitlines()[1] == (
        "note: CONFIG_DIR is not set, so the processes read only agents.yaml here; set "
        "CONFIG_DIR=config for config/production.yaml, config/integrations.yaml")
