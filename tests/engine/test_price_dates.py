"""Each option states the date range of its prices (issue #11): ``catalog_as_of`` gives only
the recommended option's oldest date."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from infra_mind.cli.main import main
from infra_mind.engine.assess import assess
from infra_mind.engine.result import AssessmentResult

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture(scope="module")
def result() -> AssessmentResult:
    return assess(yaml.safe_load((EXAMPLES / "saas-startup.yaml").read_text()))


def test_every_option_states_its_oldest_and_newest_price_date(result):
    assert len(result.options) >= 2
    for option in result.options:
        dates = [li.as_of for li in option.line_items]
        assert option.price_dates is not None
        assert (option.price_dates.oldest, option.price_dates.newest) == (min(dates),
                                                                          max(dates))
    recommended = result.options[0]
    assert result.catalog_as_of == recommended.price_dates.oldest
    doc = result.model_dump(mode="json")["options"][0]["price_dates"]
    assert doc == {"oldest": str(min(li.as_of for li in recommended.line_items)),
                   "newest": str(max(li.as_of for li in recommended.line_items))}


def test_a_result_stored_before_the_field_still_loads(result):
    doc = result.model_dump(mode="json")
    for option in doc["options"]:
        del option["price_dates"]
    assert AssessmentResult.model_validate(doc).options[0].price_dates is None


def test_the_cli_shows_each_options_range(capsys, result):
    path = EXAMPLES / "saas-startup.yaml"
    assert main(["assess", str(path)]) == 0
    table = capsys.readouterr().out
    assert "prices dated" in table
    for o in result.options:
        assert f"{o.price_dates.oldest} to {o.price_dates.newest}" in table
    assert main(["assess", str(path), "--format", "md"]) == 0
    md = capsys.readouterr().out
    assert "_Prices dated, per option: " in md
    for o in result.options:
        assert f"{o.provider} {o.region} {o.price_dates.oldest} to {o.price_dates.newest}" in md


def test_the_technical_report_states_the_ranges(result):
    from infra_mind.reports.render import render_report
    from tests.reports.helpers import md_sections, md_table

    sections = md_sections(render_report(result.model_dump(mode="json"), "technical", "md"))
    chosen, *others = result.options
    assert (f"Prices dated {chosen.price_dates.oldest} to {chosen.price_dates.newest}."
            in sections["Recommended architecture"])
    rows = md_table(sections["Other options"])
    assert [r["prices dated"] for r in rows] == [
        f"{o.price_dates.oldest} to {o.price_dates.newest}" for o in others]
