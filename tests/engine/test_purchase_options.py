"""Commitments and spot on equal terms (issue #12, item 8).

Before: a commitment repriced a managed database at the price of the virtual machine that
shares its name (Azure sells both as ``Standard_D2ds_v4``), never caches, and training runs
as if a reservation billed only the hours used; the options said nothing of the terms they
were priced on, so model-fine-tuning compared Azure on spot with AWS on demand unnoticed.
"""

import pytest

from infra_mind.catalog.model import ProductFamily, Provider, PurchaseOption, Unit
from infra_mind.engine import commitment
from infra_mind.engine.assess import assess
from tests.engine.rows import catalog, design, gpu, lines, network, requirements, row, vm

AZ = Provider.AZURE
R3 = PurchaseOption.RESERVED_3Y
R1 = PurchaseOption.RESERVED_1Y


def azure_rows(db_reserved: bool = False):
    rows = [vm("Standard_D2ds_v4", 2, 8, 0.113, provider=AZ, family="Ddsv4", arch="x86_64"),
            vm("Standard_D2ds_v4", 2, 8, 0.05, provider=AZ, family="Ddsv4", arch="x86_64",
               option=R3),
            row(ProductFamily.DATABASE, "Standard_D2ds_v4", 0.171, provider=AZ, engine="mysql",
                deployment="single", vcpu=2, memory_gib=8),
            row(ProductFamily.DATABASE_STORAGE, "flex-storage", 0.115, Unit.GB_MONTH,
                provider=AZ, engine="mysql", deployment="single"),
            *network(AZ)]
    if db_reserved:
        rows.append(row(ProductFamily.DATABASE, "Standard_D2ds_v4", 0.1, provider=AZ,
                        option=R3, engine="mysql", deployment="single", vcpu=2,
                        memory_gib=8, basis="derived",
                        rule="commitment ratio: on-demand 0.171 x 3y/on-demand 0.585"))
    return rows


DB = {"type": "database", "engine": "mysql", "storage_gb": 50, "vcpu": 2, "memory_gb": 8}
WORKER = {"type": "worker", "vcpu": 2, "memory_gb": 8}
THREE_YEARS = {"commitment": "3y"}


def test_a_commitment_reprices_the_same_product_never_a_namesake():
    d = design(catalog(azure_rows()), requirements(DB, WORKER, provider="azure",
                                                   preferences=THREE_YEARS))
    (database,) = [li for li in lines(d) if li.workload == "w0" and li.unit == "hour"]
    # before: the VM's reserved price, $0.05, for the database
    assert (database.purchase_option, database.unit_price_usd) == ("on_demand", 0.171)
    (machine,) = [li for li in lines(d) if li.workload == "w1"]
    assert (machine.purchase_option, machine.unit_price_usd) == ("reserved_3y", 0.05)
    assert d.purchase_terms == {"w0": "on_demand", "w1": "reserved_3y"}
    assert any("w0: no reserved_3y price" in t for t in d.terms_unavailable)


def test_a_derived_commitment_price_is_used_and_marked():
    d = design(catalog(azure_rows(db_reserved=True)),
               requirements(DB, provider="azure", preferences=THREE_YEARS))
    (database,) = [li for li in lines(d) if li.unit == "hour"]
    assert (database.purchase_option, database.unit_price_usd) == ("reserved_3y", 0.1)
    assert database.price_basis == "derived" and "commitment ratio" in database.note
    analysis = {c.purchase_option: c for c in commitment.analyse(
        catalog(azure_rows(db_reserved=True)), d)}
    assert analysis["reserved_3y"].price_basis == "derived"


def test_caches_are_committed_too():
    node = dict(engine="redis", memory_gib=6.38)
    cat = catalog(row(ProductFamily.CACHE, "cache.m7g.large", 0.158, **node),
                  row(ProductFamily.CACHE, "cache.m7g.large", 0.1, option=R3, **node),
                  network())
    d = design(cat, requirements({"type": "cache", "memory_gb": 4}, preferences=THREE_YEARS))
    (cache,) = lines(d, "managed cache nodes")
    assert cache.purchase_option == "reserved_3y"


