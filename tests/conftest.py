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


@pytest.fixture(scope="session", autouse=True)
def _runs_on_the_apps_event_loop() -> Iterator[None]:
    """The suite's apps run their runs on their own event loop (``RUN_PROCESS=false``): a
    run process per app would start Python and the agents' graph again for each of
    hundreds of apps (tests/api/test_flow.py and test_assessments.py: 6.7 s so, 36.5 s
    with one each). The run process is tested in tests/worker/test_run_process.py, and
    the processes the integration tests start run the default
    (``tests.integration.procs.base_env``)."""
    patch = pytest.MonkeyPatch()
    patch.setenv("RUN_PROCESS", "false")
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
