"""Write the API documents the web app's types are generated from (run with the project's venv).

- ``web/openapi.json``: the API's OpenAPI document, as ``create_app(...).openapi()`` gives it.
- ``web/engine-schema.json``: the engine's ``Requirements`` (as accepted) and
  ``AssessmentResult`` (as served) JSON Schemas, and the regions the catalog covers. The API
  serves both documents as free-form objects (``requirements``, ``result``), so its OpenAPI
  document does not describe them; the form and the results view need their shapes and bounds.

``--check`` writes nothing and exits 1 naming the stale file (a CI check).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from pydantic.json_schema import models_json_schema

from infra_mind.api.app import create_app
from infra_mind.catalog.regions import REGIONS
from infra_mind.config import load_settings
from infra_mind.engine.places import COUNTRIES, GROUP_ALIASES
from infra_mind.engine.requirements import Requirements
from infra_mind.engine.result import AssessmentResult

WEB = Path(__file__).resolve().parent.parent


def _dump(document: object, sort_keys: bool = True) -> str:
    return json.dumps(document, indent=1, sort_keys=sort_keys, ensure_ascii=False) + "\n"


def openapi_document() -> str:
    """The API's OpenAPI document (test settings: nothing is opened or written)."""
    settings = load_settings(environment="test", database_url="sqlite+aiosqlite:///:memory:",
                             jwt_secret_key="s" * 48)
    return _dump(create_app(settings).openapi())


def engine_document() -> str:
    """Requirements and AssessmentResult as OpenAPI components, plus ``x-regions``,
    ``x-countries`` (the countries ``users`` and ``data_residency`` may name, with names)
    and ``x-place-aliases`` (country codes read as region groups: US, CA, GB)."""
    _, top = models_json_schema([(Requirements, "validation"),
                                 (AssessmentResult, "serialization")],
                                ref_template="#/components/schemas/{model}")
    regions = [{"provider": r.provider.value, "code": r.code, "name": r.name,
                "group": r.group} for r in REGIONS.values()]
    countries = [{"code": c.code, "name": c.name} for c in COUNTRIES.values()]
    # the models' own field order is kept: the form shows the fields in that order
    return _dump({"openapi": "3.1.0",
                  "info": {"title": "Infra Mind engine documents", "version": "1"},
                  "paths": {}, "components": {"schemas": top["$defs"]},
                  "x-regions": regions, "x-countries": countries,
                  "x-place-aliases": GROUP_ALIASES}, sort_keys=False)


def main(argv: list[str]) -> int:
    """Write (or with ``--check``, compare) both documents; 1 when one is stale."""
    stale = []
    for name, text in (("openapi.json", openapi_document()),
                       ("engine-schema.json", engine_document())):
        path = WEB / name
        if "--check" in argv:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(name)
        else:
            path.write_text(text, encoding="utf-8")
    for name in stale:
        print(f"web/{name} is stale: run `npm run gen:schemas` in web/", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
