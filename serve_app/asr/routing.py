"""Which ASR deployment serves which Whisper model, in one place.

A registered model with a ``deployment:`` block of its own is served by its own
``WhisperASR-<name>`` deployment; every other model by the shared ``WhisperASR`` (Serve model
multiplexing). Callers hold an :class:`ASRRouter` where they held the ``WhisperASR`` handle
and use it the same way: ``router.options(multiplexed_model_id=name).transcribe_chunk.remote(...)``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from serve_app.config import ModelsConfig
from serve_app.registered_models import SHARED_ASR_DEPLOYMENT, dedicated_models


@dataclass
class ASRRouter:
    """The ASR handles by model name: ``shared`` serves every model that is not in
    ``dedicated``. Handles are duck-typed (a Serve ``DeploymentHandle``, or a bound
    deployment inside ``build_graph``, which Serve replaces by its handle wherever it lies in
    the init arguments), so this module imports no Ray."""

    shared: Any
    dedicated: dict[str, Any] = field(default_factory=dict)
    """Canonical model name (``ModelRegistry.spec(name).name``, what every caller passes)
    -> the handle of its own deployment."""

    @classmethod
    def by_name(cls, models: ModelsConfig, get_handle: Callable[[str], Any]) -> ASRRouter:
        """The router of a running app, from deployment names (``get_handle(name)``:
        ``serve.get_deployment_handle(name, app_name)``)."""
        return cls(
            get_handle(SHARED_ASR_DEPLOYMENT),
            {m.name: get_handle(m.deployment_name) for m in dedicated_models(models)},
        )

    def handle_for(self, model: str | None) -> Any:
        """The handle of the deployment that serves ``model`` (None: the default model)."""
        if model is not None and model in self.dedicated:
            return self.dedicated[model]
        return self.shared

    def options(self, *, multiplexed_model_id: str = "", **options: Any) -> Any:
        """``handle.options(...)`` on the deployment that serves ``multiplexed_model_id``.

        A model's own deployment serves that model alone (it is its replicas' default), so
        its requests carry no model id: Serve then routes them on load alone."""
        if multiplexed_model_id in self.dedicated:
            return self.dedicated[multiplexed_model_id].options(**options)
        return self.shared.options(multiplexed_model_id=multiplexed_model_id, **options)
