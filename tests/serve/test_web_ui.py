"""The web page in a real headless Chromium against the live graph: upload, live segments,
speaker colours, the player, edits that persist, exports, summary, chat with citations,
errors in words, and axe-core on every view.

The tests share one uploaded job (uploaded and watched live in a page of its own), and each
test opens its own browser context (fresh storage, signed in, on the finished job), so they
pass in any order; screenshots go to ``var/test-artifacts/browser``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import srt

from eval.speech import encode
from tests.serve.browser import chromium, screenshot, serious_violations
from tests.serve.helpers import USER_KEY

pytestmark = pytest.mark.serve
__all__ = ["chromium"]  # the session fixture

JOB_TIMEOUT_MS = 300_000


@pytest.fixture(scope="module")
def conversation() -> bytes:
    from eval.conversations import make_conversation

    audio, _ = make_conversation(num_speakers=2, duration=40.0, seed=5)
    return encode(audio, "wav")


@contextmanager
def browser_page(chromium: Any, url: str) -> Iterator[Any]:
    """A page in a browser context of its own at ``url``; on leaving, no uncaught error and
    no content refused by the page's Content-Security-Policy."""
    context = chromium.new_context(accept_downloads=True, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(30_000)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on(
        "console",
        lambda m: errors.append(m.text) if "Content Security Policy" in m.text else None,
    )
    page.goto(url)
    yield page
    context.close()
    assert not errors, f"uncaught errors or refused content in the page: {errors}"


def sign_in(page: Any) -> None:
    page.wait_for_selector("#key-view:not([hidden])")
    page.fill("#key-input", USER_KEY)
    page.click("#key-form button")


@pytest.fixture(scope="module")
def upload_page(chromium, base_url) -> Iterator[Any]:
    """The page the job is uploaded from (and watched live in)."""
    with browser_page(chromium, base_url + "/") as page:
        yield page


@pytest.fixture
def page(chromium, base_url, job) -> Iterator[Any]:
    """A fresh browser context signed in with the user's key, on the finished job."""
    with browser_page(chromium, f"{base_url}/#/jobs/{job['id']}") as page:
        sign_in(page)
        page.wait_for_selector("#job-view[data-status='completed']", timeout=JOB_TIMEOUT_MS)
        page.wait_for_selector("#segments .segment .edit")  # the result, editable
        wait_until(page, "document.getElementById('audio').readyState >= 1")
        yield page


FIRST_SEGMENT_WATCH = """() => {
  const observer = new MutationObserver(() => {
    if (!document.querySelector("#segments .segment")) return;
    window.firstSegmentSeen = {
      status: document.getElementById("job-view").dataset.status,
      progress: document.getElementById("job-progress").value,
    };
    observer.disconnect();
  });
  observer.observe(document.body, {childList: true, subtree: true});
}"""


@pytest.fixture(scope="module")
def job(upload_page, conversation) -> dict[str, Any]:
    """The person's upload: two speakers, diarized, watched live."""
    page = upload_page
    sign_in(page)
    page.wait_for_selector("#home-view:not([hidden])")
    page.wait_for_selector("#model-select option[value='tiny.en']", state="attached")
    page.select_option("#model-select", "tiny.en")
    page.fill("#speakers-input", "2")
    page.set_input_files(
        "#file-input", {"name": "dialog.wav", "mimeType": "audio/wav", "buffer": conversation}
    )
    # The job's status and progress as the first segment appears, read in the page at that
    # moment: a short job can finish between the segment appearing and a look from here.
    page.evaluate(FIRST_SEGMENT_WATCH)
    page.click("#upload-button")
    page.wait_for_selector("#job-view:not([hidden])")
    # The first segment arrives while the job still runs (from the WebSocket).
    page.wait_for_function("() => window.firstSegmentSeen !== undefined", timeout=JOB_TIMEOUT_MS)
    first = page.evaluate("window.firstSegmentSeen")
    status_at_first, progress_at_first = first["status"], first["progress"]
    screenshot(page, "1-live")
    page.wait_for_selector("#job-view[data-status='completed']", timeout=JOB_TIMEOUT_MS)
    wait_until(page, "document.getElementById('audio').readyState >= 1")
    job_id = page.evaluate("location.hash").rsplit("/", 1)[-1]
    return {"id": job_id, "status_at_first": status_at_first, "progress": progress_at_first}


def segments(page: Any) -> list[dict[str, Any]]:
    return page.eval_on_selector_all(
        "#segments .segment",
        """nodes => nodes.map(n => ({
            id: n.dataset.id, start: Number(n.dataset.start),
            speaker: n.querySelector('.speaker').textContent,
            text: n.querySelector('.text').textContent,
            color: getComputedStyle(n).borderLeftColor}))""",
    )


def wait_until(page: Any, condition: str) -> None:
    """Poll a JavaScript condition, passed as a function: the page's Content-Security-Policy
    refuses the eval that Playwright would use for an expression."""
    page.wait_for_function(f"() => ({condition})")


def click_and_check_seek(page: Any, button: Any) -> None:
    """A ``[HH:MM:SS]`` link (citation, action item) seeks the audio to that second."""
    h, m, sec = (int(x) for x in button.text_content().strip("[]").split(":"))
    button.click()
    wait_until(
        page,
        f"Math.abs(document.getElementById('audio').currentTime - {h * 3600 + m * 60 + sec}) < 1",
    )


def test_upload_streams_segments_then_two_speaker_colours(upload_page, job):
    page = upload_page
    assert job["status_at_first"] == "processing" and job["progress"] < 100
    shown = segments(page)
    assert len(shown) >= 4
    assert len({s["speaker"] for s in shown}) == 2
    assert len({s["color"] for s in shown}) == 2  # one colour per speaker
    assert page.locator("#speakers .speaker-card").count() == 2
    assert page.eval_on_selector("#job-progress", "p => p.value") == 100
    screenshot(page, "2-completed")


def test_clicking_a_segment_seeks_and_keys_navigate(page, job):
    shown = segments(page)
    third = shown[2]
    page.click(f"#segments .segment[data-id='{third['id']}'] .time")
    wait_until(
        page, f"Math.abs(document.getElementById('audio').currentTime - {third['start']}) < 0.05"
    )
    assert page.locator("#segments .segment.playing").get_attribute("data-id") == third["id"]
    page.keyboard.press("j")  # on the focused segment: keys act outside text fields
    wait_until(
        page, f"Math.abs(document.getElementById('audio').currentTime - {shown[3]['start']}) < 0.05"
    )
    page.keyboard.press("k")
    wait_until(
        page, f"Math.abs(document.getElementById('audio').currentTime - {third['start']}) < 0.05"
    )
    page.select_option("#speed-select", "1.5")
    assert page.evaluate("document.getElementById('audio').playbackRate") == 1.5
    page.evaluate("document.activeElement.blur()")  # space on a button presses the button
    page.keyboard.press(" ")
    wait_until(page, "!document.getElementById('audio').paused")
    wait_until(page, f"document.getElementById('audio').currentTime > {third['start']}")
    page.keyboard.press(" ")
    wait_until(page, "document.getElementById('audio').paused")


def test_search_marks_matches(page, job):
    word = segments(page)[1]["text"].split()[0].strip(".,!?").lower()
    page.fill("#search-input", word)
    assert page.locator("#segments mark").count() >= 1
    assert "match" in page.text_content("#search-count")
    page.fill("#search-input", "")
    assert page.locator("#segments mark").count() == 0


def test_rename_edit_and_reload_persist(page, job):
    first = segments(page)[0]
    assert page.input_value("#speaker-name-0") == first["speaker"]  # by first appearance
    page.fill("#speaker-name-0", "Alice")
    page.click("#speakers .speaker-card:first-child button:has-text('Rename')")
    page.wait_for_selector("#segments .segment .speaker:text-is('Alice')")
    page.click(f"#segments .segment[data-id='{first['id']}'] .edit")
    page.fill("#segments textarea", "Edited by a person.")
    page.click("#segments .edit-form button[type=submit]")
    page.wait_for_selector("#segments .segment .text:text-is('Edited by a person.')")
    segments_before = segments(page)
    page.reload()
    page.wait_for_selector("#job-view[data-status='completed']")
    page.wait_for_selector("#segments .segment .edit")
    after = segments(page)
    assert (after[0]["text"], after[0]["speaker"]) == ("Edited by a person.", "Alice")
    assert first["speaker"] not in {s["speaker"] for s in after}  # every segment renamed
    assert [s["id"] for s in after] == [s["id"] for s in segments_before]
    screenshot(page, "3-edited")


def test_a_stale_edit_is_explained_and_reloaded(page, job, base_url):
    import httpx

    # Someone else edits meanwhile (same key, another client).
    headers = {"Authorization": f"Bearer {USER_KEY}"}
    path = f"{base_url}/api/transcribe/result/{job['id']}"
    version = httpx.get(path, headers=headers).json()["version"]
    second = segments(page)[1]
    r = httpx.patch(
        f"{path}/segments/{second['id']}",
        json={"version": version, "text": "Changed elsewhere."},
        headers=headers,
    )
    assert r.status_code == 200, r.text
    page.click(f"#segments .segment[data-id='{second['id']}'] .edit")
    page.fill("#segments textarea", "My late edit.")
    page.click("#segments .edit-form button[type=submit]")
    page.wait_for_selector("#notice:not([hidden])")
    assert "reload" in page.text_content("#notice").lower()
    page.wait_for_selector("#segments .segment .text:text-is('Changed elsewhere.')")


def test_export_srt_has_names_and_edits(page, job):
    last = segments(page)[-1]
    page.click(f"#segments .segment[data-id='{last['id']}'] .edit")
    page.fill("#segments textarea", "Exported after an edit.")
    page.click("#segments .edit-form button[type=submit]")
    page.wait_for_selector("#segments .segment .text:text-is('Exported after an edit.')")
    with page.expect_download() as download:
        page.click("[data-export='srt']")
    cues = list(srt.parse(Path(download.value.path()).read_text(encoding="utf-8")))
    shown = segments(page)
    assert [c.content for c in cues] == [f"[{s['speaker']}] {s['text']}" for s in shown]
    assert cues[-1].content == f"[{last['speaker']}] Exported after an edit."


def test_retranscribe_shows_both_texts_reject_then_accept(page, job):
    seg = segments(page)[2]
    page.click(f"#segments .segment[data-id='{seg['id']}'] .edit")
    page.click("#segments .edit-form button:has-text('Re-transcribe')")
    page.wait_for_selector("#segments .compare .new-text", timeout=120_000)
    assert seg["text"] in page.text_content("#segments .compare")
    page.click("#segments .compare-box button:has-text('Reject')")
    assert page.locator("#segments .compare").count() == 0
    page.click("#segments .edit-form button:has-text('Cancel')")
    assert segments(page)[2]["text"] == seg["text"]
    # Again, and accept: the new text is stored as an edit.
    page.click(f"#segments .segment[data-id='{seg['id']}'] .edit")
    page.click("#segments .edit-form button:has-text('Re-transcribe')")
    new_text = page.locator("#segments .compare .new-text")
    new_text.wait_for(timeout=120_000)
    model_used, proposed = new_text.text_content().split(": ", 1)
    assert model_used == page.input_value("#segments .edit-form select")
    page.click("#segments .compare-box button:has-text('Accept')")
    page.wait_for_selector("#segments .edit-form", state="detached")
    assert segments(page)[2]["text"] == " ".join(proposed.split())


def test_summary_and_chat_with_a_working_citation(page, job):
    page.select_option("#summary-format", "bullet_points")
    page.click("#summary-form button")
    page.wait_for_selector("#summary-status:has-text('Summary by')", timeout=JOB_TIMEOUT_MS)
    # The tiny test LLM's notes may all fail the evidence check: then the page says so.
    text = page.text_content("#summary-text").strip()
    empty = "empty" in (page.get_attribute("#summary-text", "class") or "")
    assert text and (not empty or text.startswith("No summary:")), text
    for button in page.locator("#action-items .source").all()[:1]:  # if the LLM found any
        click_and_check_seek(page, button)
    # A question on a word of the longest line. Whether the tiny test LLM cites anything
    # is up to it (it samples at the chat's temperature), so a person may ask up to 3 times.
    longest = max(segments(page), key=lambda s: len(s["text"]))["text"]
    topic = max(longest.strip(".,!?").split(), key=len)
    for turn in range(1, 4):
        page.fill("#chat-input", f"What did they say about {topic}?")
        page.click("#chat-form button")
        done = page.locator(f"#chat-log .turn:nth-child({turn})")
        done.and_(page.locator("[data-done]")).wait_for(timeout=JOB_TIMEOUT_MS)
        assert done.get_attribute("data-done") == "true", done.text_content()
        assert done.locator(".a").text_content().strip()
        if done.locator(".citation").count():
            break
    citation = done.locator(".citation").first
    click_and_check_seek(page, citation)
    screenshot(page, "4-summary-chat")


def test_job_view_is_accessible(page, job):
    assert serious_violations(page) == []


def test_bad_upload_is_explained_and_jobs_are_listed(page, job):
    page.goto(page.url.split("#")[0] + "#/")
    page.wait_for_selector("#home-view:not([hidden])")
    assert serious_violations(page) == []
    page.wait_for_selector(f"#jobs-table a[href='#/jobs/{job['id']}']")
    assert "dialog.wav" in page.text_content("#jobs-table")
    assert "of" in page.text_content("#jobs-page")
    page.set_input_files(
        "#file-input", {"name": "notes.wav", "mimeType": "audio/wav", "buffer": b"not audio" * 50}
    )
    page.click("#upload-button")
    page.wait_for_selector("#notice:not([hidden])")
    message = page.text_content("#notice")
    assert "audio" in message.lower() and "Traceback" not in message
    screenshot(page, "5-home-error")


def test_key_view_is_accessible_and_a_wrong_key_is_asked_again(page, job):
    page.click("#sign-out")
    page.wait_for_selector("#key-view:not([hidden])")
    assert serious_violations(page) == []
    page.fill("#key-input", "sk-wrong")
    page.click("#key-form button")
    page.wait_for_selector("#key-view:not([hidden])")
    assert page.is_hidden("#home-view")
    # The accessibility check itself finds what it should.
    page.evaluate("document.body.insertAdjacentHTML('beforeend', '<img src=x><input>')")
    assert {v["id"] for v in serious_violations(page)} >= {"image-alt", "label"}
