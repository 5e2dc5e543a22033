"""The OpenAPI document says what the app answers (#10, item 14).

Fast checks of what schemathesis's ``--checks all`` found wrong: every operation documents
the middleware's 400 and 413, every 422 is the body the app sends, a 405 names every
method of its path in ``Allow``, a 429 documents ``Retry-After``, and request schemas are
no looser than validation (blank text, requirements, enums, email addresses, JSON types).
tests/api/test_schemathesis.py runs every schemathesis check against the app.
"""

from __future__ import annotations

import re
from typing import Any

import jsonschema_rs  # schemathesis's JSON Schema validator (installed with it)
import pytest
import schemathesis
from pydantic import BaseModel, TypeAdapter, ValidationError

from infra_mind.api.app import create_app
from infra_mind.api.schemas.auth import EMAIL_PATTERN, RegisterIn
from infra_mind.api.schemas.text import NOT_BLANK, NOT_BLANK_PYTHON, PYTHON_WHITESPACE, WHITE_SPACE
from infra_mind.config import load_settings
from infra_mind.engine.requirements import REGION_CODES, Worker
from tests.api.helpers import REQUIREMENTS, create_member

BASE = "/api/v1/assessments"
METHODS = ("get", "put", "post", "delete", "patch")
SCHEMAS = "#/components/schemas/"


def _document() -> dict[str, Any]:
    """The app's document (building the app touches no database)."""
    placeholder = load_settings(environment="test", database_url="sqlite+aiosqlite:///:memory:",
                                redis_url=None, jwt_secret_key="s" * 48)
    return create_app(placeholder).openapi()


DOCUMENT = _document()
OPERATIONS = {(path, method): operation for path, item in DOCUMENT["paths"].items()
              for method, operation in item.items() if method in METHODS}


def _schema_ref(response: dict[str, Any]) -> str:
    return response["content"]["application/json"]["schema"]["$ref"]


def test_every_operation_documents_the_middleware_answers():
    assert len(OPERATIONS) > 30
    for (path, method), operation in OPERATIONS.items():
        for status in ("400", "413"):
            response = operation["responses"].get(status)
            assert response is not None, (method, path, status)
            assert _schema_ref(response) == f"{SCHEMAS}ErrorBody", (method, path, status)


def test_every_422_is_the_body_the_app_sends():
    assert "HTTPValidationError" not in DOCUMENT["components"]["schemas"]
    assert "HTTPValidationError" not in str(DOCUMENT)
    with_422 = [(key, op) for key, op in OPERATIONS.items() if "422" in op["responses"]]
    assert len(with_422) > 20
    for key, operation in with_422:
        assert _schema_ref(operation["responses"]["422"]) == f"{SCHEMAS}ProblemsBody", key
    problems = DOCUMENT["components"]["schemas"]["ProblemsBody"]
    assert problems["required"] == ["detail"]
    assert problems["properties"]["problems"]["items"] == {"type": "string"}


def test_every_429_documents_retry_after():
    with_429 = [(key, op) for key, op in OPERATIONS.items() if "429" in op["responses"]]
    assert len(with_429) > 10
    for key, operation in with_429:
        header = operation["responses"]["429"]["headers"]["Retry-After"]
        assert header["required"] is True, key


async def test_real_answers_match_the_document(app, client):
    """Validation 422s (a body; a header, where FastAPI's own 422 schema was published),
    a service's 422, the middleware's 400 and 413: each is documented for its operation
    and validates against the published schema, as schemathesis validates it."""
    owner = await create_member(app)
    created = await client.post(BASE, headers=owner.headers,
                                json={"title": "t", "requirements": REQUIREMENTS})
    assert created.status_code == 201, created.text
    run = f"{BASE}/{created.json()['id']}/run"
    too_large = app.state.platform.settings.max_body_bytes + 1
    answers = {
        ("POST", BASE, "validation 422"): await client.post(
            BASE, headers=owner.headers, json={"title": 5}),
        ("POST", BASE, "service 422"): await client.post(BASE, headers=owner.headers, json={
            "title": "t", "requirements": {**REQUIREMENTS, "name": ""}}),
        ("POST", BASE, "NUL 400"): await client.post(
            BASE, headers=owner.headers, content=b'{"title": "a\\u0000b"}'),
        ("POST", BASE, "too large 413"): await client.post(BASE, headers={
            **owner.headers, "Content-Type": "application/json"}, content=b" " * too_large),
        ("POST", f"{BASE}/{{assessment_id}}/run", "header 422"): await client.post(
            run, headers={**owner.headers, "Idempotency-Key": "a\tb"}),
    }
    statuses = {name: r.status_code for (_, _, name), r in answers.items()}
    assert statuses == {"validation 422": 422, "service 422": 422, "NUL 400": 400,
                        "too large 413": 413, "header 422": 422}
    document = schemathesis.openapi.from_dict((await client.get("/openapi.json")).json())
    for (method, path, name), response in answers.items():
        documented = DOCUMENT["paths"][path][method.lower()]["responses"]
        assert str(response.status_code) in documented, name
        try:
            document[path][method].validate_response(response)
        except AssertionError as exc:
            pytest.fail(f"{name}: {exc}")


