"""The error catalogue (momentic_core/errors.py CATALOGUE) is the whole set of codes: every
code the source can raise is registered, under the kind that raises it. The source is read
as syntax (no code runs): ``code="..."`` keywords, ``code=NAME`` of a module-level string
constant, a kind's own ``code = "..."``, a parameter ``code: str = "..."``, the
``<field>_too_long`` codes of ``rules.check_text`` and the tables of constraint names the
PostgreSQL adapter turns into codes."""

from __future__ import annotations

import ast
from pathlib import Path

from adapters.http.problems import HTTP_CODES
from adapters.postgres.db import MISSING_PARENTS, UNIQUE_CONFLICTS
from momentic_core import errors
from momentic_core.errors import CATALOGUE, TEXT_FIELDS

ROOT = Path(__file__).resolve().parents[2]
SOURCES = sorted([*ROOT.glob("momentic_core/**/*.py"), *ROOT.glob("adapters/**/*.py")])
KINDS = {name: value for name, value in vars(errors).items()
         if isinstance(value, type) and issubclass(value, errors.MomenticError)}
# code= keywords whose value is computed on purpose, each checked another way here.
COMPUTED = {
    ("momentic_core/errors.py", "__init__"),  # RateLimited passes its caller's code on
    ("momentic_core/services/throttle.py", "RateLimited"),  # refuse(code=...): literal callers
    ("momentic_core/policies/rules.py", "Invalid"),  # f"{field}_too_long": TEXT_FIELDS
    ("adapters/postgres/db.py", "Conflict"),  # UNIQUE_CONFLICTS
    ("adapters/postgres/db.py", "NotFound"),  # MISSING_PARENTS
    ("adapters/http/videos/routes.py", "TooLarge"),  # _check_length(code=...): literal callers
}


def _name(func: ast.expr) -> str:
    if isinstance(func, ast.Name):
        return func.id
    return func.attr if isinstance(func, ast.Attribute) else "?"


def _constants(tree: ast.Module) -> dict[str, str | None]:
    """Module-level NAME = "code" (a string) or NAME = register(kind, "code", ...) (None:
    registered by its own statement)."""
    found: dict[str, str | None] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
            if not isinstance(target, ast.Name):
                continue
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                found[target.id] = value.value
            elif isinstance(value, ast.Call) and _name(value.func) == "register":
                found[target.id] = None
    return found


def _raised() -> tuple[list[tuple[str, str, str]], list[str]]:
    """(where, kind or helper, code) of each code in the source; and the code= keywords the
    scan cannot read."""
    raised: list[tuple[str, str, str]] = []
    unread: list[str] = []
    trees = {str(path.relative_to(ROOT)): ast.parse(path.read_text()) for path in SOURCES}
    # A constant imported from another module is found under its name there.
    imported: dict[str, str | None] = {}
    for tree in trees.values():
        imported.update(_constants(tree))
    for rel, tree in trees.items():
        constants = {**imported, **_constants(tree)}
        # The position of a ``code`` parameter of this module's functions, for callers that
        # pass it positionally.
        positions = {
            node.name: names.index("code")
            for node in ast.walk(tree)
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
            and "code" in (names := [a.arg for a in node.args.args
                                     if a.arg not in ("self", "cls")])
        }
        for node in ast.walk(tree):
            where = f"{rel}:{getattr(node, 'lineno', 0)}"
            if isinstance(node, ast.Call):
                name = _name(node.func)
                for kw in node.keywords:
                    if kw.arg != "code":
                        continue
                    value = kw.value
                    if isinstance(value, ast.Constant):
                        if isinstance(value.value, str):
                            raised.append((where, name, value.value))
                    elif isinstance(value, ast.Name) and value.id in constants:
                        code = constants[value.id]
                        if code is not None:
                            raised.append((where, name, code))
                    elif (rel, name) not in COMPUTED and not (
                        isinstance(value, ast.Name) and value.id == "code"
                    ):
                        unread.append(f"{where} {name}(code={ast.unparse(value)})")
                at = positions.get(name)
                if at is not None and len(node.args) > at:
                    value = node.args[at]
                    if isinstance(value, ast.Constant) and isinstance(value.value, str):
                        raised.append((where, name, value.value))
                    elif isinstance(value, ast.Name) and constants.get(value.id):
                        raised.append((where, name, str(constants[value.id])))
                if name == "check_text" and len(node.args) > 1:
                    field = node.args[1]
                    assert isinstance(field, ast.Constant), where
                    raised.append((where, "Invalid", f"{field.value!s}_too_long"))
                    assert field.value in TEXT_FIELDS, (where, field.value)
            elif isinstance(node, ast.ClassDef):
                for statement in node.body:
                    if (isinstance(statement, ast.Assign)
                            and [ast.unparse(t) for t in statement.targets] == ["code"]
                            and isinstance(statement.value, ast.Constant)):
                        raised.append((where, node.name, str(statement.value.value)))
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                args = node.args.args + node.args.kwonlyargs
                defaults = [None] * (len(node.args.args) - len(node.args.defaults))
                for arg, default in zip(args, [*defaults, *node.args.defaults,
                                               *node.args.kw_defaults], strict=True):
                    if arg.arg != "code":
                        continue
                    if isinstance(default, ast.Constant) and isinstance(default.value, str):
                        raised.append((where, node.name, default.value))
                    elif isinstance(default, ast.Name) and constants.get(default.id):
                        raised.append((where, node.name, str(constants[default.id])))
    return raised, unread


def test_every_code_the_source_raises_is_catalogued_under_its_kind() -> None:
    raised, unread = _raised()
    assert len(raised) > 150, "the scan found too little to be reading the source"
    assert unread == [], "a code= the scan cannot read: use a literal or a registered constant"
    missing = sorted({(code, where) for where, _, code in raised if code not in CATALOGUE})
    assert missing == [], "codes missing from momentic_core/errors.py CATALOGUE"
    wrong = []
    for where, name, code in raised:
        kind = KINDS.get(name)
        registered = CATALOGUE[code].kind
        if kind is not None and kind is not errors.MomenticError and registered is not kind:
            wrong.append((where, name, code, registered))
    assert wrong == [], "codes raised by another kind than their catalogue entry says"


def test_the_postgres_adapters_codes_are_catalogued() -> None:
    codes = {code for code, _, _ in UNIQUE_CONFLICTS.values()} | set(MISSING_PARENTS.values())
    assert codes - CATALOGUE.keys() == set()


def test_every_catalogued_code_is_raised_somewhere() -> None:
    """No dead entries: each code is one the source can give."""
    raised, _ = _raised()
    codes = {code for _, _, code in raised}
    codes |= {code for code, _, _ in UNIQUE_CONFLICTS.values()} | set(MISSING_PARENTS.values())
    codes |= {*HTTP_CODES.values(), "internal_error"}  # what middlewares.problem_middleware answers
    assert CATALOGUE.keys() - codes == set()


def test_a_code_registered_twice_is_refused() -> None:
    import pytest

    with pytest.raises(ValueError, match="twice"):
        errors.register(errors.Invalid, "validation_failed", "again")
