"""Property tests of ``assess``: invariants that must hold for any valid requirements.

Requirements are generated with hypothesis. Most properties pin one provider
region (``preferences.regions``) so that each ``assess`` call designs a single
region and the comparison is between like and like.
"""

from __future__ import annotations

import functools
import math

from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from infra_mind.catalog.regions import REGIONS, region
from infra_mind.catalog.store import Catalog, default_catalog
from infra_mind.engine.assess import assess
from infra_mind.engine.requirements import Framework, Requirements
from infra_mind.engine.result import AssessmentResult

SETTINGS = settings(max_examples=25, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])

#: One region per provider in the US and one in Europe; the catalog prices the US ones
#: most fully, the European ones leave more components to fallbacks and ``unpriced``.
#: gcp us-east1 is the one GCP region with GPU prices (for ml_inference).
PINNED = [("aws", "us-east-1"), ("azure", "eastus"), ("gcp", "us-central1"),
          ("aws", "eu-west-1"), ("azure", "westeurope"), ("gcp", "europe-west1"),
          ("gcp", "us-east1")]
PROVIDERS = ["aws", "azure", "gcp"]
TARGETS = [99.0, 99.5, 99.9, 99.95, 99.99]
FRAMEWORKS = [f.value for f in Framework]
ALL_REGION_CODES = sorted({code for _, code in REGIONS})


@functools.cache
def catalog() -> Catalog:
    """The catalog in force, loaded once (the autouse fixture has isolated the env)."""
    return default_catalog()


# -- strategies ------------------------------------------------------------------------


def _f(lo: float, hi: float) -> st.SearchStrategy[float]:
    return st.floats(min_value=lo, max_value=hi, allow_nan=False, allow_infinity=False)


_egress = st.one_of(st.just(0.0), _f(0, 5000))


@st.composite
def web_service(draw):
    peak = draw(_f(1, 3000))
    w = {"type": "web_service", "peak_rps": peak, "cpu_ms_per_request": draw(_f(1, 200)),
         "memory_gb": draw(_f(0.5, 32)), "egress_gb_per_month": draw(_egress)}
    if draw(st.booleans()):
        w["avg_rps"] = min(peak, max(peak * draw(_f(0.01, 1.0)), 1e-3))
    if draw(st.booleans()):
        w["peak_hours_per_day"] = draw(_f(0.5, 24))
    return w


@st.composite
def worker(draw):
    w = {"type": "worker", "memory_gb": draw(_f(1, 64)), "interruptible": draw(st.booleans()),
         "follows_traffic": draw(st.booleans())}
    if draw(st.booleans()):
        w["vcpu"] = draw(_f(0.5, 32))
    else:
        w["vcpu_hours_per_month"] = draw(_f(1, 32 * 730))
    if draw(st.integers(0, 7)) == 0:  # a GPU worker about one time in eight
        w["gpu"] = {"count": draw(st.integers(1, 4)), "memory_gb": draw(_f(8, 80)),
                    "hours_per_month": draw(st.one_of(st.none(), _f(10, 730)))}
    return w


database = st.fixed_dictionaries({
    "type": st.just("database"), "engine": st.sampled_from(["postgres", "mysql"]),
    # half the draws under 400 GB, where the catalog's managed database sizes end
    "storage_gb": st.one_of(_f(10, 3000), _f(10, 400)),
    "growth_gb_per_month": st.one_of(st.just(0.0), _f(0, 100))})
object_storage = st.fixed_dictionaries({
    "type": st.just("object_storage"), "storage_gb": _f(10, 50000),
    "growth_gb_per_month": st.one_of(st.just(0.0), _f(0, 1000)),
    "access": st.sampled_from(["frequent", "infrequent"]), "egress_gb_per_month": _egress,
    "public": st.booleans()})
