"""Fixtures of the worker tests."""

from __future__ import annotations

import pytest

from infra_mind.agents.graph import in_thread
from infra_mind.worker import tasks


@pytest.fixture()
def engine_in_this_process(app) -> None:
    """The app's runs compute their pure steps in a thread of this process, where a test's
    stand-in for the engine (``engine_assess.assess`` replaced) is the one called: an
    engine process imports the real engine."""
    tasks.agents_of(app.state.platform).offload = in_thread
