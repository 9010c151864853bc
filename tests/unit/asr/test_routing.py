"""Per-model scaling blocks: a registered model with a ``deployment:`` block gets its own
``WhisperASR-<name>`` deployment, checked when the config loads, and the router sends its
requests there and every other model's to the shared ``WhisperASR``."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from serve_app.asr.routing import ASRRouter
from serve_app.config import AppConfig
from serve_app.registered_models import (
    RegisteredModel,
    dedicated_config,
    dedicated_models,
    shared_models,
)

OWN_BLOCK = {
    "autoscaling_config": {
        "min_replicas": 0,
        "max_replicas": 4,
        "policy": {"name": "queued_audio", "target_audio_s_per_replica": 90},
    },
    "max_ongoing_requests": 8,
    "ray_actor_options": {"num_gpus": 0.5, "num_cpus": 1},
}


def _config(*entries: dict[str, Any], **asr: Any) -> AppConfig:
    return AppConfig.model_validate({"asr": asr, "models": {"registered": list(entries)}})


def _entry(name: str, deployment: dict[str, Any] | None = None, **more: Any) -> dict[str, Any]:
    entry = {"name": name, "backend": "transformers", "path": f"/models/{name}", **more}
    return entry | ({"deployment": deployment} if deployment is not None else {})


def test_a_model_with_its_own_block_gets_its_own_deployment():
    config = _config(_entry("turbo ft/v2", OWN_BLOCK), _entry("distil"))
    own, plain = config.models.registered
    assert own.deployment_name == "WhisperASR-turbo-ft-v2"
    assert plain.deployment_name == "WhisperASR"
    assert dedicated_models(config.models) == [own]
    assert [m.name for m in shared_models(config.models).registered] == ["distil"]

    asr, models = dedicated_config(config.asr, config.models, own)
    # Its replicas warm and serve this model alone, with its own block as Serve options.
    assert asr.default_model == "turbo ft/v2" and [m.name for m in models.registered] == [
        "turbo ft/v2"
    ]
    options = asr.deployment.to_serve_options()
    assert options["autoscaling_config"]["min_replicas"] == 0
    assert options["autoscaling_config"]["max_replicas"] == 4
    assert options["autoscaling_config"]["policy"]["policy_kwargs"][
        "target_audio_s_per_replica"
    ] == (90)
    assert options["ray_actor_options"] == {"num_cpus": 1, "num_gpus": 0.5}
    # Everything else comes from asr: (device, beam, batching), and the shared block is intact.
    assert asr.beam_size == config.asr.beam_size
    assert config.asr.deployment.autoscaling_config.max_replicas == 2  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("entries", "asr", "says"),
    [
        ([_entry("m"), _entry("m", OWN_BLOCK)], {}, "registered twice"),
        ([_entry("a b", OWN_BLOCK), _entry("a/b", OWN_BLOCK)], {}, "would both be served"),
        ([_entry("ft", OWN_BLOCK)], {"default_model": "ft"}, "scale it with asr.deployment"),
        (
            [_entry("ft", {"max_ongoing_requests": 2})],
            {"batch_size": 4, "deployment": {"max_ongoing_requests": 8}},
            "asr.batch_size must be <=",
        ),
        (
            [_entry("ft", {"autoscaling_config": {"min_replicas": 3, "max_replicas": 2}})],
            {},
            "min_replicas must be <= max_replicas",
        ),
        (
            [_entry("ft", {"num_replicas": 2, "autoscaling_config": {"max_replicas": 2}})],
            {},
            "either num_replicas or autoscaling_config",
        ),
        ([_entry("ft", {"replicas": 2})], {}, "Extra inputs are not permitted"),
        (
            [_entry("ft", {"autoscaling_config": {"policy": {"name": "gpu_util"}}})],
            {},
            "queued_audio",
        ),
        ([_entry("ft", OWN_BLOCK, backend="onnx")], {}, "faster-whisper"),
    ],
)
def test_a_wrong_block_is_a_clear_error_at_load(entries, asr, says):
    with pytest.raises(ValidationError, match=says) as raised:
        _config(*entries, **asr)
    assert "models" in str(raised.value)


class RecordingHandle:
    """A fake ``DeploymentHandle``: records the ``options`` each call asked for."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.calls: list[dict[str, Any]] = []

    def options(self, **options: Any) -> tuple[str, dict[str, Any]]:
        self.calls.append(options)
        return self.name, options


def test_the_router_sends_each_model_to_its_deployment():
    config = _config(_entry("ft", OWN_BLOCK), _entry("distil"))
    handles: dict[str, RecordingHandle] = {}

    def get_handle(name: str) -> RecordingHandle:
        return handles.setdefault(name, RecordingHandle(name))

    router = ASRRouter.by_name(config.models, get_handle)
    assert set(handles) == {"WhisperASR", "WhisperASR-ft"}
    # Its own deployment serves the model alone: no model id, Serve routes on load.
    assert router.options(multiplexed_model_id="ft") == ("WhisperASR-ft", {})
    for model in ("distil", "tiny.en", "whisper-1"):
        assert router.options(multiplexed_model_id=model) == (
            "WhisperASR",
            {"multiplexed_model_id": model},
        )
    assert router.handle_for("ft") is handles["WhisperASR-ft"]
    assert router.handle_for(None) is handles["WhisperASR"]


def test_without_blocks_everything_stays_on_the_shared_deployment():
    config = _config(_entry("distil"))
    router = ASRRouter.by_name(config.models, RecordingHandle)
    assert router.dedicated == {}
    assert router.options(multiplexed_model_id="distil") == (
        "WhisperASR",
        {"multiplexed_model_id": "distil"},
    )


def test_registered_model_without_source_still_refused():
    with pytest.raises(ValidationError, match="needs a path or a hub_id"):
        RegisteredModel(name="m", deployment=OWN_BLOCK)  # type: ignore[arg-type]


def test_config_check_lists_each_models_own_deployment():
    from serve_app.client.config_check import deployment_demands

    config = _config(_entry("ft", OWN_BLOCK), _entry("distil"))
    demands = {d.name: d for d in deployment_demands(config)}
    own = demands["WhisperASR-ft"]
    assert (own.model, own.min_replicas, own.max_replicas) == ("ft", 0, 4)
    assert own.resources["GPU"] == 0.5 and "queued audio, 90" in own.policy
    assert "WhisperASR-distil" not in demands and demands["WhisperASR"].max_replicas == 2
