"""Shared fixtures: the bundled catalog, loaded once per test session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from infra_mind.catalog.snapshot import BUNDLED_PATH
from infra_mind.catalog.store import Catalog

#: the platform fixtures (app on SQLite and PostgreSQL, client), for every test package
pytest_plugins = ["tests.platform_fixtures"]


@pytest.fixture(scope="session", autouse=True)
def _own_cache_directory(tmp_path_factory) -> Iterator[None]:
    """The snapshot cache (``catalog.snapshot_cache``, under $XDG_CACHE_HOME) in a folder
    of this test session's, for it and every process it starts: never the user's."""
    patch = pytest.MonkeyPatch()
    patch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("xdg-cache")))
    try:
        yield
    finally:
        patch.undo()


@pytest.fixture(scope="session")
def bundled() -> Catalog:
    return Catalog.load(BUNDLED_PATH)


@pytest.fixture(autouse=True)
def _isolated_catalog_env(monkeypatch, tmp_path):
    """Tests never pick up a developer's refreshed snapshot or $INFRA_MIND_CATALOG."""
    monkeypatch.delenv("INFRA_MIND_CATALOG", raising=False)
    monkeypatch.chdir(tmp_path)
