"""``infra-mind assess`` imports what assessing needs, not what the other commands need.

Issue #14: ``assess`` spent 0.66 s of its 0.91 s importing the web stack, the database
layer, the queue and the agents' model clients for the commands beside it (598 modules).
Each command module imports only typer, rich and the standard library at module level;
the rest is imported by the command that uses it. This runs the real entry point in a
fresh interpreter (so nothing a test imported earlier counts) and fails if one of those
packages comes back.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "saas-startup.yaml"

#: What ``assess`` never uses: web, database, queue, cache, agents' graph and model
#: clients, settings, security, metrics, reports' renderers, cloud SDKs.
NOT_FOR_ASSESS = (
    "sqlalchemy", "alembic", "asyncpg", "aiosqlite", "psycopg", "fastapi", "starlette",
    "uvicorn", "httpx", "taskiq", "taskiq_redis", "redis", "langgraph", "langchain_core",
    "openai", "anthropic", "pydantic_settings", "jwt", "argon2", "cryptography",
    "prometheus_client", "opentelemetry", "structlog", "jinja2", "weasyprint", "reportlab",
    "boto3", "botocore", "asyncio",
    "infra_mind.api", "infra_mind.services", "infra_mind.repositories", "infra_mind.worker",
    "infra_mind.kit", "infra_mind.ops", "infra_mind.observability", "infra_mind.chat",
    "infra_mind.knowledge", "infra_mind.models", "infra_mind.config", "infra_mind.agents.graph",
    "infra_mind.agents.runtime", "infra_mind.agents.llm", "infra_mind.agents.providers",
    "infra_mind.catalog.refresh", "infra_mind.catalog.adapters",
)

#: Runs the console script's ``main`` on ``argv``, then reports the exit code, what was
#: printed and which top packages (and infra_mind subpackages) were imported.
PROBE = """
import contextlib, io, json, sys
from infra_mind.cli.main import main
out = io.StringIO()
with contextlib.redirect_stdout(out):
    code = main(sys.argv[1:])
names = {m for name in sys.modules for m in (name.split(".")[0], ".".join(name.split(".")[:3]),
                                                  ".".join(name.split(".")[:2]))}
print(json.dumps({"code": code, "out": out.getvalue(), "modules": sorted(names)}))
"""


def probe(*argv: str, env: dict[str, str] | None = None) -> dict:
    done = subprocess.run([sys.executable, "-c", PROBE, *argv], capture_output=True,
                          text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.mark.parametrize("output_format", ["table", "json", "md"])
def test_assess_imports_nothing_another_command_needs(output_format):
    found = probe("assess", str(EXAMPLE), "--format", output_format)
    assert found["code"] == 0
    assert "SaaS startup (B2B project management)" in found["out"]
    assert "infra_mind.engine.assess" in found["modules"]  # it did assess
    assert sorted(set(NOT_FOR_ASSESS) & set(found["modules"])) == []


def test_the_probe_sees_what_a_command_imports(tmp_path):
    # the same probe on a command that needs the database reports it, so the test above
    # cannot pass because the probe is blind
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'probe.db'}",
           "ENVIRONMENT": "development"}
    env.pop("CONFIG_DIR", None)
    found = probe("migrate", "--dry-run", env=env)
    assert {"sqlalchemy", "infra_mind.config", "infra_mind.kit"} <= set(found["modules"])
