"""Bench tables for the docs: ``bench/results/<name>.json`` rendered as markdown.

The JSON shape is the one ``bench/report.py`` writes (``name``, ``command``, ``date``,
``machine``, ``notes``, ``tables``). A marker naming a file that is not there, or a table
index that the file does not have, fails the build.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

RESULTS_DIR = Path(__file__).resolve().parent.parent / "bench" / "results"


class BenchError(ValueError):
    """A marker that names no results file or table."""


def result_names() -> list[str]:
    """Every results file committed under ``bench/results/``, by name."""
    return sorted(p.stem for p in RESULTS_DIR.glob("*.json"))


def load(name: str) -> dict[str, Any]:
    path = RESULTS_DIR / f"{name}.json"
    if not path.is_file():
        known = ", ".join(result_names()) or "none"
        raise BenchError(f"no bench results {path} (files there: {known})")
    data: dict[str, Any] = json.loads(path.read_text())
    for key in ("command", "date", "machine", "tables"):
        if key not in data:
            raise BenchError(f"{path}: missing {key!r}")
    return data


def _cell(value: object) -> str:
    if value is None:
        return ""
    return str(value).replace("|", "\\|").replace("\n", " ")


def render_table(table: dict[str, Any]) -> str:
    columns = table["columns"]
    lines = [f"**{table['title']}**", ""]
    lines.append("| " + " | ".join(_cell(c) for c in columns) + " |")
    lines.append("|" + "---|" * len(columns))
    for row in table["rows"]:
        lines.append("| " + " | ".join(_cell(c) for c in row) + " |")
    if table.get("caption"):
        lines += ["", str(table["caption"])]
    return "\n".join(lines)


def render(spec: str) -> str:
    """``name`` (every table of the file) or ``name/N`` (table N), with the line saying when,
    where and by what command it was measured."""
    name, _, index = spec.strip().partition("/")
    data = load(name)
    tables: list[dict[str, Any]] = data["tables"]
    if index:
        if not index.isdigit() or int(index) >= len(tables):
            raise BenchError(f"bench results {name!r} have {len(tables)} tables, not {index!r}")
        tables = [tables[int(index)]]
    parts = [render_table(t) for t in tables]
    if data.get("notes"):
        parts.append(str(data["notes"]))
    parts.append(
        f"*Measured {data['date']} on {data['machine']} by `{data['command']}` "
        f"(`bench/results/{name}.json`).*"
    )
    return "\n\n".join(parts)


def render_unlisted(listed: set[str]) -> str:
    """Every results file that no ``bench:`` marker of the site shows, so none is hidden."""
    names = [n for n in result_names() if n not in listed]
    if not names:
        if not result_names():
            return "No bench results are committed yet (`bench/results/` is empty)."
        return "Every committed bench result is shown on the pages above."
    return "\n\n".join(f"### `{n}`\n\n{render(n)}" for n in names)
