"""deploy/rayservice.yaml: parses, runs the same app as serve_config.yaml, and offers every
resource that the deployments of its config ask for."""

import json
from pathlib import Path

import pytest
import yaml

from serve_app.config import AppConfig, load_config
from serve_app.paths import PROJECT_ROOT

MANIFEST = PROJECT_ROOT / "deploy" / "rayservice.yaml"


def _documents() -> list[dict]:
    return [d for d in yaml.safe_load_all(MANIFEST.read_text()) if d]


def _rayservice() -> dict:
    (service,) = [d for d in _documents() if d["kind"] == "RayService"]
    return service


def _serve_config() -> dict:
    # KubeRay takes serveConfigV2 as a string holding the Serve config YAML.
    text = _rayservice()["spec"]["serveConfigV2"]
    assert isinstance(text, str)
    return yaml.safe_load(text)


def _app_configs() -> list[AppConfig]:
    return [load_config(app["args"]) for app in _serve_config()["applications"]]


def test_manifest_is_a_kuberay_rayservice():
    service = _rayservice()
    assert service["apiVersion"] == "ray.io/v1"
    cluster = service["spec"]["rayClusterConfig"]
    assert cluster["headGroupSpec"]["rayStartParams"]["num-cpus"] == "0"
    groups = {g["groupName"] for g in cluster["workerGroupSpecs"]}
    assert {"cpu-workers", "asr-l4"} <= groups


def test_serve_config_matches_serve_config_yaml():
    local = yaml.safe_load((PROJECT_ROOT / "serve_config.yaml").read_text())
    remote = _serve_config()
    assert [a["name"] for a in remote["applications"]] == [a["name"] for a in local["applications"]]
    for ours, theirs in zip(remote["applications"], local["applications"], strict=True):
        assert ours["import_path"] == theirs["import_path"]
        assert ours["route_prefix"] == theirs["route_prefix"]
        assert ours["args"]["config"] == "configs/gpu-cluster.yaml"


def test_application_args_validate():
    for config in _app_configs():
        assert config.asr.device == "cuda"
        assert config.asr.batch_size > 1
        # Every node reads the same models; jobs and kept audio live in shared services.
        assert config.models.models_dir.startswith("/mnt/shared")
        assert config.job_store.database_url.startswith("postgresql://")
        assert config.audio_store.url.startswith("s3://")


def _containers(group: dict) -> list[dict]:
    return group["template"]["spec"]["containers"]


def test_every_pod_mounts_the_shared_volume_and_has_limits():
    cluster = _rayservice()["spec"]["rayClusterConfig"]
    for group in [cluster["headGroupSpec"], *cluster["workerGroupSpecs"]]:
        claims = [
            v["persistentVolumeClaim"]["claimName"]
            for v in group["template"]["spec"]["volumes"]
            if "persistentVolumeClaim" in v
        ]
        assert claims == ["serve-transcribe-shared"]
        for container in _containers(group):
            assert "/mnt/shared" in [m["mountPath"] for m in container["volumeMounts"]]
            assert container["resources"]["limits"]["memory"]
            assert container["resources"]["requests"] == container["resources"]["limits"]
    pvcs = [d for d in _documents() if d["kind"] == "PersistentVolumeClaim"]
    assert [p["metadata"]["name"] for p in pvcs] == ["serve-transcribe-shared"]
    assert pvcs[0]["spec"]["accessModes"] == ["ReadWriteMany"]


def _offered_resources() -> tuple[set[str], int]:
    """Custom resources some worker group advertises, and the most GPUs in one pod."""
    cluster = _rayservice()["spec"]["rayClusterConfig"]
    custom: set[str] = set()
    gpus = 0
    for group in cluster["workerGroupSpecs"]:
        raw = group.get("rayStartParams", {}).get("resources")
        if raw:
            # KubeRay pastes the value into a shell command line (`ray start --resources=...`):
            # the outer quotes and backslash escapes are for that shell.
            custom |= set(json.loads(raw.strip('"').replace('\\"', '"')))
        for container in _containers(group):
            gpus = max(gpus, int(container["resources"]["limits"].get("nvidia.com/gpu", 0)))
    return custom, gpus


@pytest.mark.parametrize("deployment", ["ingress", "chunker", "asr", "diarizer"])
def test_cluster_offers_what_each_deployment_asks_for(deployment: str):
    custom, gpus = _offered_resources()
    for config in _app_configs():
        actor = getattr(config, deployment).deployment.ray_actor_options
        assert set(actor.resources) <= custom
        if actor.num_gpus:
            assert gpus >= 1
            assert actor.accelerator_type == "L4"


def test_llm_has_its_own_gpu_node_type():
    cluster = _rayservice()["spec"]["rayClusterConfig"]
    groups = {g["groupName"]: g for g in cluster["workerGroupSpecs"]}
    assert "llm-gpu" in groups
    for config in _app_configs():
        if config.llm.enabled:
            assert config.llm.device == "gpu"
            assert config.llm.accelerator_type not in (None, "L4")  # not on the ASR cards


def test_gpu_fractions_fit_one_card():
    """The replicas meant to share an L4 (configs/gpu-cluster.yaml header) fit in 1 GPU."""
    (config,) = _app_configs()
    asr = config.asr.deployment.ray_actor_options.num_gpus
    diarizer = config.diarizer.deployment.ray_actor_options.num_gpus
    assert 2 * asr + diarizer <= 1.0


def test_manifest_path_is_documented():
    page = (PROJECT_ROOT / "docs" / "configuration.md").read_text()
    assert str(Path("deploy") / "rayservice.yaml") in page
