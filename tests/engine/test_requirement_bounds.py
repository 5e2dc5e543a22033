"""Every number in the requirements is finite and bounded; every list is bounded and names
each value once; the engine's work follows the distinct inputs (issue #10, items 1 and 3).

Before: ``Infinity``, ``NaN`` and ``1e309`` were accepted (the engine then failed with an
OverflowError, a 500 from the API), numbers had no upper bound, and ``providers`` could
name ``aws`` 3,000 times, each designing every AWS region again.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any, get_args

import pytest
from pydantic import BaseModel

import infra_mind.engine.assess as engine_assess
from infra_mind.catalog.model import Provider
from infra_mind.catalog.regions import GROUPS, REGIONS
from infra_mind.engine import requirements as r
from infra_mind.engine.load import RequirementsError, load_requirements, parse_requirements
from infra_mind.engine.requirements import (
    RESIDENCY_PLACES,
    USER_PLACES,
    Framework,
    Requirements,
    Workload,
)

#: One workload of each type with every number given, at ordinary values.
WORKLOADS: dict[str, dict[str, Any]] = {
    "web_service": {"peak_rps": 100, "avg_rps": 30, "cpu_ms_per_request": 20, "memory_gb": 2,
                    "egress_gb_per_month": 10},
    "worker": {"vcpu": 2, "memory_gb": 4},
    "database": {"storage_gb": 100, "growth_gb_per_month": 1, "vcpu": 2, "memory_gb": 8},
    "object_storage": {"storage_gb": 100, "growth_gb_per_month": 1},
    "cache": {"memory_gb": 4},
    "static_site": {"storage_gb": 1},
    "ml_training": {"model_params_b": 7, "tokens_b_per_run": 2, "runs_per_month": 1},
    "ml_inference": {"model_params_b": 7, "peak_tokens_per_sec": 2000, "context_tokens": 4096,
                     "concurrent_requests": 8},
}
#: Each number at its upper bound (and the largest list of each kind).
AT_BOUNDS: dict[str, dict[str, Any]] = {
    "web_service": {"peak_rps": r.MAX_RPS, "avg_rps": r.MAX_RPS,
                    "cpu_ms_per_request": r.MAX_CPU_MS_PER_REQUEST,
                    "memory_gb": r.MAX_INSTANCE_MEMORY_GB,
                    "egress_gb_per_month": r.MAX_EGRESS_GB_PER_MONTH},
    "worker": {"vcpu": r.MAX_FLEET_VCPU, "memory_gb": r.MAX_FLEET_MEMORY_GB,
               "interruptible": True, "egress_gb_per_month": r.MAX_EGRESS_GB_PER_MONTH},
    "database": {"storage_gb": r.MAX_DATABASE_GB, "growth_gb_per_month": r.MAX_DATABASE_GB,
                 "vcpu": r.MAX_INSTANCE_VCPU, "memory_gb": r.MAX_INSTANCE_MEMORY_GB,
                 "egress_gb_per_month": r.MAX_EGRESS_GB_PER_MONTH},
    "object_storage": {"storage_gb": r.MAX_OBJECT_STORAGE_GB,
                       "growth_gb_per_month": r.MAX_OBJECT_STORAGE_GB,
                       "egress_gb_per_month": r.MAX_EGRESS_GB_PER_MONTH},
    "cache": {"memory_gb": r.MAX_CACHE_MEMORY_GB},
    "static_site": {"storage_gb": r.MAX_STATIC_SITE_GB,
                    "egress_gb_per_month": r.MAX_EGRESS_GB_PER_MONTH},
    "ml_training": {"model_params_b": r.MAX_MODEL_PARAMS_B,
                    "tokens_b_per_run": r.MAX_TOKENS_B_PER_RUN,
                    "runs_per_month": r.MAX_RUNS_PER_MONTH},
    "ml_inference": {"model_params_b": r.MAX_MODEL_PARAMS_B,
                     "peak_tokens_per_sec": r.MAX_TOKENS_PER_SEC, "context_tokens": 1_000_000,
                     "concurrent_requests": 10_000},
}


def _requirements(kind: str, **numbers: Any) -> dict[str, Any]:
    return {"name": "Bounds", "preferences": {"regions": ["us-east-1"]},
            "workloads": [{"name": "w", "type": kind, **WORKLOADS[kind], **numbers}]}


def _problems(data: Any) -> list[str]:
    with pytest.raises(RequirementsError) as caught:
        parse_requirements(data)
    return caught.value.problems


def _workload_models() -> list[type[BaseModel]]:
    return list(get_args(get_args(Workload)[0]))


def _numeric_fields() -> Iterator[tuple[str, type[BaseModel], str]]:
    """(workload type or "business", model, field) for every number a user gives."""
    for model in _workload_models():
        kind = get_args(model.model_fields["type"].annotation)[0]
        for name, info in model.model_fields.items():
            if {float, int} & set(get_args(info.annotation) or (info.annotation,)):
                yield kind, model, name
    for name, info in r.Business.model_fields.items():
        if {float, int} & set(get_args(info.annotation) or (info.annotation,)):
            yield "business", r.Business, name


NUMERIC_FIELDS = sorted((kind, name) for kind, _, name in _numeric_fields())


def test_every_number_a_user_gives_has_an_upper_bound():
    unbounded = []
    for kind, model, name in _numeric_fields():
        metadata = model.model_fields[name].metadata
        if not any(getattr(m, "le", None) is not None or getattr(m, "lt", None) is not None
                   for m in metadata):
            unbounded.append(f"{kind}.{name}")
    assert not unbounded, f"numbers without an upper bound: {unbounded}"
    assert len(NUMERIC_FIELDS) >= 25  # the walk found the fields (not an empty pass)


def _place(kind: str, name: str, value: Any) -> tuple[dict[str, Any], str]:
    if kind == "business":
        data = _requirements("web_service")
        data["business"] = {name: value}
        return data, f"business.{name}"
    data = _requirements(kind, **{name: value})
    if kind == "worker" and name == "vcpu_hours_per_month":
        del data["workloads"][0]["vcpu"]  # exactly one of the two
    if kind == "web_service" and name == "peak_rps" and value > 0:
        data["workloads"][0].pop("avg_rps")  # the average must not exceed the peak
    if kind == "web_service" and name == "avg_rps":
        data["workloads"][0]["peak_rps"] = r.MAX_RPS
    return data, f"workloads[0].{name}"


@pytest.mark.parametrize("value", [math.inf, -math.inf, math.nan],
                         ids=["Infinity", "-Infinity", "NaN"])
@pytest.mark.parametrize(("kind", "name"), NUMERIC_FIELDS)
def test_non_finite_numbers_are_refused_naming_the_field(kind, name, value):
    data, path = _place(kind, name, value)
    assert _problems(data) == [f"{path}: Input should be a finite number"]


@pytest.mark.parametrize(("kind", "name"), [
    (kind, name) for kind, numbers in AT_BOUNDS.items() for name in numbers
    if name not in ("interruptible", "context_tokens", "concurrent_requests")])
def test_just_past_each_bound_is_refused(kind, name):
    bound = AT_BOUNDS[kind][name]
    data, path = _place(kind, name, bound)
    parse_requirements(data)  # the bound itself is allowed
    data, path = _place(kind, name, bound * 1.001)
    (problem,) = _problems(data)
    assert problem.startswith(f"{path}: Input should be less than or equal to ")


def test_infinity_nan_and_overflow_in_files_are_refused(tmp_path: Path):
    """YAML's .inf and .nan, JSON's Infinity and NaN (Python's parser takes them), and a
    literal too large for a float (1e309 reads as infinity)."""
    yaml_file = tmp_path / "r.yaml"
    yaml_file.write_text("name: x\nworkloads:\n  - {name: w, type: web_service, "
                         "peak_rps: .inf, egress_gb_per_month: .nan}\n")
    with pytest.raises(RequirementsError) as caught:
        load_requirements(yaml_file)
    assert caught.value.problems == [
        "workloads[0].egress_gb_per_month: Input should be a finite number",
        "workloads[0].peak_rps: Input should be a finite number"]
    for literal in ("Infinity", "NaN", "1e309", "-1e309"):
        json_file = tmp_path / "r.json"
        json_file.write_text('{"name": "x", "workloads": [{"name": "w", "type": "cache", '
                             f'"memory_gb": {literal}}}]}}')
        with pytest.raises(RequirementsError) as caught:
            load_requirements(json_file)
        assert caught.value.problems == ["workloads[0].memory_gb: Input should be a finite "
                                         "number"], literal


def _finite(value: Any, path: str = "$") -> Iterator[str]:
    if isinstance(value, float) and not math.isfinite(value):
        yield path
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _finite(item, f"{path}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _finite(item, f"{path}[{i}]")


def test_everything_at_its_bound_gives_finite_figures():
    """The largest plan the bounds allow, growing 100% a month for 60 months on every
    provider: every figure of the result is a finite number (JSON without NaN)."""
    data = {
        "name": "At every bound",
        "business": {"monthly_budget_usd": r.MAX_BUDGET_USD, "growth_rate_monthly": 1,
                     "horizon_months": 60},
        "compliance": [f.value for f in Framework], "data_residency": list(GROUPS),
        "availability_target": 99.99,
        "preferences": {"providers": [p.value for p in Provider], "spot_ok": True,
                        "commitment": "3y",
                        # the regions with GPU prices among them, one per provider at least
                        "regions": ["us-east-1", "eastus", "us-central1", "us-east1"]},
        "workloads": [{"name": kind, "type": kind, **numbers}
                      for kind, numbers in AT_BOUNDS.items()]
        + [{"name": "hours", "type": "worker",
            "vcpu_hours_per_month": r.MAX_FLEET_VCPU_HOURS_PER_MONTH,
            "memory_gb": r.MAX_FLEET_MEMORY_GB}],
    }
    result = engine_assess.assess(data).model_dump(mode="json")
    assert result["recommended"] is not None
    assert list(_finite(result)) == []
    json.dumps(result, allow_nan=False)


def test_lists_name_each_value_once():
    data = _requirements("web_service")
    data["compliance"] = ["gdpr", "soc2", "gdpr"]
    data["data_residency"] = ["eu", "eu"]
    data["preferences"] = {"providers": ["aws", "gcp", "aws"],
                           "regions": ["eu-west-1", "europe-west1", "eu-west-1"]}
    assert sorted(_problems(data)) == [
        "compliance: each value at most once; repeated: gdpr",
        "data_residency: each value at most once; repeated: eu",
        "preferences.providers: each value at most once; repeated: aws",
        "preferences.regions: each value at most once; repeated: eu-west-1"]


def test_lists_are_no_longer_than_the_values_there_are():
    codes = sorted({code for _, code in REGIONS})
    data = _requirements("web_service")
    data["preferences"] = {"providers": ["aws"] * 3000, "regions": [*codes, "us-east-1"]}
    data["compliance"] = [f.value for f in Framework] * 2
    data["data_residency"] = list(RESIDENCY_PLACES) * 2
    data["users"] = list(USER_PLACES) * 2
    assert sorted(_problems(data)) == [
        f"compliance: List should have at most {len(Framework)} items after validation, "
        f"not {2 * len(Framework)}",
        f"data_residency: List should have at most {len(RESIDENCY_PLACES)} items after "
        f"validation, not {2 * len(RESIDENCY_PLACES)}",
        "preferences.providers: List should have at most 3 items after validation, not 3000",
        f"preferences.regions: List should have at most {len(codes)} items after validation, "
        f"not {len(codes) + 1}",
        f"users: List should have at most {len(USER_PLACES)} items after validation, "
        f"not {2 * len(USER_PLACES)}"]
    # every covered region, each once, is fine
    data = _requirements("web_service")
    data["preferences"] = {"regions": codes}
    assert parse_requirements(data).preferences.regions == codes


def test_an_unknown_region_code_is_refused_briefly():
    data = _requirements("web_service")
    data["preferences"] = {"regions": ["x" * 100_000]}
    (problem,) = _problems(data)
    assert problem == "preferences.regions[0]: String should have at most 64 characters"


def test_a_model_too_small_for_a_gpu_is_refused():
    """Below a million parameters the weights round to 0 GB and the throughput estimate
    divided by them (ZeroDivisionError, a 500 from the API)."""
    (problem,) = _problems(_requirements("ml_inference", model_params_b=1e-12))
    assert problem == "workloads[0].model_params_b: Input should be greater than or equal " \
                      "to 0.01"
    result = engine_assess.assess(_requirements("ml_inference", model_params_b=0.01,
                                                precision="int4", context_tokens=128,
                                                concurrent_requests=1))
    assert list(_finite(result.model_dump(mode="json"))) == []


def test_a_tiny_web_service_is_assessed():
    """0.001 requests a second of 0.001 ms rounds to 0 vCPU: the autoscaling estimate
    divided by it (ZeroDivisionError)."""
    result = engine_assess.assess(_requirements("web_service", peak_rps=0.001, avg_rps=0.001,
                                                cpu_ms_per_request=0.001))
    assert result.recommended is not None


def test_the_engine_designs_each_provider_once(monkeypatch):
    """A model built without validation (``model_copy(update=...)``) can repeat a
    provider: the engine still designs each region once."""
    designed: list[tuple[str, str]] = []
    real = engine_assess.design_option

    def counted(catalog, req, demands, region):
        designed.append((region.provider.value, region.code))
        return real(catalog, req, demands, region)

    monkeypatch.setattr(engine_assess, "design_option", counted)
    data = _requirements("web_service")
    data["preferences"] = {"providers": ["aws"], "regions": ["us-east-1"]}
    once = Requirements.model_validate(data)
    repeated = once.model_copy(update={"preferences": once.preferences.model_copy(
        update={"providers": [Provider.AWS] * 50})})
    engine_assess.assess(repeated)
    assert designed == [("aws", "us-east-1")]
