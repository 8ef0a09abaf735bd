"""The OpenAPI document and the router describe the same API, both ways."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from adapters.http.openapi import document

STATIC_PREFIX = "/docs/assets"


def _routes(app: web.Application) -> set[tuple[str, str]]:
    found = set()
    for route in app.router.routes():
        info = route.resource.get_info() if route.resource else {}
        path = info.get("path") or info.get("formatter") or info.get("prefix")
        if route.method == "HEAD" or path is None or path.startswith(STATIC_PREFIX):
            continue
        found.add((route.method.lower(), path))
    return found


def _documented() -> set[tuple[str, str]]:
    return {(m, p) for p, ops in document()["paths"].items() for m in ops}


async def test_every_route_is_documented_and_every_documented_route_exists(client: Any) -> None:
    routes = _routes(client.app)
    documented = _documented()
    assert routes - documented == set(), "routes missing from the OpenAPI document"
    assert documented - routes == set(), "documented operations with no route"


async def test_every_route_declares_its_contract(client: Any) -> None:
    """Each handler states what it answers (adapters/http/contract.py), and the document's
    operation is built from that declaration."""
    from adapters.http.contract import declared

    undeclared = []
    for route in client.app.router.routes():
        info = route.resource.get_info() if route.resource else {}
        path = info.get("path") or info.get("formatter") or info.get("prefix")
        if route.method == "HEAD" or path is None or path.startswith(STATIC_PREFIX):
            continue
        if declared(route.handler) is None:
            undeclared.append((route.method, path))
    assert undeclared == [], "routes without @contract(...) next to their handler"


async def test_every_operation_has_examples_and_unique_ids() -> None:
    doc = document()
    ids = []
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            ids.append(op["operationId"])
            if "requestBody" in op:
                for media in op["requestBody"]["content"].values():
                    assert "example" in media, (method, path)
            for status, response in op["responses"].items():
                for media in response.get("content", {}).values():
                    assert "example" in media, (method, path, status)
    assert len(ids) == len(set(ids))


async def test_served_document_and_local_swagger_ui(client: Any) -> None:
    r = await client.get("/openapi.json")
    assert r.status == 200
    assert (await r.json())["openapi"] == "3.1.0"
    r = await client.get("/docs")
    page = await r.text()
    assert r.status == 200 and "/docs/assets/swagger-ui-bundle.js" in page
    assert "http" not in page.replace("http-equiv", ""), "no CDN links"
    r = await client.get("/docs/assets/swagger-ui-bundle.js")
    assert r.status == 200 and len(await r.read()) > 100_000


def _strings(schema: object, seen: frozenset[str] = frozenset()) -> list[dict[str, object]]:
    """The string schemas in a request schema (not under ``not``), through its components."""
    found: list[dict[str, object]] = []
    if isinstance(schema, list):
        for item in schema:
            found += _strings(item, seen)
    elif isinstance(schema, dict):
        ref = schema.get("$ref")
        if isinstance(ref, str) and ref not in seen:
            name = ref.rsplit("/", 1)[1]
            found += _strings(document()["components"]["schemas"][name], seen | {ref})
        kind = schema.get("type")
        if kind == "string" or (isinstance(kind, list) and "string" in kind):
            found.append(schema)
        for key, value in schema.items():
            if key not in ("not", "example", "examples", "default", "enum", "const"):
                found += _strings(value, seen)
    return found


async def test_text_with_a_nul_character_is_documented_as_refused_everywhere() -> None:
    """Every operation may answer 422 nul_character (the path, the query and any body are
    text), and every free string a request takes says it cannot hold U+0000, so that a
    generator from the document never sends what the server must refuse."""
    import re

    for path, ops in document()["paths"].items():
        for method, op in ops.items():
            assert "nul_character" in op["responses"]["422"]["description"], (method, path)
            schemas = [p["schema"] for p in op.get("parameters", [])] + [
                media["schema"] for media in op.get("requestBody", {}).get("content", {}).values()
            ]
            for schema in schemas:
                for text in _strings(schema):
                    if {"enum", "const", "contentMediaType"} & text.keys():
                        continue
                    pattern = text.get("pattern")
                    assert isinstance(pattern, str), (method, path, text)
                    assert not re.search(pattern, "a\x00b"), (method, path, text)


async def test_a_compressed_body_is_documented_as_415_wherever_a_body_is_taken() -> None:
    for path, ops in document()["paths"].items():
        for method, op in ops.items():
            if "requestBody" in op:
                assert "unsupported_encoding" in op["responses"]["415"]["description"], (
                    method, path)


def test_the_document_is_valid_openapi_3_1() -> None:
    from openapi_spec_validator import OpenAPIV31SpecValidator

    errors = [str(e) for e in OpenAPIV31SpecValidator(document()).iter_errors()]
    assert errors == []


def test_every_operation_has_one_area_tag_that_the_document_describes() -> None:
    doc = document()
    described = {tag["name"] for tag in doc["tags"]}
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            assert len(op["tags"]) == 1 and op["tags"][0] in described, (method, path)


def test_make_openapi_writes_the_served_document(tmp_path: Any) -> None:
    import json
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "adapters.http.openapi"], check=True,
                         capture_output=True, text=True).stdout
    assert json.loads(out) == json.loads(json.dumps(document()))


def _response(doc: dict[str, Any], response: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in response:
        shared: dict[str, Any] = doc["components"]["responses"][response["$ref"].rsplit("/", 1)[1]]
        return shared
    return response


def test_every_catalogued_code_is_under_the_operations_that_can_answer_it() -> None:
    """The error catalogue (momentic_core/errors.py) and the document: each code is listed
    by a problem response of an operation (or a WebSocket error frame), at the status its
    kind answers; each listed code is catalogued; the codes answered outside operations
    say why."""
    from adapters.http.openapi import FRAME_CODES, OUTSIDE_OPERATIONS
    from momentic_core.errors import CATALOGUE

    doc = document()
    listed: set[str] = set()
    for ops in doc["paths"].values():
        for op in ops.values():
            for status, response in op["responses"].items():
                codes = _response(doc, response).get("x-error-codes", [])
                listed.update(codes)
                for code in codes:
                    kind = CATALOGUE[code].kind
                    if status not in ("101", "default") and kind is not None:
                        assert str(_status(kind)) == status, (op["operationId"], code)
    assert set(FRAME_CODES) <= listed
    assert listed - CATALOGUE.keys() == set(), "codes in the document the catalogue lacks"
    assert CATALOGUE.keys() - listed - OUTSIDE_OPERATIONS.keys() == set(), (
        "catalogued codes under no operation")
    assert OUTSIDE_OPERATIONS.keys() <= CATALOGUE.keys()
    assert OUTSIDE_OPERATIONS.keys().isdisjoint(listed)
    assert doc["components"]["schemas"]["ErrorCode"]["enum"] == sorted(CATALOGUE)


def test_the_codes_a_handler_declares_are_under_its_operation() -> None:
    """What a declaration names (its problems and further codes) is what its operation
    lists, at the codes' statuses."""
    from adapters.http.openapi import declarations

    doc = document()
    for path, method, declaration in declarations():
        op = doc["paths"][path][method]
        listed = {code for response in op["responses"].values()
                  for code in _response(doc, response).get("x-error-codes", [])}
        wanted = set(declaration.codes) | {problem.code for problem in declaration.problems}
        assert wanted <= listed, (method, path, wanted - listed)