cache = st.fixed_dictionaries({"type": st.just("cache"), "memory_gb": _f(1, 64)})
static_site = st.fixed_dictionaries({
    "type": st.just("static_site"), "storage_gb": _f(0.1, 50), "egress_gb_per_month": _egress})
ml_inference = st.fixed_dictionaries({
    "type": st.just("ml_inference"), "model_params_b": _f(1, 13),
    "peak_tokens_per_sec": _f(10, 2000),
    "precision": st.sampled_from(["fp16", "int8", "int4"]),
    "avg_prompt_tokens": st.one_of(st.none(), st.integers(1, 2000)),
    "avg_output_tokens": st.one_of(st.none(), st.integers(1, 1000)),
    "tokens_per_sec_per_request": _f(5, 60)})

_KINDS = {"web_service": web_service(), "worker": worker(), "database": database,
          "object_storage": object_storage, "cache": cache, "static_site": static_site,
          "ml_inference": ml_inference}
# ml_inference is drawn about one time in sixteen
workload = st.sampled_from(["web_service", "worker", "database", "object_storage", "cache",
                            "static_site"] * 2 + ["database", "web_service", "ml_inference"]
                           ).flatmap(_KINDS.__getitem__)

_name = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_", min_size=1, max_size=12)


@st.composite
def requirements(draw, *, pinned: bool = True, budget: bool | None = None) -> Requirements:
    """Valid requirements; ``pinned`` restricts them to one region of ``PINNED``, and
    ``budget`` (when not None) says whether a monthly budget is set."""
    loads = draw(st.lists(workload, min_size=1, max_size=6))
    names = draw(st.lists(_name, min_size=len(loads), max_size=len(loads), unique=True))
    workloads = [{**w, "name": n} for w, n in zip(loads, names, strict=True)]
    business = {"growth_rate_monthly": draw(_f(0, 0.2)),
                "horizon_months": draw(st.integers(1, 24))}
    if budget is None:
        budget = draw(st.booleans())
    if budget:
        business["monthly_budget_usd"] = draw(_f(1, 50000))
    preferences = {
        "spot_ok": draw(st.booleans()), "managed_services": draw(st.booleans()),
        "commitment": draw(st.sampled_from(["none", "none", "1y", "3y"])),
        "kubernetes": draw(st.sampled_from(["auto", "auto", "required", "avoid"])),
        "allow_arm": draw(st.booleans()),
        "existing_provider": draw(st.sampled_from([None, None, *PROVIDERS]))}
    if pinned:
        provider, code = draw(st.sampled_from(PINNED))
        preferences |= {"providers": [provider], "regions": [code]}
        group = region(provider, code).group
        residency = draw(st.sampled_from([[], [group], sorted({group, "uk"})]))
    else:
        preferences["providers"] = draw(st.lists(st.sampled_from(PROVIDERS), min_size=1,
                                                 max_size=3, unique=True))
        if draw(st.integers(0, 3)) == 0:
            preferences["regions"] = draw(st.lists(st.sampled_from(ALL_REGION_CODES),
                                                   min_size=1, max_size=4, unique=True))
        residency = draw(st.one_of(st.just([]), st.lists(st.sampled_from(["us", "eu", "uk"]),
                                                         min_size=1, max_size=2, unique=True)))
    data = {
        "name": "property test",
        "business": business,
        "compliance": draw(st.lists(st.sampled_from(FRAMEWORKS), unique=True)),
        "data_residency": residency,
        "availability_target": draw(st.sampled_from(TARGETS)),
        "preferences": preferences,
        "workloads": workloads,
    }
    return Requirements.model_validate(data)


def _with(req: Requirements, **changes) -> Requirements:
    """A copy of ``req`` with top-level keys replaced, validated again."""
    return Requirements.model_validate({**req.model_dump(mode="json"), **changes})


def _only_option(res: AssessmentResult, req: Requirements):
    """The single option of a pinned assessment."""
    (code,) = req.preferences.regions
    assert [o.region for o in res.options] == [code]
    return res.options[0]


