"""``infra-mind report``: writes the file (atomically) or stdout; every error is one line."""

from __future__ import annotations

import json

import pytest

from infra_mind.cli.main import main
from infra_mind.reports.render import render_report
from tests.reports.conftest import EXAMPLES, USAGE, advise, narrative


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture()
def advice_file(results, tmp_path):
    path = tmp_path / "advice.json"
    advice = advise(results["eu-fintech"], narrative(), USAGE)
    path.write_text(json.dumps(advice))
    return path, advice


@pytest.mark.parametrize("fmt", ["md", "html", "json"])
def test_writes_the_report_to_a_file(capsys, advice_file, tmp_path, fmt):
    path, advice = advice_file
    target = tmp_path / f"report.{fmt}"
    target.write_text("old")
    code, out, err = run(capsys, "report", path, "--kind", "technical", "--format", fmt,
                         "-o", target)
    assert (code, out, err) == (0, "", "")
    assert target.read_text() == render_report(advice, "technical", fmt)
    assert {p.name for p in tmp_path.iterdir()} == {"advice.json", f"report.{fmt}"}  # no temp


def test_prints_markdown_by_default(capsys, advice_file):
    path, advice = advice_file
    code, out, _ = run(capsys, "report", path, "-k", "executive")
    assert code == 0 and out == render_report(advice, "executive", "md")


def test_engine_result_from_assess(capsys, tmp_path):
    """What ``assess --format json`` prints is a valid input."""
    code, out, _ = run(capsys, "assess", EXAMPLES / "static-site.yaml", "-f", "json")
    assert code == 0
    result = tmp_path / "result.json"
    result.write_text(out)
    code, out, err = run(capsys, "report", result, "-k", "compliance", "-f", "json")
    assert code == 0, err
    assert json.loads(out)["kind"] == "compliance"


@pytest.mark.parametrize("argv, fragment", [
    (["-k", "board"], "error: unknown report kind 'board' (expected one of: executive, "
                      "technical, compliance)"),
    (["-k", "executive", "-f", "pdf"], "error: unknown report format 'pdf'"),
])
def test_bad_kind_or_format(capsys, advice_file, argv, fragment):
    path, _ = advice_file
    code, out, err = run(capsys, "report", path, *argv)
    assert code == 2 and out == ""
    assert err.startswith(fragment) and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("content, fragment", [
    (None, "no such file"),
    ("name: [yaml", "not valid JSON: line 1, column 1"),
    ("[1, 2]", "not an assessment result: expected a JSON object"),
    ('{"name": "x"}', "not an assessment result: requirements: Field required"),
    (b"\xff\xfe\x00", "cannot read"),
])
def test_bad_input_is_one_line(capsys, tmp_path, content, fragment):
    path = tmp_path / "in.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content)
    code, out, err = run(capsys, "report", path, "-k", "technical")
    assert code == 2 and out == ""
    assert fragment in err and err.startswith(f"error: {path}")
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_unwritable_output_is_one_line_and_leaves_nothing(capsys, advice_file, tmp_path):
    path, _ = advice_file
    code, _, err = run(capsys, "report", path, "-k", "technical", "-o",
                       tmp_path / "missing" / "r.md")
    assert code == 1 and "cannot write" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "missing").exists()