def _status(kind: type) -> int:
    from adapters.http.problems import STATUS

    return next(s for k, s in STATUS.items() if issubclass(kind, k))


def test_the_time_zone_list_is_one_component() -> None:
    import json

    text = json.dumps(document())
    assert text.count('"Europe/Minsk", "Europe/Monaco"') == 1


def test_the_components_are_the_classes_schemas_and_views_are_closed() -> None:
    """Every component is generated from the attrs classes of the wire (the views and
    the request classes the handlers declare): the document holds exactly the classes'
    schemas, so a field added to a view is documented at once. Views say no other field
    comes (schemathesis fails an answer that carries one), except Problem, whose problems
    carry members of their own; request bodies are open, as the converter ignores other
    keys, unless their class closes them."""
    from adapters.http import openapi
    from adapters.http.schema import Components
    from adapters.http.views import ProblemView

    schemas = document()["components"]["schemas"]
    views = Components()
    views.ref(ProblemView)
    for answer in openapi.answer_types():
        views.schema(answer)
    for name, schema in views.schemas.items():
        assert schemas[name] == schema, name
        if schema.get("type") == "object":
            assert schema["additionalProperties"] is (name == "Problem"), name
    requests = openapi._REQUESTS.schemas
    for name, schema in requests.items():
        assert schemas[name] == schema, name
    assert set(schemas) == {*views.schemas, *requests, "ErrorCode"}
    assert {"Me", "Video", "Comment", "Notification", "CaseDetail", "Export"} <= set(views.schemas)


def test_every_json_request_body_is_a_component_of_a_request_class() -> None:
    from adapters.http import openapi

    classes = {name for name, schema in openapi._REQUESTS.schemas.items() if "enum" not in schema}
    for path, ops in document()["paths"].items():
        for method, op in ops.items():
            for media, content in op.get("requestBody", {}).get("content", {}).items():
                if media in ("application/json", "multipart/form-data"):
                    ref = content["schema"].get("$ref", "")
                    assert ref.rsplit("/", 1)[-1] in classes, (
                        f"{method} {path}: declare the body as contract.body(SomeBody, example), "
                        "SomeBody the attrs class its handler structures (schema.py)")


def test_a_body_the_core_checks_is_documented_closed() -> None:
    """The bodies a handler passes to the core as they come (the rating weights, the
    runtime settings' changes, the notification settings) refuse what the core refuses:
    another key, and an empty change."""
    schemas = document()["components"]["schemas"]
    for name in ("WeightsPatchBody", "SettingChangesBody", "NotificationSettingsPatchBody"):
        assert schemas[name]["additionalProperties"] is False, name
        assert schemas[name]["minProperties"] == 1, name


def test_media_takes_exp_and_sig_only_as_a_signed_url_does() -> None:
    """A token path (/media/s/<exp>/<sig>/<key>) has them in the path, so the query's
    exp and sig are optional in the document (a plain key without them: media_not_found)."""
    op = document()["paths"]["/media/{key}"]["get"]
    query = {p["name"]: p for p in op["parameters"] if p["in"] == "query"}
    assert set(query) == {"exp", "sig"}
    assert not any(p["required"] for p in query.values())
