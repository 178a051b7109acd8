"""Shared request parsing and JSON error responses for every ASGI app."""

import json
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse

from governance import GovernanceError

DEFAULT_MAX_BODY = 1024 * 1024


class HTTPError(GovernanceError):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message, code=code)
        self.status = status


def error_response(
    status: int, code: str, message: str, headers: dict | None = None
) -> JSONResponse:
    return JSONResponse(
        {"error": {"code": code, "message": message}}, status_code=status, headers=headers
    )


async def governance_error_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, GovernanceError)
    return error_response(exc.status, exc.code, exc.message)


async def http_exception_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    codes = {404: "not_found", 405: "method_not_allowed"}
    message = exc.detail if isinstance(exc.detail, str) else "request refused"
    return error_response(
        exc.status_code, codes.get(exc.status_code, "http_error"), message, headers=exc.headers
    )


EXCEPTION_HANDLERS = {
    GovernanceError: governance_error_handler,
    HTTPException: http_exception_handler,
}


async def read_json(request: Request, max_bytes: int | None = None) -> dict[str, Any]:
    """The request body as a JSON object; 413 past max_bytes, 400 when not a JSON object."""
    limit = max_bytes or request.app.state.max_body_bytes
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise HTTPError(413, "body_too_large", f"request body exceeds {limit} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise HTTPError(413, "body_too_large", f"request body exceeds {limit} bytes")
        chunks.append(chunk)
    raw = b"".join(chunks)
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise HTTPError(400, "invalid_json", f"request body is not valid JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise HTTPError(400, "invalid_json", "request body must be a JSON object")
    return value


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def int_query(request: Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise HTTPError(400, "bad_query", f"query parameter {name!r} must be an integer") from exc
    if not low <= value <= high:
        raise HTTPError(400, "bad_query", f"query parameter {name!r} must be {low}..{high}")
    return value


def required_str(body: dict[str, Any], name: str, max_length: int = 200) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value.strip():
        raise HTTPError(400, "missing_field", f"field {name!r} (a non-empty string) is required")
    if len(value) > max_length:
        raise HTTPError(400, "field_too_long", f"field {name!r} exceeds {max_length} characters")
    return value.strip()
