"""Print the import cycles between modules of each package (issue 16 item 5).

Reads the import graph with grimp (which import-linter ships); imports under
``TYPE_CHECKING`` and inside functions count, as they do for import-linter, since a
cycle hidden that way is still a cycle of the design. For each package it prints the
groups of modules that reach each other (strongly connected components) and one
shortest cycle of each group. Exit status 1 when any package has a cycle.

    python scripts/import_cycles.py                       # momentic_core and adapters, by package
    python scripts/import_cycles.py adapters.http         # one package
    python scripts/import_cycles.py --runtime             # leave out TYPE_CHECKING imports
"""

from __future__ import annotations

import argparse
import sys

import grimp


def packages(graph: grimp.ImportGraph, roots: list[str]) -> list[str]:
    """Every package (a module with children) under ``roots``, parents first."""
    found = {
        m for m in graph.modules
        if any(m == r or m.startswith(r + ".") for r in roots) and graph.find_children(m)
    }
    return sorted(found)


def cycle_groups(graph: grimp.ImportGraph, package: str) -> list[list[str]]:
    """Groups of two or more direct children of ``package`` (each with its descendants)
    that import each other, found with Tarjan's algorithm, iteratively."""
    children = sorted(graph.find_children(package))

    def owner(module: str) -> str | None:
        for child in children:
            if module == child or module.startswith(child + "."):
                return child
        return None

    edges: dict[str, set[str]] = {c: set() for c in children}
    for child in children:
        for module in {child, *graph.find_descendants(child)}:
            for imported in graph.find_modules_directly_imported_by(module):
                target = owner(imported)
                if target is not None and target != child:
                    edges[child].add(target)

    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []
    for root in children:
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, successors = work[-1]
            for succ in successors:
                if succ not in index:
                    index[succ] = low[succ] = len(index)
                    stack.append(succ)
                    on_stack.add(succ)
                    work.append((succ, iter(sorted(edges[succ]))))
                    break
                if succ in on_stack:
                    low[node] = min(low[node], index[succ])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    group = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        group.append(member)
                        if member == node:
                            break
                    if len(group) > 1:
                        groups.append(sorted(group))
    return sorted(groups)


def example(graph: grimp.ImportGraph, group: list[str]) -> list[str]:
    """One shortest cycle through the first module of ``group``."""
    first = group[0]
    best: list[str] = []
    for other in group[1:]:
        there = graph.find_shortest_chain(importer=first, imported=other, as_packages=True)
        back = graph.find_shortest_chain(importer=other, imported=first, as_packages=True)
        if there and back:
            chain = [*there, *back[1:]]
            if not best or len(chain) < len(best):
                best = chain
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("packages", nargs="*", help="packages to check (default: all)")
    parser.add_argument("--runtime", action="store_true", help="ignore TYPE_CHECKING imports")
    args = parser.parse_args(argv)
    graph = grimp.build_graph(
        "momentic_core", "adapters", exclude_type_checking_imports=args.runtime
    )
    cycles = 0
    for package in args.packages or packages(graph, ["momentic_core", "adapters"]):
        groups = cycle_groups(graph, package)
        cycles += len(groups)
        if not groups and not args.packages:
            continue
        print(f"{package}: {len(groups)} cycle group(s)")
        for group in groups:
            print("    " + ", ".join(m.removeprefix(package + ".") for m in group))
            chain = example(graph, group)
            if chain:
                print("      e.g. " + " -> ".join(m.removeprefix(package + ".") for m in chain))
    if not cycles:
        print("no import cycles")
    return 1 if cycles else 0


if __name__ == "__main__":
    sys.exit(main())
