"""Alertmanager (deploy/alertmanager/): who hears each alert.

Its config is rendered from the template with test values and must pass ``amtool
check-config``; each severity must take its route (``amtool config routes test``); every alert
that promtool's unit tests fire (deploy/prometheus/alerts_test.yml) must reach, by the labels
promtool saw, the receiver its severity names; Prometheus, compose and Kubernetes must be wired
to it; and no receiver's address or secret may be written in the repository.

amtool comes from Debian's ``prometheus-alertmanager`` package (.ci/run installs it). Without
it the amtool tests skip with the reason, unless INFRA_MIND_REQUIRE_PROMTOOL=1 (CI), which
makes them fail instead, as for promtool.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy.promql import DEPLOY
from tests.deploy.test_alert_rules import PROMETHEUS, alerts, run_promtool

ALERTMANAGER = DEPLOY / "alertmanager"
TEMPLATE = ALERTMANAGER / "alertmanager.template.yml"
RENDER = ALERTMANAGER / "render-config"
#: Values for a rendering; none of them is anyone's real address.
TEST_VALUES = {
    "ALERT_SMTP_SMARTHOST": "smtp.alerts.test:587",
    "ALERT_SMTP_USERNAME": "alertmanager-test",
    "ALERT_EMAIL_FROM": "alertmanager@alerts.test",
    "ALERT_EMAIL_TO": "ops@alerts.test",
    "ALERT_SLACK_CHANNEL": "#alerts-test",
}
#: Severity -> the receivers amtool names, in route order.
ROUTES = {"critical": "pagerduty,slack", "warning": "slack", "info": "email"}
#: Where compose and Kubernetes mount the receivers' secret files.
SECRETS_DIR = "/run/secrets"
SECRET_FIELDS = {"routing_key", "service_key", "api_url", "auth_password", "auth_secret",
                 "smtp_auth_password", "smtp_auth_secret", "slack_api_url", "url"}


def amtool() -> str:
    found = shutil.which("amtool")
    if found is None:
        message = "amtool not on PATH (Debian: apt-get install prometheus-alertmanager)"
        if os.environ.get("INFRA_MIND_REQUIRE_PROMTOOL") == "1":
            pytest.fail(f"{message}; INFRA_MIND_REQUIRE_PROMTOOL=1 makes this a failure")
        pytest.skip(message)
    return found


def run_amtool(*args: str | Path) -> str:
    done = subprocess.run([amtool(), *map(str, args)], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def render(output: Path, values: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run render-config as compose and the init container do: sh, with only ``values``
    (and PATH) in its environment."""
    env = {"PATH": os.environ["PATH"], **values}
    return subprocess.run(["sh", str(RENDER), str(TEMPLATE), str(output)], env=env,
                          capture_output=True, text=True, timeout=30)


@pytest.fixture
def rendered(tmp_path: Path) -> Path:
    output = tmp_path / "alertmanager.yml"
    done = render(output, TEST_VALUES)
    assert done.returncode == 0, done.stderr
    return output


def template_variables() -> set[str]:
    lines = [line for line in TEMPLATE.read_text().splitlines()
             if not line.lstrip().startswith("#")]
    return set(re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", "\n".join(lines)))


def template() -> dict[str, Any]:
    return yaml.safe_load(TEMPLATE.read_text())


def secret_files() -> set[str]:
    """The file names the template's *_file fields read, all under SECRETS_DIR."""
    found: set[str] = set()

    def walk(node: object) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key.endswith("_file"):
                    assert str(value).startswith(f"{SECRETS_DIR}/"), (key, value)
                    found.add(str(value).removeprefix(f"{SECRETS_DIR}/"))
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(template())
    return found


def route_of(config: Path, labels: dict[str, str]) -> str:
    pairs = [f"{name}={value}" for name, value in sorted(labels.items())]
    return run_amtool("config", "routes", "test", f"--config.file={config}", *pairs).strip()


def compose() -> dict[str, Any]:
    return yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())


def k8s_objects() -> list[dict[str, Any]]:
    text = (ALERTMANAGER / "kubernetes.yaml").read_text()
    return [doc for doc in yaml.safe_load_all(text) if doc]


# --- the template and its rendering -----------------------------------------------------


def test_the_template_names_the_settings_and_reads_the_secrets_from_files():
    assert template_variables() == set(TEST_VALUES)
    assert secret_files() == {"pagerduty_routing_key", "slack_api_url", "smtp_auth_password"}


def test_no_receiver_address_or_secret_is_written_down():
    config = template()
    plain = {key: value for key, value in config["global"].items()
             if key.startswith("smtp_") and not key.endswith("_file")
             and key != "smtp_require_tls"}
    receivers = {r["name"]: r for r in config["receivers"]}
    [slack] = receivers["slack"]["slack_configs"]
    [email] = receivers["email"]["email_configs"]
    plain |= {"slack channel": slack["channel"], "email to": email["to"]}
    for where, value in plain.items():
        assert re.fullmatch(r"\$\{[A-Z_]+\}", value), f"{where} is written down: {value!r}"

    def secret_keys(node: object) -> set[str]:
        if isinstance(node, dict):
            return ({k for k in node if k in SECRET_FIELDS}
                    | {k for v in node.values() for k in secret_keys(v)})
        if isinstance(node, list):
            return {k for item in node for k in secret_keys(item)}
        return set()

    assert secret_keys(config) == set(), "a secret inline instead of a *_file"


