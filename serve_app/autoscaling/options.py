"""The ``autoscaling_config.policy`` block of a deployment's config."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, PositiveFloat

POLICY_PATH = "serve_app.autoscaling.policy:QueuedAudioPolicy"
"""Import path of the policy class Serve's controller instantiates with the kwargs below."""


class QueuedAudioPolicyOptions(BaseModel):
    """Size replicas on queued audio-seconds per replica instead of ongoing requests.

    A 3-hour upload keeps many 30 s chunks in flight, a 10 s clip one short chunk; counted
    in seconds of audio they weigh what they cost. Only deployments whose replicas report
    ``queued_audio_s`` (the ASR) can use it."""

    model_config = ConfigDict(extra="forbid")

    name: Literal["queued_audio"] = "queued_audio"
    target_audio_s_per_replica: PositiveFloat = 120.0
    """Audio-seconds (decoding + waiting on the replica + queued in front of it) one replica
    should hold; the policy asks for ``backlog / target`` replicas."""
    default_chunk_s: PositiveFloat = 30.0
    """Seconds counted for each chunk queued at a handle while no replica holds a chunk to
    measure the mean from (one Whisper window)."""

    def to_serve_policy(self) -> dict[str, Any]:
        """Ray Serve's ``AutoscalingConfig.policy`` (a class policy with its kwargs)."""
        return {
            "policy_function": POLICY_PATH,
            "policy_kwargs": {
                "target_audio_s_per_replica": self.target_audio_s_per_replica,
                "default_chunk_s": self.default_chunk_s,
            },
        }
