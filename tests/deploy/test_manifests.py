"""The deployment artefacts agree with the product and with each other: every YAML parses,
every Kubernetes object is well formed, and images, commands, options, ports, probes,
environment names and config files are the ones the product has.

No cluster and no Docker daemon here: what a build or ``kubectl apply`` would add is in
docs/ops/deploy-and-observability.md.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from infra_mind import __version__
from tests.deploy.promql import DEPLOY, ROOT, source_literals

K8S = DEPLOY / "k8s"
IMAGE = f"infra-mind:{__version__}"
NAMESPACE = "infra-mind-prod"
#: Read by the libraries the product runs on, not by its own code (none at present:
#: uvicorn's FORWARDED_ALLOW_IPS is replaced by the product's TRUSTED_PROXIES).
LIBRARY_ENV: set[str] = set()
CLUSTER_SCOPED = {"Namespace"}
#: Pods that are clients of the API only: no secret, no settings, no config files.
API_CLIENTS = {"Job/infra-mind-smoke"}


def yaml_files() -> list[Path]:
    return sorted(p for p in DEPLOY.rglob("*") if p.suffix in (".yml", ".yaml"))


def k8s_objects() -> list[dict[str, Any]]:
    return [doc for path in sorted(K8S.glob("*.yaml")) if path.name != "kustomization.yaml"
            for doc in yaml.safe_load_all(path.read_text()) if doc]


def k8s(kind: str, name: str) -> dict[str, Any]:
    [found] = [o for o in k8s_objects() if o["kind"] == kind and o["metadata"]["name"] == name]
    return found


def compose() -> dict[str, Any]:
    return yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())


def pod_spec(obj: dict[str, Any]) -> dict[str, Any]:
    if obj["kind"] == "CronJob":
        return obj["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return obj["spec"]["template"]["spec"]


def infra_mind_containers() -> list[tuple[str, dict[str, Any]]]:
    """(where, container) for every container running the product's image."""
    found = [(f"{o['kind']}/{o['metadata']['name']}", c) for o in k8s_objects()
             if o["kind"] in ("Deployment", "Job", "CronJob") for c in pod_spec(o)["containers"]]
    assert found and all(c["image"] == IMAGE for _, c in found)
    return found


def compose_product_services() -> dict[str, dict[str, Any]]:
    return {name: s for name, s in compose()["services"].items() if s.get("image") == IMAGE}


@lru_cache(maxsize=1)
def cli_params() -> dict[str, set[str]]:
    """{command: its option names}; a group's options are its callback's."""
    from typer.main import get_command

    from infra_mind.cli.main import app

    return {name: {opt for p in command.params for opt in p.opts}
            for name, command in get_command(app).commands.items()}  # type: ignore[attr-defined]


def product_env_names() -> set[str]:
    from infra_mind.config import Settings

    return {name.upper() for name in Settings.model_fields} | source_literals() | LIBRARY_ENV


def app_routes() -> set[str]:
    from infra_mind.api import routers

    return {route.path for router in routers.all_routers() for route in router.routes}


# --- every file ---------------------------------------------------------------------------


