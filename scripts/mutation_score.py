"""The score of the last ``mutmut run`` (``make mutation``), per mutated module.

mutmut keeps its verdicts in ``mutants/<path>.meta``; this reads them and prints, for each
module, killed/total with and without the mutants that only change the wording of an
error message (the first argument of ``Invalid(...)``, ``Forbidden(...)``, ...): clients
go by ``code`` and ``field``, never by the prose, so no test pins the prose. A mutant
whose tests hung (timeout) counts as killed. Every other survivor is listed with the
line it changes. Exits 1 when a module scores below ``--min`` (wording aside).

    python scripts/mutation_score.py            # after mutmut run
    python scripts/mutation_score.py --min 90
"""

from __future__ import annotations

import argparse
import ast
import difflib
import json
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MUTANTS = ROOT / "mutants"
# Exit codes mutmut records (mutmut/stats.py): 1 and 3 kill, 0 survives, 5 and 33 mean
# no test ran the function; 36, 24, -24, 152 and 255 are timeouts.
KILLED = {1, 3}
SURVIVED = {0}
NO_TESTS = {5, 33}
TIMEOUT = {36, 24, -24, 152, 255}
# Errors whose first argument is a message for people: every class of
# momentic_core/errors.py, and ValueError.
MESSAGE_ERRORS = {
    node.name
    for node in ast.parse((ROOT / "momentic_core" / "errors.py").read_text()).body
    if isinstance(node, ast.ClassDef)
} | {"ValueError"}


def _functions(tree: ast.Module) -> dict[str, ast.FunctionDef | ast.AsyncFunctionDef]:
    return {
        node.name: node
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    }


def _message_nodes(tree: ast.AST) -> set[int]:
    """ids of the message arguments of error constructors in ``tree``."""
    found: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and node.args:
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
            if name in MESSAGE_ERRORS:
                found.add(id(node.args[0]))
    return found


def _only_wording(orig: ast.AST, mutant: ast.AST, messages: set[int]) -> bool:
    """Whether every difference between the two trees lies inside a message argument."""
    if id(orig) in messages:
        return True
    if type(orig) is not type(mutant):
        return False
    for field in orig._fields:
        a, b = getattr(orig, field, None), getattr(mutant, field, None)
        if isinstance(a, ast.AST) and isinstance(b, ast.AST):
            if not _only_wording(a, b, messages):
                return False
        elif isinstance(a, list) and isinstance(b, list):
            if len(a) != len(b):  # a dropped argument, message or not, is behaviour
                return False
            if not all(
                _only_wording(x, y, messages)
                if isinstance(x, ast.AST) and isinstance(y, ast.AST)
                else x == y
                for x, y in zip(a, b, strict=True)
            ):
                return False
        elif a != b:
            return False
    return True


def _changed_line(orig: ast.AST, mutant: ast.AST) -> str:
    before = ast.unparse(orig).splitlines()
    after = ast.unparse(mutant).splitlines()
    changes = [
        line[1:].strip()
        for line in difflib.unified_diff(before, after, lineterm="", n=0)
        if line.startswith("+") and not line.startswith("+++")
    ]
    return " / ".join(changes) or "(a line removed)"


def score(minimum: float) -> int:
    metas = sorted(MUTANTS.rglob("*.py.meta"))
    if not metas:
        print("No results under mutants/: run `make mutation` first.", file=sys.stderr)
        return 2
    failed = False
    totals: Counter[str] = Counter()
    print(f"{'module':45} {'killed/total':>13} {'score':>7} {'wording aside':>14}")
    notes: list[str] = []
    for meta in metas:
        verdicts: dict[str, int | None] = json.loads(meta.read_text())["exit_code_by_key"]
        if not verdicts:
            continue
        source = meta.with_suffix("")  # mutants/momentic_core/x.py
        tree = ast.parse(source.read_text())
        functions = _functions(tree)
        counts: Counter[str] = Counter()
        for key, code in sorted(verdicts.items()):
            name = key.rsplit(".", 1)[1]  # x_check_text__mutmut_3
            counts["total"] += 1
            if code in KILLED or code in TIMEOUT:
                counts["killed"] += 1
                continue
            orig = functions[name.rsplit("__mutmut_", 1)[0] + "__mutmut_orig"]
            mutant = functions[name]
            pair = ast.Module(body=orig.body, type_ignores=[])
            other = ast.Module(body=mutant.body, type_ignores=[])
            if _only_wording(pair, other, _message_nodes(pair)):
                counts["wording"] += 1
                continue
            why = "survived" if code in SURVIVED else "no tests" if code in NO_TESTS else code
            notes.append(f"  {key.split('.', 1)[1]} [{why}]: {_changed_line(pair, other)}")
        module = str(source.relative_to(MUTANTS))
        judged = counts["total"] - counts["wording"]
        plain = counts["killed"] / counts["total"]
        aside = counts["killed"] / judged if judged else 1.0
        failed |= aside * 100 < minimum
        totals.update(counts)
        print(
            f"{module:45} {counts['killed']:>6}/{counts['total']:<6} {plain:>7.1%} "
            f"{aside:>7.1%} ({counts['wording']} wording)"
        )
    judged = totals["total"] - totals["wording"]
    print(
        f"{'all':45} {totals['killed']:>6}/{totals['total']:<6} "
        f"{totals['killed'] / totals['total']:>7.1%} {totals['killed'] / judged:>7.1%} "
        f"({totals['wording']} wording)"
    )
    if notes:
        print("Survivors (wording aside):")
        print("\n".join(notes))
    if failed:
        print(f"A module scores below {minimum:g}% (wording aside).", file=sys.stderr)
    return 1 if failed else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--min", type=float, default=0.0, help="least score per module, in %%")
    sys.exit(score(parser.parse_args().min))


if __name__ == "__main__":
    main()