def test_training_is_never_on_a_commitment():
    cat = catalog(gpu("p5.48xlarge", 8, "H100", 80, 55.04),
                  gpu("p5.48xlarge", 8, "H100", 80, 30.0, option=R3), network())
    d = design(cat, requirements({"type": "ml_training", "model_params_b": 7,
                                  "tokens_b_per_run": 2}, preferences=THREE_YEARS))
    (train,) = lines(d, "training GPUs")
    # a reservation bills all 730 hours; the run uses about 7
    assert train.purchase_option == "on_demand" and train.quantity < 730


def test_commitment_savings_cover_only_the_hours_that_run_all_month():
    cat = catalog(vm("c.large", 2, 4, 0.10), vm("c.large", 2, 4, 0.06, option=R3), network())
    api = {"type": "web_service", "peak_rps": 100, "avg_rps": 20, "cpu_ms_per_request": 60}
    d = design(cat, requirements(api, availability_target=99.9))
    (app,) = lines(d, "app servers")
    assert (app.instances_min, app.instances_max) == (2, 5)
    reserved = {c.purchase_option: c for c in commitment.analyse(cat, d)}["reserved_3y"]
    assert reserved.savings_usd == pytest.approx(2 * 730 * (0.10 - 0.06), abs=0.02)


def test_work_already_on_spot_is_left_out_of_a_terms_saving():
    # a worker on spot all month beside a steady service: the 3-year term had counted the
    # worker's on-demand hours as saved (seasonal-ecommerce: "a sourced commitment would
    # save $225.58" of which $77.85 on workers already on spot)
    cat = catalog(vm("c.large", 2, 4, 0.10), vm("c.large", 2, 4, 0.06, option=R3),
                  vm("c.large", 2, 4, 0.03, option=PurchaseOption.SPOT), network())
    batch = {"type": "worker", "vcpu": 2, "memory_gb": 3.5, "interruptible": True}
    steady = {"type": "worker", "vcpu": 2, "memory_gb": 3.5}
    d = design(cat, requirements(batch, steady, preferences={"spot_ok": True}))
    terms = {c.purchase_option: c for c in commitment.analyse(cat, d)}
    assert terms["reserved_3y"].savings_usd == pytest.approx(730 * (0.10 - 0.06), abs=0.02)
    assert terms["spot"].savings_usd == pytest.approx(730 * (0.10 - 0.03), abs=0.02)


def test_options_say_which_terms_they_used_and_the_comparison_says_where_they_differ():
    spot_worker = {**WORKER, "interruptible": True}
    aws = [vm("m.large", 2, 8, 0.096), vm("m.large", 2, 8, 0.03,
                                           option=PurchaseOption.SPOT), *network()]
    azure = [vm("D2s", 2, 8, 0.096, provider=AZ, family="Dsv5"), *network(AZ)]
    req = requirements(spot_worker, preferences={
        "providers": ["aws", "azure"], "regions": ["us-east-1", "eastus"], "spot_ok": True})
    result = assess(req, catalog(aws, azure))
    terms = {o.provider: o.purchase_terms["w0"] for o in result.options}
    assert terms == {"aws": "spot", "azure": "on_demand"}
    (azure_option,) = [o for o in result.options if o.provider == "azure"]
    assert any("no spot prices" in t for t in azure_option.terms_unavailable)
    assert any("w0 is priced on different purchase terms" in w and "aws us-east-1: spot" in w
               and "azure eastus: on_demand" in w for w in result.warnings)


def test_the_same_terms_everywhere_raise_no_comparison_warning():
    a = design(catalog(vm("m.large", 2, 8, 0.096), network()), requirements(WORKER))
    b = design(catalog(vm("D2s", 2, 8, 0.096, provider=AZ, family="Dsv5"), network(AZ)),
               requirements(WORKER, provider="azure"))
    assert commitment.comparison_terms([a, b]) == []


