"""Print the Markdown table of every ``MOMENTIC_*`` setting, from ``documented_settings()``.

The README's Configuration section holds this table between the
``<!-- settings:start -->`` and ``<!-- settings:end -->`` markers, and a test fails when
the two differ. ``--update`` rewrites that block of README.md in place.

    python scripts/settings_table.py            # print the table
    python scripts/settings_table.py --update   # refresh README.md
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
START = "<!-- settings:start -->"
END = "<!-- settings:end -->"

# Runs from a clean checkout too (`python scripts/settings_table.py`), where the project
# may not be installed and sys.path[0] is scripts/.
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from adapters.config import documented_settings  # noqa: E402


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _default(value: Any) -> str:
    if isinstance(value, bool):
        return "`true`" if value else "`false`"
    if value == "":
        return "*(empty)*"
    return f"`{_cell(str(value))}`"


def render() -> str:
    """The table, one line per setting, ending with a newline."""
    lines = ["| Variable | Default | Meaning |", "|---|---|---|"]
    for env, default, help_text in documented_settings():
        lines.append(f"| `{env}` | {_default(default)} | {_cell(help_text)} |")
    return "\n".join(lines) + "\n"


def _split(text: str) -> tuple[str, str, str]:
    """(up to and including the start marker line, the table, from the end marker on)."""
    head, sep, rest = text.partition(START + "\n")
    body, sep2, tail = rest.partition(END)
    if not sep or not sep2:
        raise SystemExit(f"README.md lacks the {START} ... {END} markers")
    return head + sep, body, sep2 + tail


def readme_block(text: str) -> str:
    """What stands between the markers of ``text`` (the marker lines excluded)."""
    return _split(text)[1]


def update(path: Path = README) -> bool:
    """Rewrite the table in ``path``; True when it changed."""
    head, old, tail = _split(path.read_text(encoding="utf-8"))
    new = render()
    if old == new:
        return False
    path.write_text(head + new + tail, encoding="utf-8")
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--update", action="store_true", help="rewrite the table in README.md")
    args = parser.parse_args(argv)
    if args.update:
        print("README.md updated" if update() else "README.md already up to date")
    else:
        sys.stdout.write(render())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
