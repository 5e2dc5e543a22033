"""Reading reports back in tests: Markdown tables, HTML section ids, money."""

from __future__ import annotations

import html
import re

_CELL_SPLIT = re.compile(r"(?<!\\)\|")
_UNESCAPE = re.compile(r"\\(.)")


def unescape(text: str) -> str:
    return _UNESCAPE.sub(r"\1", text)


def md_sections(markdown: str) -> dict[str, list[str]]:
    """Each ``## `` section's non-blank lines, by title (unescaped)."""
    out: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in markdown.splitlines():
        if line.startswith("## "):
            current = out.setdefault(unescape(line[3:]), [])
        elif line == "---":
            current = None
        elif current is not None and line.strip():
            current.append(line)
    return out


def md_table(lines: list[str]) -> list[dict[str, str]]:
    """The first table among ``lines`` as rows of {column: cell text}."""
    rows = [line for line in lines if line.startswith("|")]
    if not rows:
        return []
    header, _rule, *body = rows
    names = _cells(header)
    return [dict(zip(names, _cells(row), strict=True)) for row in body]


def _cells(row: str) -> list[str]:
    return [unescape(cell.strip()) for cell in _CELL_SPLIT.split(row.strip()[1:-1])]


def money(text: str) -> float:
    """``$1,234.56`` / ``-$5.00`` as a number."""
    sign = -1 if text.startswith("-") else 1
    return sign * float(text.lstrip("-").removeprefix("$").replace(",", ""))


def plain(text: str) -> float:
    """``1,460`` / ``16.6667`` / ``12%`` as a number."""
    return float(text.replace(",", "").removesuffix("%"))


def html_section_ids(document: str) -> list[str]:
    return [html.unescape(m) for m in re.findall(r'<section id="([^"]*)">', document)]
