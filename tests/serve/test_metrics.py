"""The application metrics reach Ray's Prometheus endpoint, and the dashboard charts only
metrics that exist."""

from __future__ import annotations

import json
import re
import time

import httpx

from eval.speech import encode, speech
from serve_app.paths import PROJECT_ROOT
from tests.serve.helpers import submit, wait_done

OURS = {
    "ray_transcribe_job_stage_seconds_bucket": {"queue", "decode", "vad", "diarization", "total"},
    "ray_transcribe_chunk_stage_seconds_bucket": {"queue", "asr", "publish"},
    "ray_transcribe_stage_seconds_total": {"decode", "vad", "asr", "publish"},
}
SERIES = {
    "ray_transcribe_job_rtf_bucket",
    "ray_transcribe_jobs_running",
    "ray_transcribe_jobs_queued",
    "ray_transcribe_jobs_finished_total",
    "ray_transcribe_segments_published_total",
    "ray_transcribe_upload_seconds_bucket",
    "ray_transcribe_asr_batch_size_bucket",
}
# Counted only when it happens (a counter appears at its first increment): the fault drills
# retry chunks; this suite does not.
ONLY_ON_EVENT = {"ray_transcribe_chunk_retries_total"}


def _scrape(url: str) -> dict[str, list[dict[str, str]]]:
    from prometheus_client.parser import text_string_to_metric_families

    found: dict[str, list[dict[str, str]]] = {}
    for family in text_string_to_metric_families(httpx.get(url, timeout=10).text):
        for sample in family.samples:
            found.setdefault(sample.name, []).append(dict(sample.labels))
    return found


def test_a_diarized_job_reports_every_stage(http, metrics_port):
    audio = speech(["The budget was approved on Monday.", "We ship the release next week."])
    job_id = submit(http, encode(audio, "wav"), diarize="true").json()["job_id"]
    assert wait_done(http, job_id)[-1]["status"] == "completed"

    url = f"http://127.0.0.1:{metrics_port}/metrics"
    deadline = time.monotonic() + 60  # Ray exports application metrics every few seconds
    missing: list[str] = ["not scraped yet"]
    while missing and time.monotonic() < deadline:
        found = _scrape(url)
        missing = [name for name in SERIES if name not in found]
        for name, stages in OURS.items():
            seen = {labels.get("stage") for labels in found.get(name, [])}
            missing += [f"{name}{{stage={s}}}" for s in stages - seen]
        if missing:
            time.sleep(2)
    assert not missing, missing

    # Serve adds its tags to the replicas' metrics; the stage histograms carry them.
    decode = [
        labels
        for labels in found["ray_transcribe_job_stage_seconds_bucket"]
        if labels.get("stage") == "decode"
    ]
    assert decode and all(labels.get("deployment") == "Chunker" for labels in decode)

    # Every metric the Grafana dashboard charts is one the endpoint serves.
    dashboard = json.loads((PROJECT_ROOT / "deploy" / "grafana-dashboard.json").read_text())
    charted = {
        name
        for panel in dashboard["panels"]
        for target in panel["targets"]
        for name in re.findall(r"\bray_[a-z_]+", target["expr"])
    }
    assert {"ray_transcribe_jobs_running", "ray_transcribe_job_rtf_bucket"} <= charted
    absent = sorted(n for n in charted - ONLY_ON_EVENT if n not in found)
    assert not absent, absent
