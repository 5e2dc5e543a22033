"""Users by country: regions chosen near the country, from Azure's published round trips.

A group is too coarse where its regions are far apart: every ``apac`` region counts as near
users in ``apac``, so a Japanese business named by group got Mumbai, 122 ms from Tokyo,
because it was cheapest. Named by country, its users get Tokyo; named by group, the result
says the group was too coarse and asks for countries.
"""

from __future__ import annotations

import csv

import pytest
from pydantic import ValidationError

from infra_mind.catalog.regions import GROUPS, REGIONS, region
from infra_mind.engine import places
from infra_mind.engine.assess import assess
from infra_mind.engine.latency import NEAR_RTT_MS, far_side, rtt_ms
from infra_mind.engine.load import RequirementsError, load_requirements
from infra_mind.engine.requirements import RESIDENCY_COUNTRIES, USER_PLACES, Requirements
from tests.engine.test_properties import catalog

WEB = {"name": "web", "type": "web_service", "peak_rps": 120, "cpu_ms_per_request": 30,
       "egress_gb_per_month": 300}


def business(**top) -> dict:
    return {"name": "sakura learn", "availability_target": 99.9, **top,
            "workloads": [WEB, {"name": "db", "type": "database", "storage_gb": 100}]}


def cities(result) -> set[str]:
    return {region(o.provider, o.region).city for o in result.options}


# -- the table ----------------------------------------------------------------------------


def test_the_table_is_read_as_published():
    with places.DATA.open(encoding="utf-8") as f:
        rows = list(csv.reader(line for line in f if not line.startswith("#")))
    names = rows[0][1:]
    assert len(names) == 54 and [r[0] for r in rows[1:]] == names
    assert len(places.table()) == 54 * 53 // 2
    # both directions agree: Japan East <-> Southeast Asia, 72 ms each way
    assert places.between("Japan East", "Southeast Asia") == 72
    # they differ by one: the mean, rounded up (Central India -> Australia East 145, back 144)
    assert places.between("Central India", "Australia East") == 145
    assert places.between("UAE Central", "Central India") == 34  # 34 and 33
    assert places.between("Japan East", "Japan East") == 0


def test_every_region_and_country_stands_somewhere_the_table_measures():
    names = {n for pair in places.table() for n in pair}
    assert {r.measured_at for r in REGIONS.values()} <= names
    assert {n for c in places.COUNTRIES.values() for n in c.measured_at} <= names
    # a country code is ISO alpha-2, upper case, never a group's name in either case
    for code in places.COUNTRIES:
        assert len(code) == 2 and code.isupper() and code.lower() not in GROUPS
    assert set(places.GROUP_ALIASES.values()) <= set(GROUPS)


def test_a_country_is_zero_ms_from_its_own_regions_and_measured_to_the_rest():
    tokyo = region("aws", "ap-northeast-1")
    singapore = region("gcp", "asia-southeast1")
    assert places.country_rtt_ms("JP", tokyo) == 0
    assert places.country_rtt_ms("JP", singapore) == 72
    # the nearest of the country's measured regions: Korea South is 22 ms from Japan East
    assert places.country_rtt_ms("KR", tokyo) == 22
    # Mumbai's regions stand at Central India (Pune): 32 ms from UAE North, 34 from UAE
    # Central; users in the UAE are as near as the nearer
    assert places.country_rtt_ms("AE", region("aws", "ap-south-1")) == 32


# -- the choice ----------------------------------------------------------------------------


