"""The documents the web app's API types are generated from are fresh (issue #13).

``web/openapi.json`` (the API's OpenAPI document) and ``web/engine-schema.json`` (the
engine's requirements and result schemas) are committed, and ``npm run gen:api`` turns them
into ``web/src/api/*.d.ts``, which ``npm run check:api`` (scripts/test-web) compares. This
test closes the loop on the Python side: a change to the API or the engine that is not
exported (``npm run gen:schemas`` in web/, or ``web/scripts/export_schemas.py``) fails here,
with or without Node.js.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

WEB = Path(__file__).resolve().parents[2] / "web"


def _exporter() -> ModuleType:
    spec = importlib.util.spec_from_file_location("export_schemas",
                                                  WEB / "scripts" / "export_schemas.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_web_documents_match_the_code():
    exporter = _exporter()
    for name, text in (("openapi.json", exporter.openapi_document()),
                       ("engine-schema.json", exporter.engine_document())):
        committed = (WEB / name).read_text(encoding="utf-8")
        assert committed == text, (f"web/{name} is stale: run `npm run gen:schemas` and then "
                                   "`npm run gen:api` in web/")


def test_the_check_fails_on_a_stale_document(tmp_path, monkeypatch, capsys):
    """``export_schemas.py --check`` (what the test above relies on) refuses a changed file."""
    exporter = _exporter()
    for name in ("openapi.json", "engine-schema.json"):
        (tmp_path / name).write_text((WEB / name).read_text(encoding="utf-8"))
    monkeypatch.setattr(exporter, "WEB", tmp_path)
    assert exporter.main(["--check"]) == 0
    stale = (tmp_path / "openapi.json").read_text().replace('"title": "Infra Mind"',
                                                            '"title": "Infra Mind (old)"')
    (tmp_path / "openapi.json").write_text(stale)
    assert exporter.main(["--check"]) == 1
    assert "web/openapi.json is stale" in capsys.readouterr().err