def test_inference_gpus_are_chosen_at_their_committed_price():
    """Chosen on demand and committed afterwards, two large GPUs with no reservation
    ($5.07 an hour each) beat three reservable mid-size ones ($3.67, reserved $2.31):
    $7,402 a month where $5,059 was on offer (found by the availability property test)."""
    big = gpu("big.1g", 1, "A100", 80, 5.07)
    mid = [gpu("mid.1g", 1, "A100", 40, 3.67), gpu("mid.1g", 1, "A100", 40, 2.31, option=R1)]
    llm = {"type": "ml_inference", "model_params_b": 10, "precision": "int8",
           "peak_tokens_per_sec": 2000, "tokens_per_sec_per_request": 60,
           "context_tokens": 4096}
    # on demand alone the two large ones win
    on_demand = design(catalog(big, mid[:1], network()),
                       requirements(llm, availability_target=99.9))
    (chosen,) = lines(on_demand, "inference GPUs")
    assert (chosen.sku, chosen.quantity) == ("big.1g", 2 * 730)
    d = design(catalog(big, mid, network()),
               requirements(llm, availability_target=99.9, preferences={"commitment": "1y"}))
    (serving,) = lines(d, "inference GPUs")
    assert (serving.sku, serving.purchase_option, serving.quantity) == (
        "mid.1g", "reserved_1y", 3 * 730)
    assert serving.monthly_usd == pytest.approx(3 * 730 * 2.31, abs=0.01)


def test_all_month_gpu_workers_are_chosen_at_their_committed_price():
    big = gpu("big.2g", 2, "L4", 24, 1.6)  # one machine, no reservation
    small = [gpu("one.1g", 1, "L4", 24, 0.9), gpu("one.1g", 1, "L4", 24, 0.55, option=R1)]
    transcode = {"type": "worker", "vcpu": 4, "memory_gb": 16,
                 "gpu": {"count": 2, "memory_gb": 16}}
    d = design(catalog(big, small, network()),
               requirements(transcode, preferences={"commitment": "1y"}))
    (workers,) = lines(d, "GPU workers")
    # on demand alone the two-GPU machine wins ($1.60 against 2 x $0.90)
    assert (workers.sku, workers.purchase_option) == ("one.1g", "reserved_1y")
    assert workers.monthly_usd == pytest.approx(2 * 730 * 0.55, abs=0.01)


def test_machines_held_all_month_without_a_term_price_are_named_beside_the_saving():
    """A Korean game's inference floor, two GPU machines all month ($3,940.54), had no
    1- or 3-year price in the catalog: the review said "a sourced commitment would save
    $141.80 a month on steady machines" (3.6% coverage) and never named what it left out."""
    cat = catalog(vm("c.large", 2, 4, 0.10), vm("c.large", 2, 4, 0.06, option=R3),
                  vm("m.large", 2, 8, 0.20), network())
    steady = {"type": "worker", "vcpu": 2, "memory_gb": 3.5}
    big = {"type": "worker", "vcpu": 2, "memory_gb": 7}
    d = design(cat, requirements(steady, big))
    reserved = {c.purchase_option: c for c in commitment.analyse(cat, d)}["reserved_3y"]
    assert reserved.savings_usd == pytest.approx(730 * 0.04, abs=0.02)
    assert reserved.note.endswith("; left on demand, as the catalog has no price for them on "
                                  "this term: m.large (w1, $146.00 a month held all month)")
    assert reserved.left_on_demand == ["m.large (w1, $146.00 a month held all month)"]
    assert commitment.uncommitted(cat, d) == [("m.large", "w1", 146.0)]
    result = assess(requirements(steady, big), cat)
    (cost,) = [p for p in result.review if p.pillar == "cost_optimization"]
    assert ("A sourced commitment would save $29.20 a month on steady machines. The catalog "
            "has no 1- or 3-year price for m.large (w1, $146.00 a month), held all month, so "
            "that saving does not count it: the provider's committed rate for it is worth "
            "asking for.") in cost.findings
    # with no term price at all, it is still said
    bare = assess(requirements(big), catalog(vm("m.large", 2, 8, 0.20), network()))
    (cost,) = [p for p in bare.review if p.pillar == "cost_optimization"]
    assert ("The catalog has no 1- or 3-year price for m.large (w0, $146.00 a month), held "
            "all month: the provider's committed rate for it is worth asking for.") in (
        cost.findings)
