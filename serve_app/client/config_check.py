"""``transcribe config check``: what a config asks of a cluster, before deploying it.

The YAML is validated by the app's own models (``serve_app.config.load_config``, the
builder's ``args``: a config file, or a ``serve_config.yaml`` whose application args name
one). Each deployment's replica range, GPU fraction, CPUs and the GPU memory budget of its
model are printed; with ``--cluster`` the nodes of a running Ray cluster are read (by a
child process, so the CLI stays free of Ray) and every deployment is checked against them:
one replica of each must fit on some node, and every deployment's starting replicas must
fit together. Exit status 1 when not.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from serve_app.config import AppConfig, load_config
from serve_app.deployment_options import DeploymentOptions
from serve_app.registered_models import dedicated_models

config_app = typer.Typer(no_args_is_help=True, help="Check a deployment config.")
out = Console()

CARD_MEMORY_GB = {
    "T4": 16.0,
    "V100": 16.0,
    "L4": 24.0,
    "A10G": 24.0,
    "L40S": 48.0,
    "A100": 40.0,
    "A100-40G": 40.0,
    "A100-80G": 80.0,
    "H100": 80.0,
    "H200": 141.0,
}
"""Memory of one card of each Ray accelerator type (``A100``: the smaller model)."""


@dataclass
class Demand:
    """What one deployment asks for: replica range and the resources of one replica."""

    name: str
    model: str
    min_replicas: int
    max_replicas: int
    initial_replicas: int
    resources: dict[str, float]
    gpu_budget_gb: float | None = None
    budget_note: str = ""
    policy: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def gpus(self) -> float:
        return self.resources.get("GPU", 0.0)


def _replicas(options: DeploymentOptions) -> tuple[int, int, int]:
    auto = options.autoscaling_config
    if auto is None:
        n = options.num_replicas or 1
        return n, n, n
    initial = auto.initial_replicas if auto.initial_replicas is not None else auto.min_replicas
    return auto.min_replicas, auto.max_replicas, initial


def _budget(
    gpus: float, accelerator: str | None, share: float | None = None
) -> tuple[float | None, str]:
    """GPU memory a replica may use: its fraction of the card (vLLM: its utilization)."""
    if gpus <= 0:
        return None, ""
    card = CARD_MEMORY_GB.get(accelerator or "")
    fraction = share if share is not None else gpus
    if card is None:
        return None, f"{fraction:g} x card (accelerator_type not set: size unknown)"
    return fraction * card, f"{fraction:g} x {card:g} GB ({accelerator})"


def _demand(name: str, model: str, options: DeploymentOptions) -> Demand:
    actor = options.ray_actor_options
    resources = {"CPU": actor.num_cpus, "GPU": actor.num_gpus, **actor.resources}
    if actor.memory:
        resources["memory"] = float(actor.memory)
    if actor.accelerator_type:
        resources[f"accelerator_type:{actor.accelerator_type}"] = 0.001
    budget, note = _budget(actor.num_gpus, actor.accelerator_type)
    low, high, initial = _replicas(options)
    auto = options.autoscaling_config
    policy = ""
    if auto is not None:
        policy = (
            f"queued audio, {auto.policy.target_audio_s_per_replica:g} s/replica"
            if auto.policy is not None
            else f"ongoing requests, {auto.target_ongoing_requests:g}/replica"
        )
    return Demand(name, model, low, high, initial, resources, budget, note, policy)


def deployment_demands(config: AppConfig) -> list[Demand]:
    """Every deployment ``build_graph`` binds for this config, in graph order."""
    demands = [
        _demand("Ingress", "-", config.ingress.deployment),
        _demand("Chunker", "silero VAD", config.chunker.deployment),
        _demand("WhisperASR", config.asr.default_model, config.asr.deployment),
        # Registered models with a scaling block of their own: one deployment each.
        *(
            _demand(m.deployment_name, m.name, m.deployment)
            for m in dedicated_models(config.models)
            if m.deployment
        ),
    ]
    if config.diarizer.enabled:
        demands.append(_demand("Diarizer", "pyannote", config.diarizer.deployment))
    demands.append(_demand("Retranscriber", "-", config.retranscriber.deployment))
    llm = config.llm
    if llm.enabled:
        demands.append(_demand("TranscriptAssistant", "-", config.assistant.deployment))
        for model in llm.served_models():
            auto = llm.autoscaling
            low, high, initial = (
                (auto.min_replicas, auto.max_replicas, auto.initial_replicas or auto.min_replicas)
                if auto is not None
                else (llm.num_replicas or 1,) * 3
            )
            resources = {"CPU": llm.num_cpus}
            budget, note = None, ""
            if llm.device == "gpu":
                # One placement bundle per tensor-parallel rank, on one node here.
                resources["GPU"] = llm.num_gpus * llm.tensor_parallel_size
                if llm.accelerator_type:
                    resources[f"accelerator_type:{llm.accelerator_type}"] = 0.001
                budget, note = _budget(
                    llm.num_gpus, llm.accelerator_type, share=llm.gpu_memory_utilization
                )
            demands.append(
                Demand(
                    f"LLMServer:{model.name}",
                    model.name,
                    low,
                    high,
                    initial,
                    resources,
                    budget,
                    note,
                    "ongoing requests" if auto else "",
                )
            )
    return demands


def fits(node: dict[str, float], need: dict[str, float]) -> bool:
    return all(node.get(k, 0.0) + 1e-9 >= v for k, v in need.items() if v > 0)


def take(node: dict[str, float], need: dict[str, float]) -> None:
    for k, v in need.items():
        if v > 0:
            node[k] = node.get(k, 0.0) - v


def capacity(nodes: list[dict[str, float]], need: dict[str, float]) -> int:
    """Replicas of one deployment the nodes could hold, alone."""
    total = 0
    for node in nodes:
        counts = [math.floor(node.get(k, 0.0) / v + 1e-9) for k, v in need.items() if v > 0]
        total += min(counts) if counts else 1000
    return total


def pack(nodes: list[dict[str, float]], demands: list[Demand]) -> list[str]:
    """Place every deployment's starting replicas, largest first, on the nodes' totals;
    the names that did not fit (empty: all placed)."""
    free = [dict(n) for n in nodes]
    replicas = [d for d in demands for _ in range(d.initial_replicas)]
    replicas.sort(key=lambda d: (d.gpus, d.resources.get("CPU", 0.0)), reverse=True)
    missing = []
    for d in replicas:
        node = next((n for n in free if fits(n, d.resources)), None)
        if node is None:
            missing.append(d.name)
        else:
            take(node, d.resources)
    return missing


def load_checked(path: Path) -> AppConfig:
    """A config file, or a ``serve_config.yaml`` (its first application's ``args``)."""
    raw = yaml.safe_load(path.read_text()) or {}
    if "applications" in raw:
        args = dict(raw["applications"][0].get("args") or {})
    else:
        args = {"config": str(path)}
    return load_config(args)


def read_cluster(address: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "serve_app.autoscaling.cluster_nodes", address],
        capture_output=True,
        text=True,
        timeout=120,
    )
    if done.returncode != 0:
        raise RuntimeError(f"cannot read the cluster at {address}: {done.stderr.strip()[-300:]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def _fmt_gb(gb: float | None, note: str) -> str:
    return f"{gb:.1f} GB = {note}" if gb is not None else (note or "-")


def report(demands: list[Demand], cluster: dict[str, Any] | None) -> bool:
    """Print the table; True when every deployment can be placed (always without a cluster)."""
    nodes = [n["total"] for n in (cluster or {}).get("nodes", []) if n["alive"]]
    table = Table(title="Deployments")
    for column in ("deployment", "model", "replicas", "GPU", "CPU", "GPU memory budget", "scaling"):
        table.add_column(column)
    if cluster is not None:
        table.add_column("placeable")
    ok = True
    for d in demands:
        row = [
            d.name,
            d.model,
            f"{d.min_replicas}-{d.max_replicas}" + (" (to zero)" if d.min_replicas == 0 else ""),
            f"{d.gpus:g}",
            f"{d.resources.get('CPU', 0.0):g}",
            _fmt_gb(d.gpu_budget_gb, d.budget_note),
            d.policy or "fixed",
        ]
        if cluster is not None:
            room = capacity(nodes, d.resources)
            if room == 0:
                ok = False
                row.append(
                    "no: no node has "
                    + ", ".join(f"{k}={v:g}" for k, v in d.resources.items() if v > 0)
                )
            else:
                row.append(f"yes (up to {min(room, d.max_replicas)} of {d.max_replicas})")
        table.add_row(*row)
    out.print(table)
    if cluster is not None:
        missing = pack(nodes, demands)
        alive = len(nodes)
        out.print(
            f"cluster: {alive} live node(s); GPUs {sum(n.get('GPU', 0) for n in nodes):g}, "
            f"CPUs {sum(n.get('CPU', 0) for n in nodes):g}"
        )
        if missing:
            ok = False
            out.print("starting replicas do not fit together: " + ", ".join(sorted(set(missing))))
        else:
            out.print("starting replicas fit together on the cluster")
        out.print("placeable" if ok else "NOT placeable")
    return ok


@config_app.command("check")
def check(
    config_file: Annotated[Path, typer.Argument(help="configs/<env>.yaml or serve_config.yaml")],
    cluster: Annotated[
        str | None, typer.Option(help="A running Ray cluster (GCS address or ray://) to check")
    ] = None,
) -> None:
    """Validate a config with the app's models; print each deployment's replicas, GPU
    fraction, CPUs and GPU memory budget, and (``--cluster``) whether it can be placed."""
    try:
        config = load_checked(config_file)
    except (OSError, ValidationError, ValueError, KeyError, yaml.YAMLError) as exc:
        Console(stderr=True).print(f"error: {config_file}: {exc}", markup=False)
        raise typer.Exit(1) from exc
    try:
        nodes = read_cluster(cluster) if cluster else None
    except (RuntimeError, subprocess.TimeoutExpired, ValueError) as exc:
        Console(stderr=True).print(f"error: {exc}", markup=False)
        raise typer.Exit(1) from exc
    if not report(deployment_demands(config), nodes):
        raise typer.Exit(1)