# -- 1. line items reconcile -------------------------------------------------------------


@SETTINGS
@given(req=st.one_of(requirements(), requirements(pinned=False)))
def test_line_items_reconcile_with_totals(req):
    res = assess(req, catalog())
    allowed = {(r.provider.value, r.code) for r in REGIONS.values()
               if r.provider in req.preferences.providers
               and (not req.data_residency or r.group in req.data_residency)
               and (not req.preferences.regions or r.code in req.preferences.regions)}
    assert res.options or not allowed
    for o in res.options:
        assert (o.provider, o.region) in allowed
        total = round(sum(li.monthly_usd for li in o.line_items), 2)
        assert math.isclose(o.monthly_cost_usd, total, abs_tol=0.011), o
        for li in o.line_items:
            assert li.region == o.region
            assert li.source and li.as_of
            assert li.unit_price_usd > 0, li
            assert li.quantity >= 0, li
            assert math.isclose(li.monthly_usd, round(li.quantity * li.unit_price_usd, 2),
                                abs_tol=0.02), li
    if res.recommended is not None:
        assert (res.recommended.provider, res.recommended.region) in allowed


# -- 2. monotonicity: more demand never costs less ---------------------------------------


def _scale_traffic(req: Requirements, factor: float) -> Requirements:
    workloads = []
    for w in req.model_dump(mode="json")["workloads"]:
        match w["type"]:
            case "web_service":
                w["peak_rps"] *= factor
                if w["avg_rps"] is not None:
                    w["avg_rps"] = min(w["avg_rps"] * factor, w["peak_rps"])
            case "worker":
                # more of the same work: more processes of the same memory. The engine runs
                # a worker as one process per whole vCPU sharing out its memory
                # (``compute.worker_share``): at a fixed memory, more vCPUs are smaller
                # processes that fit smaller machines, and rightly cost less (3 vCPUs with
                # 32 GiB on three 16 GiB machines, 2 vCPUs with it on one of 64 GiB)
                # (counted from the vCPUs as sizing rounds them, to 4 places: 2.00001 vCPUs
                # are 2 processes, not 3)
                vcpu = w["vcpu"] if w["vcpu"] is not None \
                    else w["vcpu_hours_per_month"] / 730

                def processes(v: float) -> int:
                    return max(1, math.ceil(round(v, 4) - 1e-9))

                for key in ("vcpu", "vcpu_hours_per_month"):
                    if w[key] is not None:
                        w[key] *= factor
                w["memory_gb"] *= processes(vcpu * factor) / processes(vcpu)
                if w["gpu"] is not None:
                    w["gpu"]["count"] = math.ceil(w["gpu"]["count"] * factor)
            case "ml_inference":
                w["peak_tokens_per_sec"] *= factor
        workloads.append(w)
    return _with(req, workloads=workloads)


def _scale_storage(req: Requirements, factor: float) -> Requirements:
    workloads = []
    for w in req.model_dump(mode="json")["workloads"]:
        if w["type"] in ("object_storage", "database"):
            w["storage_gb"] *= factor
        workloads.append(w)
    return _with(req, workloads=workloads)


#: How much more: anything up to five times, with half the draws a small step (where a
#: threshold is crossed just barely).
FACTOR = st.one_of(_f(1, 5), _f(1, 1.5))


def _assert_not_cheaper(req: Requirements, more: Requirements) -> None:
    _assert_costs_no_less(_only_option(assess(req, catalog()), req),
                          _only_option(assess(more, catalog()), more))


def _assert_costs_no_less(before, after) -> None:
    assert after.monthly_cost_usd >= before.monthly_cost_usd - 0.005, (
        f"{before.provider} {before.region}: {before.monthly_cost_usd} -> "
        f"{after.monthly_cost_usd}\nbefore: {_lines(before)}\nafter: {_lines(after)}")


