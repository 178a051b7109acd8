"""A closed-loop load generator: N keep-alive HTTP/1.1 connections on asyncio (uvloop), each
sending its next request as soon as the previous response is read, for a fixed time.

It runs in its own process (`load_pool`), so it never shares the server's interpreter. It is a
raw client rather than httpx.AsyncClient: httpx spends several times more CPU per request, and on
a 2-core machine the client would then be what is measured.
"""

import asyncio
import itertools
import math
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_context
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    def encode(self, host: str) -> bytes:
        lines = [f"{self.method} {self.path} HTTP/1.1", f"Host: {host}"]
        lines += [f"{name}: {value}" for name, value in self.headers.items()]
        if self.body or self.method in ("POST", "PUT", "PATCH"):
            lines.append(f"Content-Length: {len(self.body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + self.body


@dataclass
class LoadResult:
    seconds: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)

    @property
    def requests(self) -> int:
        return len(self.latencies_ms)

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        """Nearest-rank percentile of the latencies, in ms."""
        ordered = sorted(self.latencies_ms)
        return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)] if ordered else 0.0

    def unexpected(self, *ok: int) -> dict[int, int]:
        return {status: n for status, n in self.statuses.items() if status not in ok}

    def merge(self, other: "LoadResult") -> "LoadResult":
        statuses = dict(self.statuses)
        for status, n in other.statuses.items():
            statuses[status] = statuses.get(status, 0) + n
        return LoadResult(
            self.seconds + other.seconds, self.latencies_ms + other.latencies_ms, statuses
        )


def _content_length(head: bytes) -> int:
    start = head.lower().find(b"\r\ncontent-length:")
    if start < 0:
        raise ValueError(f"response without Content-Length: {head[:200]!r}")
    end = head.index(b"\r\n", start + 2)
    return int(head[start + 17 : end])


async def _connection(
    host: str,
    port: int,
    next_request: Callable[[], bytes],
    record_from: float,
    stop_at: float,
    result: LoadResult,
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while (start := time.perf_counter()) < stop_at:
            writer.write(next_request())
            head = await reader.readuntil(b"\r\n\r\n")
            await reader.readexactly(_content_length(head))
            if start >= record_from:
                result.latencies_ms.append((time.perf_counter() - start) * 1000)
                status = int(head[9:12])
                result.statuses[status] = result.statuses.get(status, 0) + 1
    finally:
        writer.close()


def _sources(
    requests: list[Request] | list[list[Request]], concurrency: int, host: str
) -> list[Callable[[], bytes]]:
    """What each connection sends next: one shared cycle, or a cycle per connection."""
    per_connection = [r for r in requests if isinstance(r, list)]
    if per_connection:
        return [
            itertools.cycle(
                [r.encode(host) for r in per_connection[n % len(per_connection)]]
            ).__next__
            for n in range(concurrency)
        ]
    shared = itertools.cycle([r.encode(host) for r in requests if isinstance(r, Request)])
    return [shared.__next__] * concurrency


async def _run(
    base: str,
    requests: list[Request] | list[list[Request]],
    concurrency: int,
    seconds: float,
    warmup: float,
) -> LoadResult:
    url = urlsplit(base)
    host, port = url.hostname or "127.0.0.1", url.port or 80
    sources = _sources(requests, concurrency, url.netloc)
    result = LoadResult()
    record_from = time.perf_counter() + warmup
    stop_at = record_from + seconds
    await asyncio.gather(
        *(_connection(host, port, source, record_from, stop_at, result) for source in sources)
    )
    result.seconds = time.perf_counter() - record_from
    return result


def run_load(
    base: str,
    requests: list[Request] | list[list[Request]],
    concurrency: int,
    seconds: float,
    warmup: float = 0.0,
) -> LoadResult:
    """Cycle through `requests` on `concurrency` connections (a list of lists: connection n
    cycles through list n); record only after `warmup`."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(_run(base, requests, concurrency, seconds, warmup))
    return uvloop.run(_run(base, requests, concurrency, seconds, warmup))


def load_pool() -> ProcessPoolExecutor:
    """One separate process for the load generator (spawned: nothing inherited from the caller)."""
    return ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn"))


def measure(
    pool: ProcessPoolExecutor,
    base: str,
    requests: list[Request] | list[list[Request]],
    concurrency: int,
    seconds: float,
    warmup: float = 0.0,
) -> LoadResult:
    return pool.submit(run_load, base, requests, concurrency, seconds, warmup).result()
