"""Shared fixtures: the bundled catalog, loaded once per test session."""

from __future__ import annotations

import pytest

from infra_mind.catalog.snapshot import BUNDLED_PATH
from infra_mind.catalog.store import Catalog

#: the platform fixtures (app on SQLite and PostgreSQL, client), for every test package
pytest_plugins = ["tests.platform_fixtures"]


@pytest.fixture(scope="session")
def bundled() -> Catalog:
    return Catalog.load(BUNDLED_PATH)


@pytest.fixture(autouse=True)
def _isolated_catalog_env(monkeypatch, tmp_path):
    """Tests never pick up a developer's refreshed snapshot or $INFRA_MIND_CATALOG."""
    monkeypatch.delenv("INFRA_MIND_CATALOG", raising=False)
    monkeypatch.chdir(tmp_path)
