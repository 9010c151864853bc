"""The queued-audio policy: the backlog it sees and the replicas it asks for."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from serve_app.autoscaling.options import QueuedAudioPolicyOptions
from serve_app.autoscaling.policy import (
    HELD_CHUNKS_METRIC,
    QUEUED_AUDIO_METRIC,
    QueuedAudioPolicy,
    backlog_audio_s,
    desired_replicas,
)
from serve_app.autoscaling.queued_audio import ReportsQueuedAudio, counts_queued_audio
from serve_app.config import load_config
from serve_app.deployment_options import AutoscalingOptions


def context(held: dict[str, float], chunks: dict[str, float], queued: float, **kw: Any) -> Any:
    return SimpleNamespace(
        aggregated_metrics={QUEUED_AUDIO_METRIC: held, HELD_CHUNKS_METRIC: chunks},
        total_queued_requests=queued,
        capacity_adjusted_min_replicas=kw.get("min", 1),
        capacity_adjusted_max_replicas=kw.get("max", 8),
        policy_state=kw.get("state", {}),
    )


def test_backlog_weighs_handle_queued_chunks_at_the_replicas_mean_chunk():
    # Two replicas hold 4 chunks of 25 s on average; 6 more wait in handles.
    assert backlog_audio_s({"a": 60.0, "b": 40.0}, {"a": 2, "b": 2}, 6, 30.0) == 250.0
    # No replica holds a chunk: queued ones count at the default chunk length.
    assert backlog_audio_s({"a": 0.0}, {"a": 0.0}, 3, 30.0) == 90.0
    assert backlog_audio_s({}, {}, 0, 30.0) == 0.0


def test_long_audio_asks_for_more_replicas_than_as_many_short_requests():
    """The point of the policy: the same request count, different audio."""
    policy = QueuedAudioPolicy(target_audio_s_per_replica=60)
    short = context({"a": 8 * 5.0}, {"a": 8}, 0)  # eight 5 s clips
    long = context({"a": 8 * 30.0}, {"a": 8}, 0)  # eight 30 s chunks of long uploads
    assert policy(short)[0] == 1
    assert policy(long)[0] == 4


def test_bounds_and_state():
    assert desired_replicas(0.0, 60, 0, 4) == 0
    assert desired_replicas(60.0, 60, 0, 4) == 1
    assert desired_replicas(61.0, 60, 0, 4) == 2
    assert desired_replicas(10_000.0, 60, 1, 4) == 4
    assert desired_replicas(0.0, 60, 2, 4) == 2
    replicas, state = QueuedAudioPolicy(60)(context({"a": 30.0}, {"a": 1}, 5, state={"k": 1}))
    assert replicas == 3 and state == {"k": 1, "backlog_audio_s": 180.0}
    with pytest.raises(ValueError):
        QueuedAudioPolicy(0)


def test_no_metrics_yet_keeps_the_minimum():
    ctx = SimpleNamespace(
        aggregated_metrics=None,
        total_queued_requests=0,
        capacity_adjusted_min_replicas=2,
        capacity_adjusted_max_replicas=8,
        policy_state={},
    )
    assert QueuedAudioPolicy(60)(ctx)[0] == 2


def test_replica_reports_the_audio_it_holds_while_decoding():
    class Replica(ReportsQueuedAudio):
        def __init__(self) -> None:
            self.release = asyncio.Event()

        @counts_queued_audio
        async def transcribe_chunk(self, audio: np.ndarray, language: str | None) -> int:
            await self.release.wait()
            return len(audio)

    async def scenario() -> None:
        replica = Replica()
        tasks = [
            asyncio.create_task(replica.transcribe_chunk(np.zeros(16_000 * s), "en"))
            for s in (10, 30)
        ]
        await asyncio.sleep(0)
        assert replica.record_autoscaling_stats() == {
            QUEUED_AUDIO_METRIC: 40.0,
            HELD_CHUNKS_METRIC: 2.0,
        }
        replica.release.set()
        assert await asyncio.gather(*tasks) == [160_000, 480_000]
        assert replica.record_autoscaling_stats() == {
            QUEUED_AUDIO_METRIC: 0.0,
            HELD_CHUNKS_METRIC: 0.0,
        }

    asyncio.run(scenario())


def test_config_selects_the_policy_for_serve():
    options = AutoscalingOptions(
        min_replicas=1, max_replicas=4, policy={"target_audio_s_per_replica": 90}
    )
    serve = options.to_serve_config()
    assert serve["policy"] == {
        "policy_function": "serve_app.autoscaling.policy:QueuedAudioPolicy",
        "policy_kwargs": {"target_audio_s_per_replica": 90.0, "default_chunk_s": 30.0},
    }
    with pytest.raises(ValueError):
        QueuedAudioPolicyOptions(target_audio_s_per_replica=0)
    with pytest.raises(ValueError):
        QueuedAudioPolicyOptions(name="ongoing")  # type: ignore[arg-type]


def test_gpu_configs_scale_the_asr_on_audio_and_the_rest_to_zero():
    cluster = load_config({"config": "configs/gpu-cluster.yaml"})
    policy = cluster.asr.deployment.autoscaling_config
    assert policy is not None and policy.policy is not None
    assert cluster.diarizer.deployment.scales_to_zero
    assert cluster.retranscriber.deployment.scales_to_zero
    assert cluster.llm.autoscaling is not None and cluster.llm.autoscaling.min_replicas == 0
    single = load_config({"config": "configs/gpu-single.yaml"})
    assert single.diarizer.deployment.scales_to_zero
    assert single.llm.autoscaling is not None and single.llm.autoscaling.min_replicas == 0
