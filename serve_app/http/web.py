"""The web page: a single-page app of plain ES modules under ``static/``, served by the
ingress itself (``/`` to browsers, its assets under ``/ui``), so no other server runs.

The page and its assets are public; the API calls they make carry the key the person
enters (``AuthMiddleware``).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

STATIC_DIR = Path(__file__).parent / "static"
INDEX = STATIC_DIR / "index.html"
ASSETS_PREFIX = "/ui"
PAGE_HEADERS = {
    "Cache-Control": "no-cache",
    # Everything from this server; inline styles only (wavesurfer draws in a shadow DOM
    # with a <style>, and speaker colours are style attributes); the audio as blob URLs.
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; "
    "style-src 'self' 'unsafe-inline'; media-src 'self' blob:; img-src 'self' data: blob:; "
    "connect-src 'self' blob:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def wants_page(accept: str | None) -> bool:
    """A browser navigating (``text/html`` accepted), not an API client (``*/*``, JSON)."""
    return "text/html" in (accept or "")


def is_public(method: str, path: str, accept: str | None) -> bool:
    """The page and its assets: answered without an API key."""
    if path.startswith(f"{ASSETS_PREFIX}/"):
        return True
    return path == "/" and method in ("GET", "HEAD") and wants_page(accept)


def mount_assets(app: FastAPI) -> None:
    app.mount(ASSETS_PREFIX, StaticFiles(directory=STATIC_DIR), name="ui")
