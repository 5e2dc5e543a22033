"""Reading a requirements file, with errors a person can act on.

Every problem becomes one line naming the field path as a user writes it
(``workloads[0].peak_rps``), never a traceback.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from infra_mind.engine.requirements import Requirements
from infra_mind.engine.workloads import WorkloadKind

MAX_FILE_BYTES = 1_000_000
_WORKLOAD_TYPES = frozenset(kind.value for kind in WorkloadKind)


class _Yaml12Loader(yaml.SafeLoader):
    """PyYAML's safe loader with YAML 1.2's booleans: only true and false. YAML 1.1 also
    reads yes, no, on and off as booleans, so a country list ``[NO, SE]`` (Norway) became
    ``[false, "SE"]``; the web app's parser (the ``yaml`` package) already reads 1.2."""


_BOOL = "tag:yaml.org,2002:bool"
_Yaml12Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != _BOOL]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}
_Yaml12Loader.add_implicit_resolver(_BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
                                    list("tTfF"))


class RequirementsError(Exception):
    """The file could not be read or is not valid; ``problems`` has one line each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def field_path(loc: tuple[Any, ...]) -> str:
    """``('workloads', 0, 'web_service', 'peak_rps')`` -> ``workloads[0].peak_rps``."""
    parts: list[str] = []
    prev: Any = None
    for item in loc:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        elif isinstance(prev, int) and item in _WORKLOAD_TYPES:
            pass  # the discriminator pydantic adds for a workload's type
        elif isinstance(item, str) and item.startswith(("function-", "literal[")):
            pass
        elif item == "[key]":
            pass  # a mapping's key refused: the path names it already
        else:
            parts.append(("." if parts else "") + str(item))
        prev = item
    return "".join(parts) or "(file)"


def _message(err: dict[str, Any]) -> str:
    kind = err.get("type", "")
    if kind == "extra_forbidden":
        return "unknown field (not part of the requirements schema)"
    if kind == "missing":
        return "required field is missing"
    if kind == "union_tag_invalid":
        return f"unknown workload type; one of: {', '.join(sorted(_WORKLOAD_TYPES))}"
    if kind == "union_tag_not_found":
        return f"workload needs a type: one of {', '.join(sorted(_WORKLOAD_TYPES))}"
    msg = str(err.get("msg", "invalid"))
    return msg.removeprefix("Value error, ")


def validation_problems(exc: ValidationError) -> list[str]:
    return [f"{field_path(tuple(e['loc']))}: {_message(e)}" for e in exc.errors()]


def parse_requirements(data: Any) -> Requirements:
    try:
        return Requirements.model_validate(data)
    except ValidationError as exc:
        raise RequirementsError(validation_problems(exc)) from None


def load_requirements(path: Path | str) -> Requirements:
    """Read a YAML or JSON requirements file (by content; JSON is YAML too)."""
    path = Path(path)
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise RequirementsError([f"{path}: larger than {MAX_FILE_BYTES:,} bytes"])
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RequirementsError([f"{path}: no such file"]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise RequirementsError([f"{path}: cannot read: {exc}"]) from None
    try:
        data = (json.loads(text) if path.suffix.lower() == ".json"
                else yaml.load(text, Loader=_Yaml12Loader))
    except json.JSONDecodeError as exc:
        raise RequirementsError([f"{path}: not valid JSON: line {exc.lineno}: {exc.msg}"]) \
            from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise RequirementsError([f"{path}: not valid YAML: {where}{problem}"]) from None
    if not isinstance(data, dict):
        raise RequirementsError([f"{path}: expected a mapping of requirements at the top level"])
    return parse_requirements(data)
