"""``/docs``: Swagger UI from files installed with the package, so it works offline.

FastAPI's own page loads Swagger UI from a CDN (a blank page without the network) and
starts it with an inline script (which a strict Content-Security-Policy refuses). Here
the page, its start script and Swagger UI's files (from the ``fastapi-offline`` package,
pinned in pyproject.toml) are all served by the API itself, and the page's policy allows
only this origin: no inline script, no other host. ``/openapi.json`` is the document it
shows. None of these routes is in the OpenAPI document.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response

from infra_mind.api.spa import APP_CSP, REVALIDATE

DOCS_PATH = "/docs"
#: Swagger UI's files, by the name they are served under ``/docs/assets/``.
ASSETS = ("swagger-ui-bundle.js", "swagger-ui.css", "favicon.png")
#: The same policy as the app's pages: Swagger UI needs nothing beyond this origin (its
#: images are data: URLs in its CSS; the styles it sets, it sets through the DOM).
DOCS_CSP = APP_CSP

DOCS_PAGE = f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Infra Mind API</title>
<link rel="icon" type="image/png" href="{DOCS_PATH}/assets/favicon.png">
<link rel="stylesheet" href="{DOCS_PATH}/assets/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<noscript>This page needs JavaScript; the API's document is at /openapi.json.</noscript>
<script src="{DOCS_PATH}/assets/swagger-ui-bundle.js"></script>
<script src="{DOCS_PATH}/swagger-init.js"></script>
</body>
</html>
"""
#: What FastAPI's page runs inline (its default parameters), as a file of this origin.
INIT_SCRIPT = """window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  layout: "BaseLayout",
  deepLinking: true,
  showExtensions: true,
  showCommonExtensions: true,
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
});
"""


def swagger_ui_dir() -> Path:
    """Where the installed ``fastapi-offline`` keeps Swagger UI's files."""
    return Path(str(files("fastapi_offline") / "static"))


def _headers() -> dict[str, str]:
    return {"Cache-Control": REVALIDATE, "Content-Security-Policy": DOCS_CSP}


def install(app: FastAPI) -> None:
    """Serve ``/docs``, its start script and Swagger UI's files (FastAPI's own ``/docs``
    must be off: ``docs_url=None``)."""
    folder = swagger_ui_dir()

    @app.get(DOCS_PATH, include_in_schema=False)
    async def docs() -> HTMLResponse:
        return HTMLResponse(DOCS_PAGE, headers=_headers())

    @app.get(f"{DOCS_PATH}/swagger-init.js", include_in_schema=False)
    async def swagger_init() -> Response:
        return Response(INIT_SCRIPT, media_type="text/javascript", headers=_headers())

    @app.get(f"{DOCS_PATH}/assets/{{name}}", include_in_schema=False)
    async def swagger_asset(name: str) -> Response:
        if name not in ASSETS:
            return JSONResponse({"detail": "Not Found"}, status_code=404)
        return FileResponse(folder / name, headers=_headers())
