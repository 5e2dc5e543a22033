"""Evaluate a designed architecture against the requested compliance frameworks.

Pure and deterministic: the result depends only on the ``ArchitectureFacts``, the
framework list and the catalog files. Each control is judged on its own, so adding
a framework never changes another framework's results, and giving a design more
capabilities can only turn gaps into met controls, never the reverse.

Remediation costs are never made up here: the engine passes ``remediation_cost``,
which prices a cost key from its catalog or answers None when it cannot. A gap says which
of three its remediation is: priced (the figure and what it covers), unpriced (a running
cost the catalog cannot price), or none (a configuration change, ``NO_RUNNING_COST``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import NamedTuple

from infra_mind.engine.compliance.catalog import Control, load_controls
from infra_mind.engine.facts import CAPABILITIES, ArchitectureFacts
from infra_mind.engine.requirements import Framework
from infra_mind.engine.result import ControlResult


class RemediationPrice(NamedTuple):
    """The engine's price of a remediation: the monthly figure (None when the catalog cannot
    price it) and what the figure covers."""

    monthly_usd: float | None
    note: str = ""


#: The callback may answer a bare figure (or None) or a ``RemediationPrice``.
RemediationCost = Callable[[str], float | RemediationPrice | None]

#: Remediations that are configuration only, with why they add no running cost. Every
#: other remediation is taken to add one (storage, a service, a second copy): the result
#: says "cost not priced" for it rather than claim it is free.
#: Capability -> provider -> why closing the gap adds no running cost, in the provider's
#: own terms (an Azure design's note named ACM and Google-managed certificates).
NO_RUNNING_COST = {
    "encryption_at_rest": {
        "aws": "AWS-managed KMS keys cost nothing",
        "azure": "platform-managed keys cost nothing",
        "gcp": "Google's default encryption costs nothing"},
    "encryption_in_transit": {
        "aws": "certificates from AWS Certificate Manager (free on the load balancer) or an "
               "internal CA, and TLS-only settings",
        "azure": "certificates from an internal CA or a free public CA, and TLS-only "
                 "settings",
        "gcp": "Google-managed certificates (free on the load balancer) or an internal CA, "
               "and TLS-only settings"},
    "access_control": {
        "aws": "IAM roles cost nothing",
        "azure": "Microsoft Entra ID roles and Azure RBAC cost nothing",
        "gcp": "Cloud IAM roles and service accounts cost nothing"},
}
RESIDENCY_NOTE = ("moving to an allowed region changes the whole cost: compare the options "
                  "priced in those regions")


def _unpriced(key: str) -> float | None:
    return None


def evaluate(facts: ArchitectureFacts, frameworks: Sequence[Framework | str],
             remediation_cost: RemediationCost = _unpriced) -> list[ControlResult]:
    """One result per control of each requested framework.

    Frameworks come out in the order given (a repeated one only once), controls in
    catalog order. ``remediation_cost(key)`` is asked only for gaps whose control
    names a cost key; its answer (None when the engine cannot price it) becomes
    ``remediation_monthly_usd``. Raises ``ValueError`` for an unknown framework.
    """
    results: list[ControlResult] = []
    for framework in _unique(frameworks):
        for control in load_controls(framework):
            results.append(_judge(control, facts, remediation_cost))
    return results


def gap_count(results: Iterable[ControlResult]) -> int:
    """How many results are gaps the architecture could close."""
    return sum(1 for r in results if r.status == "gap")


def count_gaps(facts: ArchitectureFacts, frameworks: Sequence[Framework | str]) -> int:
    """``gap_count(evaluate(facts, frameworks))`` without building the results.

    The engine ranks every region it designs by its gaps and evaluates in full
    only the options it keeps; both go through ``_technical``.
    """
    return sum(1 for framework in _unique(frameworks) for control in load_controls(framework)
               if control.kind != "process" and not _technical(control, facts)[0])


def _unique(frameworks: Sequence[Framework | str]) -> list[str]:
    # Framework is a StrEnum, so str() gives "hipaa" for both spellings; load_controls
    # rejects unknown names.
    return list(dict.fromkeys(str(f) for f in frameworks))


#: A gap's remediation where the design is object storage and the CDN alone: the
#: control's own text speaks of databases and app servers the design does not have.
_STORAGE_ONLY_REMEDIATION = {
    "high_availability": "Keep the objects in a zone-redundant storage class (on Azure, "
                         "ZRS instead of LRS), so losing one zone or datacenter does not "
                         "stop the service.",
}


def _judge(control: Control, facts: ArchitectureFacts,
           remediation_cost: RemediationCost) -> ControlResult:
    base = dict(framework=control.framework, control_id=control.id,
                reference=control.reference, title=control.title)
    # built without re-validation: every field comes from the validated catalog
    if control.kind == "process":
        return ControlResult.model_construct(**base, status="customer", remediation="",
                                             remediation_monthly_usd=None,
                                             remediation_cost_basis="",
                                             remediation_cost_note="",
                             evidence=f"Customer responsibility, outside the architecture: "
                                      f"{control.requires}")
    met, evidence = _technical(control, facts)
    if met:
        return ControlResult.model_construct(**base, status="met", evidence=evidence,
                                             remediation="", remediation_monthly_usd=None,
                                             remediation_cost_basis="",
                                             remediation_cost_note="")
    cost, basis, note = _remediation(control, remediation_cost, facts.provider)
    remediation = ((facts.storage_only and _STORAGE_ONLY_REMEDIATION.get(control.capability))
                   or control.remediation)
    return ControlResult.model_construct(**base, status="gap", evidence=evidence,
                                         remediation=remediation,
                                         remediation_monthly_usd=cost,
                                         remediation_cost_basis=basis,
                                         remediation_cost_note=note)


def _remediation(control: Control, remediation_cost: RemediationCost, provider: str
                 ) -> tuple[float | None, str, str]:
    """(monthly USD, basis, note) of closing a gap: priced where the engine can, "none" only
    for configuration changes, else "unpriced"."""
    if control.remediation_cost_key:
        answer = remediation_cost(control.remediation_cost_key)
        price = answer if isinstance(answer, RemediationPrice) else RemediationPrice(answer)
        if price.monthly_usd is not None:
            return price.monthly_usd, "priced", price.note
        return None, "unpriced", price.note
    if control.capability in NO_RUNNING_COST:
        return None, "none", NO_RUNNING_COST[control.capability][provider]
    if control.capability == "data_residency":
        return None, "unpriced", RESIDENCY_NOTE
    return None, "unpriced", ""


def _technical(control: Control, facts: ArchitectureFacts) -> tuple[bool, str]:
    """(met, evidence) for a technical control."""
    capability = control.capability
    assert capability is not None  # the catalog guarantees it for technical controls
    if capability == "data_residency":
        return _residency(control, facts)
    if capability == "web_application_firewall" and not facts.has_public_endpoint:
        return True, "Not applicable: no public endpoint"
    kinds = {c.kind for c in facts.components}
    if capability == "backups" and "database" not in kinds:
        return True, "Not applicable: the design has no database"
    if capability == "disaster_recovery" and not kinds & {"database", "object_storage"}:
        return True, "Not applicable: the design stores no data (no database, no object storage)"
    if capability == "network_isolation" and facts.storage_only:
        return True, ("Not applicable: no machines, databases or caches to place in private "
                      "subnets; object storage and the CDN are the provider's endpoints")
    provider = facts.provides(capability)
    if provider:
        return True, _with_note(f"{provider} in {facts.region}", control)
    shortfall = facts.shortfalls.get(capability)
    if shortfall:
        return False, f"Not met: {shortfall}"
    return False, f"Not in this design: {CAPABILITIES[capability]}"


def _with_note(evidence: str, control: Control) -> str:
    return f"{evidence}. {control.evidence_note}" if control.evidence_note else evidence


def _residency(control: Control, facts: ArchitectureFacts) -> tuple[bool, str]:
    allowed = control.region_groups
    where = f"{facts.region} ({facts.country}, region group {facts.region_group})"
    if facts.region_group in allowed:
        return True, _with_note(f"All components in {where}", control)
    provider = facts.provides("data_residency")
    if provider and facts.residency_groups and set(facts.residency_groups) <= set(allowed):
        return True, _with_note(f"{provider}; residency restricted to "
                                f"{', '.join(facts.residency or facts.residency_groups)}",
                                control)
    return False, (f"Components in {where}, outside {', '.join(allowed)}; personal data "
                   f"would be transferred there")
