"""JSON Schema (2020-12, as OpenAPI 3.1 takes it) from the attrs classes of the wire:
the views and request bodies become named components, so a field added to a class is in
the document at once. A response view's schema is closed (``additionalProperties:
false``): a field the document does not know fails schemathesis. Request bodies are open
(the converter ignores keys a class does not take) unless the class says otherwise, and
their free strings refuse U+0000 (converter.structure answers 422 nul_character).

Types: str, int, float, bool, None, datetime (``date-time``), Enum and Literal (their
values), list, tuple, dict[str, T], unions (``T | None``), nested attrs classes (by
``$ref``), and ``Annotated[T, Schema(...)]`` whose keywords (``maxLength=rules.NAME_MAX``)
come from the rules and settings, never retyped. ``Annotated[T, Named(...)]`` is a named
component of its own (the time-zone list, once); ``Annotated[dict[str, Any], SomeClass]``
is a body the core checks as it comes, documented as ``SomeClass``. An attrs field's
``metadata`` may hold ``description`` and ``example``. A class may add keywords to its
object schema (``__schema__ = Schema(minProperties=1)``) or be one of several shapes
(``__schema_variants__ = (A, B)``: ``oneOf``). A component is named after its class
without a ``View`` or ``Out`` suffix (``MeView`` is ``Me``); ``__schema_name__`` names it
otherwise.
"""

from __future__ import annotations

import enum
import functools
import itertools
import sys
import types
import typing
import unicodedata
from datetime import datetime
from typing import Any, Literal, Union

import attrs

from momentic_core.policies import rules

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


class Named:
    """A named component for a scalar type, referenced wherever the type is used:
    ``Annotated[str, Named("TimeZone", enum=[...])]`` lists the names once."""

    __slots__ = ("keywords", "name")

    def __init__(self, name: str, **keywords: Any) -> None:
        self.name = name
        self.keywords: Json = keywords


def one_of(kind: type[enum.Enum]) -> Schema:
    """The values of ``kind`` for a field that holds them as strings:
    ``role: Annotated[str, one_of(Role)]``."""
    return Schema(enum=[member.value for member in kind])


def counts_of(kind: type[enum.Enum]) -> Schema:
    """A count for each value of ``kind``, every one present: ``{"heart": 3, ...}``."""
    values = [member.value for member in kind]
    return Schema(required=values, properties={v: {"type": "integer"} for v in values})


# A row id: what a BIGINT key holds (common.int_param and body_id refuse the rest).
ID_MAX = 2**63 - 1


@functools.cache
def _refused_characters() -> dict[str, str]:
    """The characters the core refuses in text (rules.CONTROL_CATEGORIES less
    rules.TEXT_FORMAT_ALLOWED), as regex class ranges by Unicode category. Lone surrogates
    (Cs) are left out: a pattern cannot hold them, and UTF-8 JSON cannot carry them
    unescaped."""
    refused = rules.CONTROL_CATEGORIES - {"Cs"}

    def kind(cp: int) -> str | None:
        category = unicodedata.category(chr(cp))
        if category not in refused or chr(cp) in rules.TEXT_FORMAT_ALLOWED:
            return None
        return category

    ranges: dict[str, str] = dict.fromkeys(sorted(refused), "")
    start = 0
    for category, run in itertools.groupby(map(kind, range(sys.maxunicode + 1))):
        size = sum(1 for _ in run)
        if category is not None:
            ranges[category] += f"{chr(start)}-{chr(start + size - 1)}"
        start += size
    return ranges


def text(maximum: int, description: str | None = None, **keywords: Any) -> Schema:
    """Free text as rules.check_text takes it: trimmed, at most ``maximum`` characters,
    without control, format or private-use characters (the joiners and flag tags of
    rules.TEXT_FORMAT_ALLOWED are kept). Private use is a `not`, as a negated class of its
    137k code points makes test-data generators expand them all."""
    ranges = _refused_characters()
    out: Json = {
        "maxLength": maximum,
        "pattern": f"^[^{ranges['Cc']}{ranges['Cf']}]*$",
        "not": {"type": "string", "pattern": f"[{ranges['Co']}]"},
    }
    if description:
        out["description"] = description
    return Schema(**out, **keywords)


