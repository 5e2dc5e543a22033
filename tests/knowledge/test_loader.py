"""Strict loading: a malformed article fails with one line naming the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from infra_mind.knowledge import KnowledgeError, Source, load_articles

BODY = "Some plain prose about a cloud mechanism.\n"


def _write(directory: Path, name: str, front_matter: str, body: str = BODY) -> Path:
    path = directory / f"{name}.md"
    path.write_text(f"---\n{front_matter}---\n{body}", encoding="utf-8")
    return path


GOOD = """id: {id}
title: A title
tags: [aws, pricing]
sources:
  - title: "A page"
    url: https://example.com/page
"""


def test_loads_a_valid_directory(tmp_path: Path) -> None:
    _write(tmp_path, "b-article", GOOD.format(id="b-article"))
    _write(tmp_path, "a-article", GOOD.format(id="a-article"))
    articles = load_articles(tmp_path)
    assert [a.id for a in articles] == ["a-article", "b-article"]
    first = articles[0]
    assert first.tags == ("aws", "pricing")
    assert first.sources == (Source(title="A page", url="https://example.com/page"),)
    assert first.body == BODY.strip()


@pytest.mark.parametrize(
    ("front_matter", "problem"),
    [
        (GOOD.format(id="bad").replace("title: A title\n", ""), "missing title"),
        (GOOD.format(id="bad") + "author: me\n", "unknown key author"),
        (GOOD.format(id="other"), "does not match the filename"),
        ("id: bad\ntitle: T\ntags: [aws]\nsources: []\n", "sources must be a non-empty list"),
        (GOOD.format(id="bad").replace("https://", "http://"), "not an https URL"),
        (GOOD.format(id="bad").replace('    url: https://example.com/page\n', ""),
         "source is missing url"),
        (GOOD.format(id="bad").replace("tags: [aws, pricing]", "tags: []"),
         "tags must be a non-empty list"),
        ("id: bad\ntitle: [unclosed\n", "not valid YAML"),
    ],
)
def test_malformed_front_matter_raises_one_line_naming_the_file(
        tmp_path: Path, front_matter: str, problem: str) -> None:
    _write(tmp_path, "bad", front_matter)
    with pytest.raises(KnowledgeError) as excinfo:
        load_articles(tmp_path)
    message = str(excinfo.value)
    assert "\n" not in message
    assert "bad.md" in message
    assert problem in message


def test_missing_front_matter_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "plain.md").write_text("# Just a heading\n", encoding="utf-8")
    with pytest.raises(KnowledgeError, match=r"plain\.md: must start with"):
        load_articles(tmp_path)


def test_empty_body_is_an_error(tmp_path: Path) -> None:
    _write(tmp_path, "empty", GOOD.format(id="empty"), body="\n")
    with pytest.raises(KnowledgeError, match=r"empty\.md: body is empty"):
        load_articles(tmp_path)
