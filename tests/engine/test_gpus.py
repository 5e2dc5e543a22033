"""The GPU peak-figure table: sane values, sourced, and covering the catalog's GPUs."""

from __future__ import annotations

import dataclasses

import pytest

from infra_mind.catalog.store import Catalog
from infra_mind.engine.gpus import GPU_SPECS, GpuSpec, spec_for

#: (catalog gpu_model, gpu_memory_gib) pairs present in the bundled catalog for which no
#: source confirming memory, bandwidth *and* dense tensor throughput was found, so
#: ``spec_for`` deliberately returns None for them:
#: - A10G: AWS's g5 pages give only 24 GB; no AWS or NVIDIA publication of its tensor
#:   throughput was found (third-party figures differ from the A10's).
#: - H100 NVL 94 GB (Azure NC H100 v5, listed as "H100 NVL" and as "H100" with 94 GiB):
#:   only a bandwidth figure (3.93 TB/s) was found, no BF16 figure.
UNSOURCED: set[tuple[str, float]] = {
    ("H100 NVL", 94.0),
    ("H100", 94.0),
}


def _catalog_gpus() -> set[tuple[str, float]]:
    pairs = set()
    for row in Catalog.load()._rows:
        attributes = row.attributes or {}
        if attributes.get("gpu_model"):
            pairs.add((attributes["gpu_model"], float(attributes.get("gpu_memory_gib") or 0)))
    return pairs


@pytest.mark.parametrize("name", sorted(GPU_SPECS))
def test_every_spec_is_positive_and_keyed_by_its_model(name: str) -> None:
    spec = GPU_SPECS[name]
    assert spec.model == name
    assert spec.memory_gib > 0
    assert spec.memory_bandwidth_gbps > 0
    # only a GPU whose tensor throughput no source gives may leave it out
    assert (spec.dense_bf16_tflops is None and name == "A10G") or spec.dense_bf16_tflops > 0


@pytest.mark.parametrize("name", sorted(GPU_SPECS))
def test_every_spec_names_an_http_source(name: str) -> None:
    assert GPU_SPECS[name].source.startswith(("https://", "http://"))


def test_specs_are_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        GPU_SPECS["A100"].memory_gib = 1  # type: ignore[misc]


def test_gpus_without_bf16_say_what_they_carry_instead() -> None:
    for name in ("T4", "V100", "V100-32GB"):
        assert "FP16" in GPU_SPECS[name].precision_note


def test_tflops_orderings() -> None:
    t = {name: spec.dense_bf16_tflops for name, spec in GPU_SPECS.items()}
    assert t["H100"] > t["A100"] > t["V100"] > t["T4"]
    assert t["A100"] == t["A100-80GB"]  # same silicon, more memory
    assert t["H200"] == t["H100"]  # same GH100 compute
    assert t["L40S"] > t["L4"] > t["T4"]
    assert t["A10"] > t["T4"]


def test_bandwidth_orderings() -> None:
    b = {name: spec.memory_bandwidth_gbps for name, spec in GPU_SPECS.items()}
    assert (
        b["H200"]
        > b["H100"]
        > b["A100-80GB"]
        > b["A100"]
        > b["V100"]
        > b["L40S"]
        > b["A10"]
        > b["T4"]
        > b["L4"]
    )
    assert b["V100"] == b["V100-32GB"]


@pytest.mark.parametrize(
    ("model", "memory", "expected"),
    [
        ("A100", 40, "A100"),
        ("A100", 80, "A100-80GB"),
        ("A100", 80.0, "A100-80GB"),
        ("A100-80GB", 80, "A100-80GB"),
        ("V100", 16, "V100"),
        ("V100", 32, "V100-32GB"),
        ("H100", 80, "H100"),
        ("H200", 141, "H200"),
        ("l4", 24, "L4"),
        ("T4", 16, "T4"),
    ],
)
def test_spec_for_picks_the_variant_by_memory(model: str, memory: float, expected: str) -> None:
    assert spec_for(model, memory) is GPU_SPECS[expected]


def test_spec_for_unknown_memory_gives_the_exact_model() -> None:
    assert spec_for("A100", 0) is GPU_SPECS["A100"]
    assert spec_for("A100-80GB", 0) is GPU_SPECS["A100-80GB"]


@pytest.mark.parametrize(
    ("model", "memory"),
    [
        ("B200", 180),  # unknown model
        ("", 16),
        ("H100", 94),  # an H100 NVL, not an 80 GB SXM5
        ("H100 NVL", 94),
        ("H100-NVL", 94),
        ("A100", 60),  # no such variant
        ("A100-80GB", 40),  # contradictory
    ],
)
def test_spec_for_returns_none_rather_than_another_parts_figures(model: str, memory: float) -> None:
    assert spec_for(model, memory) is None


def test_every_catalog_gpu_resolves_or_is_listed_unsourced() -> None:
    pairs = _catalog_gpus()
    assert pairs, "the bundled catalog has no GPU rows"
    unresolved = {(m, mem) for m, mem in pairs if spec_for(m, mem) is None}
    assert unresolved == UNSOURCED & pairs, (
        f"catalog GPUs without a spec and not in UNSOURCED: {unresolved - UNSOURCED}; "
        f"in UNSOURCED but now resolving: {(UNSOURCED & pairs) - unresolved}"
    )


def test_unsourced_entries_are_all_in_the_catalog() -> None:
    # Keeps UNSOURCED honest: an entry the catalog no longer has should be removed.
    assert UNSOURCED - _catalog_gpus() == set()


def test_gpu_spec_default_note_is_empty() -> None:
    spec = GpuSpec("X", 1, 1, 1, "https://example.com")
    assert spec.precision_note == ""


def test_a10g_is_sized_for_inference_only() -> None:
    spec = spec_for("A10G", 24)
    assert spec is not None and spec.memory_bandwidth_gbps == 600
    assert spec.dense_bf16_tflops is None
    assert spec_for("A10", 24) is GPU_SPECS["A10"]
