"""The compliance control catalog: one YAML file per framework under ``controls/``.

Each control names the framework's own reference (e.g. ``45 CFR 164.312(a)(2)(iv)``),
what it asks of an architecture, and whether the architecture can meet it
(``technical``: a capability from ``facts.CAPABILITIES``) or only the customer can
(``process``: policies, contracts, training, notification duties).

Loading is strict, like the requirements file: an unknown key, a missing key, a
capability outside the vocabulary or a repeated id is an error that names the file
and the control, never a control silently dropped.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import yaml

from infra_mind.catalog.regions import GROUPS
from infra_mind.engine.facts import CAPABILITIES
from infra_mind.engine.requirements import Framework

#: Where the bundled control files live (package data).
CONTROLS_DIR = (Path(__file__).parent / "controls").resolve()

#: The loader of the bundled control files: libyaml's when PyYAML was built with it (ten
#: times faster than the pure-Python loader, and a test checks it reads every bundled file
#: exactly as the pure one does). Files from another directory, and the error message of a
#: bundled file that fails to parse, come from the pure loader, as they always did.
_BUNDLED_LOADER = getattr(yaml, "CSafeLoader", None)

#: Remediations the engine may be able to price; the evaluator hands the key to a callback.
COST_KEYS = frozenset({
    "backups",
    "high_availability",
    "network_isolation",
    "disaster_recovery",
    "log_retention_1y",
    "web_application_firewall",
    "customer_managed_keys",
})

Kind = Literal["technical", "process"]

_FILE_KEYS_REQUIRED = {"framework", "name", "controls"}
_FILE_KEYS = _FILE_KEYS_REQUIRED | {"sources"}
_CONTROL_KEYS_REQUIRED = {"id", "reference", "title", "requires", "kind"}
_CONTROL_KEYS = _CONTROL_KEYS_REQUIRED | {
    "capability", "remediation", "remediation_cost_key", "region_groups", "evidence_note"}


@dataclass(frozen=True, slots=True)
class Control:
    """One control of one framework, as the catalog states it."""

    framework: str
    id: str  # our stable id, e.g. "HIPAA-AC-02"
    reference: str  # the framework's own, e.g. "45 CFR 164.312(a)(2)(iv)"
    title: str
    requires: str  # what it asks of the architecture (or of the customer), one sentence
    kind: Kind
    capability: str | None = None  # technical only: a key of facts.CAPABILITIES
    remediation: str = ""  # technical only: what to add or change when it is a gap
    remediation_cost_key: str | None = None  # one of COST_KEYS, priced by the engine
    #: data_residency only: region groups that satisfy the control (e.g. eu, uk).
    region_groups: tuple[str, ...] = ()
    #: technical only: said after the evidence when the control is met, for the part of
    #: the control the architecture cannot meet (e.g. transfers through sub-processors)
    evidence_note: str = ""


def all_frameworks() -> list[str]:
    """Every framework the catalog covers, in ``Framework`` order."""
    return [f.value for f in Framework]


def load_controls(framework: Framework | str, directory: Path | str | None = None,
                  ) -> list[Control]:
    """The controls of ``framework``, in file order.

    ``directory`` defaults to the bundled ``controls/``; tests pass their own.
    Results are cached per (framework, directory); a fresh list is returned each call.
    Raises ``ValueError`` for an unknown framework or a malformed file.
    """
    fw = _framework(framework)
    base = CONTROLS_DIR if directory is None else Path(directory).resolve()
    return list(_load(fw, base))


def _framework(framework: Framework | str) -> str:
    try:
        return Framework(framework).value
    except ValueError:
        raise ValueError(f"unknown compliance framework {framework!r}; known: "
                         f"{', '.join(all_frameworks())}") from None


@lru_cache(maxsize=64)
def _load(framework: str, directory: Path) -> tuple[Control, ...]:
    path = directory / f"{framework}.yaml"
    try:
        text = path.read_text(encoding="utf-8")
        doc = _parse_yaml(text, bundled=directory == CONTROLS_DIR)
    except FileNotFoundError:
        raise ValueError(f"{path}: no control file for framework {framework!r}") from None
    except yaml.YAMLError as exc:
        raise ValueError(f"{path}: not valid YAML: {exc}") from None
    return _parse(doc, framework, path)


def _parse_yaml(text: str, bundled: bool) -> Any:
    if bundled and _BUNDLED_LOADER is not None:
        try:
            return yaml.load(text, Loader=_BUNDLED_LOADER)
        except yaml.YAMLError:
            pass  # the pure loader below raises the error, worded as it always was
    return yaml.safe_load(text)


def _parse(doc: Any, framework: str, path: Path) -> tuple[Control, ...]:
    where = path.name
    if not isinstance(doc, dict):
        raise ValueError(f"{where}: expected a mapping with keys {sorted(_FILE_KEYS_REQUIRED)}")
    _check_keys(doc, _FILE_KEYS_REQUIRED, _FILE_KEYS, where)
    if doc["framework"] != framework:
        raise ValueError(f"{where}: framework is {doc['framework']!r}, expected {framework!r}")
    controls = doc["controls"]
    if not isinstance(controls, list) or not controls:
        raise ValueError(f"{where}: 'controls' must be a non-empty list")
    out: list[Control] = []
    seen: set[str] = set()
    for index, raw in enumerate(controls):
        control = _control(raw, framework, where, index)
        if control.id in seen:
            raise ValueError(f"{where}: control {control.id}: duplicate id")
        seen.add(control.id)
        out.append(control)
    return tuple(out)


def _control(raw: Any, framework: str, filename: str, index: int) -> Control:
    named = isinstance(raw, dict) and isinstance(raw.get("id"), str) and raw["id"].strip()
    where = f"{filename}: control {raw['id'] if named else f'#{index + 1}'}"
    if not isinstance(raw, dict):
        raise ValueError(f"{where}: expected a mapping")
    _check_keys(raw, _CONTROL_KEYS_REQUIRED, _CONTROL_KEYS, where)
    text = {k: _text(raw, k, where) for k in ("id", "reference", "title", "requires", "kind")}
    kind = text["kind"]
    if kind not in ("technical", "process"):
        raise ValueError(f"{where}: kind must be 'technical' or 'process', not {kind!r}")

    capability = raw.get("capability")
    remediation = raw.get("remediation")
    cost_key = raw.get("remediation_cost_key")
    groups = raw.get("region_groups")
    if kind == "process":
        extra = [k for k in ("capability", "remediation", "remediation_cost_key",
                             "region_groups", "evidence_note") if k in raw]
        if extra:
            raise ValueError(f"{where}: a process control takes no {', '.join(extra)}")
        return Control(framework=framework, **text)  # type: ignore[arg-type]

    if capability is None:
        raise ValueError(f"{where}: a technical control needs a capability")
    if capability not in CAPABILITIES:
        raise ValueError(f"{where}: capability {capability!r} is not one of "
                         f"{', '.join(sorted(CAPABILITIES))}")
    if remediation is None:
        raise ValueError(f"{where}: a technical control needs a remediation")
    remediation = _text(raw, "remediation", where)
    if cost_key is not None and cost_key not in COST_KEYS:
        raise ValueError(f"{where}: remediation_cost_key {cost_key!r} is not one of "
                         f"{', '.join(sorted(COST_KEYS))}")
    region_groups: tuple[str, ...] = ()
    if capability == "data_residency":
        if not isinstance(groups, list) or not groups:
            raise ValueError(f"{where}: a data_residency control needs region_groups")
        unknown = [g for g in groups if g not in GROUPS]
        if unknown:
            raise ValueError(f"{where}: unknown region group(s) {unknown}; known: "
                             f"{', '.join(GROUPS)}")
        region_groups = tuple(groups)
    elif groups is not None:
        raise ValueError(f"{where}: region_groups applies only to data_residency controls")
    note = _text(raw, "evidence_note", where) if "evidence_note" in raw else ""
    return Control(framework=framework, capability=capability, remediation=remediation,
                   remediation_cost_key=cost_key, region_groups=region_groups,
                   evidence_note=note, **text)  # type: ignore[arg-type]


def _check_keys(raw: dict, required: set[str], allowed: set[str], where: str) -> None:
    unknown = sorted(set(raw) - allowed)
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {', '.join(map(str, unknown))}")
    missing = sorted(required - set(raw))
    if missing:
        raise ValueError(f"{where}: missing key(s) {', '.join(missing)}")


def _text(raw: dict, key: str, where: str) -> str:
    value = raw[key]
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{where}: {key} must be a non-empty string")
    return " ".join(value.split())
