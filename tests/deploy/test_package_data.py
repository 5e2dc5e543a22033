"""An installed (not editable) copy holds every data file the code reads.

setuptools ships only the non-Python files ``[tool.setuptools.package-data]`` names; a new
data directory left out of it works from a checkout and fails in the image.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "src" / "infra_mind"
#: read from a checkout only: the catalog builder's recorded inputs (``catalog.build``),
#: and the template ``alembic revision`` writes a new migration from (a developer's tool)
BUILD_ONLY = ("catalog/build/recorded/", "migrations/script.py.mako")


def test_every_data_file_under_the_package_is_shipped_or_a_build_input():
    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))[
        "tool"]["setuptools"]["package-data"]["infra_mind"]
    shipped = {p for pattern in patterns for p in PACKAGE.glob(pattern)}
    assert all(any(PACKAGE.glob(pattern)) for pattern in patterns)  # no stale pattern
    data = [p for p in PACKAGE.rglob("*") if p.is_file() and p.suffix not in (".py", ".pyc")
            and "__pycache__" not in p.parts]
    left_out = [str(p.relative_to(PACKAGE)) for p in data if p not in shipped
                and not str(p.relative_to(PACKAGE)).startswith(BUILD_ONLY)]
    assert left_out == []
    assert PACKAGE / "engine" / "data" / "azure-rtt-2026-07-30.csv" in shipped
