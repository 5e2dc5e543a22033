"""Where the users are stated but not where their data may be kept, a region near them in
another country can win on price: the assessment then says where the data would be.

A US biotech lab was recommended Montréal (a GCP spot price) and a UK and Irish legal
service Stockholm with no word that the data would leave the users' countries. The
warning now also prices the cheapest region where the users are: a UK sports club's data
went to Stockholm for $2.30 a month less than London.
"""

from infra_mind.engine.assess import assess
from tests.engine.rows import catalog, network, vm

WORKER = {"name": "jobs", "type": "worker", "vcpu": 2, "memory_gb": 7.5}


def _in(region_code, rows):
    return [r._replace(region=region_code) for r in rows]


CHEAPER_IN_CANADA = catalog(_in("us-east-1", [vm("m.large", 2, 8, 0.10), *network()]),
                            _in("ca-central-1", [vm("m.large", 2, 8, 0.05), *network()]))


def run(**top):
    return assess({"name": "abroad", "preferences": {"providers": ["aws"]},
                   "workloads": [WORKER], **top}, CHEAPER_IN_CANADA)


def said(result) -> list[str]:
    return [w for w in result.warnings if "keeps the data in" in w]


def test_a_region_in_none_of_the_users_places_says_where_the_data_would_be():
    result = run(users=["us"])
    assert result.recommended.region == "ca-central-1"
    (warning,) = said(result)
    assert warning.startswith("The recommended region ca-central-1 keeps the data in "
                              "Montréal (Canada), where none of the users (in the US) are")
    assert "State data_residency" in warning
    # and what keeping it where the users are would cost
    assert warning.endswith("The cheapest region designed where they are, aws us-east-1 "
                            "(N. Virginia), costs $73.00 a month, $36.50 more.")


def test_no_word_where_the_users_are_or_where_the_data_may_be_is_stated():
    assert not said(run(users=["us", "ca"]))
    kept_home = run(users=["us"], data_residency=["us"])
    assert kept_home.recommended.region == "us-east-1" and not said(kept_home)
    assert not said(run(users=["us"], preferences={"providers": ["aws"],
                                                   "regions": ["ca-central-1"]}))
