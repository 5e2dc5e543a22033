"""``count_gaps`` (used to rank every region) agrees with a full evaluation."""

from hypothesis import given, settings
from hypothesis import strategies as st

from infra_mind.engine.compliance import all_frameworks, count_gaps, evaluate, gap_count
from infra_mind.engine.facts import CAPABILITIES, ArchitectureFacts


@settings(max_examples=200, deadline=None)
@given(caps=st.sets(st.sampled_from(sorted(CAPABILITIES))),
       frameworks=st.lists(st.sampled_from(all_frameworks()), max_size=6),
       group=st.sampled_from(["us", "eu", "uk", "apac"]),
       residency=st.lists(st.sampled_from(["us", "eu", "uk"]), max_size=2, unique=True),
       public=st.booleans())
def test_count_gaps_matches_evaluate(caps, frameworks, group, residency, public):
    facts = ArchitectureFacts(
        provider="aws", region="r-1", region_group=group, country="XX", zones_used=2,
        availability_target=99.9, frameworks=tuple(frameworks),
        residency_groups=tuple(residency), capabilities={c: f"{c} component" for c in caps},
        has_public_endpoint=public)
    assert count_gaps(facts, frameworks) == gap_count(evaluate(facts, frameworks))