async def test_405_allows_exactly_the_documented_methods(client):
    """Starlette names only the first route's methods; FastAPI has one route per method."""
    for path, item in DOCUMENT["paths"].items():
        documented = {m.upper() for m in item if m in METHODS}
        url = re.sub(r"\{[^}]+\}", "x", path)
        response = await client.request("OPTIONS", url)
        assert response.status_code == 405, path
        allowed = {m.strip() for m in response.headers["allow"].split(",")}
        assert allowed == documented, path
        undocumented = sorted({"GET", "PUT", "POST", "DELETE", "PATCH"} - documented)[0]
        response = await client.request(undocumented, url)
        assert response.status_code == 405, (undocumented, path)
        assert {m.strip() for m in response.headers["allow"].split(",")} == documented


def _component(name: str) -> dict[str, Any]:
    return DOCUMENT["components"]["schemas"][name]


def _valid(name: str, instance: Any) -> bool:
    """Whether ``instance`` is valid by the document's ``name`` component, as the validator
    schemathesis uses (ECMA-262 patterns) judges it."""
    root = {"$ref": f"{SCHEMAS}{name}", "components": DOCUMENT["components"]}
    return jsonschema_rs.validator_for(root).is_valid(instance)


def test_requirements_are_published_as_the_service_checks_them():
    create = _component("AssessmentCreate")["properties"]["requirements"]
    assert create["allOf"] == [{"$ref": f"{SCHEMAS}Requirements"}]
    update = _component("AssessmentUpdate")["properties"]["requirements"]["anyOf"][0]
    assert update["allOf"] == [{"$ref": f"{SCHEMAS}Requirements"}]
    requirements = _component("Requirements")
    assert requirements["additionalProperties"] is False
    assert set(requirements["required"]) == {"name", "workloads"}
    # trimmed by the model (str_strip_whitespace): a blank name is refused
    assert requirements["properties"]["name"]["pattern"] == NOT_BLANK
    assert _component("WebService")["properties"]["name"]["pattern"] == NOT_BLANK
    regions = _component("Preferences")["properties"]["regions"]["items"]
    assert set(regions["enum"]) == REGION_CODES


@pytest.mark.parametrize("measures", [
    {"vcpu": 2}, {"vcpu_hours_per_month": 100}, {"vcpu": 2, "vcpu_hours_per_month": 100},
    {}, {"vcpu": None, "vcpu_hours_per_month": 100}, {"vcpu": None}])
def test_a_worker_schema_refuses_what_the_model_refuses(measures):
    worker = {"type": "worker", "name": "w", **measures}
    try:
        Worker.model_validate(worker)
        accepted = True
    except ValidationError:
        accepted = False
    assert _valid("Worker", worker) == accepted


def test_enumerated_values_are_published():
    price = OPERATIONS[("/api/v1/catalog/prices/{provider}/{sku}", "get")]
    parameters = {p["name"]: p["schema"] for p in price["parameters"]}
    assert parameters["provider"] == {"$ref": f"{SCHEMAS}Provider"}
    assert "$ref" in str(parameters["purchase_option"])
    assert "ProductFamily" in str(parameters["family"])
    item = _component("CompareItem")["properties"]
    assert item["provider"] == {"$ref": f"{SCHEMAS}Provider"}
    assert "PurchaseOption" in str(_component("CompareIn")["properties"]["purchase_option"])


