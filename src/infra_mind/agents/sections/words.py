"""How the sections word what several agents say: money, places, counts, lists, gaps.

Each agent's module writes its own sections; what two of them must say the same way (a
provider's name, an alternative's cost difference, a gap and its remediation cost) is said
here once, so the facts given to a model and the offline prose never drift apart.
"""

from __future__ import annotations

from infra_mind.engine.money import unit_price, usd, usd_change
from infra_mind.engine.result import AssessmentResult, LineItem, Option
from infra_mind.engine.workloads import ML_KINDS

PROVIDER_NAMES = {"aws": "AWS", "azure": "Azure", "gcp": "Google Cloud"}
#: How a gap's remediation cost reads, by its basis (``ControlResult.remediation_cost_basis``).
COST_WORDS = {"priced": "a priced running cost", "unpriced": "a running cost the catalog "
              "cannot price", "none": "configuration only, no added running cost"}


def saves(amount: float) -> str:
    """'saves $620.53', or 'costs $5.00 more' for a purchase option dearer than on demand."""
    return f"saves {usd(amount)}" if round(amount, 2) >= 0 else f"costs {usd(-amount)} more"


def pct(x: float) -> str:
    return f"{x:g}%"


def where(o: Option | object) -> str:
    provider = getattr(o, "provider", "")
    return f"{PROVIDER_NAMES.get(provider, provider)} {getattr(o, 'region', '')}"


def has_ml(r: AssessmentResult) -> bool:
    return any(w.type in ML_KINDS for w in r.requirements.workloads)


def recommended_option(r: AssessmentResult) -> Option | None:
    rec = r.recommended
    if rec is None:
        return None
    return next((o for o in r.options
                 if o.provider == rec.provider and o.region == rec.region), None)


def plural(n: int, word: str, many: str | None = None) -> str:
    return f"{n} {word if n == 1 else (many or word + 's')}"


def delta(a) -> str:
    """'$46.38 more (9.1%)', '$231.42 less (2.7%)' or 'the same' for an alternative."""
    change = usd_change(a.delta_usd)
    return change if change == "the same" else f"{change} ({pct(abs(a.delta_pct))})"


def why_not(a) -> list[str]:
    """The engine's reasons against an alternative, without the cost difference (said apart)."""
    return [w for w in a.why_not if not w.endswith("a month more")]


def best_saving(option: Option | None, *, commitments_only: bool = False):
    """The purchase option that saves the most on ``option`` against every machine on
    demand, if any saves at all; with ``commitments_only``, a term (reserved, savings
    plan), never spot. A term's saving is on the steady machines not already on spot
    (``commitment.analyse``), so where the design uses no term it adds to the design's
    own total: the design with it costs ``option.monthly_cost_usd - savings_usd``."""
    if option is None or len(option.commitment) < 2:
        return None
    choices = [c for c in option.commitment[1:]
               if not (commitments_only and c.purchase_option == "spot")]
    if not choices:
        return None
    best = max(choices, key=lambda c: c.savings_usd)
    return best if round(best.savings_usd, 2) > 0 else None


def with_term(option: Option) -> list[tuple[object, float, float]]:
    """Each term (reserved, savings plan) on ``option``'s steady machines, with the design's
    total under it and the saving as a share of the design: (option, total, percent)."""
    terms = " ".join(option.purchase_terms.values())
    if "reserved" in terms or "savings_plan" in terms:
        return []  # a term already in the design's total: the strategy says so
    out = []
    for c in option.commitment[1:]:
        if c.purchase_option == "spot" or option.monthly_cost_usd <= 0:
            continue
        out.append((c, round(option.monthly_cost_usd - c.savings_usd, 2),
                    round(100 * c.savings_usd / option.monthly_cost_usd, 1)))
    return out


def with_term_facts(option: Option | None) -> list[str]:
    """The facts the design-with-a-term figures are checked against."""
    if option is None:
        return []
    return [f"the design with {c.purchase_option} on the machines that run all month: "
            f"{usd(total)} a month, {usd(c.savings_usd)} less ({pct(share)})"
            for c, total, share in with_term(option)]


def bullets(lines: list[str]) -> str:
    return "\n".join(f"- {line}" for line in lines)


def gaps_of(r: AssessmentResult):
    return [c for c in r.compliance if c.status == "gap"]


def describe_line(li: LineItem) -> str:
    return (f"{li.workload} / {li.component}: {li.sku} ({li.service}), {li.quantity:,.2f} "
            f"{li.unit} at {unit_price(li.unit_price_usd)} = {usd(li.monthly_usd)} a month, "
            f"{li.purchase_option}")


def remediation_cost(c) -> str:
    """A gap's remediation cost in words: the figure where priced, never "no added running
    cost" unless the engine says it is configuration only."""
    if c.remediation_monthly_usd is not None:
        text = f"about {usd(c.remediation_monthly_usd)} a month"
    else:
        text = COST_WORDS.get(c.remediation_cost_basis, "cost not priced")
    return text + (f" ({c.remediation_cost_note})" if c.remediation_cost_note else "")


def gap_line(c) -> str:
    return f"{c.framework} {c.reference} {c.title}: {c.remediation}; {remediation_cost(c)}"
