from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from serve_app.config import PROJECT_ROOT, AppConfig, DeploymentOptions, load_config

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