@pytest.mark.parametrize(("component", "field"), [
    ("AssessmentCreate", "title"), ("ConversationCreate", "title"),
    ("MessageCreate", "content"), ("RegisterIn", "full_name")])
def test_trimmed_text_is_published_not_blank(component, field):
    schema = _component(component)["properties"][field]
    schema = schema.get("anyOf", [schema])[0]
    assert schema["minLength"] == 1
    assert schema["pattern"] in (NOT_BLANK, NOT_BLANK_PYTHON)
    pattern = re.compile(schema["pattern"])
    assert not pattern.search(" \t\u3000") and pattern.search(" a ")
    values = {"title": "t", "content": "c", "full_name": "n", "email": "a@b.io",
              "password": "p" * 12, "requirements": REQUIREMENTS}
    body = {name: values[name] for name in _component(component).get("required", [field])}
    assert _valid(component, {**body, field: " a "})
    assert not _valid(component, {**body, field: " \t\u3000"})


def _code_points(ranges: tuple[tuple[int, int], ...]) -> set[str]:
    return {chr(c) for start, end in ranges for c in range(start, end + 1)}


def test_whitespace_classes_are_what_each_trim_cuts():
    class Trimmed(BaseModel):
        text: str

        model_config = {"str_strip_whitespace": True}

    surrogates = range(0xD800, 0xE000)
    chars = [chr(c) for c in range(0x110000) if c not in surrogates]
    python = {c for c in chars if c.isspace()}
    assert _code_points(PYTHON_WHITESPACE) == python
    pydantic_cuts = {c for c in python | {"\ufeff", "\u200b", "\u180e"}
                     if Trimmed(text=f"a{c}").text == "a"}
    assert _code_points(WHITE_SPACE) == pydantic_cuts


EMAILS = ["a" * 64 + "@example.com", "a" * 65 + "@example.com", "ada@example.com",
          "  Ada.Lovelace+x@Example.CO.uk\t", "a@b.io", "o'neil@x-y.org",
          "ada@example", "ada@@example.com", ".ada@example.com", "ada.@example.com",
          "a..b@example.com", "ada@-x.com", "ada@x-.com", "ada@example.c0m", "ada example@x.com",
          "ada@exa_mple.com", "ada@example.com.", "@example.com", "ada@", "ada@x.c"]


@pytest.mark.parametrize("email", EMAILS)
def test_the_email_pattern_is_the_validation(email):
    email_field = TypeAdapter(RegisterIn)
    body = {"email": email, "password": "x" * 12, "full_name": "Ada"}
    try:
        email_field.validate_python(body)
        accepted = True
    except ValidationError:
        accepted = False
    assert accepted == bool(re.search(EMAIL_PATTERN, email)) == _valid("RegisterIn", body)


async def test_json_types_are_not_converted(app, client):
    """``"2"`` and ``false`` where the document says number were accepted (lax mode)."""
    owner = await create_member(app)
    cache = {"type": "cache", "name": "c", "memory_gb": "2"}
    created = await client.post(BASE, headers=owner.headers, json={
        "title": "t", "requirements": {**REQUIREMENTS, "workloads": [cache]}})
    assert created.status_code == 422, created.text
    assert created.json() == {"detail": "invalid requirements",
                              "problems": ["workloads[0].memory_gb: Input should be a valid "
                                           "number"]}
    fine = await client.post(BASE, headers=owner.headers, json={
        "title": "t", "requirements": {**REQUIREMENTS, "business": {"horizon_months": 12.0}}})
    assert fine.status_code == 201, fine.text
    aid = fine.json()["id"]
    patched = await client.patch(f"{BASE}/{aid}", headers=owner.headers, json={
        "requirements": {**REQUIREMENTS, "preferences": {"spot_ok": "yes"}}})
    assert patched.status_code == 422, patched.text
    what_if = await client.post(f"{BASE}/{aid}/what-if", headers=owner.headers,
                                json={"traffic_multiplier": "2"})
    assert what_if.status_code == 422, what_if.text
    assert what_if.json()["problems"] == ["body.traffic_multiplier: Input should be a valid "
                                          "number"]
