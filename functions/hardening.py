"""What the edge (functions/edge.py) enforces: token-bucket rate limits keyed per client, the
JSON refusals it sends, and the security headers every response carries."""

import hashlib
import json
import threading
import time
from collections.abc import Callable
from typing import Any

Scope = dict[str, Any]
EXEMPT_PATHS = frozenset({"/healthz"})


def json_error(status: int, code: str, message: str, extra: list | None = None) -> list[dict]:
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

    def peek(self, key: str) -> float:
        """What `take` would answer, without spending anything."""
        now = self.clock()
        with self._lock:
            tokens, at = self._buckets.get(key, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - at) * self.rate)
        return 0.0 if tokens >= 1 else (1 - tokens) / self.rate

    def _forget_idle(self, now: float) -> None:
        full_after = self.burst / self.rate
        self._buckets = {k: v for k, v in self._buckets.items() if now - v[1] < full_after}
        self._next_cleanup = now + max(full_after, 1.0)


# The engine's header naming the person a proposal is asked for (their own token): the console
# proposes with the institution's agent token on a person's behalf.
REQUESTER_HEADER = "x-libervia-requester"
_REQUESTER = REQUESTER_HEADER.encode()


def bearer_key(scope: Scope, on_behalf: bool = False) -> str | None:
    """The token a request is counted against, hashed; None without a bearer token. With
    `on_behalf` (a route that checks the requester's token), the person's it is asked for: their
    chat is not held up by their agent working through a queue of jobs."""
    bearer = requester = None
    for name, value in scope["headers"]:
        if name == b"authorization" and value[:7].lower() == b"bearer ":
            bearer = value[7:].strip()
        elif name == _REQUESTER and on_behalf:
            requester = value.strip()
    if not bearer:
        return None
    return "t:" + hashlib.sha256(requester or bearer).hexdigest()[:32]


def address_key(scope: Scope) -> str:
    client = scope.get("client")
    return "ip:" + (client[0] if client else "unknown")


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
