"""GPU choice for training and inference, on a small hand-made catalog."""

from datetime import date

import pytest

from infra_mind.catalog.model import PurchaseOption
from infra_mind.catalog.store import Catalog
from infra_mind.engine.ml import choose_inference, choose_training
from infra_mind.engine.requirements import MlInference, MlTraining
from infra_mind.engine.sizing import size_inference, size_training
from tests.factories import make_row


def gpu(sku, count, model, mem, price, vcpu=8):
    return make_row(sku=sku, price_usd=price, attributes={
        "vcpu": vcpu, "memory_gib": 64, "arch": "x86_64", "family": sku.split(".")[0],
        "gpu_count": count, "gpu_model": model, "gpu_memory_gib": mem})


CATALOG = Catalog([
    gpu("g6.xlarge", 1, "L4", 24, 0.8048),
    gpu("g6.12xlarge", 4, "L4", 24, 4.6016),
    gpu("g5.xlarge", 1, "A10G", 24, 1.006),
    gpu("p4d.24xlarge", 8, "A100", 40, 21.957642),
    gpu("p5.48xlarge", 8, "H100", 80, 55.04),
], generated_at=date(2026, 11, 28))


def test_training_hours_follow_flops_over_throughput():
    d = size_training(MlTraining(name="t", type="ml_training", model_params_b=7,
                                 tokens_b_per_run=2, runs_per_month=1), spot_ok=False)
    row, hours, _note, part = choose_training(CATALOG, "aws", "us-east-1", d,
                                             PurchaseOption.ON_DEMAND)
    flops = 6 * 7e9 * 2e9
    expected = {"p5.48xlarge": flops / (8 * 989.5e12 * 0.4 * 3600),
                "p4d.24xlarge": flops / (8 * 312e12 * 0.4 * 3600),
                "g6.xlarge": flops / (121e12 * 0.4 * 3600),
                "g6.12xlarge": flops / (4 * 121e12 * 0.4 * 3600)}
    costs = {sku: h * {"p5.48xlarge": 55.04, "p4d.24xlarge": 21.957642, "g6.xlarge": 0.8048,
                       "g6.12xlarge": 4.6016}[sku] for sku, h in expected.items()}
    # 125 GiB of training state needs 6 g6.xlarge (24 GiB each) or 2 g6.12xlarge: several
    # machines over ordinary networking, which multi-node training is not priced on
    del costs["g6.xlarge"], costs["g6.12xlarge"]
    assert row.sku == min(costs, key=costs.get)
    assert hours == pytest.approx(expected[row.sku])
    assert part.cost(1, 1.0) == pytest.approx(hours * row.price_usd, abs=0.01)
    assert "g5" not in row.sku  # the A10G has no sourced tensor throughput


def test_inference_fits_memory_and_serves_the_peak():
    d = size_inference(MlInference(name="i", type="ml_inference", model_params_b=7,
                                   peak_tokens_per_sec=500, precision="fp16",
                                   context_tokens=4096, concurrent_requests=8), 99.9)
    row, hours, note, part = choose_inference(CATALOG, "aws", "us-east-1", d,
                                              PurchaseOption.ON_DEMAND)
    need_gib = d.resources["memory_gb"] * 1e9 / 2**30
    gpus_per_replica = 1 << (int(-(-need_gib // row.attributes["gpu_memory_gib"])) - 1) \
        .bit_length()
    assert gpus_per_replica * row.attributes["gpu_memory_gib"] >= need_gib
    instances = hours / 730
    assert instances >= 2  # availability floor
    assert part.count(1.0) == instances
    assert part.count(10.0) >= part.count(1.0)
    assert "requests per replica" in note and "in flight" in note


def test_a_model_too_big_for_any_machine_is_none():
    d = size_inference(MlInference(name="i", type="ml_inference", model_params_b=700,
                                   peak_tokens_per_sec=10), 99.0)
    assert choose_inference(CATALOG, "aws", "us-east-1", d, PurchaseOption.ON_DEMAND) is None


def test_the_note_says_why_training_runs_on_several_machines():
    """A 3B model on 600B tokens fits one 8-GPU node but needs more than a month of its
    hours: the note said "2 machine(s) in parallel for memory (54 GiB)"."""
    d = size_training(MlTraining(name="t", type="ml_training", model_params_b=3,
                                 tokens_b_per_run=600, runs_per_month=1), spot_ok=False)
    _row, hours, note, _part = choose_training(CATALOG, "aws", "us-east-1", d,
                                              PurchaseOption.ON_DEMAND)
    assert hours > 730 and "machines in parallel to finish the month's runs" in note
    assert "for memory" not in note
    small = size_training(MlTraining(name="t", type="ml_training", model_params_b=3,
                                     tokens_b_per_run=2, runs_per_month=1), spot_ok=False)
    assert "; 1 machine (" in choose_training(CATALOG, "aws", "us-east-1", small,
                                              PurchaseOption.ON_DEMAND)[2]
