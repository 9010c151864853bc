"""The Speakers view in a real headless Chromium against the live graph, on real voices
(Debian asterisk prompts: the English and Italian voices): enrol a voice from a job's
speaker, play its sample, rename it, see the name in the transcript view of another job
with other prompts of that voice, delete it (every voiceprint gone), and axe-core on the
view; then enrol the other voice by renaming it in the transcript view with "Remember
this voice" ticked.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from eval import real_data
from eval.speech import encode
from tests.serve.browser import chromium, screenshot, serious_violations
from tests.serve.helpers import submit, wait_done
from tests.serve.test_web_ui import JOB_TIMEOUT_MS, browser_page, sign_in

pytestmark = pytest.mark.serve
__all__ = ["chromium"]  # the module fixture

PAUSE_S = 0.6


def dialogue(first: int, count: int) -> tuple[bytes, list[tuple[float, float, str]]]:
    """English and Italian prompts taking turns (prompts ``first`` .. ``first + count`` of
    each voice), and the reference turns."""
    voices = {
        lang: [real_data.read_wav(w) for w, _ in real_data.asterisk_prompts(lang)]
        for lang in ("en", "it")
    }
    pause = np.zeros(int(PAUSE_S * real_data.SR), np.float32)
    pieces, turns, at = [pause], [], PAUSE_S
    for k in range(first, first + count):
        for lang in ("en", "it"):
            clip = voices[lang][k]
            turns.append((at, at + len(clip) / real_data.SR, lang))
            pieces += [clip, pause]
            at += (len(clip) + len(pause)) / real_data.SR
    return encode(np.concatenate(pieces), "wav"), turns


def voice_of_labels(
    segments: list[dict[str, Any]], turns: list[tuple[float, float, str]]
) -> dict[str, str]:
    """Each speaker label of a result -> the voice most of its segments fall in."""
    votes: dict[str, Counter[str]] = {}
    for seg in segments:
        mid = (seg["start"] + seg["end"]) / 2
        voice = next((v for s, e, v in turns if s - 0.3 <= mid <= e + 0.3), None)
        if voice and seg["speaker"]:
            votes.setdefault(seg["speaker"], Counter())[voice] += 1
    return {label: c.most_common(1)[0][0] for label, c in votes.items()}


def finished_job(http_user: Any, first: int, count: int) -> tuple[str, dict[str, Any], Any]:
    audio, turns = dialogue(first, count)
    r = submit(http_user, audio, "dialogue.wav", model_name="tiny.en", num_speakers="2")
    assert r.status_code == 200, r.text
    job_id = r.json()["job_id"]
    assert wait_done(http_user, job_id)[-1]["status"] == "completed"
    result = http_user.get(f"/api/transcribe/result/{job_id}?format=json").json()
    return job_id, result, turns


@pytest.fixture
def no_speakers(http_user) -> Iterator[None]:
    """The user key starts and ends with nobody enrolled (other tests share the key)."""

    def erase() -> None:
        body = http_user.get("/api/speakers").json()
        for s in body if isinstance(body, list) else body["speakers"]:
            http_user.delete(f"/api/speakers/{s['id']}")

    erase()
    yield
    erase()


def test_enrol_from_a_job_play_rename_recognise_delete(
    chromium, base_url, http_user, no_speakers
) -> None:
    job_a, result_a, turns_a = finished_job(http_user, first=0, count=4)
    labels = voice_of_labels(result_a["segments"], turns_a)
    english = next(label for label, voice in labels.items() if voice == "en")

    with browser_page(chromium, f"{base_url}/#/speakers?job={job_a}") as page:
        sign_in(page)
        page.wait_for_selector("#speakers-view:not([hidden])")
        # the job's speakers are offered in the enrol form
        page.wait_for_function(
            "() => document.querySelectorAll('#enrol-job-speakers option').length >= 2"
        )
        assert page.input_value("#enrol-job-id") == job_a
        page.wait_for_selector("text=Nobody is enrolled yet.")
        page.fill("#enrol-job-speaker", english)
        page.fill("#enrol-job-name", "Allison")
        page.click("#enrol-job-form button[type=submit]")
        page.wait_for_selector("#enrolled-list li.enrolled")
        assert page.input_value("#enrolled-name-0") == "Allison"
        assert "1 sample" in page.inner_text("#enrolled-list li.enrolled")
        assert f"job {job_a}, {english}" in page.inner_text("#enrolled-list li.enrolled")
        assert serious_violations(page) == []
        screenshot(page, "speakers-1-enrolled")

        # the sample plays: the job's audio over the enrolled speech
        page.click("#enrolled-list .play-sample")
        page.wait_for_function(
            "() => { const a = document.getElementById('sample-audio');"
            " return !a.paused && a.currentTime > 0; }"
        )
        page.wait_for_selector("#speakers-status:has-text('Playing')")

        page.fill("#enrolled-name-0", "Allison Smith")
        page.click("#enrolled-list .rename-form button")
        page.wait_for_selector("#speakers-status:has-text('Renamed to Allison Smith.')")
        speaker_id = page.get_attribute("#enrolled-list li.enrolled", "data-id")
        shown = http_user.get(f"/api/speakers/{speaker_id}")
        assert shown.status_code == 200 and shown.json()["name"] == "Allison Smith"

        # another job, other prompts of the same two voices: the name in the transcript
        job_b, result_b, turns_b = finished_job(http_user, first=20, count=4)
        page.goto(f"{base_url}/#/jobs/{job_b}")
        page.wait_for_selector("#job-view[data-status='completed']", timeout=JOB_TIMEOUT_MS)
        page.wait_for_selector("#segments .segment .edit")
        names = page.eval_on_selector_all(
            "#segments .segment .speaker", "nodes => nodes.map(n => n.textContent)"
        )
        assert "Allison Smith" in names, names
        assert any(name.startswith("SPEAKER") for name in names), names  # Italian: unknown
        # ... on the English voice's segments, with the person's id and a score
        assert voice_of_labels(result_b["segments"], turns_b).get("Allison Smith") == "en"
        named = [s for s in result_b["segments"] if s["speaker"] == "Allison Smith"]
        assert all(s["speaker_id"] == speaker_id and s["speaker_match"] > 0 for s in named)
        assert all(
            s["speaker_id"] is None for s in result_b["segments"] if s["speaker"] != "Allison Smith"
        )
        screenshot(page, "speakers-2-named")

        # delete: the view empties and the API no longer knows the speaker
        page.goto(f"{base_url}/#/speakers")
        page.wait_for_selector("#enrolled-list li.enrolled")
        page.once("dialog", lambda dialog: dialog.accept())
        page.click("#enrolled-list .delete-speaker")
        page.wait_for_selector("text=Nobody is enrolled yet.")
        assert http_user.get(f"/api/speakers/{speaker_id}").status_code == 404

        # the transcript view teaches a name: rename the Italian voice, "Remember this voice"
        # ticked (off by default), and the person is enrolled from that job's speaker
        italian = next(name for name in names if name.startswith("SPEAKER"))
        page.goto(f"{base_url}/#/jobs/{job_b}")
        card = page.locator(".speaker-card").filter(
            has=page.locator(f"label:text-is('Rename {italian}')")
        )
        remember = card.get_by_label("Remember this voice")
        assert not remember.is_checked()
        card.get_by_label(f"Rename {italian}").fill("Giulia")
        remember.check()
        card.get_by_role("button", name="Rename", exact=True).click()
        page.wait_for_selector("#notice-text:has-text('Giulia was enrolled as a known speaker.')")
        page.wait_for_selector("#segments .segment .speaker:text-is('Giulia')")
        assert serious_violations(page) == []
        enrolled = http_user.get("/api/speakers").json()["speakers"]
        assert [s["name"] for s in enrolled] == ["Giulia"]
        source = enrolled[0]["samples"][0]["source"]
        assert source["kind"] == "job" and source["job_id"] == job_b, source
