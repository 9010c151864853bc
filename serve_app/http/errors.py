"""Maps every failure to the one error envelope (``serve_app.http.schemas.ErrorResponse``)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from serve_app.errors import AppError, OverloadedError
from serve_app.http.schemas import ErrorResponse, OpenAIErrorBody

_CODES = {
    400: "bad_request",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    503: "unavailable",
}

# Declared on routes (``responses=``) so the OpenAPI schema shows the error shape.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorResponse, "description": "Invalid input"},
    422: {"model": ErrorResponse, "description": "Invalid fields"},
    500: {"model": ErrorResponse, "description": "Internal error"},
}


def error_response(
    request: Request, status: int, detail: str, code: str, errors: list[Any] | None = None
) -> JSONResponse:
    body = ErrorResponse(
        detail=detail,
        code=code,
        request_id=request.scope.get("state", {}).get("request_id"),
        errors=errors,
        error=OpenAIErrorBody(
            message=detail,
            type="server_error" if status >= 500 else "invalid_request_error",
            code=code,
        ),
    )
    return JSONResponse(body.model_dump(exclude_none=True), status_code=status)


def _app_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AppError)
    response = error_response(request, exc.status_code, exc.message, exc.code)
    if isinstance(exc, OverloadedError):
        response.headers["Retry-After"] = str(exc.retry_after_s)
    return response


def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    code = _CODES.get(exc.status_code, "error")
    response = error_response(request, exc.status_code, str(exc.detail), code)
    if exc.headers:
        response.headers.update(exc.headers)
    return response


def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = jsonable_encoder(exc.errors())
    parts = []
    for err in errors:
        loc = ".".join(str(x) for x in err.get("loc", []) if x not in ("body", "query", "path"))
        parts.append(f"{loc}: {err.get('msg')}" if loc else str(err.get("msg")))
    detail = "Invalid request: " + "; ".join(parts)
    return error_response(request, 422, detail, "validation_error", errors)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(AppError, _app_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)


# Answers any route may give besides its own (middleware, dependencies, Serve's queues).
_COMMON = {
    "401": "Missing or wrong API key (when auth is on)",
    "413": "Body above its size limit",
    "422": "Invalid fields",
    "429": "Rate limit: retry after Retry-After seconds",
    "503": "Overloaded, or a deployment scaled to zero is starting (Retry-After both); "
    "or the LLM is unavailable",
}


def document_errors(app: FastAPI) -> None:
    """Declare the error envelope for every status the app can answer with, on every
    operation, in the OpenAPI schema (FastAPI would otherwise declare its own 422 body)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, routes=app.routes)
            ref = {"$ref": "#/components/schemas/ErrorResponse"}
            schemas = schema.setdefault("components", {}).setdefault("schemas", {})
            schemas.setdefault(
                "ErrorResponse",
                ErrorResponse.model_json_schema(ref_template="#/components/schemas/{model}"),
            )
            for defs in list(schemas["ErrorResponse"].pop("$defs", {}).items()):
                schemas.setdefault(*defs)
            for path, operations in schema.get("paths", {}).items():
                if path == "/health":
                    continue
                for operation in operations.values():
                    responses = operation.setdefault("responses", {})
                    extra = dict(_COMMON)
                    if "{job_id}" in path:
                        extra["404"] = "Unknown or expired job, or another key's"
                    for status, description in extra.items():
                        entry = responses.setdefault(status, {"description": description})
                        if status != "404" or "content" not in entry:
                            entry["content"] = {"application/json": {"schema": ref}}
            for unused in ("HTTPValidationError", "ValidationError"):
                schemas.pop(unused, None)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
