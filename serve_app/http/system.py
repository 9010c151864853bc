"""``GET /`` (the web page for browsers, JSON metadata for API clients) and ``GET /health``."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse
from fastapi.routing import APIRoute, APIWebSocketRoute

from serve_app import NAME, __version__
from serve_app.http.schemas import HealthResponse, RootResponse
from serve_app.http.web import INDEX, PAGE_HEADERS, wants_page
from serve_app.transcript.timefmt import utc_now_iso

router = APIRouter(tags=["system"])


@router.get("/health", response_model=HealthResponse)
async def health() -> HealthResponse:
    return HealthResponse(status="healthy", timestamp=utc_now_iso())


@router.get(
    "/",
    response_model=RootResponse,
    responses={200: {"content": {"text/html": {}}, "description": "HTML to browsers"}},
)
async def root(request: Request) -> RootResponse | FileResponse:
    """The web page to a browser (``Accept: text/html``), else the API's metadata."""
    if wants_page(request.headers.get("accept")):
        return FileResponse(INDEX, media_type="text/html", headers=PAGE_HEADERS)
    endpoints: list[str] = []
    for route in request.app.routes:
        if isinstance(route, APIRoute):
            endpoints.extend(f"{m} {route.path}" for m in sorted(route.methods))
        elif isinstance(route, APIWebSocketRoute):
            endpoints.append(f"WS {route.path}")
    return RootResponse(name=NAME, version=__version__, endpoints=endpoints)