@pytest.mark.parametrize("path", yaml_files(), ids=lambda p: str(p.relative_to(DEPLOY)))
def test_yaml_parses(path):
    assert [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def test_every_k8s_object_is_named_and_namespaced():
    objects = k8s_objects()
    kinds = {o["kind"] for o in objects}
    assert {"Namespace", "ConfigMap", "Deployment", "Service", "Ingress",
            "HorizontalPodAutoscaler", "PodDisruptionBudget", "Job", "CronJob",
            "PersistentVolumeClaim"} <= kinds
    for obj in objects:
        assert obj["apiVersion"] and obj["kind"] and obj["metadata"]["name"], obj
        if obj["kind"] not in CLUSTER_SCOPED:
            assert obj["metadata"]["namespace"] == NAMESPACE, obj["metadata"]["name"]


def test_kustomization_lists_every_manifest():
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    files = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert set(kustomization["resources"]) == files
    assert kustomization["namespace"] == NAMESPACE
    [image] = kustomization["images"]
    assert (image["name"], image["newTag"]) == ("infra-mind", __version__)


# --- the image, commands and options --------------------------------------------------------


def test_dockerfile_builds_a_non_root_image_with_the_cli_as_entrypoint():
    text = (DEPLOY / "Dockerfile").read_text()
    stages = re.findall(r"^FROM (\S+) AS (\w+)", text, re.MULTILINE)
    assert [stage for _, stage in stages] == ["web", "builder", "runtime"]
    assert "ARG PYTHON_IMAGE=python:3.11-slim" in text
    runtime = text.split("AS runtime", 1)[1]
    assert "pip install" not in runtime and "apt-get" not in runtime  # no build tools
    assert re.search(r"^USER 10001:10001$", runtime, re.MULTILINE)
    assert 'ENTRYPOINT ["infra-mind"]' in runtime
    assert re.search(r"^HEALTHCHECK .*\n.*http://127\.0\.0\.1:8000/health'", runtime,
                     re.MULTILINE)
    assert "EXPOSE 8000" in runtime and "COPY config /app/config" in runtime
    ignore = (DEPLOY / "Dockerfile.dockerignore").read_text().split()
    assert {"**", "!pyproject.toml", "!README.md", "!src", "!config"} <= set(ignore)


def test_commands_and_options_are_the_clis():
    commands = [(where, c["args"]) for where, c in infra_mind_containers()]
    commands += [(f"compose/{name}", s["command"])
                 for name, s in compose_product_services().items()]
    assert {args[0] for _, args in commands} == {"serve", "worker", "migrate", "backup",
                                                 "cleanup-old-data", "smoke"}
    params = cli_params()
    for where, args in commands:
        assert args[0] in params, f"{where}: no command {args[0]!r}"
        unknown = {a for a in args[1:] if a.startswith("--")} - params[args[0]]
        assert not unknown, f"{where}: {args[0]} has no option {sorted(unknown)}"


def test_maintenance_jobs_run_the_named_commands_on_their_volume():
    backup = k8s("CronJob", "infra-mind-backup")
    [container] = pod_spec(backup)["containers"]
    assert container["args"] == ["backup", "--dir", "/backups"]
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in pod_spec(backup)["volumes"]}
    assert mounts["backups"] == "/backups"
    claim = volumes["backups"]["persistentVolumeClaim"]["claimName"]
    assert k8s("PersistentVolumeClaim", claim)
    [cleanup] = pod_spec(k8s("CronJob", "infra-mind-cleanup"))["containers"]
    assert cleanup["args"] == ["cleanup-old-data", "--days", "90"]
    for name in ("infra-mind-backup", "infra-mind-cleanup"):
        assert k8s("CronJob", name)["spec"]["concurrencyPolicy"] == "Forbid"
    [migrate] = pod_spec(k8s("Job", "infra-mind-migrate"))["containers"]
    assert migrate["args"] == ["migrate"]


def test_smoke_job_tests_the_public_host_once():
    job = k8s("Job", "infra-mind-smoke")
    assert job["spec"]["backoffLimit"] == 0  # a retry would register another account
    assert job["spec"]["activeDeadlineSeconds"] > 300  # past the smoke's own --wait bound
    [container] = pod_spec(job)["containers"]
    args = container["args"]
    assert args[0] == "smoke" and args[args.index("--wait") + 1] == "300"
    # where users go: through the Ingress (the API port admits the controller alone)
    [rule] = k8s("Ingress", "infra-mind-api")["spec"]["rules"]
    assert args[args.index("--url") + 1] == f"https://{rule['host']}"
    assert job["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/component"] \
        == "smoke"


# --- environment and secrets -----------------------------------------------------------------


def test_environment_names_are_the_products():
    known = product_env_names()
    names = {e["name"] for _, c in infra_mind_containers() for e in c.get("env", [])}
    names |= set(yaml.safe_load((K8S / "env-configmap.yaml").read_text())["data"])
    for service in compose_product_services().values():
        names |= set(service["environment"])
    assert names - known == set()


def test_secrets_are_references_only():
    assert not [o for o in k8s_objects() if o["kind"] == "Secret"]
    for where, container in infra_mind_containers():
        if where in API_CLIENTS:  # a client holds no secret and reads no settings
            assert "env" not in container and "envFrom" not in container, where
            continue
        for env in container.get("env", []):
            ref = env.get("valueFrom", {}).get("secretKeyRef")
            if ref is not None:
                assert ref["name"] == "infra-mind-secrets" and ref["key"] == env["name"], where
        names = {e["name"] for e in container.get("env", [])}
        assert {"DATABASE_URL", "JWT_SECRET_KEY", "ENCRYPTION_KEY"} <= names, where
        assert container["envFrom"] == [{"configMapRef": {"name": "infra-mind-env"}}], where


def env_example() -> dict[str, str]:
    lines = (DEPLOY / ".env.example").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))


def test_compose_takes_every_secret_from_the_env_file():
    text = (DEPLOY / "docker-compose.yml").read_text()
    interpolated = set(re.findall(r"\$\{([A-Z_]+)", text))
    assert interpolated == set(env_example())


