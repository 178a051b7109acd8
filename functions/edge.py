"""The one ASGI layer every request of both apps goes through: its request id (taken from
`X-Request-ID` or made) and case id for the logs, the rate limit, the body limit, the security
headers and the request id on every response, and one access-log line. One pure-ASGI class
instead of a stack of middlewares: each layer costs the hot paths a coroutine and a wrapper."""

import math
import random
import re
import time
from collections.abc import Callable
from typing import Any

from functions import logs
from functions.hardening import (
    EXEMPT_PATHS,
    Scope,
    TokenBuckets,
    address_key,
    bearer_key,
    json_error,
)


class BodyTooLarge(Exception):
    pass


class Edge:
    def __init__(
        self,
        app: Any,
        *,
        headers: list[tuple[bytes, bytes]],
        rate: float,
        burst: int,
        max_bytes: int,
        larger_bodies: tuple[re.Pattern[str], int] | None = None,
        tokens: bool = True,
        on_behalf: re.Pattern[str] | None = None,
        refusal_page: Callable[[Scope, int, list[tuple[bytes, bytes]]], Any] | None = None,
    ) -> None:
        self.app = app
        self.headers = headers
        # Whether a bearer token has its own budget: only where tokens are what authenticates.
        # Elsewhere a made-up one would buy a fresh budget with each request.
        self.tokens = tokens
        # The paths where a bearer asks on a person's behalf, whose token the route checks (a
        # made-up one is a 401, counted per address): that person's budget is spent.
        self.on_behalf = on_behalf
        self.buckets = TokenBuckets(rate, burst) if rate > 0 else None
        # Bearer tokens refused (401), counted per address: a fresh random token per request
        # would otherwise get a fresh bucket each time.
        self.refusals = TokenBuckets(rate, burst) if rate > 0 else None
        self.max_bytes = max_bytes
        # Paths whose bodies may be larger (the agent's results), and their own limit.
        self.larger_bodies = larger_bodies
        # An app that says a refusal as a page to a browser navigating (None: JSON for all).
        self.refusal_page = refusal_page

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        request_id = case_id = declared = None
        chunked = False
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                request_id = logs.accepted_id(value.decode("latin-1"))
            elif name == b"x-case-id":
                case_id = logs.accepted_id(value.decode("latin-1"))
            elif name == b"content-length":
                declared = value
            elif name == b"transfer-encoding":
                chunked = True
        # Unique, not secret: no system call per request (os.urandom costs more than the poll).
        request_id = request_id or f"{random.getrandbits(128):032x}"
        context = logs.enter_request(request_id, case_id)
        started = time.perf_counter()
        state = {"status": 500, "started": False}
        extra = [*self.headers, (b"x-request-id", request_id.encode())]

        async def send_with_headers(message: dict) -> None:
            if message["type"] == "http.response.start":
                state["status"], state["started"] = message["status"], True
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        async def refuse(status: int, code: str, text: str, more: list | None = None) -> None:
            page = self.refusal_page(scope, status, more or []) if self.refusal_page else None
            if page is not None:
                return await page(scope, receive, send_with_headers)
            for message in json_error(status, code, text, more):
                await send_with_headers(message)

        bearer = address = None
        try:
            if self.buckets is not None and scope["path"] not in EXEMPT_PATHS:
                asked_for = bool(
                    self.on_behalf
                    and scope["method"] == "POST"
                    and self.on_behalf.fullmatch(scope["path"])
                )
                bearer = bearer_key(scope, asked_for) if self.tokens else None
                address = address_key(scope)
                wait = self.buckets.take(bearer or address)
                if bearer and self.refusals is not None:
                    wait = max(wait, self.refusals.peek(address))
                if wait:
                    after = str(max(1, math.ceil(wait)))
                    return await refuse(
                        429,
                        "rate_limited",
                        f"too many requests; retry after {after} s",
                        [(b"retry-after", after.encode())],
                    )
            if declared is None and not chunked:  # no body: nothing to count
                return await self.app(scope, receive, send_with_headers)
            limit = self.max_bytes
            if self.larger_bodies and self.larger_bodies[0].fullmatch(scope["path"]):
                limit = self.larger_bodies[1]
            too_large = f"request body exceeds {limit} bytes"
            if declared is not None and declared.isdigit() and int(declared) > limit:
                return await refuse(413, "body_too_large", too_large)
            seen = 0

            async def counting_receive() -> dict:
                nonlocal seen
                message = await receive()
                if message["type"] == "http.request":
                    seen += len(message.get("body", b""))
                    if seen > limit:
                        raise BodyTooLarge
                return message

            try:
                await self.app(scope, counting_receive, send_with_headers)
            except BodyTooLarge:
                if not state["started"]:
                    await refuse(413, "body_too_large", too_large)
        finally:
            if bearer and address and state["status"] == 401 and self.refusals is not None:
                self.refusals.take(address)
            client = scope.get("client")
            logs.access(
                {
                    "method": scope["method"],
                    "path": scope["path"],
                    "status": state["status"],
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                    "client": client[0] if client else None,
                }
            )
            logs.leave_request(context)
