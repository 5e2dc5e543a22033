"""Prometheus rules and config: ``promtool check`` and ``promtool test rules`` (the unit tests
in deploy/prometheus/alerts_test.yml), and what the rules refer to.

promtool comes from Debian's ``prometheus`` package (.ci/run installs it). Without it the
promtool tests skip with the reason, unless INFRA_MIND_REQUIRE_PROMTOOL=1 (CI), which makes
them fail instead.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.deploy.promql import ALERTS, DEPLOY, as_promql, unknown_references

PROMETHEUS = DEPLOY / "prometheus"
DASHBOARD = DEPLOY / "grafana" / "dashboards" / "infra-mind.json"
#: Series of the exporters the resource alerts need (node-exporter, cAdvisor,
#: kube-state-metrics), Prometheus' own ``up`` and Alertmanager's: not the product's.
EXTERNAL_METRICS = frozenset({
    "up", "node_cpu_seconds_total", "node_memory_MemAvailable_bytes",
    "node_memory_MemTotal_bytes", "node_filesystem_avail_bytes", "node_filesystem_size_bytes",
    "container_cpu_usage_seconds_total", "container_memory_working_set_bytes",
    "kube_pod_container_resource_limits", "alertmanager_notifications_failed_total"})
#: The guide's alert thresholds, each with the alert that covers it.
GUIDE_ALERTS = {
    "InfraMindApiErrorRateHigh": "critical", "InfraMindDependencyDown": "critical",
    "InfraMindAgentFailures": "critical", "InfraMindAssessmentsFailing": "critical",
    "InfraMindLlmFailures": "critical", "InfraMindLlmFallbacks": "critical",
    "InfraMindApiLatencyHigh": "warning", "InfraMindCacheHitRateLow": "warning",
    "InfraMindLlmProviderThrottled": "warning", "InfraMindContainerCpuHigh": "warning",
    "InfraMindContainerMemoryHigh": "warning", "InfraMindNodeDiskHigh": "warning",
    # security incidents (critical in the guide), and its targets (the daily digest)
    "InfraMindFailedLoginBurst": "critical", "InfraMindRefreshTokenReuseBurst": "critical",
    "InfraMindAdminRoutesProbed": "critical", "InfraMindApi4xxRateAboveTarget": "info",
    "InfraMindNodeDiskAboveTarget": "info"}


def promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        message = "promtool not on PATH (Debian: apt-get install prometheus)"
        if os.environ.get("INFRA_MIND_REQUIRE_PROMTOOL") == "1":
            pytest.fail(f"{message}; INFRA_MIND_REQUIRE_PROMTOOL=1 makes this a failure")
        pytest.skip(message)
    return found


def run_promtool(*args: str | Path) -> str:
    done = subprocess.run([promtool(), *map(str, args)], capture_output=True, text=True,
                          timeout=120)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    return output


def rules() -> list[dict]:
    return [rule for group in yaml.safe_load(ALERTS.read_text())["groups"]
            for rule in group["rules"]]


def alerts() -> list[dict]:
    return [rule for rule in rules() if "alert" in rule]


# --- promtool -----------------------------------------------------------------------------


def test_rules_pass_promtool_check():
    output = run_promtool("check", "rules", ALERTS)
    assert f"SUCCESS: {len(rules())} rules found" in output


def test_alert_unit_tests_pass():
    assert "SUCCESS" in run_promtool("test", "rules", PROMETHEUS / "alerts_test.yml")


def test_prometheus_config_passes_promtool_check():
    run_promtool("check", "config", PROMETHEUS / "prometheus.yml")


def test_dashboard_queries_are_valid_promql(tmp_path):
    """Every panel query, as a recording rule, passes promtool (Grafana's $__ variables
    replaced by a duration)."""
    dashboard = json.loads(DASHBOARD.read_text())
    exprs = [as_promql(target["expr"]) for panel in dashboard["panels"]
             for target in panel.get("targets", [])]
    doc = {"groups": [{"name": "dashboard", "rules": [
        {"record": f"dashboard:query_{i}", "expr": expr} for i, expr in enumerate(exprs)]}]}
    path = tmp_path / "dashboard_rules.yml"
    path.write_text(yaml.safe_dump(doc))
    assert f"SUCCESS: {len(exprs)} rules found" in run_promtool("check", "rules", path)


# --- what the rules say (no promtool needed) ---------------------------------------------


def test_every_alert_has_severity_duration_and_a_runbook():
    for alert in alerts():
        name = alert["alert"]
        assert alert["labels"]["severity"] in ("critical", "warning", "info"), name
        assert re.fullmatch(r"\d+[smh]", alert.get("for", "")), f"{name}: no `for:`"
        annotations = alert["annotations"]
        assert annotations["summary"] and annotations["description"], name
        assert "Runbook:" in annotations["description"] and "`" in annotations["description"], \
            f"{name}: the description names no runbook command"


def test_the_guides_thresholds_are_covered():
    by_name = {alert["alert"]: alert["labels"]["severity"] for alert in alerts()}
    for name, severity in GUIDE_ALERTS.items():
        assert by_name.get(name) == severity, name


def test_runbook_commands_exist():
    from typer.main import get_command

    from infra_mind.cli.main import app

    commands = set(get_command(app).commands)  # type: ignore[attr-defined]
    named = {match for alert in alerts()
             for match in re.findall(r"`infra-mind ([a-z][a-z-]*)", alert["annotations"]
                                     ["description"])}
    assert named, "no runbook names an infra-mind command"
    assert named <= commands, f"runbooks name unknown commands: {sorted(named - commands)}"


def test_rules_refer_only_to_what_the_product_exposes():
    problems = {rule.get("alert") or rule["record"]: unknown_references(rule["expr"],
                                                                         EXTERNAL_METRICS)
                for rule in rules()}
    assert {k: v for k, v in problems.items() if v} == {}


def test_recording_rules_follow_the_naming_convention():
    for rule in rules():
        if "record" in rule:
            assert re.fullmatch(r"[a-z_]+:[a-z0-9_]+:[a-z0-9_]+", rule["record"]), rule
