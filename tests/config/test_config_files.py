"""production.yaml and integrations.yaml: the schemas, the shipped files, and where each
setting comes from (environment > ``$CONFIG_DIR/production.yaml`` > defaults)."""

from pathlib import Path

import pytest

from infra_mind.catalog.adapters import aws, azure, gcp
from infra_mind.cli.main import main
from infra_mind.config import Settings, SettingsError, load_settings
from infra_mind.config.files import PRODUCTION_KEYS, read_yaml
from infra_mind.config.integrations import (
    PUBLIC_PRICE_APIS,
    IntegrationsConfig,
    load_integrations_config,
)
from infra_mind.config.settings import ProductionConfig, load_production_config

CONFIG = Path(__file__).resolve().parents[2] / "config"


@pytest.fixture(autouse=True)
def _no_config_from_the_shell(monkeypatch):
    for name in ("CONFIG_DIR", "DB_POOL_SIZE", "LOG_LEVEL", "DB_MAX_OVERFLOW", "ENVIRONMENT",
                 "JWT_SECRET_KEY", "DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)


def write(directory: Path, text: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "production.yaml"
    path.write_text(text)
    return path


def test_shipped_files_spell_out_every_key_at_its_default():
    production = read_yaml(CONFIG / "production.yaml")
    assert list(production) == list(PRODUCTION_KEYS)
    assert load_production_config(CONFIG / "production.yaml") == ProductionConfig()
    integrations = read_yaml(CONFIG / "integrations.yaml")
    assert integrations == IntegrationsConfig().model_dump(mode="json")
    assert load_integrations_config(CONFIG / "integrations.yaml") == IntegrationsConfig()


def test_every_production_key_has_a_comment():
    lines = (CONFIG / "production.yaml").read_text().splitlines()
    for i, line in enumerate(lines):
        if line and not line.startswith("#"):
            assert "#" in line or lines[i - 1].startswith("#"), line


def test_production_schema_has_the_settings_bounds_and_defaults():
    for name in PRODUCTION_KEYS:
        mine, theirs = ProductionConfig.model_fields[name], Settings.model_fields[name]
        assert mine.metadata == theirs.metadata, name
        assert mine.get_default(call_default_factory=True) == \
            theirs.get_default(call_default_factory=True), name


def test_environment_beats_the_file_which_beats_the_default(tmp_path, monkeypatch):
    write(tmp_path / "cfg", "db_pool_size: 33\nlog_level: WARNING\n")
    monkeypatch.setenv("CONFIG_DIR", str(tmp_path / "cfg"))
    monkeypatch.setenv("DB_POOL_SIZE", "44")

    settings = load_settings()

    assert settings.db_pool_size == 44  # environment
    assert settings.log_level == "WARNING"  # file
    assert settings.db_max_overflow == 20  # default
    assert load_settings(db_pool_size=55).db_pool_size == 55  # arguments above all


def test_without_config_dir_no_file_is_read(tmp_path):
    write(tmp_path / "config", "log_level: ERROR\n")  # ./config: the tests' working directory
    assert load_settings().log_level == "INFO"
    assert load_settings(config_dir=tmp_path / "config").log_level == "ERROR"


def test_a_bad_file_is_one_line_naming_file_and_key(tmp_path, monkeypatch, capsys):
    path = write(tmp_path / "cfg", "db_pool_size: 0\nserver_port: 80\nwhat: 1\n")
    monkeypatch.setenv("CONFIG_DIR", str(tmp_path / "cfg"))
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert str(caught.value) == (f"{path}: db_pool_size: Input should be greater than or "
                                 "equal to 1 (and 1 more)")
    assert caught.value.problems == [  # type: ignore[attr-defined]
        f"{path}: db_pool_size: Input should be greater than or equal to 1",
        f"{path}: what: unknown key"]

    code = main(["migrate", "--dry-run"])
    err = capsys.readouterr().err
    assert code == 2 and err == f"error: {caught.value}\n"


def test_config_dir_without_production_yaml_is_refused(tmp_path, monkeypatch):
    (tmp_path / "cfg").mkdir()
    monkeypatch.setenv("CONFIG_DIR", str(tmp_path / "cfg"))
    with pytest.raises(SettingsError, match=r"production.yaml: cannot read \(No such file"):
        load_settings()


def test_yaml_syntax_error_names_the_line(tmp_path):
    path = write(tmp_path, "db_pool_size: 3\nlog_level: [INFO\n")
    with pytest.raises(SettingsError) as caught:
        load_production_config(path)
    assert str(caught.value).startswith(f"{path}: line 3: not valid YAML (")


def test_secrets_are_never_shown(monkeypatch):
    secret = "sk-test-do-not-print-0123456789"
    for name in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GCP_API_KEY"):
        monkeypatch.setenv(name, secret)
    settings = load_settings()
    assert settings.openai_api_key is not None and settings.gcp_api_key is not None
    assert settings.openai_api_key.get_secret_value() == secret
    assert settings.gcp_api_key.get_secret_value() == secret
    assert secret not in repr(settings) and secret not in str(settings.model_dump())


def test_guide_variables_are_settings(monkeypatch):
    monkeypatch.setenv("PROMETHEUS_ENDPOINT", "http://prometheus:9090")
    monkeypatch.setenv("GRAFANA_ENDPOINT", "http://grafana:3000")
    settings = load_settings()
    assert settings.prometheus_endpoint == "http://prometheus:9090"
    monkeypatch.setenv("GRAFANA_ENDPOINT", "grafana:3000")
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert str(caught.value) == "GRAFANA_ENDPOINT: must be an http:// or https:// URL with a host"


def test_integrations_refuses_unknown_keys_and_bad_urls(tmp_path):
    path = tmp_path / "integrations.yaml"
    path.write_text("price_apis:\n  azure:\n    base_url: prices.azure.com\n    retries: 3\n"
                    "tracing:\n  otlp_traces_endpoint: http://collector:4318/v1/traces\n")
    with pytest.raises(SettingsError) as caught:
        load_integrations_config(path)
    assert caught.value.problems == [  # type: ignore[attr-defined]
        f"{path}: price_apis.azure.base_url: must be an http:// or https:// URL with a host",
        f"{path}: price_apis.azure.retries: unknown key"]
    path.write_text("price_apis:\n  gcp:\n    max_requests_per_minute: 5\n"
                    "    base_url: http://mirror:8080\n")
    config = load_integrations_config(path)
    assert config.price_apis.gcp.max_requests_per_minute == 5
    assert config.price_apis.aws == IntegrationsConfig().price_apis.aws


def test_no_setting_that_nothing_reads():
    # the guide's cloud credentials and DEBUG were settings nothing read: the price APIs need
    # none but GCP_API_KEY, and boto3 reads AWS_* itself (docs/operations.md)
    gone = {"debug", "aws_access_key_id", "aws_secret_access_key", "aws_region",
            "azure_client_id", "azure_client_secret", "azure_tenant_id",
            "gcp_service_account_key"}
    assert not gone & set(Settings.model_fields)


def test_default_price_apis_are_the_adapters_own_endpoints():
    adapters = {"aws": f"https://{aws.DEFAULT_HOST}", "azure": azure.DEFAULT_URL,
                "gcp": gcp.DEFAULT_URL}
    assert adapters == PUBLIC_PRICE_APIS
