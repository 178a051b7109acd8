"""ASGI middleware every app wears (rate limits, request size limits) and the security headers
every response carries (logs.RequestContext adds them: it already wraps each response)."""

import hashlib
import json
import math
import threading
import time
from collections.abc import Callable
from typing import Any

Scope = dict[str, Any]
EXEMPT_PATHS = frozenset({"/healthz"})


def _json_error(status: int, code: str, message: str, extra: list | None = None) -> list[dict]:
    body = json.dumps({"error": {"code": code, "message": message}}).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        *(extra or []),
    ]
    return [
        {"type": "http.response.start", "status": status, "headers": headers},
        {"type": "http.response.body", "body": body},
    ]


class TokenBuckets:
    """`rate` requests per second per key, bursts up to `burst`; idle keys are forgotten."""

    def __init__(self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic):
        self.rate, self.burst, self.clock = rate, burst, clock
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()
        self._next_cleanup = 0.0

    def take(self, key: str) -> float:
        """0 when allowed; otherwise the seconds until one request would be."""
        now = self.clock()
        with self._lock:
            if now >= self._next_cleanup:
                self._forget_idle(now)
            tokens, at = self._buckets.get(key, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - at) * self.rate)
            if tokens >= 1:
                self._buckets[key] = (tokens - 1, now)
                return 0.0
            self._buckets[key] = (tokens, now)
            return (1 - tokens) / self.rate

    def _forget_idle(self, now: float) -> None:
        full_after = self.burst / self.rate
        self._buckets = {k: v for k, v in self._buckets.items() if now - v[1] < full_after}
        self._next_cleanup = now + max(full_after, 1.0)


def client_key(scope: Scope) -> str:
    """The bearer token (hashed) when there is one, else the client address."""
    for name, value in scope["headers"]:
        if name == b"authorization" and value[:7].lower() == b"bearer ":
            return "t:" + hashlib.sha256(value[7:].strip()).hexdigest()[:32]
    client = scope.get("client")
    return "ip:" + (client[0] if client else "unknown")


class RateLimit:
    """429 with Retry-After once a client outruns its bucket. rate <= 0 turns it off."""

    def __init__(
        self, app: Any, rate: float, burst: int, key: Callable[[Scope], str] = client_key
    ) -> None:
        self.app = app
        self.buckets = TokenBuckets(rate, burst) if rate > 0 else None
        self.key = key

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if self.buckets is None or scope["type"] != "http" or scope["path"] in EXEMPT_PATHS:
            return await self.app(scope, receive, send)
        wait = self.buckets.take(self.key(scope))
        if wait == 0:
            return await self.app(scope, receive, send)
        retry_after = str(max(1, math.ceil(wait))).encode()
        for message in _json_error(
            429,
            "rate_limited",
            f"too many requests; retry after {retry_after.decode()} s",
            [(b"retry-after", retry_after)],
        ):
            await send(message)


class BodyTooLarge(Exception):
    pass


class BodyLimit:
    """413 for bodies past max_bytes, declared or streamed, before a handler sees them."""

    def __init__(self, app: Any, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = dict(scope["headers"])
        declared = headers.get(b"content-length")
        if declared is None and b"transfer-encoding" not in headers:
            return await self.app(scope, receive, send)  # no body: nothing to count
        refusal = _json_error(413, "body_too_large", f"request body exceeds {self.max_bytes} bytes")
        if declared and declared.isdigit() and int(declared) > self.max_bytes:
            for message in refusal:
                await send(message)
            return
        seen, started = [0], [False]

        async def counting_receive() -> dict:
            message = await receive()
            if message["type"] == "http.request":
                seen[0] += len(message.get("body", b""))
                if seen[0] > self.max_bytes:
                    raise BodyTooLarge
            return message

        async def tracking_send(message: dict) -> None:
            if message["type"] == "http.response.start":
                started[0] = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except BodyTooLarge:
            if not started[0]:
                for message in refusal:
                    await send(message)


API_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cache-control", b"no-store"),
    (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'"),
]

PAGE_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (
        b"content-security-policy",
        b"default-src 'self'; script-src 'self'; style-src 'self'; frame-ancestors 'none'",
    ),
]