def _lines(option) -> list[str]:
    return [f"{li.workload}/{li.component} {li.sku} x{li.quantity:g} = {li.monthly_usd}"
            for li in option.line_items] + [f"unpriced: {u}" for u in option.unpriced] + [
            f"violation: {v}" for v in option.violations]


@SETTINGS
@given(req=requirements(), factor=FACTOR)
def test_cost_never_falls_when_traffic_rises(req, factor):
    _assert_not_cheaper(req, _scale_traffic(req, factor))


def _longer_peaks(req: Requirements, hours: float) -> Requirements:
    workloads = [{**w, "peak_hours_per_day": max(w["peak_hours_per_day"], hours)}
                 if w["type"] == "web_service" else w
                 for w in req.model_dump(mode="json")["workloads"]]
    return _with(req, workloads=workloads)


#: Found by this test in CI (2026-12-06): two E4as_v5 at peak and a load balancer (210.85 a
#: month) for 4-hour peaks, one D8ps_v6 alone (205.13) for 6-hour ones.
SMALL_WEB_SERVICE = Requirements.model_validate({
    "name": "property test", "business": {"horizon_months": 1}, "availability_target": 99.0,
    "preferences": {"providers": ["azure"], "regions": ["eastus"],
                    "managed_services": False},
    "workloads": [{"name": "0", "type": "web_service", "peak_rps": 28.0,
                   "cpu_ms_per_request": 86.0, "memory_gb": 17.0}]})


@SETTINGS
@example(req=SMALL_WEB_SERVICE, hours=6.0)
@given(req=requirements(), hours=_f(0.5, 24))
def test_cost_never_falls_when_peaks_last_longer(req, hours):
    """Autoscaled capacity runs for the peak hours: longer peaks never cost less."""
    _assert_not_cheaper(req, _longer_peaks(req, hours))


def _one_database(provider: str, code: str, engine: str, storage_gb: float, *,
                  target: float = 99.5, managed: bool = True) -> Requirements:
    return Requirements.model_validate({
        "name": "one database", "availability_target": target,
        "preferences": {"providers": [provider], "regions": [code], "managed_services": managed},
        "workloads": [{"type": "database", "name": "db", "engine": engine,
                       "storage_gb": storage_gb}]})


def _architecture(option) -> frozenset[tuple[str, bool]]:
    """Which workloads run on self-managed machines rather than a managed service."""
    return frozenset((li.workload, "self-managed" in li.component)
                     for li in option.line_items if li.unit == "hour")


def _moved_to_self_managed(before, after, after_res) -> set[str]:
    """The workloads on self-managed machines in ``after`` that ran otherwise in
    ``before``, each with the warning that no managed size is priced for it (their
    totals are not comparable)."""
    moved = {w for w, self_managed in _architecture(after) - _architecture(before)
             if self_managed}
    for workload in moved:
        assert any(w.startswith(f"{workload}: no managed") and "self-managed" in w
                   for w in after_res.warnings), after_res.warnings
    return moved


@SETTINGS
@example(req=_one_database("azure", "eastus", "mysql", 160.0), factor=1.01)
@example(req=_one_database("gcp", "us-central1", "postgres", 300.0, target=99.0), factor=1.1)
@example(req=_one_database("azure", "eastus", "postgres", 2241.0, target=99.0, managed=False),
         factor=3.0)