def filled_text(maximum: int, description: str) -> Schema:
    """Text that must hold something besides white space (a reason, an appeal)."""
    return text(maximum, description, allOf=[{"pattern": r"\S"}])


def comment_text(maximum: int, description: str) -> Schema:
    """A comment body: 1 to ``maximum`` characters after trimming, line breaks (LF or
    CRLF) kept, other control, format and private-use characters refused (as ``text``)."""
    ranges = _refused_characters()
    refused = ranges["Cc"].replace("\x00-\x1f", "\x00-\x09\x0b-\x1f")
    assert refused != ranges["Cc"], "the Cc ranges changed shape"
    return Schema(
        minLength=1,
        maxLength=maximum,
        pattern=f"^(?:[^{refused}{ranges['Cf']}]|\r\n)*$",
        allOf=[{"pattern": r"\S"}],
        description=description,
        **{"not": {"type": "string", "pattern": f"[{ranges['Co']}]"}},
    )


NO_NUL = "^[^\x00]*$"
_SCHEMA_VALUES = ("example", "examples", "default", "enum", "const", "not")


def refuse_nul(schema: Any) -> Any:
    """A copy of a request schema whose free strings (no pattern, enum or media type of
    their own) refuse the NUL character."""
    if isinstance(schema, list):
        return [refuse_nul(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: v if k in _SCHEMA_VALUES else refuse_nul(v) for k, v in schema.items()}
    kind = schema.get("type")
    is_text = kind == "string" or (isinstance(kind, list) and "string" in kind)
    if is_text and not {"pattern", "enum", "const", "contentMediaType"} & schema.keys():
        out["pattern"] = NO_NUL
    return out


def component_name(cls: type) -> str:
    name: str | None = cls.__dict__.get("__schema_name__")
    if name:
        return name
    for suffix in ("View", "Out"):
        if cls.__name__.endswith(suffix) and len(cls.__name__) > len(suffix):
            return cls.__name__[: -len(suffix)]
    return cls.__name__


def ref(name: str) -> Json:
    return {"$ref": f"#/components/schemas/{name}"}


class Components:
    """The named schemas met so far; ``schema(tp)`` is the schema of ``tp``, with each attrs
    class in it added here once and referenced. ``closed``: objects say
    ``additionalProperties: false`` (views); ``requests``: free strings refuse U+0000."""

    def __init__(self, *, closed: bool = True, requests: bool = False) -> None:
        self.schemas: Json = {}
        self.closed = closed
        self.requests = requests
        self._classes: dict[str, type] = {}

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
                elif isinstance(extra, Named):
                    return self._named(extra, out)
                elif isinstance(extra, type) and attrs.has(extra):
                    out = self.ref(extra)  # parsed as ``base``, checked as this class says
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
        known = self._classes.setdefault(name, cls)
        if known is not cls:
            raise TypeError(f"{cls.__qualname__} and {known.__qualname__} are both {name}")
        if name not in self.schemas:
            self.schemas[name] = {}  # a placeholder: a class may refer to itself
            made = self._object(cls)
            self.schemas[name] = refuse_nul(made) if self.requests else made
        return ref(name)

    def _named(self, named: Named, base: Json) -> Json:
        made = {**base, **named.keywords}
        if self.schemas.setdefault(named.name, made) != made:
            raise TypeError(f"two schemas named {named.name}")
        return ref(named.name)

    def _object(self, cls: type) -> Json:
        out: Json
        variants: tuple[type, ...] = cls.__dict__.get("__schema_variants__", ())
        if variants:
            out = {"oneOf": [self.ref(variant) for variant in variants]}
        else:
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
            out = {"type": "object", "required": required, "properties": properties}
            if self.closed:
                out["additionalProperties"] = False
        doc = cls.__dict__.get("__doc__")
        if doc and not doc.startswith(f"{cls.__name__}("):
            out["description"] = " ".join(doc.split())
        extra: Schema | None = cls.__dict__.get("__schema__")
        if extra is not None:
            out.update(extra.keywords)
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
