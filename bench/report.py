"""Where every bench script's figures go: printed as tables, written to bench/results/<name>.json.

The JSON shape (read by the docs site's mkdocs hook, docs/hooks.py)::

    {"name": "llm_quality", "command": "python bench/llm_quality.py --split report",
     "date": "2026-12-03", "machine": "<cpu model>, <n> cores, <GiB> GiB",
     "notes": "...", "tables": [{"title": ..., "columns": [...], "rows": [[...]], "caption": ...}]}

A table is a dict with ``title``, ``columns``, ``rows`` (cells are str, int, float or None) and an
optional ``caption``. ``table()`` builds one and checks that every row fits the columns.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import platform
import re
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypedDict

RESULTS_DIR = Path(__file__).resolve().parent / "results"
REPO_ROOT = Path(__file__).resolve().parent.parent
_NAME = re.compile(r"^[a-z0-9][a-z0-9_\-]*$")

Cell = str | int | float | None


class _TableBase(TypedDict):
    title: str
    columns: list[str]
    rows: list[list[Cell]]


class Table(_TableBase, total=False):
    caption: str


def table(
    title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]], caption: str = ""
) -> Table:
    """A table whose rows all have len(columns) cells; floats are kept as they are (round
    them before), anything that is not str/int/float/None is written as str()."""
    out_rows: list[list[Cell]] = []
    for i, row in enumerate(rows):
        if len(row) != len(columns):
            raise ValueError(
                f"table {title!r}: row {i} has {len(row)} cells, expected {len(columns)}"
            )
        out_rows.append([_cell(c) for c in row])
    t = Table(title=title, columns=list(columns), rows=out_rows)
    if caption:
        t["caption"] = caption
    return t


def _cell(value: Any) -> Cell:
    if value is None or isinstance(value, str | int | float):
        return value
    return str(value)


def machine() -> str:
    """'<cpu model>, <n> cores, <GiB> GiB' of this host."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
        memory = f"{gib:.0f} GiB"
    except (ValueError, OSError, AttributeError):
        memory = "unknown memory"
    return f"{cpu}, {os.cpu_count()} cores, {memory}"


def command_line(argv: Sequence[str] | None = None) -> str:
    """The command that ran this script, as a user would type it from the repository root."""
    args = list(sys.argv if argv is None else argv)
    if args:
        with contextlib.suppress(ValueError):  # a script outside the repository
            args[0] = str(Path(args[0]).resolve().relative_to(REPO_ROOT))
    return "python " + shlex.join(args)


def format_table(t: Table) -> str:
    """Plain-text rendering: title, aligned columns (numbers to the right), caption."""
    rows = [[_show(c) for c in row] for row in t["rows"]]
    cells = [list(t["columns"]), *rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(t["columns"]))]
    numeric = [
        all(isinstance(row[i], int | float) or row[i] is None for row in t["rows"])
        for i in range(len(widths))
    ]
    lines = [t["title"]]
    for n, row in enumerate(cells):
        lines.append(
            "  ".join(
                c.rjust(w) if numeric[i] else c.ljust(w)
                for i, (c, w) in enumerate(zip(row, widths, strict=True))
            ).rstrip()
        )
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    if t.get("caption"):
        lines.append(t["caption"])
    return "\n".join(lines)


def _show(cell: Cell) -> str:
    if cell is None:
        return "-"
    if isinstance(cell, float):
        return f"{cell:g}" if abs(cell) >= 1e-3 or cell == 0 else f"{cell:.2e}"
    return str(cell)


def write_results(
    name: str,
    *,
    command: str,
    tables: Sequence[Table],
    notes: str = "",
    results_dir: Path | None = None,
) -> Path:
    """Print every table and write ``bench/results/<name>.json``; returns the path."""
    if not _NAME.match(name):
        raise ValueError(f"bad results name {name!r}: lower-case letters, digits, '_' and '-'")
    doc: dict[str, Any] = {
        "name": name,
        "command": command,
        "date": dt.datetime.now(dt.UTC).date().isoformat(),
        "machine": machine(),
        "notes": notes,
        "tables": [dict(t) for t in tables],
    }
    for t in tables:
        print()
        print(format_table(t))
    out_dir = results_dir or RESULTS_DIR
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{name}.json"
    path.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
    print(f"\nwrote {path}", flush=True)
    return path
