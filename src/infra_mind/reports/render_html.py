"""A ``Report`` as one self-contained, printable HTML document.

Nothing is fetched: the CSS is inline, there are no scripts, fonts or images, and a
Content-Security-Policy meta tag forbids loading any. An agent's Markdown (untrusted) is
converted by markdown-it with raw HTML off, so HTML in it comes out as text; markdown-it
also refuses ``javascript:``, ``vbscript:``, ``file:`` and ``data:`` links, and images are
off (a remote image would be an external asset). Every other string is ``html.escape``d.
"""

from __future__ import annotations

from html import escape

from markdown_it import MarkdownIt
from markdown_it.token import Token

from infra_mind.reports.document import Report, Section, Table, cell_text
from infra_mind.reports.formats import HTML_CSP

_MARKDOWN = MarkdownIt("commonmark", {"html": False}).enable("table").disable("image")

#: Headings inside an agent's section start below the section's own ``<h2>``.
HEADING_SHIFT = 2

STYLE = """
:root { color-scheme: light; }
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial,
       sans-serif; color: #1f2328; max-width: 72rem; margin: 2rem auto; padding: 0 1.5rem;
       line-height: 1.5; font-size: 15px; }
h1 { font-size: 1.8rem; margin-bottom: 0.2rem; }
h2 { font-size: 1.3rem; border-bottom: 1px solid #d0d7de; padding-bottom: 0.2rem;
     margin-top: 2rem; }
h3, h4, h5, h6 { font-size: 1.05rem; }
.subtitle { color: #57606a; margin-top: 0; }
.note { border-left: 4px solid #d4a72c; background: #fff8c5; padding: 0.5rem 0.8rem; }
table { border-collapse: collapse; width: 100%; margin: 0.8rem 0; font-size: 0.85rem; }
th, td { border: 1px solid #d0d7de; padding: 0.3rem 0.5rem; text-align: left;
         vertical-align: top; overflow-wrap: anywhere; }
th { background: #f6f8fa; }
td.num, th.num { text-align: right; white-space: nowrap; }
code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
       font-size: 0.9em; background: #f6f8fa; padding: 0 0.2em; }
pre { background: #f6f8fa; padding: 0.6rem; overflow-x: auto; }
footer { margin-top: 2.5rem; border-top: 1px solid #d0d7de; color: #57606a;
         font-size: 0.85rem; }
@media print {
  body { margin: 0; max-width: none; font-size: 11pt; }
  h2 { break-after: avoid; }
  tr, .note { break-inside: avoid; }
  thead { display: table-header-group; }
  a { color: inherit; text-decoration: none; }
}
"""


def to_html(report: Report) -> str:
    parts = ["<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
             f'<meta http-equiv="Content-Security-Policy" content="{HTML_CSP}">',
             '<meta name="viewport" content="width=device-width, initial-scale=1">',
             f"<title>{escape(report.title)}</title>", f"<style>{STYLE}</style>", "</head>",
             f'<body class="report report-{escape(report.kind)}">', "<header>",
             f"<h1>{escape(report.title)}</h1>",
             f'<p class="subtitle">{escape(report.subtitle)}</p>']
    parts += [f'<p class="note">{escape(note)}</p>' for note in report.notes]
    parts += ["</header>", "<main>"]
    parts += [_section(s) for s in report.sections]
    parts += ["</main>", "<footer>"]
    parts += [f"<p>{escape(line)}</p>" for line in report.footer.lines()]
    parts += ["</footer>", "</body>", "</html>"]
    return "\n".join(parts) + "\n"


def markdown_html(text: str) -> str:
    """An agent's Markdown as HTML: raw HTML escaped, unsafe links refused, no images,
    headings moved below the section title."""
    tokens = _MARKDOWN.parse(text)
    for token in tokens:
        _shift_heading(token)
    return _MARKDOWN.renderer.render(tokens, _MARKDOWN.options, {})


def _shift_heading(token: Token) -> None:
    if token.type in ("heading_open", "heading_close"):
        level = min(int(token.tag[1]) + HEADING_SHIFT, 6)
        token.tag = f"h{level}"


def _section(section: Section) -> str:
    parts = [f'<section id="{escape(section.key)}">', f"<h2>{escape(section.title)}</h2>"]
    parts += [f"<p>{escape(text)}</p>" for text in section.paragraphs]
    if section.markdown:
        parts.append(f'<div class="narrative">{markdown_html(section.markdown)}</div>')
    if section.bullets:
        parts.append("<ul>" + "".join(f"<li>{escape(b)}</li>" for b in section.bullets)
                     + "</ul>")
    if section.table is not None:
        parts.append(_table(section.table))
    parts.append("</section>")
    return "\n".join(parts)


def _table(table: Table) -> str:
    head = "".join(f'<th class="num">{escape(c.name)}</th>' if c.numeric
                   else f"<th>{escape(c.name)}</th>" for c in table.columns)
    rows = []
    for row in table.rows:
        cells = "".join(
            ('<td class="num">' if column.numeric else "<td>")
            + escape(cell_text(value, column.kind)) + "</td>"
            for value, column in zip(row, table.columns, strict=True))
        rows.append(f"<tr>{cells}</tr>")
    return (f"<table><thead><tr>{head}</tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table>")
