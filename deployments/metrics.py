"""Application metrics, exported by Ray's Prometheus endpoint on every node.

Created inside the replica (or actor) that reports them, through ``ray.serve.metrics`` so
Serve adds the ``deployment``, ``replica`` and ``application`` tags itself. Ray prefixes
every name with ``ray_``; histograms appear as ``_bucket``/``_sum``/``_count`` series and
counters get ``_total``. docs/architecture.md ("Metrics") lists them;
``deploy/grafana-dashboard.json`` charts them.
"""

from __future__ import annotations

from typing import Any

SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900, 1800]
RTF = [0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 1, 2]
# Between the integers: Ray exports a histogram's _sum from bucket midpoints.
BATCH = [0.5, 1.5, 2.5, 3.5, 4.5, 6.5, 8.5, 12.5, 16.5, 24.5, 32.5]

JOB_STAGES = ("queue", "decode", "vad", "diarization", "total")
CHUNK_STAGES = ("queue", "asr", "publish")


class ChunkerMetrics:
    """What a chunker replica reports about the jobs it runs and their chunks."""

    def __init__(self) -> None:
        from ray.serve import metrics

        self.job_stage = metrics.Histogram(
            "transcribe_job_stage_seconds",
            description="Time one job spent in a stage: queue (upload kept -> run started), "
            "decode, vad (VAD compute, all blocks), diarization, total (run start -> done).",
            boundaries=SECONDS,
            tag_keys=("stage",),
        )
        self.chunk_stage = metrics.Histogram(
            "transcribe_chunk_stage_seconds",
            description="Time one chunk spent in a stage: queue (planned -> its ASR pass "
            "began, incl. batching), asr (the ASR pass), publish (store write + publish).",
            boundaries=SECONDS,
            tag_keys=("stage",),
        )
        # Ray derives a histogram's _sum from bucket midpoints: the exact seconds go to a
        # counter too (its rate is the share of time each stage takes).
        self.busy = metrics.Counter(
            "transcribe_stage_seconds",
            description="Seconds spent in each stage, summed exactly (scope job or chunk).",
            tag_keys=("scope", "stage"),  # type: ignore[arg-type]  # Ray types one tag
        )
        self.rtf = metrics.Histogram(
            "transcribe_job_rtf",
            description="Real-time factor of a finished job: processing time / audio length.",
            boundaries=RTF,
            tag_keys=("diarize",),
        )
        self.running = metrics.Gauge(
            "transcribe_jobs_running", description="Jobs this chunker replica is running."
        )
        self.retries = metrics.Counter(
            "transcribe_chunk_retries", description="Chunk attempts retried after a failure."
        )
        self.finished = metrics.Counter(
            "transcribe_jobs_finished",
            description="Jobs that ended, by status (completed, failed).",
            tag_keys=("status",),
        )

    def stage(self, stage: str, seconds: float) -> None:
        seconds = max(0.0, seconds)
        self.job_stage.observe(seconds, tags={"stage": stage})
        self.busy.inc(seconds, tags={"scope": "job", "stage": stage})

    def chunk(self, stage: str, seconds: float) -> None:
        seconds = max(0.0, seconds)
        self.chunk_stage.observe(seconds, tags={"stage": stage})
        self.busy.inc(seconds, tags={"scope": "chunk", "stage": stage})


class IngressMetrics:
    """Uploads waiting for a chunker slot (Serve queues them before picking a replica, so
    this is per ingress replica, not per chunker replica)."""

    def __init__(self) -> None:
        from ray.serve import metrics

        self.queued = metrics.Gauge(
            "transcribe_jobs_queued",
            description="Uploads kept and waiting for a chunker to start their job.",
        )
        self.upload = metrics.Histogram(
            "transcribe_upload_seconds",
            description="Time to keep one upload in the audio store.",
            boundaries=SECONDS,
        )


class ASRMetrics:
    def __init__(self) -> None:
        from ray.serve import metrics

        self.batch = metrics.Histogram(
            "transcribe_asr_batch_size",
            description="Chunks decoded in one batched ASR pass.",
            boundaries=BATCH,
        )


class PublishedCounter:
    """Segments sent to live subscribers; reported by the job-store actor (not a replica,
    so without Serve's tags)."""

    def __init__(self) -> None:
        from ray.util import metrics

        self._counter: Any = metrics.Counter(
            "transcribe_segments_published",
            description="Segments published to the live stream (each once, in time order).",
        )

    def __call__(self, count: int) -> None:
        if count:
            self._counter.inc(count)
