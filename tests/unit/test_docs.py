"""The docs generators (docs/gen_*.py, run by the mkdocs hook): every config field, every
route and every bench table reaches the site; a marker naming a missing result fails."""

from __future__ import annotations

import json
import sys
import typing
from pathlib import Path

import pytest
from pydantic import BaseModel

from serve_app.paths import PROJECT_ROOT

sys.path.insert(0, str(PROJECT_ROOT / "docs"))

import gen_api
import gen_bench
import gen_config


def _models(model: type[BaseModel], path: str) -> list[tuple[str, type[BaseModel]]]:
    out = [(path, model)]
    for name, field in model.model_fields.items():
        nested = gen_config._model_in(field.annotation)
        if nested is None or name == "deployment":
            continue
        key = f"{path}.{name}" if path else name
        if typing.get_origin(field.annotation) is list:
            key += "[]"
        out += _models(nested, key)
    return out


def test_config_reference_has_a_row_for_every_field() -> None:
    from serve_app.config import AppConfig
    from serve_app.deployment_options import DeploymentOptions

    text = gen_config.render()
    sections = {s.split("{#", 1)[1].split("}", 1)[0]: s for s in text.split("\n### ")}
    models = _models(AppConfig, "") + _models(DeploymentOptions, "deployment")
    for path, model in models:
        section = sections[gen_config._anchor(path or "top")]
        for name in model.model_fields:
            assert f"| `{name}` |" in section, (path, name)


def test_config_reference_takes_descriptions_from_field_docstrings() -> None:
    text = gen_config.render()
    # IngressConfig.max_upload_mb's docstring, rst markup turned into markdown
    assert "Uploads above this size are refused with 413" in text
    assert "``" not in text


def test_endpoint_table_lists_every_operation_and_the_websocket() -> None:
    table = gen_api.render_endpoints()
    for path, operations in gen_api.openapi()["paths"].items():
        for method in operations:
            if method in ("get", "post", "put", "patch", "delete"):
                assert f"| {method.upper()} | `{path}` |" in table
    assert "| WebSocket | `/api/transcribe/live/{job_id}` |" in table


def test_error_code_table_lists_every_app_error() -> None:
    from serve_app import errors

    table = gen_api.render_error_codes()
    for cls in vars(errors).values():
        if isinstance(cls, type) and issubclass(cls, errors.AppError):
            assert f"| {cls.status_code} | `{cls.code}` | `{cls.__name__}` |" in table


@pytest.fixture
def results(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(gen_bench, "RESULTS_DIR", tmp_path)
    data = {
        "name": "probe",
        "command": "python bench/probe.py --x 1",
        "date": "2026-12-03",
        "machine": "Some CPU, 2 cores, 24 GiB",
        "notes": "",
        "tables": [
            {"title": "First", "columns": ["a", "b"], "rows": [[1, None], ["x|y", 2.5]]},
            {"title": "Second", "columns": ["c"], "rows": [["z"]], "caption": "why"},
        ],
    }
    (tmp_path / "probe.json").write_text(json.dumps(data))
    return tmp_path


def test_bench_marker_renders_tables_with_how_they_were_measured(results: Path) -> None:
    text = gen_bench.render("probe")
    assert "| a | b |" in text and "| 1 |  |" in text and "| x\\|y | 2.5 |" in text
    assert "**Second**" in text and "why" in text
    assert "Measured 2026-12-03 on Some CPU, 2 cores, 24 GiB by `python bench/probe.py --x 1`" in (
        text
    )
    one = gen_bench.render("probe/1")
    assert "**Second**" in one and "**First**" not in one


def test_bench_marker_for_a_missing_file_or_table_fails(results: Path) -> None:
    with pytest.raises(gen_bench.BenchError, match="no bench results"):
        gen_bench.render("absent")
    with pytest.raises(gen_bench.BenchError, match="2 tables"):
        gen_bench.render("probe/2")


def test_unlisted_results_are_shown_and_listed_ones_are_not(results: Path) -> None:
    assert "**First**" in gen_bench.render_unlisted(set())
    assert "**First**" not in gen_bench.render_unlisted({"probe"})
