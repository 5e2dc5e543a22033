"""The Kustomize overlays (deploy/k8s-overlays/staging, production) over the base (deploy/k8s)
and Alertmanager (deploy/alertmanager).

Structurally, with no tool: every resource an overlay names exists, every patch targets an
object of the base by kind and name, and the overlay sets what differs per environment
(namespace, image tag, replicas, resources, ENVIRONMENT, host) consistently. Rendered with
``kubectl kustomize`` where kubectl is on PATH (it is not a Debian package in a version with
Kustomize v5; without it those tests skip with the reason): the output has every object in the
overlay's namespace, the overlay's values, pods that meet the namespace's "restricted" Pod
Security, and the two-step apply of the deploy docs splits it as they say.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from infra_mind import __version__
from tests.deploy.promql import DEPLOY

OVERLAYS = DEPLOY / "k8s-overlays"
BASE_NAMESPACE = "infra-mind-prod"
#: environment -> (namespace, API replicas, worker replicas, Ingress host)
EXPECTED = {
    "staging": ("infra-mind-staging", 2, 1, "staging.infra-mind.com"),
    "production": ("infra-mind-prod", 3, 2, "api.infra-mind.com"),
}
#: The deploy docs' first step: everything but the API, the workers and the smoke Job (the
#: migration Job among it); the second step everything but the smoke Job; the third the
#: smoke Job alone, once the rollout has finished.
FIRST_STEP_EXCLUDES = {"api", "worker", "smoke"}
LAST_STEP = "smoke"


def kustomization(path: Path) -> dict[str, Any]:
    return yaml.safe_load((path / "kustomization.yaml").read_text())


def documents(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def sources(root: Path) -> list[dict[str, Any]]:
    """The objects a kustomization's resources hold, read from the files, recursively
    (generated ConfigMaps are added by name, without content)."""
    found: list[dict[str, Any]] = []
    spec = kustomization(root)
    for entry in spec.get("resources", []):
        target = (root / entry).resolve()
        assert target.exists(), f"{root}: resource {entry} does not exist"
        found += sources(target) if target.is_dir() else documents(target)
    for generator in spec.get("configMapGenerator", []):
        for name in generator.get("files", []):
            assert (root / name).is_file(), f"{root}: generator file {name} does not exist"
        found.append({"kind": "ConfigMap", "metadata": {"name": generator["name"]}})
    return found


def patch_documents(overlay: Path) -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = []
    for patch in kustomization(overlay).get("patches", []):
        assert set(patch) == {"path"}, "patches are strategic-merge files"
        path = overlay / patch["path"]
        assert path.is_file(), f"{overlay.name}: patch {patch['path']} does not exist"
        docs += documents(path)
    return docs


def patched(overlay: Path, kind: str, name: str) -> dict[str, Any]:
    [doc] = [d for d in patch_documents(overlay)
             if d["kind"] == kind and d["metadata"]["name"] == name]
    return doc


def container_resources(overlay: Path, deployment: str) -> dict[str, dict[str, str]]:
    [container] = patched(overlay, "Deployment", deployment)["spec"]["template"]["spec"][
        "containers"]
    return container["resources"]


_UNITS = {"": 1, "m": 1e-3, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30}


def quantity(text: str) -> float:
    number, unit = re.fullmatch(r"([0-9.]+)(m|Ki|Mi|Gi)?", str(text)).groups()
    return float(number) * _UNITS[unit or ""]


overlay_names = pytest.mark.parametrize("env", sorted(EXPECTED))


# --- structure (no tool needed) ----------------------------------------------------------


def test_there_is_one_overlay_per_environment():
    assert sorted(p.name for p in OVERLAYS.iterdir() if p.is_dir()) == sorted(EXPECTED)


@overlay_names
def test_overlay_builds_on_the_base_and_alertmanager(env):
    overlay = OVERLAYS / env
    assert kustomization(overlay)["resources"] == ["../../k8s", "../../alertmanager"]
    assert kustomization(overlay)["namespace"] == EXPECTED[env][0]
    objects = sources(overlay)
    assert {"Deployment", "Job", "CronJob", "Ingress"} <= {o["kind"] for o in objects}
    assert ("Deployment", "infra-mind-alertmanager") in \
        {(o["kind"], o["metadata"]["name"]) for o in objects}


@overlay_names
def test_every_patch_targets_an_object_of_the_base(env):
    overlay = OVERLAYS / env
    existing = {(o["kind"], o["metadata"]["name"]) for o in sources(overlay)}
    for doc in patch_documents(overlay):
        target = (doc["kind"], doc["metadata"]["name"])
        assert target in existing, f"{env}: patch of {target}, which the base does not have"
        # strategic-merge patches match before the overlay's namespace is applied
        assert doc["metadata"]["namespace"] == BASE_NAMESPACE, target
    for entry in kustomization(overlay)["replicas"]:
        assert ("Deployment", entry["name"]) in existing, entry


@overlay_names
def test_image_tag_is_the_released_version(env):
    [image] = kustomization(OVERLAYS / env)["images"]
    assert image["name"] == "infra-mind" and image["newTag"] == __version__
    base_images = {c["image"] for o in sources(OVERLAYS / env) if o["kind"] == "Deployment"
                   for c in o["spec"]["template"]["spec"]["containers"]}
    assert f"infra-mind:{__version__}" in base_images


@overlay_names
def test_replicas_autoscaling_and_disruption_budget_agree(env):
    overlay = OVERLAYS / env
    _, api_replicas, worker_replicas, _ = EXPECTED[env]
    replicas = {e["name"]: e["count"] for e in kustomization(overlay)["replicas"]}
    assert replicas == {"infra-mind-api": api_replicas, "infra-mind-worker": worker_replicas}
    hpa = patched(overlay, "HorizontalPodAutoscaler", "infra-mind-api")["spec"]
    assert hpa["minReplicas"] == api_replicas < hpa["maxReplicas"]
    pdb = patched(overlay, "PodDisruptionBudget", "infra-mind-api")["spec"]
    assert 1 <= pdb["minAvailable"] < api_replicas  # a drain can always proceed


@overlay_names
def test_resources_requests_fit_under_limits(env):
    overlay = OVERLAYS / env
    for deployment in ("infra-mind-api", "infra-mind-worker"):
        resources = container_resources(overlay, deployment)
        for name in ("cpu", "memory"):
            assert quantity(resources["requests"][name]) <= quantity(resources["limits"][name])


def test_staging_is_smaller_than_production():
    for deployment in ("infra-mind-api", "infra-mind-worker"):
        staging = container_resources(OVERLAYS / "staging", deployment)
        production = container_resources(OVERLAYS / "production", deployment)
        for bound in ("requests", "limits"):
            for name in ("cpu", "memory"):
                assert quantity(staging[bound][name]) <= quantity(production[bound][name])


@overlay_names
def test_environment_and_host_are_the_overlays(env):
    from infra_mind.config import Settings

    overlay = OVERLAYS / env
    data = patched(overlay, "ConfigMap", "infra-mind-env")["data"]
    assert data["ENVIRONMENT"] == env
    assert env in Settings.model_fields["environment"].annotation.__args__
    ingress = patched(overlay, "Ingress", "infra-mind-api")["spec"]
    host = EXPECTED[env][3]
    assert [rule["host"] for rule in ingress["rules"]] == [host]
    assert ingress["tls"][0]["hosts"] == [host]
    # the post-deploy smoke test goes to this environment's host, not another's
    smoke = [d for d in sources(overlay) + patch_documents(overlay)
             if d["kind"] == "Job" and d["metadata"]["name"] == "infra-mind-smoke"]
    args = smoke[-1]["spec"]["template"]["spec"]["containers"][0]["args"]  # the patch wins
    assert args[args.index("--url") + 1] == f"https://{host}"


# --- rendered with kubectl kustomize ------------------------------------------------------


def kubectl() -> str:
    found = shutil.which("kubectl")
    if found is None:
        pytest.skip("kubectl not on PATH: the overlays are checked structurally only "
                    "(render them with `kubectl kustomize deploy/k8s-overlays/production`)")
    return found


@cache
def _render(path: str, binary: str) -> tuple[dict[str, Any], ...]:
    done = subprocess.run([binary, "kustomize", path], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    return tuple(doc for doc in yaml.safe_load_all(done.stdout) if doc)


def rendered(env: str) -> list[dict[str, Any]]:
    return list(_render(str(OVERLAYS / env), kubectl()))


def find(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    [found] = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    return found


def pod_templates(objects: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    found = []
    for obj in objects:
        if obj["kind"] == "CronJob":
            found.append((obj["metadata"]["name"],
                          obj["spec"]["jobTemplate"]["spec"]["template"]["spec"]))
        elif obj["kind"] in ("Deployment", "Job"):
            found.append((obj["metadata"]["name"], obj["spec"]["template"]["spec"]))
    return found


@overlay_names
def test_rendered_objects_live_in_the_overlays_namespace(env):
    objects = rendered(env)
    namespace = EXPECTED[env][0]
    [ns] = [o for o in objects if o["kind"] == "Namespace"]
    assert ns["metadata"]["name"] == namespace
    assert ns["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    for obj in objects:
        if obj["kind"] != "Namespace":
            assert obj["metadata"]["namespace"] == namespace, obj["metadata"]["name"]


@overlay_names
def test_rendered_values_are_the_overlays(env):
    objects = rendered(env)
    _, api_replicas, worker_replicas, host = EXPECTED[env]
    assert find(objects, "Deployment", "infra-mind-api")["spec"]["replicas"] == api_replicas
    assert find(objects, "Deployment", "infra-mind-worker")["spec"]["replicas"] == \
        worker_replicas
    assert find(objects, "ConfigMap", "infra-mind-env")["data"]["ENVIRONMENT"] == env
    assert find(objects, "Ingress", "infra-mind-api")["spec"]["rules"][0]["host"] == host
    images = {c["image"] for _, spec in pod_templates(objects) for c in spec["containers"]}
    assert f"infra-mind:{__version__}" in images
    api = find(objects, "Deployment", "infra-mind-api")["spec"]["template"]["spec"]
    assert api["containers"][0]["resources"] == \
        container_resources(OVERLAYS / env, "infra-mind-api")
    # the generated template ConfigMap (hashed name) is the one the Alertmanager pod mounts
    alertmanager = find(objects, "Deployment", "infra-mind-alertmanager")
    volumes = {v["name"]: v for v in alertmanager["spec"]["template"]["spec"]["volumes"]}
    template_map = volumes["template"]["configMap"]["name"]
    assert template_map.startswith("infra-mind-alertmanager-template-")
    assert "render-config" in find(objects, "ConfigMap", template_map)["data"]


@overlay_names
def test_rendered_pods_meet_restricted_pod_security(env):
    templates = pod_templates(rendered(env))
    assert len(templates) == 7  # api, worker, alertmanager, migrate, smoke, backup, cleanup
    for name, spec in templates:
        assert spec["securityContext"]["runAsNonRoot"] is True, name
        assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}, name
        for container in spec.get("initContainers", []) + spec["containers"]:
            context = container["securityContext"]
            assert context["allowPrivilegeEscalation"] is False, (name, container["name"])
            assert context["capabilities"]["drop"] == ["ALL"], (name, container["name"])


@overlay_names
def test_the_three_step_apply_migrates_before_the_rollout_and_smokes_after_it(env):
    """Step 1 (-l 'app.kubernetes.io/component notin (api,worker,smoke)') holds the
    namespace, the settings and the migration Job; step 2
    (-l 'app.kubernetes.io/component!=smoke') adds the API and the workers; step 3
    (-l app.kubernetes.io/component=smoke) is the smoke Job alone."""
    objects = rendered(env)

    def component(obj: dict[str, Any]) -> str | None:
        return obj["metadata"].get("labels", {}).get("app.kubernetes.io/component")

    first = {(o["kind"], o["metadata"]["name"]) for o in objects
             if component(o) not in FIRST_STEP_EXCLUDES}
    assert {("Namespace", EXPECTED[env][0]), ("ConfigMap", "infra-mind-env"),
            ("ConfigMap", "infra-mind-config"), ("Job", "infra-mind-migrate")} <= first
    assert ("Deployment", "infra-mind-api") not in first
    assert ("Deployment", "infra-mind-worker") not in first
    second = {(o["kind"], o["metadata"]["name"]) for o in objects
              if component(o) != LAST_STEP}
    assert first < second
    assert {("Deployment", "infra-mind-api"), ("Deployment", "infra-mind-worker")} <= second
    last = {(o["kind"], o["metadata"]["name"]) for o in objects if component(o) == LAST_STEP}
    assert last == {("Job", "infra-mind-smoke")}
    [smoke] = find(objects, "Job", "infra-mind-smoke")["spec"]["template"]["spec"][
        "containers"]
    assert smoke["args"][smoke["args"].index("--url") + 1] == f"https://{EXPECTED[env][3]}"
    assert second | last == {(o["kind"], o["metadata"]["name"]) for o in objects}
    migrate = find(objects, "Job", "infra-mind-migrate")["spec"]["template"]["spec"]
    [container] = migrate["containers"]
    assert container["image"] == f"infra-mind:{__version__}"
    assert container["envFrom"] == [{"configMapRef": {"name": "infra-mind-env"}}]
