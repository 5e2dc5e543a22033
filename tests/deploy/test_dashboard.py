"""The Grafana dashboard and its provisioning: valid JSON, every panel wired to the
provisioned Prometheus, and every query naming only what the product exposes (metrics read
off a ``Metrics()`` registry) or the recording rules of alerts.yml."""

from __future__ import annotations

import json

import yaml

from tests.deploy.promql import DEPLOY, recording_rules, selectors, unknown_references

GRAFANA = DEPLOY / "grafana"
DASHBOARD = GRAFANA / "dashboards" / "infra-mind.json"


def dashboard() -> dict:
    return json.loads(DASHBOARD.read_text())


def queries() -> list[tuple[str, str]]:
    return [(panel["title"], target["expr"]) for panel in dashboard()["panels"]
            for target in panel.get("targets", [])]


def test_dashboard_is_valid_json_with_unique_panel_ids():
    doc = dashboard()
    assert doc["uid"] == "infra-mind-overview" and doc["title"] == "Infra Mind"
    ids = [panel["id"] for panel in doc["panels"]]
    assert len(ids) == len(set(ids))
    for panel in doc["panels"]:
        assert {"h", "w", "x", "y"} <= set(panel["gridPos"]), panel["title"]
        assert panel["gridPos"]["x"] + panel["gridPos"]["w"] <= 24, panel["title"]
        if panel["type"] != "row":
            assert panel["targets"], panel["title"]
            assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}


def test_queries_name_only_product_metrics_and_recording_rules():
    problems = {title: unknown_references(expr, frozenset({"up"}))
                for title, expr in queries()}
    assert {title: found for title, found in problems.items() if found} == {}


def test_the_guides_figures_have_panels():
    used = {s.metric for _, expr in queries() for s in selectors(expr)}
    for figure in ("infra_mind:http_request_duration_seconds:p95_5m",
                   "infra_mind:http_requests_4xx:ratio_rate5m",
                   "infra_mind:http_requests_5xx:ratio_rate5m",
                   "agent:agent_executions:success_ratio_rate15m",
                   "agent_duration_seconds_bucket", "llm_requests_total", "llm_tokens_total",
                   "llm_cost_usd_total", "llm_fallbacks_total", "number_guard_rejections_total",
                   "infra_mind:cache_requests:hit_ratio_rate15m",
                   "infra_mind:assessments:completion_ratio_rate1h",
                   "infra_mind:assessment_queue_depth:max",
                   "infra_mind:reports_generated:success_ratio_rate1h",
                   # security events and outside APIs (issue #16, items 2 and 3)
                   "auth_failed_logins_total", "auth_refresh_token_reuse_total",
                   "admin_actions_total", "throttled_requests_total",
                   "target:external_api_request_duration_seconds:p95_5m",
                   "external_api_requests_total"):
        assert figure in used, figure
    assert used & recording_rules() == {m for m in used if ":" in m}


def test_provisioning_points_at_the_dashboards_and_prometheus():
    datasources = yaml.safe_load((GRAFANA / "provisioning" / "datasources" /
                                  "prometheus.yml").read_text())
    [prometheus] = datasources["datasources"]
    assert prometheus["type"] == "prometheus" and prometheus["uid"] == "prometheus"
    assert prometheus["url"] == "http://prometheus:9090"  # the compose service
    variable = dashboard()["templating"]["list"][0]
    assert variable["type"] == "datasource" and variable["current"]["value"] == "prometheus"
    providers = yaml.safe_load((GRAFANA / "provisioning" / "dashboards" /
                                "infra-mind.yml").read_text())
    [provider] = providers["providers"]
    compose = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
    mounts = compose["services"]["grafana"]["volumes"]
    assert f"./grafana/dashboards:{provider['options']['path']}:ro" in mounts
    assert "./grafana/provisioning:/etc/grafana/provisioning:ro" in mounts
