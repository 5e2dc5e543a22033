"""scripts/build-image and the image it builds (deploy/Dockerfile).

No container builder runs here (the Docker client is installed, its daemon is not), so the
build itself is not run: the script's choice of builder, its one-line refusal and exit code
when none can build, and the exact command it would run (``--dry-run``) are. The Dockerfile's
web stage is checked against how the product finds the built app (``WEB_DIST_DIR``).
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from infra_mind import __version__
from tests.deploy.promql import DEPLOY, ROOT

SCRIPT = ROOT / "scripts" / "build-image"
EX_USAGE, EX_UNAVAILABLE = 64, 69
#: What the script runs besides the builders (bash builtins aside).
SCRIPT_TOOLS = ("bash", "sed", "head", "timeout", "env", "git", "dirname", "printf")


def run(*args: str, path: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATH": path if path is not None else os.environ["PATH"]}
    return subprocess.run([shutil.which("bash") or "/bin/bash", str(SCRIPT), *args], env=env,
                          capture_output=True, text=True, timeout=60, cwd=ROOT)


def path_without_builders(tmp_path: Path) -> str:
    """A PATH with the script's own tools and no docker, podman or buildah."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in SCRIPT_TOOLS:
        found = shutil.which(tool)
        if found:
            (bin_dir / tool).symlink_to(found)
    return str(bin_dir)


def dry_run(*args: str) -> list[str]:
    done = run("--dry-run", *args)
    assert done.returncode == 0, done.stderr
    return shlex.split(done.stdout)


# --- choosing a builder ---------------------------------------------------------------------


def test_without_any_builder_it_says_so_in_one_line_and_exits_69(tmp_path):
    done = run(path=path_without_builders(tmp_path))
    assert done.returncode == EX_UNAVAILABLE
    assert done.stdout == ""
    assert done.stderr == ("build-image: no image builder can run here: docker is not "
                           "installed; podman is not installed; buildah is not installed\n")


def test_a_named_builder_that_is_missing_exits_69(tmp_path):
    done = run("--tool", "podman", path=path_without_builders(tmp_path))
    assert (done.returncode, done.stderr) == (EX_UNAVAILABLE,
                                              "build-image: podman is not installed\n")


def test_a_docker_client_without_a_daemon_does_not_count_as_a_builder(tmp_path):
    docker = shutil.which("docker")
    if docker is None:
        pytest.skip("no docker client on PATH")
    if subprocess.run([docker, "info"], capture_output=True, timeout=30).returncode == 0:
        pytest.skip("a Docker daemon answers here: the script would build")
    (Path(path_without_builders(tmp_path)) / "docker").symlink_to(docker)
    done = run(path=str(tmp_path / "bin"))
    assert done.returncode == EX_UNAVAILABLE
    [line] = done.stderr.splitlines()
    assert line.startswith("build-image: no image builder can run here: docker is installed "
                           "but its daemon does not answer")


@pytest.mark.parametrize("args", [["--bogus"], ["--tool", "kaniko"], ["--tag"], ["--tag", ""]])
def test_bad_options_exit_64_with_the_usage(args):
    done = run(*args)
    assert done.returncode == EX_USAGE
    assert done.stderr.startswith("usage: scripts/build-image ")


# --- the command it runs ----------------------------------------------------------------------


@pytest.mark.parametrize("tool", ["docker", "podman", "buildah"])
def test_the_build_command_builds_deploy_dockerfile_from_the_root(tool):
    command = dry_run("--tool", tool, "--tag", "registry.test/infra-mind:rc1", "--",
                      "--build-arg", "NODE_IMAGE=node:20-slim")
    assert command[-1] == "."  # the context: the repository root (the script cd's there)
    i = command.index("-f")
    assert command[i + 1] == "deploy/Dockerfile" and (ROOT / command[i + 1]).is_file()
    assert command[command.index("-t") + 1] == "registry.test/infra-mind:rc1"
    assert command[-3:-1] == ["--build-arg", "NODE_IMAGE=node:20-slim"]
    assert f"org.opencontainers.image.version={__version__}" in command
    if tool == "docker":
        # BuildKit reads deploy/Dockerfile.dockerignore (the legacy builder would not)
        assert command[:4] == ["env", "DOCKER_BUILDKIT=1", "docker", "build"]
    else:
        assert command[:2] == [tool, "build"]
        ignore = command[command.index("--ignorefile") + 1]
        assert ignore == "deploy/Dockerfile.dockerignore" and (ROOT / ignore).is_file()


