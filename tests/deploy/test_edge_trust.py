"""The shipped deployments believe X-Forwarded-For from their proxy alone, and keep metrics
off the public path (issue #10, items 2 and 10).

Before: compose and the API Deployment set ``FORWARDED_ALLOW_IPS=*`` (uvicorn then takes
the left-most X-Forwarded-For entry, the one a client writes), Prometheus scraped the API
port, and ``/metrics`` was reachable through the Ingress.
"""

from __future__ import annotations

import ipaddress
import re

from infra_mind.config import load_settings
from tests.deploy.promql import DEPLOY
from tests.deploy.test_manifests import (
    compose,
    compose_product_services,
    infra_mind_containers,
    k8s,
    nginx_conf,
    pod_spec,
)


def test_no_deployment_believes_any_client():
    for path in sorted(DEPLOY.rglob("*")):
        if path.is_file() and path.suffix in (".yml", ".yaml", ".conf", ".example"):
            assert "FORWARDED_ALLOW_IPS" not in path.read_text(), path
    trusts = [e.get("value") for _, c in infra_mind_containers() for e in c.get("env", [])
              if e["name"] == "TRUSTED_PROXIES"]
    trusts += [s["environment"].get("TRUSTED_PROXIES") for s in
               compose_product_services().values() if s["command"][0] == "serve"]
    assert trusts and None not in trusts
    for value in trusts:  # each is a valid setting where it runs (production)
        cfg = load_settings(environment="production", jwt_secret_key="k" * 48,
                            trusted_proxies=value)
        assert cfg.trusted_proxies and "*" not in cfg.trusted_proxies


def test_compose_apis_believe_nginx_alone():
    doc = compose()
    services = doc["services"]
    [subnet] = [c["subnet"] for c in doc["networks"]["edge"]["ipam"]["config"]]
    nginx_address = services["nginx"]["networks"]["edge"]["ipv4_address"]
    assert list(services["nginx"]["networks"]) == ["edge"]
    assert ipaddress.ip_address(nginx_address) in ipaddress.ip_network(subnet)
    for name, service in compose_product_services().items():
        if service["command"][0] == "serve":
            assert service["environment"]["TRUSTED_PROXIES"] == nginx_address, name
            assert "edge" in service["networks"], name
        else:  # workers, the migration: not on the proxy's network
            assert "edge" not in service.get("networks", []), name
    # nginx faces the clients: it sets the header to the peer it saw, never appends
    conf = nginx_conf()
    assert "proxy_set_header X-Forwarded-For $remote_addr;" in conf
    assert "$proxy_add_x_forwarded_for" not in conf


def test_k8s_api_port_is_open_to_the_ingress_controller_only():
    policy = k8s("NetworkPolicy", "infra-mind-api")
    api = k8s("Deployment", "infra-mind-api")
    labels = api["spec"]["template"]["metadata"]["labels"]
    assert policy["spec"]["podSelector"]["matchLabels"].items() <= labels.items()
    assert policy["spec"]["policyTypes"] == ["Ingress"]
    rules = {rule["ports"][0]["port"]: rule["from"] for rule in policy["spec"]["ingress"]}
    assert set(rules) == {"http", "metrics"}
    assert rules["http"] == [{"namespaceSelector": {"matchLabels": {
        "kubernetes.io/metadata.name": "ingress-nginx"}}}]
    assert rules["metrics"] == [{"namespaceSelector": {"matchLabels": {
        "kubernetes.io/metadata.name": "monitoring"}}}]
    [container] = pod_spec(api)["containers"]
    assert {p["name"] for p in container["ports"]} == {"http", "metrics"}
    worker = k8s("NetworkPolicy", "infra-mind-worker")
    assert [rule["ports"][0]["port"] for rule in worker["spec"]["ingress"]] == ["metrics"]


def test_metrics_port_is_off_the_public_path():
    # Kubernetes: the Service (what the Ingress routes to) exposes the API port only
    service = k8s("Service", "infra-mind-api")
    assert [p["targetPort"] for p in service["spec"]["ports"]] == ["http"]
    ingress = k8s("Ingress", "infra-mind-api")
    backends = [p["backend"]["service"]["port"] for rule in ingress["spec"]["rules"]
                for p in rule["http"]["paths"]]
    assert backends == [{"name": "http"}]
    # compose: nginx routes to the API port only; Prometheus scrapes the metrics port
    upstream = re.search(r"upstream infra_mind_api \{(.*?)\}", nginx_conf(), re.DOTALL)
    ports = set(re.findall(r"server \S+?:(\d+)", upstream.group(1)))
    assert ports == {"8000"}
    for name, service in compose_product_services().items():
        if service["command"][0] not in ("serve", "worker"):
            continue  # the one-shot migration serves nothing
        port = service["environment"].get("METRICS_PORT")
        assert port is not None and port != "8000", name
        assert port in service["expose"], name
