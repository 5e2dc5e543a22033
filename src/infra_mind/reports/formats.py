"""The reports' kinds and formats, their media types and the HTML report's CSP: what the
API's report route declares (in its signature and the OpenAPI document), apart from the
renderers (markdown-it and the report builders), which load with the first report."""

from __future__ import annotations

from enum import StrEnum


class ReportKind(StrEnum):
    EXECUTIVE = "executive"
    TECHNICAL = "technical"
    COMPLIANCE = "compliance"


class ReportFormat(StrEnum):
    MD = "md"
    HTML = "html"
    JSON = "json"


MEDIA_TYPES = {ReportFormat.MD: "text/markdown; charset=utf-8",
               ReportFormat.HTML: "text/html; charset=utf-8",
               ReportFormat.JSON: "application/json"}

#: The HTML report loads nothing: its meta tag, and the header the API serves it with.
HTML_CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
            "base-uri 'none'; form-action 'none'")