def test_users_in_japan_get_tokyo_not_the_cheapest_apac_region():
    by_group = assess(business(data_residency=["apac"]), catalog())
    assert cities(by_group) == {"Mumbai", "Pune"}  # cheapest, and "in the group"
    result = assess(business(data_residency=["apac"], users=["jp"]), catalog())
    assert result.requirements.users == ["JP"]
    assert cities(result) == {"Tokyo"}
    assert all(o.user_rtt_ms == 0 for o in result.options)
    first = result.options[0]
    reasons = result.recommended.reasons
    assert f"Users in Japan: {first.region} (Tokyo) is where they are" in reasons
    assert ("Regions in Mumbai, Pune, Singapore and Sydney were not designed: over 60 ms "
            "round trip from users in Japan (Mumbai ~122 ms, Pune ~122 ms, Singapore ~72 ms, "
            "Sydney ~104 ms)") in reasons
    assert result.region_choice.excluded == [
        "Mumbai: ~122 ms round trip", "Pune: ~122 ms round trip",
        "Singapore: ~72 ms round trip", "Sydney: ~104 ms round trip"]
    assert not any("region group apac" in w for w in result.warnings)


def test_a_group_too_wide_to_mean_near_is_warned_about():
    result = assess(business(data_residency=["apac"]), catalog())
    assert ("Where the users are is given as the region group apac (data_residency), whose "
            "regions are up to 145 ms round trip apart (Sydney to Mumbai), so any of them "
            "counted as near. List the users' countries in users (AU, IN, JP, SG or others) "
            "to have regions chosen near them.") in result.warnings
    # groups whose regions in different countries are all near each other are not
    for group in ("us", "eu", "uk", "ca", "sa"):
        narrow = assess(business(users=[group]), catalog())
        assert not any("region group" in w for w in narrow.warnings), group
    # nor apac when no apac region was designed
    far = assess(business(users=["apac"], data_residency=["us"]), catalog())
    assert not any("region group apac" in w for w in far.warnings)


def test_users_in_two_far_countries_are_served_from_near_one_and_told_the_other():
    result = assess(business(users=["JP", "AU"]), catalog())
    assert result.region_choice.rule == "near the most user groups"
    assert cities(result) <= {"Tokyo", "Sydney"}
    first = region(result.options[0].provider, result.options[0].region)
    near, far = ("Japan", "Australia") if first.city == "Tokyo" else ("Australia", "Japan")
    reason = next(r for r in result.recommended.reasons if r.startswith("Users in Japan and"))
    assert (f"{first.code} ({first.city}) is near users in {near} and serves users in {far} "
            f"at ~104 ms") in reason
    assert all(o.user_rtt_ms == 104 for o in result.options)


def test_users_split_across_places_are_served_where_most_of_them_are():
    # players in three South-East Asian countries and the US: no region is near all four,
    # and a Virginia region (near one) must not win on price over Singapore (near three)
    users = ["SG", "MY", "ID", "us"]
    result = assess(business(users=users), catalog())
    choice = result.region_choice
    assert choice.rule == "near the most user groups"
    for o in result.options:
        r = region(o.provider, o.region)
        assert [p for p in users if rtt_ms(r, (p,)) <= NEAR_RTT_MS] == ["SG", "MY", "ID"]
    assert "the US: near 1 of the 4 user places, against 3" in choice.excluded
    first = region(result.options[0].provider, result.options[0].region)
    reason = next(r for r in result.recommended.reasons
                  if r.startswith("Regions in") and "near fewer" in r)
    assert reason.startswith("Regions in ")
    assert "near fewer of the users' 4 places than the 3 the designed regions are near" in reason
    assert "the US 1" in reason
    assert any(f"{first.code} ({first.city}) is near users in Singapore, Malaysia and "
               "Indonesia and serves users in the US at" in r for r in result.recommended.reasons)


def test_users_in_a_country_without_a_covered_region_get_the_nearest_measured():
    result = assess(business(users=["AE"]), catalog())
    assert cities(result) == {"Mumbai", "Pune"}
    assert {o.user_rtt_ms for o in result.options} == {32}
    first = region(result.options[0].provider, result.options[0].region)
    assert (f"Users in the United Arab Emirates: {first.code} ({first.city}) is within ~32 ms "
            "round trip of all of them") in result.recommended.reasons


