"""Registry entries with a backend: configuration-only registration, listing, clear errors."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from serve_app.asr.backends.loader import load_backend
from serve_app.asr.registry import ModelRegistry, is_complete
from serve_app.config import ASRConfig, load_config
from serve_app.errors import ModelUnavailableError
from serve_app.registered_models import RegisteredModel


def _hf_dir(path):
    path.mkdir(parents=True)
    for name in ("config.json", "preprocessor_config.json", "model.safetensors", "tokenizer.json"):
        (path / name).write_text("{}")
    return path


def test_a_registered_checkpoint_is_served_by_its_backend(tmp_path):
    _hf_dir(tmp_path / "my-finetune")
    entry = RegisteredModel(name="ft", backend="transformers", path="my-finetune")
    registry = ModelRegistry(tmp_path, registered=[entry])
    spec, path = registry.resolve("ft")
    assert (spec.backend, path) == ("transformers", tmp_path / "my-finetune")
    listed = {m.name: m for m in registry.list_models()}
    assert listed["ft"].backend == "transformers" and listed["ft"].is_downloaded
    assert listed["tiny.en"].backend == "faster-whisper"
    assert "ft" in registry.available()


def test_an_absolute_path_is_used_as_is(tmp_path):
    target = _hf_dir(tmp_path / "elsewhere" / "ckpt")
    entry = RegisteredModel(name="abs", backend="transformers", path=str(target))
    assert ModelRegistry(tmp_path / "models", registered=[entry]).resolve("abs")[1] == target


def test_a_missing_checkpoint_says_where_to_put_what(tmp_path):
    entry = RegisteredModel(
        name="distil", backend="transformers", path="distil-dir", hub_id="org/distil-x"
    )
    registry = ModelRegistry(tmp_path, registered=[entry])
    with pytest.raises(ModelUnavailableError, match=r"transformers.*distil-dir.*org/distil"):
        registry.resolve("distil")
    assert "distil" not in registry.available()


def test_a_ctranslate2_dir_is_not_a_transformers_checkpoint(tmp_path):
    d = tmp_path / "ct2"
    d.mkdir()
    for name in ("model.bin", "config.json", "tokenizer.json"):
        (d / name).write_text("x")
    assert is_complete(d, "faster-whisper") and not is_complete(d, "transformers")


def test_an_entry_needs_a_source_and_a_known_backend():
    with pytest.raises(ValidationError, match="path or a hub_id"):
        RegisteredModel(name="x", backend="transformers")
    with pytest.raises(ValidationError):
        RegisteredModel(name="x", backend="onnx", path="p")  # type: ignore[arg-type]


def test_registration_is_configuration_only(tmp_path):
    config = load_config(
        {
            "config": "configs/local-cpu.yaml",
            "models": {
                "models_dir": str(tmp_path),
                "registered": [{"name": "mine", "backend": "transformers", "path": "m"}],
            },
        }
    )
    assert config.models.registered[0].backend == "transformers"


def test_an_unknown_backend_name_fails_to_load(tmp_path):
    with pytest.raises(ValueError, match="unknown ASR backend"):
        load_backend("onnx", tmp_path, ASRConfig(), "cpu", "int8")


@pytest.mark.parametrize(
    "block",
    [
        {"autoscaling_config": {"min_replicas": 0}},
        {"ray_actor_options": {"num_gpus": 1}},
        {"deployment": {"num_replicas": 2, "replicas": 3}},
    ],
)
def test_a_scaling_block_on_an_entry_is_refused_not_ignored(block):
    # A model's own scaling block goes under ``deployment:`` and is validated like
    # asr.deployment (tests/unit/asr/test_routing.py); loose keys would be silently ignored.
    with pytest.raises(ValidationError):
        RegisteredModel(name="m", backend="vllm", path="p", **block)
