from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from serve_app.config import AppConfig, DeploymentOptions, load_config
from serve_app.paths import PROJECT_ROOT

CONFIGS = sorted((PROJECT_ROOT / "configs").glob("*.yaml"))


def test_there_are_configs():
    assert CONFIGS


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_every_config_validates(path: Path):
    config = load_config({"config": str(path)})
    for dep in (config.ingress, config.chunker, config.asr):
        options = dep.deployment.to_serve_options()
        assert "num_replicas" in options or "autoscaling_config" in options


def test_serve_config_points_at_a_valid_config():
    spec = yaml.safe_load((PROJECT_ROOT / "serve_config.yaml").read_text())
    assert spec["http_options"]["host"] == "127.0.0.1"
    for app in spec["applications"]:
        assert app["import_path"] == "serve_app.app:build_app"
        load_config(app["args"])


def test_overrides_win_over_the_file():
    config = load_config({"config": "configs/local-cpu.yaml", "asr": {"beam_size": 1}})
    assert config.asr.beam_size == 1
    assert config.asr.default_model == "tiny.en"  # the rest of the file still applies


def test_unknown_keys_are_rejected():
    with pytest.raises(ValidationError, match="extra"):
        AppConfig.model_validate({"asr": {"beam_sise": 3}})


def test_replicas_and_autoscaling_are_exclusive():
    with pytest.raises(ValidationError, match="either"):
        DeploymentOptions.model_validate(
            {"num_replicas": 2, "autoscaling_config": {"min_replicas": 1, "max_replicas": 2}}
        )


def test_autoscaling_bounds_are_checked():
    with pytest.raises(ValidationError, match="min_replicas"):
        DeploymentOptions.model_validate(
            {"autoscaling_config": {"min_replicas": 3, "max_replicas": 2}}
        )


def test_compute_type_auto_follows_the_device():
    config = AppConfig()
    assert config.asr.resolved_compute_type("cpu") == "int8"
    assert config.asr.resolved_compute_type("cuda") == "float16"


def test_serve_options_are_complete():
    options = AppConfig().asr.deployment.to_serve_options()
    assert options["autoscaling_config"]["max_replicas"] >= 1
    assert options["ray_actor_options"]["num_cpus"] == 1
    assert "num_replicas" not in options


MODEL_OVERLAYS = sorted((PROJECT_ROOT / "configs" / "families").glob("*.yaml"))


def test_config_files_merge_in_order(tmp_path: Path):
    first, second = tmp_path / "a.yaml", tmp_path / "b.yaml"
    first.write_text("asr: {beam_size: 2, default_model: base}\n")
    second.write_text("asr: {beam_size: 3}\n")
    config = load_config({"config": [str(first), str(second)], "asr": {"word_timestamps": False}})
    assert config.asr.beam_size == 3  # the later file wins
    assert config.asr.default_model == "base"  # keys it does not set survive
    assert config.asr.word_timestamps is False  # args win over every file


@pytest.mark.parametrize("overlay", MODEL_OVERLAYS, ids=lambda p: p.name)
@pytest.mark.parametrize("env", ["configs/gpu-single.yaml", "configs/gpu-cluster.yaml"])
def test_model_overlays_compose_with_gpu_environments(env: str, overlay: Path):
    config = load_config({"config": [env, str(overlay)]})
    assert config.asr.batch_size <= config.asr.deployment.max_ongoing_requests


def test_batch_size_must_fit_max_ongoing_requests():
    with pytest.raises(ValidationError, match="batch_size"):
        AppConfig.model_validate(
            {"asr": {"batch_size": 8, "deployment": {"max_ongoing_requests": 4}}}
        )


@pytest.mark.parametrize("env", ["configs/gpu-single.yaml", "configs/gpu-cluster.yaml"])
def test_gpu_configs_batch_on_cuda(env: str):
    config = load_config({"config": env})
    assert config.asr.device == "cuda" and config.asr.batch_size > 1
    assert config.chunker.max_inflight_chunks >= config.asr.batch_size


def test_gpu_single_leaves_the_llm_its_share_of_the_card():
    config = load_config({"config": "configs/gpu-single.yaml"})
    asr = config.asr.deployment
    assert asr.autoscaling_config is not None
    whisper = asr.autoscaling_config.max_replicas * asr.ray_actor_options.num_gpus
    diarizer = config.diarizer.deployment.ray_actor_options.num_gpus
    assert config.llm.device == "gpu"
    # Ray's fractions: what may be placed together on the card.
    assert whisper + diarizer + config.llm.num_gpus <= 1.0
    # Memory: vLLM takes gpu_memory_utilization of the whole card; the rest must hold Whisper
    # and pyannote (the file's header: ~9.5 GB + CUDA contexts of a 24 GB card).
    assert config.llm.gpu_memory_utilization <= 0.5


def test_llm_section_models_aliases_and_engine_settings():
    from serve_app.llm.settings import LLMSettings

    local = load_config({"config": "configs/local-cpu.yaml"}).llm
    assert (
        local.device == "cpu" and local.server_cls == "deployments.llm_server:TranscriptLLMServer"
    )
    assert local.resolve_name("Qwen/Qwen2.5-Coder-1.5B-Instruct") == local.default_model
    kwargs = local.engine_kwargs_for(local.get_model())
    from serve_app.llm.cpu_features import native_bfloat16

    assert kwargs["dtype"] == ("bfloat16" if native_bfloat16() else "float32")
    assert kwargs["enforce_eager"] is True
    assert local.engine_env_vars()["VLLM_HOST_IP"] == "127.0.0.1"
    with pytest.raises(KeyError):
        local.get_model("gpt-3.5-turbo")
    cluster = load_config({"config": "configs/gpu-cluster.yaml"}).llm
    assert cluster.resolve_name("gpt-3.5-turbo") == "qwen2.5-7b-instruct"  # a configured alias
    assert [m.name for m in cluster.served_models()] == [
        "qwen2.5-7b-instruct",
        "llama-3.1-8b-instruct",
    ]
    assert cluster.engine_kwargs_for(cluster.get_model())["gpu_memory_utilization"] == 0.9
    with pytest.raises(ValidationError, match="not a configured model"):
        LLMSettings(extra_served_models=["nope"])
    with pytest.raises(ValidationError, match="tensor_parallel_size"):
        LLMSettings(tensor_parallel_size=2)