@given(req=requirements(), factor=FACTOR)
def test_cost_never_falls_when_stored_data_grows(req, factor):
    """Cost never falls for the same architecture, and the one switch growth can cause says so.

    A design that no longer meets the demand (a violation, something unpriced) has no
    comparable total. Architecture changes with data size in one place: a database
    kept on a managed service while the catalog prices a size big enough moves to
    self-managed machines when it outgrows them (``managed_services`` is a
    preference, and the catalog prices few managed sizes); the result must warn. Found
    by this property: azure eastus mysql 160 -> 161.6 GB moves from managed
    Standard_D4ds_v4 (268.06 USD/month) to self-managed E4as_v4 (196.08).
    """
    more = _scale_storage(req, factor)
    before_res, after_res = assess(req, catalog()), assess(more, catalog())
    before, after = _only_option(before_res, req), _only_option(after_res, more)
    assume(not (after.violations or after.unpriced or before.violations or before.unpriced))
    if _architecture(before) != _architecture(after):
        assert _moved_to_self_managed(before, after, after_res), (_lines(before),
                                                                  _lines(after))
        return
    assert after.monthly_cost_usd >= before.monthly_cost_usd - 0.005, (
        f"{before.provider} {before.region}: {before.monthly_cost_usd} -> "
        f"{after.monthly_cost_usd}\nbefore: {_lines(before)}\nafter: {_lines(after)}")


def test_a_design_that_cannot_hold_the_data_says_so_rather_than_pricing_less():
    req = _one_database("azure", "eastus", "postgres", 6723.0, target=99.0, managed=False)
    (option,) = assess(req, catalog()).options
    assert not option.constraints_met and option.violations
    assert any(u.startswith("db:") for u in option.unpriced)


# Regressions: with no managed 'ha' size in the catalog (azure eastus, gcp), raising the
# target to 99.9 once swapped a managed single instance for a cheaper self-managed primary +
# standby on VMs (azure eastus mysql 81 GB, 99.5 -> 99.9: 258.98 -> 196.11 USD/month; gcp
# us-central1 postgres 10 GB, 99.0 -> 99.9: 101.18 -> 99.84).
#: Found by this test (2026-12-06, seed 8): at 99.0, three c6a.4xlarge committed and the
#: peak on demand for 21 h a day (3,676.71 a month); at 99.9, two c5.18xlarge committed all
#: month (3,306.21), which the lower target could have had too.
LONG_PEAKS_COMMITTED = Requirements.model_validate({
    "name": "property test", "business": {"horizon_months": 1}, "availability_target": 99.0,
    "preferences": {"providers": ["aws"], "regions": ["us-east-1"], "managed_services": False,
                    "commitment": "1y", "allow_arm": False},
    "workloads": [
        *({"name": name, "type": "web_service", "peak_rps": 1.0, "cpu_ms_per_request": 1.0,
           "memory_gb": 1.0} for name in ("0", "1", "00")),
        {"name": "000", "type": "web_service", "peak_rps": 1019.0, "cpu_ms_per_request": 84.0,
         "memory_gb": 27.0, "peak_hours_per_day": 21.0},
        {"name": "0000", "type": "worker", "vcpu_hours_per_month": 1.0, "memory_gb": 1.0,
         "gpu": {"memory_gb": 8.0}}]})


#: Found by this test (2026-12-07): with HIPAA, Google's private VMs pay Cloud NAT per
#: VM-hour, which the machine choice added to each machine's price; past 32 VMs the
#: gateway cap bills nothing more per VM. At 99.9 it chose e2-highcpu-4 (2,279.54 a month),
#: at 99.99 e2-highcpu-2 (2,273.53), which the lower target could have had too.
NAT_CAPPED_FLEET = Requirements.model_validate({
    "name": "property test", "business": {"horizon_months": 1}, "compliance": ["hipaa"],
    "preferences": {"providers": ["gcp"], "regions": ["us-central1"], "managed_services": False,
                    "allow_arm": False},
    "workloads": [
        {"name": "0", "type": "object_storage", "storage_gb": 10.0},
        {"name": "00", "type": "cache", "memory_gb": 1.0},
        {"name": "000", "type": "web_service", "peak_rps": 2583.0, "avg_rps": 30.26953125,
         "cpu_ms_per_request": 158.0, "memory_gb": 1.0}]})