def test_rendering_fills_in_every_value(rendered):
    text = rendered.read_text()
    body = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    assert "${" not in "\n".join(body)
    for value in TEST_VALUES.values():
        assert f"'{value}'" in text
    assert yaml.safe_load(text)["global"]["smtp_from"] == TEST_VALUES["ALERT_EMAIL_FROM"]


@pytest.mark.parametrize("name", sorted(TEST_VALUES))
def test_render_refuses_a_missing_value_and_keeps_the_old_config(tmp_path, name):
    output = tmp_path / "alertmanager.yml"
    output.write_text("the config of the last good rendering\n")
    values = {k: v for k, v in TEST_VALUES.items() if k != name}
    done = render(output, values)
    assert done.returncode == 1
    [line] = done.stderr.splitlines()
    assert re.fullmatch(rf"render-config: {name} is not set \(line \d+ of .+\)", line), line
    assert output.read_text() == "the config of the last good rendering\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["alertmanager.yml"]
    assert render(output, {**values, name: ""}).returncode == 1  # empty counts as unset


@pytest.mark.parametrize("value", ["o'brien@alerts.test", "ops@alerts.test\nroute: {}"])
def test_render_refuses_a_value_that_would_break_out_of_its_string(tmp_path, value):
    output = tmp_path / "alertmanager.yml"
    done = render(output, {**TEST_VALUES, "ALERT_EMAIL_TO": value})
    assert done.returncode == 1
    assert done.stderr == "render-config: ALERT_EMAIL_TO holds a quote or a line break\n"
    assert not output.exists()


# --- amtool -------------------------------------------------------------------------------


def test_rendered_config_passes_amtool_check(rendered):
    output = run_amtool("check-config", rendered)
    assert "SUCCESS" in output
    assert " - 3 receivers" in output and " - 1 inhibit rules" in output


@pytest.mark.parametrize("severity", sorted(ROUTES))
def test_each_severity_takes_its_route(rendered, severity):
    assert route_of(rendered, {"severity": severity}) == ROUTES[severity]


def test_an_alert_without_a_known_severity_still_reaches_someone(rendered):
    assert route_of(rendered, {"alertname": "Unlabelled"}) == "email"
    assert route_of(rendered, {"severity": "page"}) == "email"


def fired_alerts() -> list[dict[str, str]]:
    """Every alert that deploy/prometheus/alerts_test.yml expects to fire: its full label
    set, as promtool checks it (``exp_labels`` plus the alert's name)."""
    doc = yaml.safe_load((PROMETHEUS / "alerts_test.yml").read_text())
    return [{"alertname": case["alertname"], **{k: str(v) for k, v in alert["exp_labels"].items()}}
            for test in doc["tests"] for case in test.get("alert_rule_test", [])
            for alert in case.get("exp_alerts", [])]


def test_alerts_fired_by_the_rule_unit_tests_reach_their_receivers(rendered):
    """promtool fires the rules on test series and checks each alert's labels; amtool then
    routes exactly those labels. Every severity the rules use is among them."""
    assert "SUCCESS" in run_promtool("test", "rules", PROMETHEUS / "alerts_test.yml")
    fired = fired_alerts()
    assert {alert["severity"] for alert in fired} == set(ROUTES)
    assert {alert["labels"]["severity"] for alert in alerts()} <= set(ROUTES)
    routed = {(alert["alertname"], alert["severity"], route_of(rendered, alert))
              for alert in fired}
    wrong = {r for r in routed if r[2] != ROUTES[r[1]]}
    assert wrong == set()
    assert ("InfraMindApiErrorRateHigh", "critical", "pagerduty,slack") in routed
    assert ("InfraMindFailedLoginBurst", "critical", "pagerduty,slack") in routed
    assert ("InfraMindApi4xxRateAboveTarget", "info", "email") in routed
    assert ("InfraMindNodeDiskAboveTarget", "info", "email") in routed


# --- wiring: Prometheus, compose, Kubernetes --------------------------------------------------


def test_prometheus_sends_alerts_to_the_compose_alertmanager():
    config = yaml.safe_load((PROMETHEUS / "prometheus.yml").read_text())
    [alertmanagers] = config["alerting"]["alertmanagers"]
    assert alertmanagers["static_configs"] == [{"targets": ["alertmanager:9093"]}]
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert jobs["alertmanager"]["static_configs"] == [{"targets": ["alertmanager:9093"]}]
    assert "9093:9093" in compose()["services"]["alertmanager"]["ports"]


def flag(args: list[str], name: str) -> str:
    [value] = [a.split("=", 1)[1] for a in args if a.startswith(f"{name}=")]
    return value


