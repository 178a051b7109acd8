"""Shared request parsing and JSON error responses for every ASGI app."""

import errno
import json
import logging
import math
import sqlite3
import zlib
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse

from kernel.engine_answers import REFUSALS
from kernel.errors import BadRequest, Refused, TooLarge, Unavailable, Unsupported
from tenants import InstitutionMissing, InstitutionUnavailable, StorageFull, TenantError

DEFAULT_MAX_BODY = 1024 * 1024


def error_response(
    status: int, code: str, message: str, headers: dict | None = None
) -> JSONResponse:
    return JSONResponse(
        {"error": {"code": code, "message": message}}, status_code=status, headers=headers
    )


# The one table from the kinds of refusal (kernel.errors) to HTTP status, for both apps; the
# engine's clients read the same table the other way (kernel.engine_answers.REFUSALS).
STATUS: dict[type[Refused], int] = {kind: status for status, kind in REFUSALS.items()}
STATUS[Unavailable] = 502


def status_of(exc: Refused) -> int:
    """The status of the nearest kind the table names (400 for a bare refusal)."""
    for kind in type(exc).__mro__:
        if kind in STATUS:
            return STATUS[kind]
    return 400


def refusal_response(exc: Refused, message: str | None = None) -> JSONResponse:
    headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after is not None else None
    return error_response(status_of(exc), exc.code, message or exc.message, headers=headers)


async def refusal_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, Refused)
    return refusal_response(exc)


async def http_exception_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    codes = {404: "not_found", 405: "method_not_allowed"}
    message = exc.detail if isinstance(exc.detail, str) else "request refused"
    return error_response(
        exc.status_code,
        codes.get(exc.status_code, "http_error"),
        message,
        headers=dict(exc.headers or {}),
    )


# Storage failures at the HTTP edge: one institution's problem is that institution's 503.
TENANT_ERRORS: dict[type[TenantError], tuple[int, str]] = {
    StorageFull: (507, "insufficient_storage"),
    InstitutionUnavailable: (503, "institution_unavailable"),
    InstitutionMissing: (404, "institution_not_found"),
}
log = logging.getLogger("libervia")


async def tenant_error_handler(request: Request, exc: Exception) -> JSONResponse:
    message = str(exc)
    if isinstance(exc, InstitutionUnavailable):
        # Why is for the operator (the log), not for whoever asked.
        log.error(
            "institution unavailable",
            extra={"fields": {"institution_id": exc.institution_id, "problem": exc.reason}},
        )
        message = f"institution {exc.institution_id} is unavailable for now; retry later"
    for kind, (status, code) in TENANT_ERRORS.items():
        if isinstance(exc, kind):
            headers = {"Retry-After": "30"} if status in (503, 507) else None
            return error_response(status, code, message, headers=headers)
    return error_response(503, "storage_unavailable", message)


async def sqlite_error_handler(request: Request, exc: Exception) -> JSONResponse:
    """SQLite errors that no domain code translated (the registry, say)."""
    assert isinstance(exc, sqlite3.Error)
    if getattr(exc, "sqlite_errorcode", 0) & 0xFF == sqlite3.SQLITE_FULL:
        return error_response(507, "insufficient_storage", "the disk is full; nothing was written")
    log.error("storage error", exc_info=exc)
    return error_response(503, "storage_unavailable", "storage is unavailable; retry later")


async def os_error_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, OSError)
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return error_response(507, "insufficient_storage", "the disk is full; nothing was written")
    log.error("unexpected OS error", exc_info=exc)
    return error_response(500, "internal_error", "internal error; it has been logged")


# What the access log records for a request whose client left before it was read (nginx's
# number): nobody is there to answer, and nothing is wrong with the server.
CLIENT_GONE = 499


async def client_gone_handler(request: Request, exc: Exception) -> JSONResponse:
    return error_response(
        CLIENT_GONE, "client_disconnected", "the client closed the connection mid-request"
    )


async def internal_error_handler(request: Request, exc: Exception) -> JSONResponse:
    """Last resort: even a bug answers JSON (the traceback goes to the log)."""
    return error_response(500, "internal_error", "internal error; it has been logged")


EXCEPTION_HANDLERS = {
    Refused: refusal_handler,
    HTTPException: http_exception_handler,
    TenantError: tenant_error_handler,
    sqlite3.Error: sqlite_error_handler,
    OSError: os_error_handler,
    ClientDisconnect: client_gone_handler,
    Exception: internal_error_handler,
}


MAX_DEPTH = 32
MAX_INT_DIGITS = 19  # any integer a field takes fits in SQLite's 64 bits


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise ValueError(f"an integer of {len(text)} digits is too large")
    value = int(text)
    if not -(2**63) <= value < 2**63:
        raise ValueError("an integer is out of the 64-bit range")
    return value


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} is not a finite number")
    return value


