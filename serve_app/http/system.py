"""``GET /`` and ``GET /health``."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.routing import APIRoute, APIWebSocketRoute

from serve_app import NAME, __version__
from serve_app.http.schemas import HealthResponse, RootResponse
from serve_app.transcript.timefmt import utc_now_iso

router = APIRouter(tags=["system"])


@router.get("/health", response_model=HealthResponse)
async def health() -> HealthResponse:
    return HealthResponse(status="healthy", timestamp=utc_now_iso())


@router.get("/", response_model=RootResponse)
async def root(request: Request) -> RootResponse:
    endpoints: list[str] = []
    for route in request.app.routes:
        if isinstance(route, APIRoute):
            endpoints.extend(f"{m} {route.path}" for m in sorted(route.methods))
        elif isinstance(route, APIWebSocketRoute):
            endpoints.append(f"WS {route.path}")
    return RootResponse(name=NAME, version=__version__, endpoints=endpoints)
