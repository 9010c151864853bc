"""A registered model with a scaling block of its own (``tiny.en-own``: the embedded tiny.en
under another name, tests/serve/conftest.py) runs as its own ``WhisperASR-tiny.en-own``
deployment with its own replica settings; its requests are served there (file jobs and
re-transcriptions), and the default model's by the shared ``WhisperASR``."""

from __future__ import annotations

import time

import httpx
import pytest

from eval import real_data
from eval.speech import encode
from tests.serve.conftest import OWN_DEPLOYMENT_MODEL
from tests.serve.helpers import submit, wait_done, wer

pytestmark = pytest.mark.serve

APP = "transcribe"
OWN = "WhisperASR-tiny.en-own"
REAL = real_data.asterisk_file("en", "report", seconds=8.0)
AUDIO = encode(REAL.audio, "wav")
REQUESTS = "ray_serve_deployment_request_counter_total"


def _job_text(http: httpx.Client, model: str) -> str:
    job_id = submit(http, AUDIO, name="prompts.wav", model_name=model, diarize="false")
    job_id = job_id.json()["job_id"]
    assert wait_done(http, job_id)[-1]["status"] == "completed"
    return " ".join(
        s["text"] for s in http.get(f"/api/transcribe/result/{job_id}").json()["segments"]
    )


def _requests(url: str) -> dict[str, float]:
    """Requests each ASR deployment's replicas have processed (Serve's own counter)."""
    from prometheus_client.parser import text_string_to_metric_families

    counts: dict[str, float] = {}
    for family in text_string_to_metric_families(httpx.get(url, timeout=10).text):
        for sample in family.samples:
            deployment = sample.labels.get("deployment", "")
            if sample.name == REQUESTS and deployment.startswith("WhisperASR"):
                counts[deployment] = counts.get(deployment, 0.0) + sample.value
    return counts


def _settled(url: str, ready: object, timeout: float = 90) -> dict[str, float]:
    """The counts once ``ready(counts)`` holds and they stay the same for longer than Ray's
    metrics report interval (10 s), so a late export cannot change them afterwards."""
    deadline, last, since = time.monotonic() + timeout, None, time.monotonic()
    while time.monotonic() < deadline:
        counts = _requests(url)
        if counts != last:
            last, since = counts, time.monotonic()
        elif ready(counts) and time.monotonic() - since > 12:  # type: ignore[operator]
            return counts
        time.sleep(3)
    raise AssertionError(f"ASR request counts did not settle: {last}")


def test_the_model_has_its_own_deployment_with_its_own_settings(base_url):
    from ray import serve
    from ray.serve.context import _get_global_client

    status = serve.status().applications[APP].deployments
    assert status[OWN].status == "HEALTHY" and status[OWN].replica_states == {"RUNNING": 1}
    assert status["WhisperASR"].replica_states == {"RUNNING": 2}  # configs/local-cpu.yaml
    details = _get_global_client().get_serve_details()["applications"][APP]["deployments"]
    own = details[OWN]["deployment_config"]
    block = OWN_DEPLOYMENT_MODEL["deployment"]
    assert own["max_ongoing_requests"] == block["max_ongoing_requests"]  # type: ignore[index]
    assert own["autoscaling_config"]["max_replicas"] == 2
    assert own["autoscaling_config"]["policy"]["policy_function"].endswith("QueuedAudioPolicy")
    assert own["autoscaling_config"]["policy"]["policy_kwargs"] == {
        "target_audio_s_per_replica": 600.0,
        "default_chunk_s": 30.0,
    }
    assert own["ray_actor_options"]["num_cpus"] == 0
    shared = details["WhisperASR"]["deployment_config"]
    assert shared["ray_actor_options"]["num_cpus"] == 0.5
    assert shared["autoscaling_config"]["policy"]["policy_kwargs"][
        "target_audio_s_per_replica"
    ] == (60.0)


def test_model_lists_name_the_deployment_that_serves_each_model(http):
    listed = {m["name"]: m for m in http.get("/api/transcribe/models").json()["models"]}
    assert listed["tiny.en-own"]["deployment"] == OWN
    assert listed["tiny.en"]["deployment"] == "WhisperASR"
    data = {m["id"]: m for m in http.get("/v1/models").json()["data"]}
    assert data["tiny.en-own"]["deployment"] == OWN
    assert data["whisper-1"]["deployment"] == "WhisperASR"


def test_requests_for_the_model_go_to_its_deployment_and_others_to_the_shared_one(
    http, metrics_port
):
    url = f"http://127.0.0.1:{metrics_port}/metrics"
    before = _settled(url, lambda counts: True)
    own_text = _job_text(http, "tiny.en-own")
    clip = http.post(
        "/api/retranslate/segment",
        files={"file": ("clip.wav", AUDIO)},
        data={"segment_id": "1", "start_time": "0", "end_time": "8", "model_name": "tiny.en-own"},
    )
    assert clip.status_code == 200, clip.text
    assert clip.json()["model_used"] == "tiny.en-own"
    after_own = _settled(url, lambda c: c.get(OWN, 0) >= before.get(OWN, 0) + 2)
    # The shared replicas do not know the name (their registry leaves it out), so these
    # could only have been served by the model's own deployment. (The shared counter is not
    # compared: a job of an earlier test may still be finishing there.)
    from ray import serve

    shared = serve.get_deployment_handle("WhisperASR", APP)
    with pytest.raises(Exception, match=r"tiny\.en-own"):
        shared.options(multiplexed_model_id="tiny.en-own").transcribe_chunk.remote(
            REAL.audio, "en"
        ).result(timeout_s=60)

    shared_text = _job_text(http, "tiny.en")
    after = _settled(url, lambda c: c.get("WhisperASR", 0) > after_own.get("WhisperASR", 0))
    assert after.get(OWN) == after_own[OWN]
    # Same weights, same decoding options: the same text, and a good one.
    assert own_text == shared_text
    assert wer(REAL.text, own_text) < 0.2
    assert wer(REAL.text, clip.json()["text"]) < 0.2