@SETTINGS
@example(req=LONG_PEAKS_COMMITTED, targets=[99.0, 99.9])
@example(req=NAT_CAPPED_FLEET, targets=[99.9, 99.99])
@example(req=_one_database("azure", "eastus", "mysql", 81.0), targets=[99.5, 99.9])
@example(req=_one_database("gcp", "us-central1", "postgres", 10.0), targets=[99.0, 99.9])
@example(req=Requirements.model_validate({
    "name": "one cache", "preferences": {"providers": ["azure"], "regions": ["eastus"],
                                         "managed_services": True},
    "workloads": [{"type": "cache", "name": "c", "memory_gb": 6.0}]}), targets=[99.0, 99.9])
@example(req=Requirements.model_validate({  # a second machine and a load balancer: no move
    "name": "one web service", "preferences": {"providers": ["aws"], "regions": ["us-east-1"]},
    "workloads": [{"type": "web_service", "name": "app", "peak_rps": 5,
                   "cpu_ms_per_request": 20}]}), targets=[99.0, 99.9])
@given(req=requirements(), targets=st.lists(st.sampled_from(TARGETS), min_size=2, max_size=2,
                                            unique=True).map(sorted))
def test_cost_never_falls_when_availability_target_rises(req, targets):
    """Cost never falls for the same architecture. A higher target can move a workload
    from a managed service to self-managed machines where the catalog prices no managed
    size that replicates, and the result must say so, as when data grows. Found by this
    property: a 6 GB cache on Azure in eastus is a managed Basic C4 (13 GB, 153.30
    USD/month) at 99.0%; at 99.9% the catalog's one Standard size (C3, 6 GB) cannot hold
    it with room to spare, and it is two self-managed D2ps_v6 (102.49)."""
    low, high = targets
    req_low, req_high = (_with(req, availability_target=low),
                         _with(req, availability_target=high))
    before_res, after_res = assess(req_low, catalog()), assess(req_high, catalog())
    before, after = _only_option(before_res, req_low), _only_option(after_res, req_high)
    if not _moved_to_self_managed(before, after, after_res):
        _assert_costs_no_less(before, after)


# -- 3. compliance: one more framework never costs less nor turns met into gap -----------


@SETTINGS
@given(req=requirements(), extra=st.sampled_from(FRAMEWORKS))
def test_adding_a_framework_never_lowers_cost_nor_loses_a_control(req, extra):
    frameworks = [f.value for f in req.compliance]
    if extra in frameworks:
        frameworks.remove(extra)
        req = _with(req, compliance=frameworks)
    more = _with(req, compliance=[*frameworks, extra])
    before, after = assess(req, catalog()), assess(more, catalog())
    cost_before = _only_option(before, req).monthly_cost_usd
    cost_after = _only_option(after, more).monthly_cost_usd
    assert cost_after >= cost_before - 0.005
    status_after = {(c.framework, c.control_id): c.status for c in after.compliance}
    for c in before.compliance:
        assert c.framework in frameworks
        if c.status == "met":
            assert status_after[(c.framework, c.control_id)] == "met", c
    assert {c.framework for c in after.compliance} <= {*frameworks, extra}


# -- 4. restrictions are obeyed ----------------------------------------------------------


def _placed(res: AssessmentResult) -> set[tuple[str, str]]:
    out = {(o.provider, o.region) for o in res.options}
    if res.recommended is not None:
        out.add((res.recommended.provider, res.recommended.region))
        out |= {(a.provider, a.region) for a in res.recommended.alternatives}
    return out


@SETTINGS
@given(req=requirements(pinned=False), providers=st.lists(st.sampled_from(PROVIDERS),
                                                          min_size=1, max_size=2, unique=True))
def test_only_the_allowed_providers_are_offered(req, providers):
    req = _with(req, preferences={**req.preferences.model_dump(mode="json"),
                                  "providers": providers, "regions": []},
                data_residency=[])
    res = assess(req, catalog())
    assert {p for p, _ in _placed(res)} == set(providers)
    assert res.recommended is not None and res.recommended.provider in providers