def test_a_country_and_a_group_together_keep_regions_near_both():
    # users in Mexico and the US: US regions within 60 ms of Mexico City are kept,
    # the Pacific north-west (72 ms) is not
    result = assess(business(users=["us", "MX"]), catalog())
    assert result.region_choice.rule == "near every user group"
    for o in result.options:
        r = region(o.provider, o.region)
        assert r.group == "us" and rtt_ms(r, ["MX"]) <= NEAR_RTT_MS
    assert "Oregon: ~72 ms round trip" in result.region_choice.excluded


# -- the field -----------------------------------------------------------------------------


def test_places_are_read_in_any_case_and_us_ca_gb_name_their_groups():
    req = Requirements.model_validate(business(users=["jp", "Au", "US", "gb", "APAC"]))
    assert req.users == ["JP", "AU", "us", "uk", "apac"]
    assert Requirements.model_json_schema()["properties"]["users"]["items"]["enum"] == list(
        USER_PLACES)


@pytest.mark.parametrize(("users", "message"), [
    (["XX"], "'XX' is neither a region group (us, ca, eu, uk, apac, sa) nor a country code "
             "the latency table covers (AE, AT, AU, "),
    ([False], "false is not a place; a YAML 1.1 parser reads an unquoted NO (Norway) as "
              'false: write "NO"'),
    (["JP", "jp"], "each value at most once; repeated: JP"),
    (["us", "US"], "each value at most once; repeated: us"),
    # Saudi Arabia's code is not read as the group sa (South America)
    (["IN", "AE", "SA"], "'SA' is Saudi Arabia's country code, not one the latency table "
                         "covers (AE, AT, AU, "),
])
def test_an_unknown_or_repeated_place_is_refused_in_one_line(users, message):
    with pytest.raises(ValidationError) as caught:
        Requirements.model_validate(business(users=users))
    (error,) = caught.value.errors()
    assert error["loc"][0] == "users" and error["msg"].startswith(message)
    assert "\n" not in error["msg"]


def test_a_file_reads_no_as_norway_and_yes_still_means_true(tmp_path):
    """YAML 1.2's booleans, as the web app reads YAML: NO is Norway, not false."""
    path = tmp_path / "nordic.yaml"
    path.write_text("name: nordic\nusers: [NO, SE, dk]\npreferences: {spot_ok: yes, "
                    "managed_services: off, allow_arm: True}\nworkloads:\n"
                    "  - {name: api, type: web_service, peak_rps: 5}\n", encoding="utf-8")
    req = load_requirements(path)
    assert req.users == ["NO", "SE", "DK"]
    assert (req.preferences.spot_ok, req.preferences.managed_services,
            req.preferences.allow_arm) == (True, False, True)
    # a false that is a false is still refused in one line
    path.write_text("name: x\nusers: [false]\nworkloads:\n"
                    "  - {name: api, type: web_service, peak_rps: 5}\n", encoding="utf-8")
    with pytest.raises(RequirementsError) as caught:
        load_requirements(path)
    assert caught.value.problems == ["users[0]: false is not a place; a YAML 1.1 parser reads "
                                     'an unquoted NO (Norway) as false: write "NO"']


# -- data kept in a country ----------------------------------------------------------------


def test_data_kept_in_one_country_designs_only_its_regions_and_says_so():
    # an Australian agency: apac would allow Singapore, Tokyo and Mumbai
    result = assess(business(data_residency=["au"], compliance=["gdpr"]), catalog())
    assert result.requirements.data_residency == ["AU"]
    assert {region(o.provider, o.region).country for o in result.options} == {"AU"}
    # where the users are is read from the residency, so no apac warning is given
    assert result.region_choice.users == ["AU"]
    assert not any("region group" in w for w in result.warnings)
    # GDPR's transfer control: Australia is outside the EU and the UK
    (transfer,) = [c for c in result.compliance if c.control_id == "GDPR-TR-01"]
    assert transfer.status == "gap"


def test_a_country_inside_a_group_satisfies_what_the_group_does():
    result = assess(business(data_residency=["DE", "fr"], compliance=["gdpr"]), catalog())
    assert {region(o.provider, o.region).country for o in result.options} <= {"DE", "FR"}
    (transfer,) = [c for c in result.compliance if c.control_id == "GDPR-TR-01"]
    assert transfer.status == "met"
    assert places.COUNTRIES.keys() >= set(RESIDENCY_COUNTRIES)  # users fall back to them


