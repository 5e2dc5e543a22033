"""The bundled control catalog loads, and malformed control files are refused."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from infra_mind.engine.compliance.catalog import (
    COST_KEYS,
    Control,
    all_frameworks,
    load_controls,
)
from infra_mind.engine.facts import CAPABILITIES
from infra_mind.engine.requirements import Framework

REFERENCE_FORMS = {
    "hipaa": r"45 CFR 164\.3(08|12)(\([A-Za-z0-9]+\))+",
    "gdpr": r"Art\. \d+(\(\d+\)(\([a-z]\))?)?",
    "soc2": r"(CC\d|A1)\.\d",
    "pci_dss": r"Req\. \d+\.\d+\.\d+(\.\d+)?",
    "iso27001": r"A\.[5-8]\.\d+",
    "ccpa": r"Cal\. Civ\. Code 1798\.\d+(\([a-z]\)(\(\d+\))?)?",
}


def test_all_frameworks_follow_the_enum():
    assert all_frameworks() == [f.value for f in Framework]


@pytest.mark.parametrize("framework", [f.value for f in Framework])
def test_bundled_catalog_is_well_formed(framework):
    controls = load_controls(framework)
    assert 8 <= len(controls) <= 14
    assert len({c.id for c in controls}) == len(controls)
    assert {c.kind for c in controls} == {"technical", "process"}
    for c in controls:
        assert c.framework == framework
        assert re.fullmatch(REFERENCE_FORMS[framework], c.reference), c.reference
        if c.kind == "technical":
            assert c.capability in CAPABILITIES and c.remediation
            assert c.remediation_cost_key is None or c.remediation_cost_key in COST_KEYS
        else:
            assert c.capability is None and not c.remediation and not c.remediation_cost_key


def test_ids_are_unique_across_frameworks():
    ids = [c.id for f in all_frameworks() for c in load_controls(f)]
    assert len(set(ids)) == len(ids)


def test_anchor_references():
    """The references the brief names are where they should be."""
    def by_ref(framework):
        return {(c.reference, c.capability) for c in load_controls(framework)}

    assert ("45 CFR 164.312(a)(2)(iv)", "encryption_at_rest") in by_ref("hipaa")
    assert ("45 CFR 164.308(a)(7)(ii)(B)", "disaster_recovery") in by_ref("hipaa")
    assert ("Art. 44", "data_residency") in by_ref("gdpr")
    assert ("Art. 32(1)(a)", "encryption_at_rest") in by_ref("gdpr")
    assert ("A1.2", "high_availability") in by_ref("soc2")
    assert ("Req. 10.5.1", "log_retention_1y") in by_ref("pci_dss")
    assert ("Req. 6.4.2", "web_application_firewall") in by_ref("pci_dss")
    assert ("A.8.24", "encryption_at_rest") in by_ref("iso27001")
    assert ("Cal. Civ. Code 1798.150", "encryption_at_rest") in by_ref("ccpa")


def test_gdpr_transfer_control_names_eu_and_uk():
    (art44,) = [c for c in load_controls("gdpr") if c.reference == "Art. 44"]
    assert art44.region_groups == ("eu", "uk")


def test_load_accepts_the_enum_and_returns_a_fresh_list():
    first = load_controls(Framework.HIPAA)
    first.clear()
    assert load_controls("hipaa")
    assert all(isinstance(c, Control) for c in load_controls("hipaa"))


def test_unknown_framework():
    with pytest.raises(ValueError, match="unknown compliance framework 'sox'"):
        load_controls("sox")


# --- validation of malformed files ---------------------------------------------------

GOOD_TECHNICAL = """\
  - id: X-01
    reference: Art. 1
    title: A technical control
    requires: Something of the architecture.
    kind: technical
    capability: backups
    remediation: Turn on backups.
