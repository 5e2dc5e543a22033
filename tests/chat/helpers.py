"""Real engine results for the chat tests: the bundled examples, assessed once each."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from infra_mind import assess

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
_RESULTS: dict[str, dict[str, Any]] = {}


def result_of(example: str) -> dict[str, Any]:
    """The engine's result for ``examples/<example>.yaml``, as stored (JSON), once."""
    if example not in _RESULTS:
        requirements = yaml.safe_load((EXAMPLES / f"{example}.yaml").read_text())
        _RESULTS[example] = assess(requirements).model_dump(mode="json")
    return _RESULTS[example]


def option(result: dict[str, Any], provider: str) -> dict[str, Any]:
    """The result's option on ``provider``."""
    return next(o for o in result["options"] if o["provider"] == provider)
