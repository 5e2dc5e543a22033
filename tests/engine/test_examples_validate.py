"""Every shipped example requirements file loads and validates, and together they cover the model.

``examples/*.yaml`` are the scenarios users copy from; a field renamed in
``Requirements`` must break this test rather than the examples silently rotting.
"""

from __future__ import annotations

from pathlib import Path
from typing import get_args

import pytest
import yaml

from infra_mind.catalog.regions import REGIONS
from infra_mind.engine.requirements import (
    AvailabilityTarget,
    Commitment,
    Framework,
    Requirements,
    Workload,
)

EXAMPLES_DIR = Path(__file__).resolve().parents[2] / "examples"
EXAMPLE_FILES = sorted(EXAMPLES_DIR.glob("*.yaml"))
MIN_EXAMPLES = 8


def _load(path: Path) -> Requirements:
    return Requirements.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))


def _workload_types() -> set[str]:
    union = get_args(Workload)[0]
    return {get_args(cls.model_fields["type"].annotation)[0] for cls in get_args(union)}


@pytest.fixture(scope="module")
def loaded() -> dict[str, Requirements]:
    return {path.name: _load(path) for path in EXAMPLE_FILES}


def test_enough_examples() -> None:
    assert len(EXAMPLE_FILES) >= MIN_EXAMPLES, [p.name for p in EXAMPLE_FILES]


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: p.name)
def test_example_validates(path: Path) -> None:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(raw, dict)
    req = Requirements.model_validate(raw)
    assert req.workloads


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: p.name)
def test_example_has_leading_comment(path: Path) -> None:
    lines = path.read_text(encoding="utf-8").splitlines()
    header = []
    for line in lines:
        if not line.startswith("#"):
            break
        header.append(line)
    assert 2 <= len(header) <= 5, f"{path.name}: leading comment has {len(header)} lines"


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: p.name)
def test_example_is_internally_consistent(path: Path) -> None:
    req = _load(path)
    prefs = req.preferences
    if prefs.existing_provider is not None:
        assert prefs.existing_provider in prefs.providers
    # Preferred regions belong to an allowed provider and sit inside the residency groups.
    for code in prefs.regions:
        owners = [(prov, r) for (prov, c), r in REGIONS.items() if c == code]
        assert any(prov in prefs.providers for prov, _ in owners), code
        if req.data_residency:
            assert any(r.group in req.data_residency for _, r in owners), code


def test_examples_cover_every_workload_type(loaded: dict[str, Requirements]) -> None:
    used = {w.type for req in loaded.values() for w in req.workloads}
    assert _workload_types() - used == set()


def test_examples_cover_every_framework(loaded: dict[str, Requirements]) -> None:
    used = {f for req in loaded.values() for f in req.compliance}
    assert set(Framework) - used == set()


def test_examples_cover_every_availability_target(loaded: dict[str, Requirements]) -> None:
    allowed = set(get_args(AvailabilityTarget))
    used = {req.availability_target for req in loaded.values()}
    assert used <= allowed
    assert allowed - used == set()


def test_examples_exercise_constraints(loaded: dict[str, Requirements]) -> None:
    reqs = list(loaded.values())
    assert any(r.data_residency for r in reqs), "no example sets data_residency"
    assert any(r.preferences.commitment is not Commitment.NONE for r in reqs), "no commitment"
    assert any(r.preferences.spot_ok for r in reqs), "no example sets spot_ok"
    assert any(r.business.monthly_budget_usd is not None for r in reqs), "no budget"


def test_readme_lists_every_example() -> None:
    readme = (EXAMPLES_DIR / "README.md").read_text(encoding="utf-8")
    missing = [p.name for p in EXAMPLE_FILES if p.name not in readme]
    assert missing == []
