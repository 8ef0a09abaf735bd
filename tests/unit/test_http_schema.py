"""adapters/http/schema.py: JSON Schema from attrs classes."""

from __future__ import annotations

import enum
import importlib
import pkgutil
from datetime import datetime
from types import ModuleType
from typing import Annotated, Literal

import attrs
import pytest

from adapters.http import views
from adapters.http.profile.views import MeView
from adapters.http.schema import Components, Schema, component_name
from adapters.http.videos.views import PartOut
from momentic_core.policies import rules


class Colour(enum.Enum):
    RED = "red"
    BLUE = "blue"


@attrs.frozen
class InnerOut:
    n: int


@attrs.frozen
class SampleView:
    """A sample."""

    text: str
    maybe: int | None
    when: datetime
    colour: Colour
    grade: Literal["a", "b"]
    inner: InnerOut
    inners: list[InnerOut]
    counts: dict[str, int]
    bio: Annotated[str | None, Schema(maxLength=rules.BIO_MAX)]
    either: str | int
    noted: str = attrs.field(default="x", metadata={"description": "Said.", "example": "y"})


def test_an_attrs_class_becomes_a_closed_named_component() -> None:
    c = Components()
    assert c.ref(SampleView) == {"$ref": "#/components/schemas/Sample"}
    sample = c.schemas["Sample"]
    assert sample["additionalProperties"] is False
    assert sample["description"] == "A sample."
    assert sample["required"] == ["text", "maybe", "when", "colour", "grade", "inner", "inners",
                                  "counts", "bio", "either"]
    p = sample["properties"]
    assert p["text"] == {"type": "string"}
    assert p["maybe"] == {"type": ["integer", "null"]}
    assert p["when"] == {"type": "string", "format": "date-time"}
    assert p["colour"] == {"type": "string", "enum": ["red", "blue"]}
    assert p["grade"] == {"type": "string", "enum": ["a", "b"]}
    assert p["inner"] == {"$ref": "#/components/schemas/Inner"}
    assert p["inners"] == {"type": "array", "items": {"$ref": "#/components/schemas/Inner"}}
    assert p["counts"] == {"type": "object", "additionalProperties": {"type": "integer"}}
    assert p["bio"] == {"type": ["string", "null"], "maxLength": rules.BIO_MAX}
    assert p["either"] == {"type": ["string", "integer"]}
    assert p["noted"] == {"type": "string", "description": "Said.", "example": "y"}
    assert c.schemas["Inner"]["properties"] == {"n": {"type": "integer"}}


def test_an_optional_enum_allows_null_among_its_values() -> None:
    assert Components().schema(Colour | None) == {
        "type": ["string", "null"], "enum": ["red", "blue", None]}


def test_open_components_for_request_bodies() -> None:
    c = Components(closed=False)
    c.ref(InnerOut)
    assert "additionalProperties" not in c.schemas["Inner"]


def test_a_type_without_a_schema_is_refused() -> None:
    with pytest.raises(TypeError, match="no JSON Schema"):
        Components().schema(complex)


def test_names_pair_with_the_views() -> None:
    assert component_name(MeView) == "Me"
    assert component_name(views.VideoOut) == "Video"
    assert component_name(PartOut) == "UploadPart"


def _view_modules() -> list[ModuleType]:
    """adapters/http/views.py (shared) and every area's views.py."""
    import adapters.http

    found = [importlib.import_module(m.name) for m in pkgutil.walk_packages(
        adapters.http.__path__, "adapters.http.") if m.name.endswith(".views")]
    return [views, *found]


def test_every_view_has_a_schema() -> None:
    c = Components()
    for module in _view_modules():
        for value in vars(module).values():
            if isinstance(value, type) and attrs.has(value) and value.__module__ == module.__name__:
                c.ref(value)
    assert len(c.schemas) > 60


def test_counts_of_an_enum_name_every_value() -> None:
    from adapters.http.schema import counts_of
    from momentic_core.model.engagement import ReactionKind

    schema = Components().schema(Annotated[dict[str, int], counts_of(ReactionKind)])
    assert schema == {"type": "object", "required": ["heart", "flame", "funny", "angry"],
                      "properties": {k: {"type": "integer"} for k in
                                     ("heart", "flame", "funny", "angry")}}