def test_env_example_placeholders_are_refused_in_production(monkeypatch):
    from infra_mind.config import SettingsError, load_settings

    for name in ("JWT_SECRET_KEY", "ENCRYPTION_KEY", "CONFIG_DIR", "DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    example = env_example()
    with pytest.raises(SettingsError, match="JWT_SECRET_KEY"):
        load_settings(environment="production", jwt_secret_key=example["JWT_SECRET_KEY"])
    with pytest.raises(SettingsError, match="ENCRYPTION_KEY"):
        load_settings(environment="production", jwt_secret_key="k" * 48,
                      encryption_key=example["ENCRYPTION_KEY"])


def test_configmap_holds_the_config_files():
    data = k8s("ConfigMap", "infra-mind-config")["data"]
    files = {p.name: p.read_text() for p in sorted((ROOT / "config").glob("*.yaml"))}
    assert data == files, ("deploy/k8s/configmap.yaml differs from config/: regenerate with "
                           "kubectl create configmap infra-mind-config --from-file=config/ "
                           f"-n {NAMESPACE} --dry-run=client -o yaml > deploy/k8s/configmap.yaml")
    for obj in k8s_objects():
        if f"{obj['kind']}/{obj['metadata']['name']}" in API_CLIENTS:
            assert "config" not in {v["name"] for v in pod_spec(obj)["volumes"]}
            continue
        if obj["kind"] in ("Deployment", "Job", "CronJob"):
            volumes = {v["name"]: v for v in pod_spec(obj)["volumes"]}
            assert volumes["config"]["configMap"]["name"] == "infra-mind-config"
            for container in pod_spec(obj)["containers"]:
                mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
                assert mounts["config"] == "/app/config"
    env = yaml.safe_load((K8S / "env-configmap.yaml").read_text())["data"]
    assert env["CONFIG_DIR"] == "/app/config" and env["ENVIRONMENT"] == "production"


# --- the API: replicas, probes, ports, hardening ----------------------------------------------


def test_api_deployment_is_probed_limited_and_hardened():
    api = k8s("Deployment", "infra-mind-api")
    assert api["spec"]["replicas"] == 3
    spec = pod_spec(api)
    [container] = spec["containers"]
    assert container["args"] == ["serve", "--host", "0.0.0.0", "--port", "8000",
                                 "--workers", "1"]
    assert container["ports"] == [{"name": "http", "containerPort": 8000},
                                  {"name": "metrics", "containerPort": 9464}]
    routes = app_routes()
    assert container["livenessProbe"]["httpGet"]["path"] == "/health"
    assert container["readinessProbe"]["httpGet"]["path"] == "/health/ready"
    assert {"/health", "/health/ready"} <= routes
    assert set(container["resources"]) == {"requests", "limits"}
    # metrics on their own port (METRICS_PORT), which Prometheus scrapes
    env = {e["name"]: e.get("value") for e in container["env"]}
    template = api["spec"]["template"]["metadata"]["annotations"]
    assert template["prometheus.io/port"] == env["METRICS_PORT"] == "9464"
    assert template["prometheus.io/path"] == "/metrics"
    assert api["spec"]["selector"]["matchLabels"].items() <= \
        api["spec"]["template"]["metadata"]["labels"].items()


@pytest.mark.parametrize("kind,name", [("Deployment", "infra-mind-api"),
                                       ("Deployment", "infra-mind-worker"),
                                       ("Job", "infra-mind-migrate"),
                                       ("Job", "infra-mind-smoke"),
                                       ("CronJob", "infra-mind-backup"),
                                       ("CronJob", "infra-mind-cleanup")])
def test_pods_run_non_root_on_a_read_only_root(kind, name):
    spec = pod_spec(k8s(kind, name))
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert spec["securityContext"]["runAsUser"] == 10001  # the image's user
    assert spec["automountServiceAccountToken"] is False
    volumes = {v["name"]: v for v in spec["volumes"]}
    assert "emptyDir" in volumes["tmp"]
    for container in spec["containers"]:
        context = container["securityContext"]
        assert context["readOnlyRootFilesystem"] is True
        assert context["allowPrivilegeEscalation"] is False
        assert context["capabilities"]["drop"] == ["ALL"]
        assert {"name": "tmp", "mountPath": "/tmp"} in container["volumeMounts"]
        assert set(container["resources"]) == {"requests", "limits"}


def test_service_ingress_hpa_and_pdb_point_at_the_api():
    api = k8s("Deployment", "infra-mind-api")
    labels = api["spec"]["template"]["metadata"]["labels"]
    service = k8s("Service", "infra-mind-api")
    assert service["spec"]["selector"].items() <= labels.items()
    assert service["spec"]["ports"][0]["targetPort"] == "http"
    ingress = k8s("Ingress", "infra-mind-api")
    [path] = ingress["spec"]["rules"][0]["http"]["paths"]
    assert path["backend"]["service"] == {"name": "infra-mind-api", "port": {"name": "http"}}
    annotations = ingress["metadata"]["annotations"]
    assert annotations["nginx.ingress.kubernetes.io/proxy-buffering"] == "off"
    assert int(annotations["nginx.ingress.kubernetes.io/proxy-read-timeout"]) >= 600
    hpa = k8s("HorizontalPodAutoscaler", "infra-mind-api")
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment",
                                             "name": "infra-mind-api"}
    assert hpa["spec"]["minReplicas"] == api["spec"]["replicas"]
    [metric] = hpa["spec"]["metrics"]
    assert metric["resource"]["name"] == "cpu"
    pdb = k8s("PodDisruptionBudget", "infra-mind-api")
    assert pdb["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert pdb["spec"]["minAvailable"] < api["spec"]["replicas"]


# --- compose, nginx and Prometheus agree -----------------------------------------------------


def test_compose_runs_three_apis_two_workers_after_the_migration():
    services = compose()["services"]
    apis = sorted(n for n, s in services.items() if s.get("command", [""])[0] == "serve")
    workers = sorted(n for n, s in services.items() if s.get("command", [""])[0] == "worker")
    assert apis == ["api-1", "api-2", "api-3"] and workers == ["worker-1", "worker-2"]
    for name in apis + workers:
        depends = services[name]["depends_on"]
        assert depends["migrate"]["condition"] == "service_completed_successfully", name
        assert services[name]["environment"]["REDIS_URL"].startswith("redis://")
    assert services["migrate"]["command"] == ["migrate"]
    assert set(services["nginx"]["depends_on"]) == set(apis)
    assert {"postgres", "redis", "prometheus", "grafana"} <= set(services)


def nginx_conf() -> str:
    return (DEPLOY / "nginx.conf").read_text()


def test_nginx_balances_the_compose_apis_and_streams_sse_unbuffered():
    conf = nginx_conf()
    upstream = re.search(r"upstream infra_mind_api \{(.*?)\}", conf, re.DOTALL).group(1)
    servers = re.findall(r"server (\S+?)(?:\s|;)", upstream)
    assert servers == ["api-1:8000", "api-2:8000", "api-3:8000"]
    locations = dict(re.findall(r"location ~ (\S+) \{(.*?)\n        \}", conf, re.DOTALL))
    streams = sorted(r for r in app_routes() if r.endswith(("/events", "/messages/stream")))
    assert len(streams) == 2
    for route in streams:
        path = re.sub(r"\{[^}]+\}", "0f8e2a", route)
        [(pattern, body)] = [(p, b) for p, b in locations.items() if re.fullmatch(p, path)]
        assert "proxy_buffering off;" in body, pattern
        assert int(re.search(r"proxy_read_timeout (\d+)s;", body).group(1)) >= 600
        assert "proxy_pass http://infra_mind_api;" in body


#: ingress-nginx's ``upstream-keepalive-timeout`` and an AWS ALB's idle timeout, by default
PROXY_IDLE_S = 60


def test_the_apis_keep_idle_connections_longer_than_the_proxy_in_front():
    """A proxy reusing an idle connection the API has just closed gets no answer: a 502
    for the client, and nginx retries no POST. So the proxy must give up an idle
    connection first: compose's nginx (its upstream ``keepalive_timeout``) and, on
    Kubernetes, ingress-nginx or a cloud load balancer (60 s by default)."""
    from infra_mind.config.settings import Settings

    upstream = re.search(r"upstream infra_mind_api \{(.*?)\}", nginx_conf(), re.DOTALL).group(1)
    assert "keepalive " in upstream  # nginx keeps idle connections to the APIs
    nginx_idle_s = int(re.search(r"keepalive_timeout (\d+)s;", upstream).group(1))
    for name, service in compose_product_services().items():
        if service["command"][0] == "serve":
            assert int(service["environment"]["SERVER_KEEP_ALIVE_S"]) > nginx_idle_s, name
    env = yaml.safe_load((K8S / "env-configmap.yaml").read_text())["data"]
    assert int(env["SERVER_KEEP_ALIVE_S"]) > PROXY_IDLE_S
    # the default suits a browser connecting directly, and is shorter than any proxy's
    assert Settings.model_fields["server_keep_alive_s"].default < PROXY_IDLE_S


def test_prometheus_scrapes_every_api_and_worker():
    config = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    api_targets = jobs["infra-mind-api"]["static_configs"][0]["targets"]
    port = compose()["services"]["api-1"]["environment"]["METRICS_PORT"]
    assert api_targets == [f"{name}:{port}" for name in ("api-1", "api-2", "api-3")]
    worker_targets = jobs["infra-mind-worker"]["static_configs"][0]["targets"]
    assert [t.split(":")[0] for t in worker_targets] == ["worker-1", "worker-2"]
    assert config["rule_files"] == ["alerts.yml"]
    mounts = compose()["services"]["prometheus"]["volumes"]
    assert "./prometheus/alerts.yml:/etc/prometheus/alerts.yml:ro" in mounts
