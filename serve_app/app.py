"""The deployment graph, wired in one place.

``serve_config.yaml`` points at ``serve_app.app:build_app``; its ``args`` (usually
``{config: configs/<env>.yaml}`` plus overrides) are validated into ``AppConfig`` here, and
this is the only place that calls ``serve.deployment(...).bind(...)``.
"""

from __future__ import annotations

from typing import Any

from serve_app.config import AppConfig, load_config
from serve_app.registered_models import SHARED_ASR_DEPLOYMENT


def build_app(args: dict[str, Any] | None = None) -> Any:
    """Application builder for ``serve run`` / ``serve deploy`` (returns a Serve Application)."""
    return build_graph(load_config(args))


def build_graph(config: AppConfig) -> Any:
    from ray import serve

    from deployments.chunker import Chunker
    from deployments.diarizer import Diarizer
    from deployments.ingress import Ingress
    from deployments.retranscriber import Retranscriber

    asr = build_asr_graph(config)
    diarizer = None
    if config.diarizer.enabled:
        diarizer = serve.deployment(
            name="Diarizer", **config.diarizer.deployment.to_serve_options()
        )(Diarizer).bind(config.diarizer)
    chunker = serve.deployment(name="Chunker", **config.chunker.deployment.to_serve_options())(
        Chunker
    ).bind(asr, diarizer, config)
    retranscriber = serve.deployment(
        name="Retranscriber", **config.retranscriber.deployment.to_serve_options()
    )(Retranscriber).bind(asr, config)
    assistant = build_llm_graph(config)
    return serve.deployment(name="Ingress", **config.ingress.deployment.to_serve_options())(
        Ingress
    ).bind(chunker, retranscriber, config, assistant)


def build_asr_graph(config: AppConfig) -> Any:
    """The shared ``WhisperASR`` deployment and one ``WhisperASR-<name>`` per registered model
    with a scaling block of its own, behind the router its callers use like a handle."""
    from ray import serve

    from deployments.asr import WhisperASR
    from serve_app.asr.routing import ASRRouter
    from serve_app.registered_models import dedicated_config, dedicated_models, shared_models

    shared = serve.deployment(
        name=SHARED_ASR_DEPLOYMENT, **config.asr.deployment.to_serve_options()
    )(WhisperASR).bind(config.asr, shared_models(config.models))
    dedicated = {}
    for model in dedicated_models(config.models):
        asr, models = dedicated_config(config.asr, config.models, model)
        dedicated[model.name] = serve.deployment(
            name=model.deployment_name, **asr.deployment.to_serve_options()
        )(WhisperASR).bind(asr, models)
    return ASRRouter(shared, dedicated)


def build_llm_graph(config: AppConfig) -> Any:
    """The LLM replicas (``ray.serve.llm``, one deployment per served model) and the
    summary/chat deployment that calls them; None when ``llm.enabled`` is false."""
    if not config.llm.enabled:
        return None
    from ray import serve
    from ray.serve.llm import build_llm_deployment

    from deployments.assistant import TranscriptAssistant
    from deployments.llm_server import to_llm_config

    llms = {
        model.name: build_llm_deployment(to_llm_config(config.llm, model.name))
        for model in config.llm.served_models()
    }
    return serve.deployment(
        name="TranscriptAssistant", **config.assistant.deployment.to_serve_options()
    )(TranscriptAssistant).bind(llms, config)