def test_residency_names_only_countries_with_a_covered_region():
    with pytest.raises(ValidationError) as caught:
        Requirements.model_validate(business(data_residency=["AT"]))
    (error,) = caught.value.errors()
    assert error["msg"] == (
        "'AT' is neither a region group (us, ca, eu, uk, apac, sa) nor a country code with a "
        "covered region (AU, BE, BR, DE, FI, FR, IE, IN, JP, NL, SE, SG)")
    assert Requirements.model_validate(business(data_residency=["US", "gb"])).data_residency \
        == ["us", "uk"]
    with pytest.raises(ValidationError) as caught:
        Requirements.model_validate(business(data_residency=["SA"]))
    assert caught.value.errors()[0]["msg"].endswith(
        "not one with a covered region (AU, BE, BR, DE, FI, FR, IE, IN, JP, NL, SE, SG); for "
        "the South America region group write sa")
    assert Requirements.model_validate(business(data_residency=["Sa"])).data_residency == ["sa"]


def test_a_region_near_the_us_east_names_the_far_side_of_the_us():
    # a Canadian HR SaaS with 30% of its users in the US, its data kept in Canada: Montréal
    # is ~26 ms from Virginia, but the US is one point to the group table, and its west
    # coast is ~76 ms from Montréal (it had read "within ~26 ms of all of them")
    result = assess(business(users=["ca", "us"], user_shares={"ca": 70, "us": 30},
                             data_residency=["ca"]), catalog())
    first = region(result.options[0].provider, result.options[0].region)
    assert first.group == "ca"
    ms, there = far_side("us", first)
    assert ms == max(places.between(home, first.measured_at)
                     for home in ("East US", "West US", "West US 2")) > NEAR_RTT_MS
    assert there.group == "us" and there.provider == first.provider
    reason = next(r for r in result.recommended.reasons if r.startswith("Users in"))
    assert reason == (f"Users in Canada (70%) and the US (30%): {first.code} ({first.city}) "
                      f"is within ~{rtt_ms(first, ['us'])} ms round trip of all of them but "
                      f"the far side of the US, ~{ms} ms from users near {there.code} "
                      f"({there.city})")


def test_no_far_side_inside_the_group_for_a_country_or_for_a_narrow_group():
    virginia, montreal = region("aws", "us-east-1"), region("aws", "ca-central-1")
    assert far_side("us", virginia) is None  # the users' own group
    assert far_side("MX", virginia) is None  # a country is measured where it is
    assert far_side("ca", virginia) is None  # Canada's regions are 13 ms apart
    assert far_side("eu", region("aws", "eu-west-2")) is None  # London: the EU within 60
    assert far_side("us", montreal)[0] > NEAR_RTT_MS


def test_a_country_without_a_region_in_the_catalog_is_said_so():
    """Users in the UAE were served from Mumbai with nothing said of a region in the UAE
    (2026-12-07): the catalog has none there, and the reasons say that none was compared."""
    result = assess(business(users=["AE"]), catalog())
    said = [r for r in result.recommended.reasons if r.startswith("The catalog has no ")]
    assert said == ["The catalog has no aws, azure or gcp region in the United Arab Emirates, "
                    "so none there was compared: the options are the nearest regions it "
                    "prices"]
    assert "AE" not in {region(o.provider, o.region).country for o in result.options}
    # one provider allowed: its name alone; a country with a region: nothing said
    aws = assess(business(users=["AE", "JP"], preferences={"providers": ["aws"]}), catalog())
    assert any(r.startswith("The catalog has no aws region in the United Arab Emirates, so")
               for r in aws.recommended.reasons)
    japan = assess(business(users=["JP"]), catalog())
    assert not any(r.startswith("The catalog has no ") for r in japan.recommended.reasons)