def test_compose_renders_the_config_then_starts_alertmanager_with_the_secret_files():
    services = compose()["services"]
    render_service, alertmanager = services["alertmanager-config"], services["alertmanager"]
    # the render step: the template from the repository, every setting from deploy/.env
    assert render_service["command"][:3] == ["sh", "/templates/render-config",
                                             "/templates/alertmanager.template.yml"]
    assert "./alertmanager:/templates:ro" in render_service["volumes"]
    environment = render_service["environment"]
    assert set(environment) == template_variables()
    for name, value in environment.items():
        assert value == f"${{{name}:?set {name} in deploy/.env}}"
    example = (DEPLOY / ".env.example").read_text()
    assert all(re.search(rf"^{name}=.+", example, re.MULTILINE) for name in environment)
    # the rendered file is the one Alertmanager reads, through the shared volume
    output = render_service["command"][3]
    [shared] = [v for v in render_service["volumes"] if v.startswith("alertmanager-config:")]
    mount = shared.split(":")[1]
    assert output.startswith(f"{mount}/")
    assert f"alertmanager-config:{mount}:ro" in alertmanager["volumes"]
    assert flag(alertmanager["command"], "--config.file") == output
    assert alertmanager["depends_on"] == {
        "alertmanager-config": {"condition": "service_completed_successfully"}}
    # the secrets: files compose mounts at /run/secrets/<name>, never in the repository
    assert set(alertmanager["secrets"]) == secret_files()
    declared = compose()["secrets"]
    assert set(declared) == secret_files()
    for name, secret in declared.items():
        assert secret == {"file": f"./alertmanager/secrets/{name}"}
    ignore = (ALERTMANAGER / "secrets" / ".gitignore").read_text().split("\n")
    assert "*" in ignore and "!.gitignore" in ignore


def test_kubernetes_alertmanager_renders_from_the_configmap_and_mounts_the_secret():
    objects = {(o["kind"], o["metadata"]["name"]): o for o in k8s_objects()}
    deployment = objects["Deployment", "infra-mind-alertmanager"]
    spec = deployment["spec"]["template"]["spec"]
    volumes = {v["name"]: v for v in spec["volumes"]}
    [init] = spec["initContainers"]
    [container] = spec["containers"]
    init_mounts = {m["name"]: m["mountPath"] for m in init["volumeMounts"]}
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    # the init container runs render-config over the template from the generated ConfigMap
    assert init["command"][:2] == ["sh", f"{init_mounts['template']}/render-config"]
    assert init["command"][2] == f"{init_mounts['template']}/{TEMPLATE.name}"
    assert volumes["template"]["configMap"]["name"] == "infra-mind-alertmanager-template"
    kustomization = yaml.safe_load((ALERTMANAGER / "kustomization.yaml").read_text())
    [generator] = kustomization["configMapGenerator"]
    assert generator["name"] == "infra-mind-alertmanager-template"
    assert generator["files"] == [TEMPLATE.name, RENDER.name]
    assert kustomization["resources"] == ["kubernetes.yaml"]
    # its settings from the ConfigMap the operator creates; the output where Alertmanager reads
    assert init["envFrom"] == [{"configMapRef": {"name": "infra-mind-alerting"}}]
    output = init["command"][3]
    assert output.startswith(f"{init_mounts['config']}/")
    assert "emptyDir" in volumes["config"] and mounts["config"] == init_mounts["config"]
    assert flag(container["args"], "--config.file") == output
    # the receivers' secrets, as files where the config's *_file fields look
    assert mounts["secrets"] == SECRETS_DIR
    assert volumes["secrets"]["secret"]["secretName"] == "infra-mind-alerting-secrets"
    assert objects["PersistentVolumeClaim", volumes["data"]["persistentVolumeClaim"]
                   ["claimName"]]
    service = objects["Service", "infra-mind-alertmanager"]
    assert service["spec"]["ports"] == [{"name": "http", "port": 9093, "targetPort": "http"}]
    assert service["spec"]["selector"].items() <= \
        deployment["spec"]["template"]["metadata"]["labels"].items()
    # the commands that create the ConfigMap and the Secret name every key the pod reads
    header = (ALERTMANAGER / "kubernetes.yaml").read_text().split("apiVersion:", 1)[0]
    literals = set(re.findall(r"--from-literal=([A-Za-z_]+)=", header))
    assert literals == template_variables() | secret_files()


def test_kubernetes_alertmanager_meets_the_restricted_pod_security_standard():
    """The namespace enforces Pod Security "restricted" (deploy/k8s/namespace.yaml)."""
    [deployment] = [o for o in k8s_objects() if o["kind"] == "Deployment"]
    spec = deployment["spec"]["template"]["spec"]
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert spec["automountServiceAccountToken"] is False
    for container in spec["initContainers"] + spec["containers"]:
        context = container["securityContext"]
        assert context["allowPrivilegeEscalation"] is False, container["name"]
        assert context["capabilities"]["drop"] == ["ALL"], container["name"]
        assert context["readOnlyRootFilesystem"] is True, container["name"]
        assert set(container["resources"]) == {"requests", "limits"}, container["name"]