"""


def write(tmp_path: Path, controls: str, framework: str = "gdpr", head: str = "") -> Path:
    text = f"framework: {framework}\nname: Test\n{head}controls:\n{controls}"
    (tmp_path / f"{framework}.yaml").write_text(text, encoding="utf-8")
    return tmp_path


def test_a_small_good_file_loads(tmp_path):
    (control,) = load_controls("gdpr", write(tmp_path, GOOD_TECHNICAL))
    assert control == Control(framework="gdpr", id="X-01", reference="Art. 1",
                              title="A technical control",
                              requires="Something of the architecture.", kind="technical",
                              capability="backups", remediation="Turn on backups.")


@pytest.mark.parametrize(("controls", "message"), [
    (GOOD_TECHNICAL + "    colour: red\n", "gdpr.yaml: control X-01: unknown key.*colour"),
    (GOOD_TECHNICAL.replace("    title: A technical control\n", ""),
     "gdpr.yaml: control X-01: missing key.*title"),
    (GOOD_TECHNICAL.replace("    capability: backups\n", ""),
     "control X-01: a technical control needs a capability"),
    (GOOD_TECHNICAL.replace("    remediation: Turn on backups.\n", ""),
     "control X-01: a technical control needs a remediation"),
    (GOOD_TECHNICAL.replace("backups\n", "telepathy\n"),
     "control X-01: capability 'telepathy' is not one of"),
    (GOOD_TECHNICAL + GOOD_TECHNICAL, "gdpr.yaml: control X-01: duplicate id"),
    (GOOD_TECHNICAL.replace("kind: technical", "kind: magic"),
     "control X-01: kind must be 'technical' or 'process'"),
    (GOOD_TECHNICAL + "    remediation_cost_key: gold_plating\n",
     "control X-01: remediation_cost_key 'gold_plating' is not one of"),
    (GOOD_TECHNICAL.replace("kind: technical", "kind: process"),
     "control X-01: a process control takes no capability, remediation"),
    (GOOD_TECHNICAL + "    region_groups: [eu]\n",
     "control X-01: region_groups applies only to data_residency"),
    (GOOD_TECHNICAL.replace("backups\n", "data_residency\n"),
     "control X-01: a data_residency control needs region_groups"),
    (GOOD_TECHNICAL.replace("backups\n", "data_residency\n") + "    region_groups: [mars]\n",
     "control X-01: unknown region group"),
    (GOOD_TECHNICAL.replace("title: A technical control", "title: ''"),
     "control X-01: title must be a non-empty string"),
    (GOOD_TECHNICAL.replace("  - id: X-01\n", "  - reference: x\n").replace(
        "    reference: Art. 1\n", ""), "gdpr.yaml: control #1: missing key.*id"),
    ("  - just a string\n", "gdpr.yaml: control #1: expected a mapping"),
    ("  []\n", "gdpr.yaml: 'controls' must be a non-empty list"),
])
def test_malformed_controls_are_refused(tmp_path, controls, message):
    with pytest.raises(ValueError, match=message):
        load_controls("gdpr", write(tmp_path, controls))


def test_unknown_file_key(tmp_path):
    with pytest.raises(ValueError, match=r"gdpr.yaml: unknown key.*owner"):
        load_controls("gdpr", write(tmp_path, GOOD_TECHNICAL, head="owner: me\n"))


def test_file_must_name_its_own_framework(tmp_path):
    write(tmp_path, GOOD_TECHNICAL, framework="hipaa")
    (tmp_path / "hipaa.yaml").rename(tmp_path / "gdpr.yaml")
    with pytest.raises(ValueError, match=r"gdpr.yaml: framework is 'hipaa', expected 'gdpr'"):
        load_controls("gdpr", tmp_path)


def test_missing_file_and_bad_yaml(tmp_path):
    with pytest.raises(ValueError, match=r"no control file for framework 'soc2'"):
        load_controls("soc2", tmp_path)
    (tmp_path / "ccpa.yaml").write_text("controls: [unclosed\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"ccpa.yaml: not valid YAML"):
        load_controls("ccpa", tmp_path)
    (tmp_path / "hipaa.yaml").write_text("- a list\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"hipaa.yaml: expected a mapping"):
        load_controls("hipaa", tmp_path)
