"""A ``Report`` as Markdown (CommonMark with GitHub-style tables).

Plain text from the engine and the user (the requirements' name, workload names, notes)
is escaped, so it reads as written wherever the Markdown is rendered; an agent's
Markdown is included as written.
"""

from __future__ import annotations

import re

from infra_mind.reports.document import Report, Section, Table, cell_text

#: CommonMark punctuation that can start Markup anywhere in a line.
_INLINE = re.compile(r"([\\`*\[\]<|~])")
#: ``_`` starts emphasis only next to a non-word character (``on_demand`` stays as is).
_UNDERSCORE = re.compile(r"(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])")
#: ``&`` matters only where it would spell an entity.
_ENTITY = re.compile(r"&(?=#?[A-Za-z0-9]+;)")
#: What turns a line into a heading, a list item, a quote or a rule.
_LINE_START = re.compile(r"^(\s*)([#>+=-]|\d+[.)])")


def escape(text: str, *, cell: bool = False) -> str:
    """Plain text as Markdown that renders to exactly that text, on one line (a table
    cell when ``cell``: nothing there starts a block)."""
    text = " ".join(text.split())
    text = _INLINE.sub(r"\\\1", text)
    text = _UNDERSCORE.sub(r"\\_", text)
    text = _ENTITY.sub(r"\\&", text)
    if cell:
        return text
    return _LINE_START.sub(lambda m: m.group(1) + m.group(2)[:-1] + "\\" + m.group(2)[-1],
                           text)


def to_markdown(report: Report) -> str:
    out = [f"# {escape(report.title)}", "", f"_{escape(report.subtitle)}_", ""]
    out += [line for note in report.notes for line in (f"> {escape(note)}", "")]
    for section in report.sections:
        out += _section(section)
    out += ["---", ""]
    out += [line for text in report.footer.lines() for line in (f"_{escape(text)}_", "")]
    return "\n".join(out).rstrip("\n") + "\n"


def _section(section: Section) -> list[str]:
    out = [f"## {escape(section.title)}", ""]
    out += [line for text in section.paragraphs for line in (escape(text), "")]
    if section.markdown:
        out += [section.markdown, ""]
    if section.bullets:
        out += [f"- {escape(text)}" for text in section.bullets] + [""]
    if section.table is not None:
        out += [*_table(section.table), ""]
    return out


def _table(table: Table) -> list[str]:
    header = "| " + " | ".join(escape(c.name, cell=True) for c in table.columns) + " |"
    rule = "|" + "|".join("---:" if c.numeric else "---" for c in table.columns) + "|"
    rows = ["| " + " | ".join(escape(cell_text(value, column.kind), cell=True)
                              for value, column in zip(row, table.columns, strict=True)) + " |"
            for row in table.rows]
    return [header, rule, *rows]
