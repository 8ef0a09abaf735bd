"""JSON Schema (2020-12, as OpenAPI 3.1 takes it) from the attrs classes of the wire:
the views of adapters/http/views.py become named components, so a field added to a view
is in the document at once, and a view's schema is closed (``additionalProperties:
false``): a field the document does not know fails schemathesis.

Types: str, int, float, bool, None, datetime (``date-time``), Enum and Literal (their
values), list, tuple, dict[str, T], unions (``T | None``), nested attrs classes (by
``$ref``), and ``Annotated[T, Schema(...)]`` whose keywords (``maxLength=rules.NAME_MAX``)
come from the rules and settings, never retyped. An attrs field's ``metadata`` may hold
``description`` and ``example``. A component is named after its class without a ``View``
or ``Out`` suffix (``MeView`` is ``Me``); ``__schema_name__`` names it otherwise.
"""

from __future__ import annotations

import enum
import types
import typing
from datetime import datetime
from typing import Any, Literal, Union

import attrs

Json = dict[str, Any]

_SCALARS: dict[type, Json] = {
    str: {"type": "string"},
    int: {"type": "integer"},
    float: {"type": "number"},
    bool: {"type": "boolean"},
    type(None): {"type": "null"},
    datetime: {"type": "string", "format": "date-time"},
}


class Schema:
    """Keywords an ``Annotated`` type adds to its schema: ``Annotated[str, Schema(
    maxLength=rules.BIO_MAX)]``."""

    __slots__ = ("keywords",)

    def __init__(self, **keywords: Any) -> None:
        self.keywords: Json = keywords


def one_of(kind: type[enum.Enum]) -> Schema:
    """The values of ``kind`` for a field that holds them as strings:
    ``role: Annotated[str, one_of(Role)]``."""
    return Schema(enum=[member.value for member in kind])


def counts_of(kind: type[enum.Enum]) -> Schema:
    """A count for each value of ``kind``, every one present: ``{"heart": 3, ...}``."""
    values = [member.value for member in kind]
    return Schema(required=values, properties={v: {"type": "integer"} for v in values})


def component_name(cls: type) -> str:
    name: str | None = getattr(cls, "__schema_name__", None)
    if name:
        return name
    for suffix in ("View", "Out"):
        if cls.__name__.endswith(suffix) and len(cls.__name__) > len(suffix):
            return cls.__name__[: -len(suffix)]
    return cls.__name__


class Components:
    """The named schemas met so far; ``schema(tp)`` is the schema of ``tp``, with each attrs
    class in it added here once and referenced."""

    def __init__(self, *, closed: bool = True) -> None:
        self.schemas: Json = {}
        self.closed = closed

    def schema(self, tp: Any) -> Json:
        origin = typing.get_origin(tp)
        if origin is typing.Annotated:
            base, *extras = typing.get_args(tp)
            out = dict(self.schema(base))
            for extra in extras:
                if isinstance(extra, Schema):
                    if "properties" in extra.keywords:
                        out.pop("additionalProperties", None)
                    out.update(extra.keywords)
            return out
        if tp in _SCALARS:
            return dict(_SCALARS[tp])
        if isinstance(tp, type) and issubclass(tp, enum.Enum):
            return _values([member.value for member in tp])
        if origin is Literal:
            return _values(list(typing.get_args(tp)))
        if origin in (Union, types.UnionType):
            return self._union(typing.get_args(tp))
        if origin in (list, tuple, set, frozenset):
            args = [a for a in typing.get_args(tp) if a is not Ellipsis]
            return {"type": "array", "items": self.schema(args[0]) if args else {}}
        if origin is dict:
            _, value = typing.get_args(tp)
            return {"type": "object", "additionalProperties": self.schema(value)}
        if tp is Any:
            return {}
        if isinstance(tp, type) and attrs.has(tp):
            return self.ref(tp)
        raise TypeError(f"no JSON Schema for {tp!r}")

    def ref(self, cls: type) -> Json:
        name = component_name(cls)
        if name not in self.schemas:
            self.schemas[name] = {}  # a placeholder: a class may refer to itself
            self.schemas[name] = self._object(cls)
        return {"$ref": f"#/components/schemas/{name}"}

    def _object(self, cls: type) -> Json:
        hints = typing.get_type_hints(cls, include_extras=True)
        properties: Json = {}
        required: list[str] = []
        for field in attrs.fields(cls):
            prop = self.schema(hints[field.name])
            for key in ("description", "example"):
                if key in field.metadata:
                    prop = {**prop, key: field.metadata[key]}
            properties[field.name] = prop
            if field.default is attrs.NOTHING:
                required.append(field.name)
        out: Json = {"type": "object", "required": required, "properties": properties}
        if cls.__doc__ and not cls.__doc__.startswith(f"{cls.__name__}("):
            out["description"] = " ".join(cls.__doc__.split())
        if self.closed:
            out["additionalProperties"] = False
        return out

    def _union(self, args: tuple[Any, ...]) -> Json:
        schemas = [self.schema(arg) for arg in args]
        simple = all(set(s) == {"type"} and isinstance(s["type"], str) for s in schemas)
        if simple:
            return {"type": [s["type"] for s in schemas]}
        nullable = [s for s in schemas if s != {"type": "null"}]
        if len(nullable) == 1 and len(schemas) == 2:
            only = nullable[0]
            if "enum" in only:
                return {**only, "type": [only["type"], "null"], "enum": [*only["enum"], None]}
            if isinstance(only.get("type"), str):
                return {**only, "type": [only["type"], "null"]}
        return {"anyOf": schemas}


def _values(values: list[Any]) -> Json:
    kinds = {type(v) for v in values}
    kind = "string" if kinds == {str} else "integer" if kinds == {int} else None
    return {"type": kind, "enum": values} if kind else {"enum": values}
