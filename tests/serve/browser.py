"""Headless Chromium (Debian's, driven by Playwright) for the web page tests, and the
axe-core check they run on each view."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from serve_app.paths import PROJECT_ROOT

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
AXE = PROJECT_ROOT / "web" / "node_modules" / "axe-core" / "axe.min.js"
AXE_PATH = "/test-only/axe.min.js"
ARTIFACTS = PROJECT_ROOT / "var" / "test-artifacts" / "browser"
# As root, with no network: no sandbox, and none of Chromium's own calls home.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
]


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """Per module: Playwright's sync API runs an event loop in this thread while it is
    open, and tests after it call ``asyncio.run``."""
    from playwright.sync_api import sync_playwright

    if not shutil.which(CHROMIUM):
        pytest.fail(f"{CHROMIUM} not found: `make system-deps` installs Debian's chromium")
    if not AXE.exists():
        pytest.fail(f"{AXE} not found: `make web` installs the npm packages")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


def screenshot(page: Any, name: str) -> None:
    """A test artefact: ``var/test-artifacts/browser/<name>.png``."""
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def serious_violations(page: Any) -> list[dict[str, Any]]:
    """axe-core's serious and critical findings on the page as it is now."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        # Served as if from the page's origin: its Content-Security-Policy stays in force
        # (an inline script, as add_script_tag(path=...) makes, would be refused).
        page.route(f"**{AXE_PATH}", lambda route: route.fulfill(path=str(AXE)))
        page.add_script_tag(url=AXE_PATH)
    results = page.evaluate("async () => (await axe.run(document)).violations")
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:5]}
        for v in results
        if v["impact"] in ("serious", "critical")
    ]


def read_artifact(name: str) -> Path:
    return ARTIFACTS / name
