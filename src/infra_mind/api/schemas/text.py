"""Text the API trims before checking it, published as the API checks it.

A title of two spaces has two characters, so JSON Schema's ``minLength: 1`` allows it,
but the API cuts surrounding whitespace first and refuses it. Such fields carry a
``pattern`` in the document as well: the value holds a character other than whitespace.

Two trims are in use, and they differ: pydantic's ``strip_whitespace`` (Rust's ``trim``:
Unicode's White_Space property) and Python's ``str.strip``, which also cuts U+001C to
U+001F. The classes below are written out (``\\uXXXX``), not ``\\s``, because ``\\s``
means a third set in ECMA-262, whose regular expressions a JSON Schema pattern follows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue

#: Unicode's White_Space property: what pydantic's ``strip_whitespace`` cuts.
WHITE_SPACE: tuple[tuple[int, int], ...] = (
    (0x09, 0x0D), (0x20, 0x20), (0x85, 0x85), (0xA0, 0xA0), (0x1680, 0x1680),
    (0x2000, 0x200A), (0x2028, 0x2029), (0x202F, 0x202F), (0x205F, 0x205F),
    (0x3000, 0x3000))
#: What Python's ``str.strip()`` cuts: White_Space and the four information separators.
PYTHON_WHITESPACE: tuple[tuple[int, int], ...] = tuple(sorted((*WHITE_SPACE, (0x1C, 0x1F))))


def character_class(ranges: tuple[tuple[int, int], ...]) -> str:
    """The inside of a regular expression's ``[...]`` for these code point ranges."""
    return "".join(f"\\u{start:04x}" if start == end else f"\\u{start:04x}-\\u{end:04x}"
                   for start, end in ranges)


#: A pattern (unanchored, as JSON Schema's are) matched by text that is not only
#: whitespace, for each trim.
NOT_BLANK = f"[^{character_class(WHITE_SPACE)}]"
NOT_BLANK_PYTHON = f"[^{character_class(PYTHON_WHITESPACE)}]"


@dataclass(frozen=True)
class PublishedPattern:
    """``Annotated`` metadata: the document adds ``pattern`` to the string's schema,
    where validation already refuses what it excludes (a trim and ``min_length``
    refuse a blank value; a validator checks an email address); validation is
    unchanged."""

    pattern: str

    def __get_pydantic_json_schema__(self, core_schema: Any,
                                     handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        schema = handler(core_schema)
        schema["pattern"] = self.pattern
        return schema
