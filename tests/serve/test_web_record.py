"""The page's Record button in a real headless Chromium whose microphone is a real-speech WAV
(``--use-fake-device-for-media-stream --use-file-for-fake-audio-capture``): the level meter
moves, partial text and completed lines appear while it records, the view passes axe-core,
and Stop opens the saved job with its transcript."""

from __future__ import annotations

import re
import shutil
import wave
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from eval import real_data
from tests.serve.browser import CHROMIUM, CHROMIUM_ARGS, screenshot, serious_violations
from tests.serve.helpers import USER_KEY, wer

pytestmark = pytest.mark.serve

PROMPTS = (
    "Login incorrect.  Please enter your agent number followed by the pound key.",
    "Please enter your password followed by the pound key.",
    "All circuits are busy now.",
)
"""English asterisk prompts (real speech, one professional voice), spoken in this order."""
PAUSE_S = 1.2
WAIT_MS = 90_000

# The page watches what a person would see: any partial text, any level above zero.
WATCH = """() => {
  window.partialSeen = "";
  window.levelSeen = 0;
  const partial = document.getElementById("record-partial");
  new MutationObserver(() => {
    if (partial.textContent.trim()) window.partialSeen = partial.textContent;
  }).observe(partial, {childList: true, characterData: true, subtree: true});
  setInterval(() => {
    window.levelSeen = Math.max(window.levelSeen, document.getElementById("record-level").value);
  }, 50);
}"""


@pytest.fixture(scope="module")
def microphone(tmp_path_factory) -> str:
    """The fake microphone's WAV: the prompts with pauses (Chromium plays it in a loop)."""
    by_text = dict((text, wav) for wav, text in real_data.asterisk_prompts("en"))
    pause = np.zeros(int(PAUSE_S * real_data.SR), np.float32)
    pieces = [pause]
    for text in PROMPTS:
        pieces += [real_data.read_wav(by_text[text]), pause]
    audio = np.concatenate(pieces)
    path = tmp_path_factory.mktemp("record") / "microphone.wav"
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(real_data.SR)
        w.writeframes((np.clip(audio, -1, 1) * 32767).astype("<i2").tobytes())
    return str(path)


@pytest.fixture(scope="module")
def recording_browser(microphone) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    if not shutil.which(CHROMIUM):
        pytest.fail(f"{CHROMIUM} not found: `make system-deps` installs Debian's chromium")
    args = [
        *CHROMIUM_ARGS,
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-audio-capture={microphone}",
    ]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=args)
        yield browser
        browser.close()


def words(text: str) -> str:
    return " ".join(re.sub(r"[^\w' ]", " ", text.lower()).split())


def wait_until(page: Any, condition: str, timeout: float = 30_000) -> None:
    """A JavaScript condition as a function (the page's CSP refuses eval)."""
    page.wait_for_function(f"() => ({condition})", timeout=timeout)


SPOKEN_TEXT = """els => els.map(li => [...li.childNodes]
    .filter(n => !(n.matches && n.matches('.time, .speaker')))
    .map(n => n.textContent).join('').trim())"""


def test_record_shows_the_live_transcript_and_opens_the_saved_job(recording_browser, base_url):
    context = recording_browser.new_context(
        permissions=["microphone"], viewport={"width": 1280, "height": 900}
    )
    page = context.new_page()
    page.set_default_timeout(30_000)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on(
        "console",
        lambda m: errors.append(m.text) if "Content Security Policy" in m.text else None,
    )
    page.goto(base_url + "/")
    page.wait_for_selector("#key-view:not([hidden])")
    page.fill("#key-input", USER_KEY)
    page.click("#key-form button")
    page.wait_for_selector("#home-view:not([hidden])")
    assert serious_violations(page) == []

    page.evaluate(WATCH)
    page.click("#record-button")
    page.wait_for_selector("#record-button[aria-pressed='true']")
    assert page.text_content("#record-button") == "Stop"
    # Two utterances completed while recording, each one of the prompts as spoken.
    wait_until(page, "document.querySelectorAll('#record-lines li').length >= 2", WAIT_MS)
    wait_until(page, "window.levelSeen > 0.05")
    # A partial needs an ASR pass that returns before its utterance ends: on a loaded machine
    # the first utterances may finish first, so keep speaking (the fake microphone loops).
    wait_until(page, "window.partialSeen", WAIT_MS)
    assert serious_violations(page) == []
    screenshot(page, "record-live")
    # Each line is its time, the live speaker when the diarizer gave one, then the words.
    lines = page.eval_on_selector_all("#record-lines li", SPOKEN_TEXT)
    for spoken in lines[:2]:
        assert min(wer(prompt, spoken) for prompt in PROMPTS) < 0.35, lines

    page.click("#record-button")  # Stop: the session is saved as a job, which opens
    wait_until(page, "/^#\\/jobs\\/[\\w-]+$/.test(location.hash)", WAIT_MS)
    page.wait_for_selector("#job-view:not([hidden])")
    page.wait_for_selector("#job-view[data-status='completed']", timeout=WAIT_MS)
    page.wait_for_selector("#segments .segment")
    saved = " ".join(page.locator("#segments .segment .text").all_text_contents())
    for spoken in lines[:2]:  # the job holds what was shown live, in the same words
        assert words(spoken) in words(saved), (spoken, saved)
    assert page.text_content("#record-button") == "Record"
    screenshot(page, "record-saved")
    context.close()
    assert not errors, f"uncaught errors or refused content in the page: {errors}"
