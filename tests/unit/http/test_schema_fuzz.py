"""schemathesis over the app's OpenAPI schema: generated requests for every operation, none
of which may get a 5xx, and every response must match the schema.

The app is the real FastAPI app with the real in-process job store and auth on; only
transcription and the LLM are absent (``StoreOnlyBackend``: uploads are validated by
decoding and recorded; no summary/chat backend, so those routes answer their declared 503).
Bounded: 150 examples per operation, about 25 s here.
"""

from __future__ import annotations

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from serve_app.asr.registry import ModelRegistry
from serve_app.config import AuthConfig, IngressConfig, RateLimitConfig
from serve_app.http.factory import create_http_app
from serve_app.paths import PROJECT_ROOT
from serve_app.speakers.registry import InProcessHandle, SpeakerRegistry
from serve_app.speakers.settings import SpeakerSettings
from tests.unit.http.test_routes import StoreOnlyBackend

KEY = "sk-fuzz-7d1e"
os.environ["FUZZ_API_KEYS"] = f"fuzzer={KEY}"

BACKEND = StoreOnlyBackend()
app = create_http_app(
    BACKEND,
    ModelRegistry(PROJECT_ROOT / "models"),
    IngressConfig(
        max_upload_mb=1,
        cors_origins=["http://127.0.0.1"],
        allowed_hosts=["testserver"],  # the name schemathesis's client calls the app by
        auth=AuthConfig(enabled=True, keys_env="FUZZ_API_KEYS", admin_names=["fuzzer"]),
        rate_limit=RateLimitConfig(enabled=False),
        ws_poll_timeout_s=0.1,
    ),
)
app.state.speakers = SpeakerRegistry(InProcessHandle(BACKEND.store), None, SpeakerSettings())
# The summary and chat routes answer 503 here (no LLM): they are fuzzed against the real
# LLM nowhere, and tested with it in tests/serve/test_llm.py. Enrolling from clips needs the
# diarizer (503 here): tests/serve/test_speakers.py.
schema = (
    schemathesis.openapi.from_asgi("/openapi.json", app)
    .exclude(path_regex="^/(api/summary|api/chat|v1/chat)")
    .exclude(path_regex="^/api/speakers(/\\{speaker_id\\})?$", method=["POST", "PATCH"])
)


@pytest.mark.filterwarnings("ignore")
@schema.parametrize()
@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_server_errors_and_responses_match_the_schema(case):
    # Schema-valid is not always acceptable here: the audio is checked by decoding, and some
    # fields exclude each other (num_speakers vs min/max); those answer 400 by design.
    case.call_and_validate(
        headers={"Authorization": f"Bearer {KEY}"}, excluded_checks=[positive_data_acceptance]
    )
