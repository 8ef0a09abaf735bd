"""The one cattrs converter of the HTTP edge: snake_case JSON, strict scalar types,
times as RFC 3339 UTC with an offset, enums by value, ids as integers."""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any, TypeVar

import attrs
import cattrs
from cattrs.v import transform_error

from momentic_core.errors import Invalid

T = TypeVar("T")


def _strict(kind: type) -> Any:
    def hook(value: Any, _: type) -> Any:
        # JSON has one number type: 224.0 is the integer 224 (as JSON Schema's "integer"
        # says), though the parser gives a float.
        if kind is int and type(value) is float and value.is_integer():
            return int(value)
        # bool is an int in Python; JSON true is not a number here.
        if type(value) is not kind and not (kind is float and type(value) is int):
            raise ValueError(f"expected {_JSON_NAMES[kind]}")
        return value

    return hook


_JSON_NAMES = {str: "a string", int: "an integer", bool: "a boolean", float: "a number"}


def make_converter() -> cattrs.Converter:
    converter = cattrs.Converter()
    for kind in (str, int, bool, float):
        converter.register_structure_hook(kind, _strict(kind))
    converter.register_unstructure_hook(datetime, lambda d: d.astimezone(UTC).isoformat())
    converter.register_unstructure_hook_func(
        lambda t: isinstance(t, type) and issubclass(t, enum.Enum), lambda e: e.value
    )
    return converter


converter = make_converter()


def structure(data: Any, cls: type[T]) -> T:
    """Structure a request body; raises Invalid(code="validation_failed") listing each
    problem, Invalid(code="nul_character") for text the body's fields hold with U+0000
    (keys and values the class does not take are ignored, as ever)."""
    if not isinstance(data, dict):
        raise Invalid("The body must be a JSON object.", errors=["expected an object @ $"])
    try:
        value = converter.structure(data, cls)
    except (cattrs.BaseValidationError, ValueError, TypeError) as exc:
        errors = transform_error(exc) if isinstance(exc, cattrs.BaseValidationError) else [str(exc)]
        raise Invalid("The request body is not valid.", errors=errors) from None
    if (field := nul_field(value)) is not None:
        raise nul_character(field)
    return value


def nul_character(field: str) -> Invalid:
    """Text holding U+0000, which no PostgreSQL text or jsonb value can hold and nobody
    types: refused wherever text comes in (body fields, query, path, form fields)."""
    return Invalid(
        "Text may not contain the NUL character (U+0000).", code="nul_character", field=field
    )


def nul_field(value: Any) -> str | None:
    """Where a NUL character is in a structured body (attrs fields, dicts with their keys,
    lists), as a dotted path; None when there is none."""
    pending: list[tuple[str, Any]] = [("", value)]
    while pending:
        where, item = pending.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return where or "$"
        elif attrs.has(type(item)):
            for field in attrs.fields(type(item)):
                path = f"{where}.{field.name}" if where else field.name
                pending.append((path, getattr(item, field.name)))
        elif isinstance(item, dict):
            for key, child in item.items():
                path = f"{where}.{key}" if where else str(key)
                if isinstance(key, str) and "\x00" in key:
                    return path
                pending.append((path, child))
        elif isinstance(item, list | tuple):
            pending.extend((f"{where}[{i}]", child) for i, child in enumerate(item))
    return None


def unstructure(value: Any) -> Any:
    return converter.unstructure(value)
