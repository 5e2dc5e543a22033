"""The bundled articles: one Markdown file per topic, with YAML front matter.

The chat assistant answers questions about cloud mechanisms (pricing models,
availability patterns, compliance duties) from these articles rather than from
the model's memory, so every article names the vendor or standards-body page it
was written from. Loading is strict, like the compliance control catalog: a file
with a missing or unknown key, an id that is not its filename, or a source that
is not an https link is an error naming the file, never an article silently
dropped. Articles carry no prices: prices come only from the dated catalog.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

#: Where the bundled articles live (package data).
ARTICLES_DIR = (Path(__file__).parent / "articles").resolve()

_KEYS = {"id", "title", "tags", "sources"}
_SOURCE_KEYS = {"title", "url"}
_ID = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_TAG = re.compile(r"[a-z0-9]+(?:[-_][a-z0-9]+)*")
_FRONT_MATTER = re.compile(r"\A---\n(.*?)\n---\n(.*)\Z", re.DOTALL)


class KnowledgeError(ValueError):
    """A malformed article; the message is one line naming the file and the problem."""


@dataclass(frozen=True, slots=True)
class Source:
    """A public page an article was written from."""

    title: str
    url: str


@dataclass(frozen=True, slots=True)
class Article:
    """One knowledge-base article: front matter plus a short Markdown body."""

    id: str  # lowercase slug, equal to the file's stem
    title: str
    tags: tuple[str, ...]
    sources: tuple[Source, ...]
    body: str


def load_articles(directory: Path | None = None) -> list[Article]:
    """Every ``*.md`` article in ``directory`` (default: the bundled folder), sorted by id.

    Raises ``KnowledgeError`` for the first malformed file.
    """
    base = ARTICLES_DIR if directory is None else Path(directory)
    return [parse_article(path) for path in sorted(base.glob("*.md"))]


def parse_article(path: Path) -> Article:
    """Parse and validate one article file."""
    text = path.read_text(encoding="utf-8").replace("\r\n", "\n")
    match = _FRONT_MATTER.match(text)
    if match is None:
        raise _error(path, "must start with a '---' YAML front matter block closed by '---'")
    try:
        meta = yaml.safe_load(match.group(1))
    except yaml.YAMLError as exc:
        raise _error(path, f"front matter is not valid YAML ({_one_line(str(exc))})") from None
    if not isinstance(meta, dict):
        raise _error(path, "front matter must be a mapping")
    _check_keys(path, meta, _KEYS, "front matter")
    article_id = _string(path, meta, "id")
    if not _ID.fullmatch(article_id):
        raise _error(path, f"id {article_id!r} is not a lowercase slug")
    if article_id != path.stem:
        raise _error(path, f"id {article_id!r} does not match the filename {path.stem!r}")
    body = match.group(2).strip()
    if not body:
        raise _error(path, "body is empty")
    return Article(id=article_id, title=_string(path, meta, "title"),
                   tags=_tags(path, meta["tags"]), sources=_sources(path, meta["sources"]),
                   body=body)


def _tags(path: Path, raw: Any) -> tuple[str, ...]:
    if not isinstance(raw, list) or not raw:
        raise _error(path, "tags must be a non-empty list")
    for tag in raw:
        if not isinstance(tag, str) or not _TAG.fullmatch(tag):
            raise _error(path, f"tag {tag!r} is not a lowercase word")
    return tuple(raw)


def _sources(path: Path, raw: Any) -> tuple[Source, ...]:
    if not isinstance(raw, list) or not raw:
        raise _error(path, "sources must be a non-empty list")
    sources = []
    for item in raw:
        if not isinstance(item, dict):
            raise _error(path, "each source must be a mapping with title and url")
        _check_keys(path, item, _SOURCE_KEYS, "source")
        url = _string(path, item, "url")
        if not url.startswith("https://") or len(url) <= len("https://") or " " in url:
            raise _error(path, f"source url {url!r} is not an https URL")
        sources.append(Source(title=_string(path, item, "title"), url=url))
    return tuple(sources)


def _check_keys(path: Path, mapping: dict[Any, Any], expected: set[str], where: str) -> None:
    missing = expected - mapping.keys()
    if missing:
        raise _error(path, f"{where} is missing {', '.join(sorted(missing))}")
    unknown = mapping.keys() - expected
    if unknown:
        raise _error(path, f"{where} has unknown key {', '.join(sorted(map(str, unknown)))}")


def _string(path: Path, mapping: dict[str, Any], key: str) -> str:
    value = mapping[key]
    if not isinstance(value, str) or not value.strip():
        raise _error(path, f"{key} must be a non-empty string")
    return value.strip()


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _error(path: Path, problem: str) -> KnowledgeError:
    return KnowledgeError(_one_line(f"{path}: {problem}"))
