"""The OpenAPI document, true to what the app answers: ``install(app)``.

FastAPI writes what each route declares. Some answers come from layers no route sees,
and one it guesses wrong; this completes the document once, when it is first asked for:

- ``PlatformMiddleware`` answers before routing, for every operation: 400 (U+0000 in
  the path, the query or the body, which PostgreSQL cannot store; or a body the client
  stopped sending) and 413 (a body over ``MAX_BODY_BYTES``), both ``ErrorBody``.
- Every 422 is ``ProblemsBody``, the body ``api.app`` answers (``{"detail": "invalid
  request", "problems": [...]}``, or a service's refusal). FastAPI publishes its
  ``HTTPValidationError`` (``{"detail": [{loc, msg, type}]}``), which no request ever
  gets: it is removed from the document.
- Every 429 carries ``Retry-After`` (``TooManyRequests`` always sets it).
- ``Requirements`` (what ``AssessmentCreate``/``AssessmentUpdate`` carry): the engine's
  model, as the service validates it. The API keeps the body a plain object so that
  the service names the problems (``invalid requirements``, paths from the document's
  root), so FastAPI does not see the model: its schema is added here, with two
  precisions pydantic does not publish (``requirements_schemas``).

What JSON Schema cannot say is in the descriptions, and the 422 names it: rules that
tie fields together (``avg_rps`` at most ``peak_rps``, unique workload names, ...) and
the password policy. tests/api/test_openapi_document.py checks this module;
tests/api/test_schemathesis.py checks the whole document against the app with every
schemathesis check.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import core_schema as cs

from infra_mind.api.schemas.assessments import REQUIREMENTS_REF, ErrorBody, ProblemsBody
from infra_mind.api.schemas.text import NOT_BLANK
from infra_mind.engine.requirements import REGION_CODES, Requirements

REF = "#/components/schemas/{model}"
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
#: FastAPI's default 422 schemas, replaced by ``ProblemsBody``.
FASTAPI_VALIDATION_SCHEMAS = ("HTTPValidationError", "ValidationError")


def _json(content_ref: str) -> dict[str, Any]:
    return {"application/json": {"schema": {"$ref": content_ref}}}


#: Answers of ``PlatformMiddleware`` (``api.app``), which every operation may get.
MIDDLEWARE_RESPONSES: dict[str, dict[str, Any]] = {
    "400": {"description": "Refused before routing: U+0000 in the path, the query or the "
                           "body (\"NUL characters (U+0000) are not allowed in requests\"), "
                           "or a body the client did not finish sending (\"request body "
                           "incomplete\")",
            "content": _json(REF.format(model="ErrorBody"))},
    "413": {"description": "The request body is over MAX_BODY_BYTES (default 1,000,000)",
            "content": _json(REF.format(model="ErrorBody"))},
}
RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait before asking again",
                               "required": True,
                               "schema": {"type": "integer", "minimum": 1}}}


def install(app: FastAPI) -> None:
    """Make ``app.openapi()`` (and ``/openapi.json``) return the completed document."""
    generate: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = complete(generate())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def complete(document: dict[str, Any]) -> dict[str, Any]:
    """FastAPI's ``document``, completed as the module docstring says (in place)."""
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for model in (ErrorBody, ProblemsBody):
        schemas.setdefault(model.__name__, model.model_json_schema(ref_template=REF))
    if REQUIREMENTS_REF in _refs(document):
        for name, schema in requirements_schemas().items():
            _add(schemas, name, schema)
    for operations in document.get("paths", {}).values():
        for method, operation in operations.items():
            if method not in HTTP_METHODS:
                continue
            responses = operation.setdefault("responses", {})
            for status, response in MIDDLEWARE_RESPONSES.items():
                responses.setdefault(status, copy.deepcopy(response))
            if "422" in responses:
                responses["422"]["content"] = _json(REF.format(model="ProblemsBody"))
            if "429" in responses:
                responses["429"].setdefault("headers", {}).update(RETRY_AFTER)
    for name in FASTAPI_VALIDATION_SCHEMAS:
        schemas.pop(name, None)
    if left := {REF.format(model=name) for name in FASTAPI_VALIDATION_SCHEMAS} & _refs(document):
        raise RuntimeError(f"the API document still refers to {', '.join(sorted(left))}")
    return document


def _add(schemas: dict[str, Any], name: str, schema: dict[str, Any]) -> None:
    """Add a component; one of the same name must be the same schema (the same model)."""
    if name in schemas and schemas[name] != schema:
        raise RuntimeError(f"two different schemas are named {name} in the API document")
    schemas[name] = schema


def _refs(node: Any) -> set[str]:
    """Every ``$ref`` in ``node``."""
    if isinstance(node, dict):
        found = {node["$ref"]} if isinstance(node.get("$ref"), str) else set()
        for value in node.values():
            found |= _refs(value)
        return found
    if isinstance(node, list):
        return set().union(*(_refs(value) for value in node))
    return set()


class _TrimmedStringsGenerator(GenerateJsonSchema):
    """pydantic's JSON Schema, plus ``NOT_BLANK`` on each string the model trims before
    checking ``min_length`` (the requirements' models set ``str_strip_whitespace``): a
    name of two spaces is refused, so the document must not allow it."""

    def str_schema(self, schema: cs.StringSchema) -> JsonSchemaValue:
        json_schema = super().str_schema(schema)
        # ``_config`` is the config of the model being written (pydantic keeps a stack);
        # tests/api/test_openapi_document.py fails if it stops saying so
        trimmed = schema.get("strip_whitespace") or self._config.str_strip_whitespace
        if trimmed and schema.get("min_length", 0) >= 1 and "pattern" not in json_schema:
            json_schema["pattern"] = NOT_BLANK
        return json_schema


def requirements_schemas() -> dict[str, dict[str, Any]]:
    """``Requirements`` and the schemas it uses, named as components.

    Three precisions over pydantic's schema, each a check of the models: trimmed names
    cannot be blank (see ``_TrimmedStringsGenerator``); ``preferences.regions`` lists the
    region codes the engine covers (``Preferences`` refuses any other); a worker gives
    exactly one of ``vcpu`` and ``vcpu_hours_per_month`` (``Worker``), which ``oneOf``
    says. The rules JSON Schema cannot state are in the description.
    """
    schema = Requirements.model_json_schema(ref_template=REF, mode="validation",
                                            schema_generator=_TrimmedStringsGenerator)
    found: dict[str, dict[str, Any]] = schema.pop("$defs")
    regions = found["Preferences"]["properties"]["regions"]
    regions["items"] = {"type": "string", "enum": sorted(REGION_CODES)}
    found["Worker"]["oneOf"] = [  # a measure counts when it is a number (null: absent)
        {"required": [measure], "properties": {measure: {"type": "number"}}}
        for measure in ("vcpu", "vcpu_hours_per_month")]
    schema["description"] = (
        f"{schema.get('description', '')} Also refused, naming the field: a web service's "
        "avg_rps above its peak_rps, an inference workload whose avg_tokens_per_sec is above "
        "its peak_tokens_per_sec or whose average prompt and output tokens exceed "
        "context_tokens, a GPU worker whose gpu.count is not a multiple of its "
        "gpu.per_machine, two workloads of the same name, and user_shares that do not "
        "give every place of users a share (and no other place) or do not add up to "
        "100.").strip()
    return {"Requirements": schema, **found}
