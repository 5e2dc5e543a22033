"""Advices for the report tests: real engine results, with and without a narrative."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

import infra_mind
from infra_mind.agents.narrative import SECTIONS, Section

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
#: ML (training / inference, GDPR) and compliance-heavy (HIPAA; PCI DSS and GDPR) examples.
NAMES = ("llm-inference", "model-fine-tuning", "hipaa-telehealth", "eu-fintech")

#: Sections the offline writer wrote in ``narrative()``.
OFFLINE = {("cto", "risks"), ("compliance", "gaps"), ("report_writer", "technical_overview")}

USAGE = {"providers": {"openai": {"requests": 7, "failures": 1, "input_tokens": 9000,
                                  "output_tokens": 2500, "cost_usd": 0.0425},
                       "anthropic": {"requests": 2, "failures": 0, "input_tokens": 1000,
                                     "output_tokens": 500, "cost_usd": 0.0075}},
         "agents": {"cto": {"requests": 9, "input_tokens": 10000, "output_tokens": 3000,
                            "cost_usd": 0.05}}}


def requirements(name: str) -> dict[str, Any]:
    return yaml.safe_load((EXAMPLES / f"{name}.yaml").read_text())


def result_json(requirements_: dict[str, Any]) -> dict[str, Any]:
    return infra_mind.assess(requirements_).model_dump(mode="json")


def narrative(sections: dict[str, dict[str, str]] | None = None,
              skip: frozenset[tuple[str, str]] = frozenset()) -> dict[str, Any]:
    """A narrative as JSON with every section of ``SECTIONS`` (except ``skip``), each
    validated against ``Section``; ``sections`` overrides the Markdown of some."""
    out: dict[str, Any] = {}
    for agent, keys in SECTIONS.items():
        for key, title in keys.items():
            if (agent, key) in skip:
                continue
            markdown = (sections or {}).get(agent, {}).get(
                key, f"Text of **{agent}.{key}**.\n\n- one point\n- another point")
            offline = (agent, key) in OFFLINE
            entry = Section(agent=agent, key=key, title=title, markdown=markdown,
                            author="offline" if offline else "openai/gpt-test",
                            number_check="offline" if offline else "passed",
                            note="no provider configured" if offline else "")
            out.setdefault(agent, {})[key] = entry.model_dump(mode="json")
    return out


def advise(result: dict[str, Any], narrative_: dict[str, Any] | None = None,
           usage: dict[str, Any] | None = None) -> dict[str, Any]:
    advice = copy.deepcopy(result)
    if narrative_ is not None:
        advice["narrative"] = narrative_
    if usage is not None:
        advice["llm_usage"] = usage
    return advice


@pytest.fixture(scope="session")
def results() -> dict[str, dict[str, Any]]:
    """Engine results as JSON, by example name."""
    return {name: result_json(requirements(name)) for name in NAMES}