def _check_tree(value: Any) -> None:
    """Nesting at most MAX_DEPTH; every string (keys too) valid Unicode text (no lone
    surrogates, which nothing downstream could encode). Iterative: no recursion to exhaust."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError as exc:
                raise BadRequest("a string holds a lone surrogate", code="invalid_json") from exc
        elif isinstance(item, dict | list):
            if depth > MAX_DEPTH:
                raise BadRequest(f"JSON nested deeper than {MAX_DEPTH}", code="invalid_json")
            children = [*item.keys(), *item.values()] if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)


async def read_body(request: Request, limit: int) -> bytes:
    """The raw request body; 413 past `limit` bytes, declared or streamed."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise TooLarge(f"request body exceeds {limit} bytes", code="body_too_large")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise TooLarge(f"request body exceeds {limit} bytes", code="body_too_large")
        chunks.append(chunk)
    return b"".join(chunks)


def content_encoding(request: Request) -> str:
    """The body's Content-Encoding, lowercased ("identity" when none): several codings, in one
    header or in several, are one value that no route takes."""
    codings = [
        coding.strip().lower()
        for header in request.headers.getlist("content-encoding")
        for coding in header.split(",")
    ]
    codings = [coding for coding in codings if coding not in ("", "identity")]
    return ", ".join(codings) or "identity"


def decoded_body(raw: bytes, encoding: str, limit: int) -> bytes:
    """The body as sent before its Content-Encoding (identity or gzip), at most `limit` bytes
    once expanded: a small gzip bomb is refused when it passes the limit, not after."""
    if encoding == "identity":
        return raw
    if encoding != "gzip":
        raise Unsupported(
            f"Content-Encoding {encoding!r}: use gzip or none", code="unsupported_encoding"
        )
    inflater = zlib.decompressobj(wbits=31)
    try:
        expanded = inflater.decompress(raw, limit + 1)
        if len(expanded) <= limit and not inflater.eof:
            expanded += inflater.flush(limit + 1 - len(expanded))
    except zlib.error as exc:
        raise BadRequest(f"request body is not valid gzip: {exc}", code="invalid_gzip") from exc
    if len(expanded) > limit:
        raise TooLarge(f"request body exceeds {limit} bytes expanded", code="body_too_large")
    if not inflater.eof or inflater.unused_data:
        raise BadRequest("request body is truncated or not one gzip stream", code="invalid_gzip")
    return expanded


def parse_json_object(raw: bytes) -> dict[str, Any]:
    """`raw` as a JSON object; 400 when it is not one, or when it holds what no field takes
    (NaN, huge integers, deep nesting, lone surrogates). Empty is {}."""
    if not raw:
        return {}
    try:
        value = json.loads(
            raw, parse_constant=_no_constant, parse_int=_bounded_int, parse_float=_finite_float
        )
    except RecursionError as exc:
        raise BadRequest(f"JSON nested deeper than {MAX_DEPTH}", code="invalid_json") from exc
    except (ValueError, UnicodeDecodeError) as exc:  # JSONDecodeError is a ValueError
        raise BadRequest(f"request body is not valid JSON: {exc}", code="invalid_json") from exc
    if not isinstance(value, dict):
        raise BadRequest("request body must be a JSON object", code="invalid_json")
    _check_tree(value)
    return value


async def read_json(request: Request, max_bytes: int | None = None) -> dict[str, Any]:
    """The request body as a JSON object (see `parse_json_object`); 413 past max_bytes, 415
    when it is sent compressed (only the agent's results may be)."""
    if (encoding := content_encoding(request)) != "identity":
        raise Unsupported(
            f"Content-Encoding {encoding!r}: send this body uncompressed",
            code="unsupported_encoding",
        )
    return parse_json_object(
        await read_body(request, max_bytes or request.app.state.max_body_bytes)
    )


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def query_value(request: Request, name: str) -> str | None:
    """A query parameter (the last one of that name, as `request.query_params` says), read
    straight from a plain query string: parsing the whole of it costs a poll more than its
    database work does. Escaped query strings take Starlette's parser."""
    raw: bytes = request.scope["query_string"]
    if b"%" in raw or b"+" in raw:
        return request.query_params.get(name)
    found = None
    wanted = name.encode("latin-1")
    for part in raw.split(b"&"):
        key, _, value = part.partition(b"=")
        if key == wanted:
            found = value.decode("latin-1")
    return found


def int_query(request: Request, name: str, default: int | None, low: int, high: int) -> int:
    """An integer query parameter in low..high, written in ASCII digits (Python's int() also
    takes "1_000", " 5" and other scripts' digits); `default` None: it is required."""
    raw = query_value(request, name)
    if raw is None:
        if default is None:
            raise BadRequest(f"query parameter {name!r} is required", code="bad_query")
        return default
    digits = raw[1:] if raw.startswith("-") else raw
    if not (digits.isascii() and digits.isdigit()) or len(digits) > MAX_INT_DIGITS:
        raise BadRequest(f"query parameter {name!r} must be an integer", code="bad_query")
    value = int(raw)
    if not low <= value <= high:
        raise BadRequest(f"query parameter {name!r} must be {low}..{high}", code="bad_query")
    return value
