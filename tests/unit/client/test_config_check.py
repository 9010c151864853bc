"""``transcribe config check``: the static report and placement on given nodes."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from serve_app.client.cli import app
from serve_app.client.config_check import capacity, deployment_demands, pack, report
from serve_app.config import load_config

runner = CliRunner()


def by_name(config: str) -> dict[str, object]:
    return {d.name: d for d in deployment_demands(load_config({"config": config}))}


def test_gpu_cluster_report_has_ranges_fractions_and_budgets():
    demands = by_name("configs/gpu-cluster.yaml")
    asr = demands["WhisperASR"]
    assert (asr.min_replicas, asr.max_replicas, asr.gpus) == (2, 16, 0.4)  # type: ignore[attr-defined]
    assert asr.gpu_budget_gb == pytest.approx(9.6)  # type: ignore[attr-defined]
    assert asr.resources["accelerator_type:L4"] > 0  # type: ignore[attr-defined]
    assert "queued audio" in asr.policy  # type: ignore[attr-defined]
    assert demands["Diarizer"].min_replicas == 0  # type: ignore[attr-defined]
    llm = demands["LLMServer:qwen2.5-7b-instruct"]
    assert llm.gpu_budget_gb == pytest.approx(72.0)  # type: ignore[attr-defined]


def test_cli_static_report(tmp_path: Path):
    result = runner.invoke(
        app, ["config", "check", "configs/gpu-cluster.yaml"], env={"COLUMNS": "200"}
    )
    assert result.exit_code == 0, result.output
    for text in ("WhisperASR", "0.4", "9.6 GB", "2-16", "0-8 (to zero)", "queued audio, 360"):
        assert text in result.output


def test_cli_rejects_an_invalid_config(tmp_path: Path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "asr:\n  deployment:\n    autoscaling_config: {min_replicas: 3, max_replicas: 1}\n"
    )
    result = runner.invoke(app, ["config", "check", str(bad)])
    assert result.exit_code == 1
    assert "min_replicas" in result.output


def test_serve_config_yaml_is_read_through_its_args():
    result = runner.invoke(app, ["config", "check", "serve_config.yaml"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "tiny.en" in result.output


def test_placement_on_two_logical_gpu_nodes():
    config = load_config(
        {
            "config": "configs/local-cpu.yaml",
            "llm": {"enabled": False},
            "asr": {
                "deployment": {
                    "autoscaling_config": {"min_replicas": 1, "max_replicas": 3},
                    "ray_actor_options": {"num_cpus": 0.25, "num_gpus": 0.5},
                }
            },
        }
    )
    demands = deployment_demands(config)
    nodes = [{"CPU": 2.0, "GPU": 1.0, "memory": 8e9}, {"CPU": 2.0, "GPU": 1.0, "memory": 8e9}]
    asr = next(d for d in demands if d.name == "WhisperASR")
    assert capacity(nodes, asr.resources) == 4
    assert pack(nodes, demands) == []
    assert report(demands, {"nodes": [{"alive": True, "total": n} for n in nodes]})
    # Without GPUs the ASR cannot be placed at all: not placeable.
    cpu_only = [{"CPU": 8.0}]
    assert capacity(cpu_only, asr.resources) == 0
    assert not report(demands, {"nodes": [{"alive": True, "total": n} for n in cpu_only]})
    # Each fits alone, but the starting replicas together do not.
    tight = [{"CPU": 1.0, "GPU": 1.0}]
    assert pack(tight, demands)  # the diarizer's 1 CPU + ASR's 0.25 > 1