@SETTINGS
@given(req=requirements(pinned=False),
       codes=st.lists(st.sampled_from(ALL_REGION_CODES), min_size=1, max_size=4, unique=True))
def test_only_the_allowed_regions_are_offered(req, codes):
    req = _with(req, preferences={**req.preferences.model_dump(mode="json"), "regions": codes},
                data_residency=[])
    res = assess(req, catalog())
    assert {r for _, r in _placed(res)} <= set(codes)
    # every allowed provider with an allowed region gets its best option
    expected = {p.value for p in req.preferences.providers
                if any(region(p, c) is not None for c in codes)}
    assert {o.provider for o in res.options} == expected


@SETTINGS
@given(req=requirements(pinned=False),
       groups=st.lists(st.sampled_from(["us", "eu", "uk"]), min_size=1, max_size=2, unique=True))
def test_data_residency_keeps_every_option_in_its_groups(req, groups):
    req = _with(req, data_residency=groups,
                preferences={**req.preferences.model_dump(mode="json"), "regions": []})
    res = assess(req, catalog())
    assert res.options
    for provider, code in _placed(res):
        assert region(provider, code).group in groups
    assert {o.provider for o in res.options} == {p.value for p in req.preferences.providers}


# -- 5. determinism ----------------------------------------------------------------------


@functools.cache
def _second_catalog() -> Catalog:
    """Another instance of the same catalog, with its own (cold) per-catalog caches."""
    return default_catalog()


@SETTINGS
@given(req=st.one_of(requirements(), requirements(pinned=False)))
def test_assess_is_deterministic(req):
    first = assess(req, catalog()).model_dump_json()
    assert assess(req, catalog()).model_dump_json() == first
    # a separately loaded catalog (cold per-catalog caches) gives the same answer
    assert assess(req, _second_catalog()).model_dump_json() == first


# -- 6. projection -----------------------------------------------------------------------


@SETTINGS
@given(req=requirements())
def test_projection_starts_at_the_recommended_cost_inside_its_band(req):
    res = assess(req, catalog())
    proj = res.projection
    assert [m.month for m in proj] == list(range(1, req.business.horizon_months + 1))
    assert math.isclose(proj[0].monthly_cost_usd, res.recommended.monthly_cost_usd,
                        abs_tol=0.02), (proj[0], res.recommended.monthly_cost_usd)
    for m in proj:
        assert m.p10 <= m.monthly_cost_usd <= m.p90, m


def _without_growth(req: Requirements) -> Requirements:
    workloads = [{**w, "growth_gb_per_month": 0.0} if "growth_gb_per_month" in w else w
                 for w in req.model_dump(mode="json")["workloads"]]
    return _with(req, workloads=workloads,
                 business={**req.business.model_dump(mode="json"), "growth_rate_monthly": 0.0})


@SETTINGS
@given(req=requirements().map(_without_growth))
def test_projection_is_flat_without_growth(req):
    res = assess(req, catalog())
    first = res.projection[0].monthly_cost_usd
    assert math.isclose(first, res.recommended.monthly_cost_usd, abs_tol=0.02)
    for m in res.projection:
        assert math.isclose(m.monthly_cost_usd, first, abs_tol=0.005), m


# -- 7. budget ---------------------------------------------------------------------------


@SETTINGS
@given(req=requirements(budget=True))
def test_budget_verdict_matches_the_recommended_cost(req):
    res = assess(req, catalog())
    cost, limit = res.recommended.monthly_cost_usd, req.business.monthly_budget_usd
    assert res.budget.monthly_budget_usd == limit
    assert res.budget.within_budget == (cost <= limit)
    assert res.budget.gap_usd == round(cost - limit, 2)


@SETTINGS
@given(req=requirements(budget=False))
def test_no_budget_no_verdict(req):
    b = assess(req, catalog()).budget
    assert (b.monthly_budget_usd, b.within_budget, b.gap_usd) == (None, None, None)
