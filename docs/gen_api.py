"""The API reference's generated parts, from the FastAPI app the ingress serves.

``create_http_app`` (``serve_app/http/factory.py``) is what the ingress deployment returns
from ``__serve_build_asgi_app__``; it is built here without Ray, with default settings and no
backend (building the OpenAPI schema never calls one), so the schema is the app's own.
"""

from __future__ import annotations

import inspect
import tempfile
from functools import cache
from pathlib import Path
from typing import Any

_METHODS = ("get", "post", "put", "patch", "delete")


@cache
def _app() -> Any:
    from serve_app.asr.registry import ModelRegistry
    from serve_app.config import IngressConfig
    from serve_app.http.factory import create_http_app

    models = Path(tempfile.mkdtemp(prefix="docs-models-"))
    return create_http_app(
        None,  # type: ignore[arg-type]  # the schema never calls the backend
        ModelRegistry(models),
        IngressConfig(),
        behind_serve_proxy=True,
    )


@cache
def openapi() -> dict[str, Any]:
    """The OpenAPI schema exactly as ``GET /openapi.json`` serves it."""
    schema: dict[str, Any] = _app().openapi()
    return schema


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("``", "`").replace("|", "\\|")


def render_endpoints() -> str:
    """One table row per operation: method, path, summary, the statuses it declares."""
    rows = ["| method | path | what | statuses |", "|---|---|---|---|"]
    for path, operations in openapi()["paths"].items():
        for method in _METHODS:
            op = operations.get(method)
            if op is None:
                continue
            what = op.get("summary") or ""
            description = (op.get("description") or "").strip().split("\n\n")[0]
            if description and description != what:
                what = f"{what}: {description}" if what else description
            statuses = ", ".join(sorted(op.get("responses", {})))
            rows.append(f"| {method.upper()} | `{path}` | {_cell(what)} | {statuses} |")
    for route in _app().routes:
        if type(route).__name__ in ("APIWebSocketRoute", "WebSocketRoute"):
            doc = inspect.getdoc(getattr(route, "endpoint", None)) or ""
            rows.append(f"| WebSocket | `{route.path}` | {_cell(doc.split(chr(10) * 2)[0])} | |")
    return "\n".join(rows)


def render_error_codes() -> str:
    """The typed errors of ``serve_app/errors.py``: status, ``code``, when."""
    from serve_app import errors

    rows = ["| status | `code` | error | when |", "|---|---|---|---|"]
    found = []
    for _, cls in inspect.getmembers(errors, inspect.isclass):
        if issubclass(cls, errors.AppError):
            doc = cls.__doc__ if cls.__doc__ is not errors.AppError.__doc__ else ""
            found.append((cls.status_code, cls.code, cls.__name__, _cell(doc or "")))
    for status, code, name, doc in sorted(found):
        rows.append(f"| {status} | `{code}` | `{name}` | {doc.replace('``', '`')} |")
    return "\n".join(rows)