def test_the_default_tag_is_the_image_deploy_runs():
    command = dry_run("--tool", "docker")
    tag = command[command.index("-t") + 1]
    assert tag == f"infra-mind:{__version__}"
    compose = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
    assert compose["x-image"]["image"] == tag
    kustomization = yaml.safe_load((DEPLOY / "k8s" / "kustomization.yaml").read_text())
    [image] = kustomization["images"]
    assert f"{image['name']}:{image['newTag']}" == tag


# --- the web app in the image -------------------------------------------------------------------


def stage(text: str, name: str) -> str:
    return re.split(r"^FROM ", text.split(f" AS {name}\n", 1)[1], maxsplit=1,
                    flags=re.MULTILINE)[0]


def test_the_image_builds_the_web_app_and_serves_it_from_web_dist_dir(monkeypatch):
    from infra_mind.config import load_settings

    text = (DEPLOY / "Dockerfile").read_text()
    web = stage(text, "web")
    assert "COPY web/package.json web/package-lock.json ./" in web
    assert re.search(r"^RUN npm ci\b", web, re.MULTILINE)
    assert re.search(r"^RUN npm run build\b", web, re.MULTILINE)
    package = (ROOT / "web" / "package.json").read_text()
    assert '"build":' in package and (ROOT / "web" / "package-lock.json").is_file()
    runtime = stage(text, "runtime")
    [(source, target)] = re.findall(r"^COPY --from=web (\S+) (\S+)$", runtime, re.MULTILINE)
    assert source == "/web/dist"
    [env_value] = re.findall(r"WEB_DIST_DIR=(\S+)", runtime)
    assert env_value == target
    assert "npm" not in runtime and "node_modules" not in runtime  # no Node.js at run time
    # the product reads that variable as the place it serves / from
    monkeypatch.setenv("WEB_DIST_DIR", target)
    assert load_settings().web_dist_dir == Path(target)
    ignore = (DEPLOY / "Dockerfile.dockerignore").read_text().split()
    assert "!web" in ignore
    for generated in ("web/node_modules", "web/dist"):  # made afresh in the build
        assert generated in ignore and ignore.index(generated) > ignore.index("!web")


# --- the build itself, where a builder runs ----------------------------------------------------


def test_the_image_builds_and_runs_where_a_builder_can():
    """Where docker (with a daemon), podman or buildah can build, the image is built and
    ``infra-mind`` (its entrypoint) answers inside it; elsewhere (this machine and CI have
    a Docker client but no daemon) the test says so with the script's own one-line reason."""
    tag = f"infra-mind-test:{os.getpid()}"
    done = subprocess.run([shutil.which("bash") or "/bin/bash", str(SCRIPT), "--tag", tag],
                          capture_output=True, text=True, timeout=3600, cwd=ROOT)
    if done.returncode == EX_UNAVAILABLE:
        pytest.skip(f"the image is not built here: {done.stderr.strip()}")
    assert done.returncode == 0, done.stderr[-4000:]
    runner = next((t for t in ("docker", "podman") if shutil.which(t) and subprocess.run(
        [t, "info"], capture_output=True, timeout=30).returncode == 0), None)
    if runner is None:
        pytest.skip("the image was built (buildah), and nothing here can run it")
    try:
        answered = subprocess.run([runner, "run", "--rm", tag, "--help"],  # ENTRYPOINT infra-mind
                                  capture_output=True, text=True, timeout=300)
        assert answered.returncode == 0, answered.stderr
        assert "assess" in answered.stdout
    finally:
        subprocess.run([runner, "rmi", "-f", tag], capture_output=True, timeout=120)
