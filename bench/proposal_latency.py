"""Decisions where users are: POST proposals by 64 concurrent clients, against references
measured in the same run.

1. Many institutions, each with few writers: 64 clients, each on its own institution. The
   reference is raw durable SQLite commits (WAL, synchronous=FULL) by 64 threads over 64 files,
   in a separate process. Goal: proposals/s >= 50 % of raw commits/s. A ceiling is printed
   beside it: the smallest HTTP app that acknowledges a durable write (bench.hello_app's
   POST /commit/{n}: parse the JSON, one raw commit in a thread), under the same uvicorn
   workers and load, each client on its own file. No engine can do better than that app.
2. One busy institution: 64 clients on one institution, where concurrent decisions share one
   durable commit (group commit). The reference is GET /healthz under the same 64-client load
   on the same engine. Goal: proposal p99 <= 3x healthz p99.

The engine runs as in production (`ENGINE_WORKERS` worker processes). Clients are closed-loop,
so by Little's law latency is about 64 / throughput. Proposals cycle through list_files
(allowed: a job is created), delete (pending_approval) and format_disk (denied); each decision
and its ledger events are one durable transaction.
"""

import json
import tempfile
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import httpx

from bench.common import figure, goal, note, parse_args, ratio, title
from bench.load import LoadResult, Request, load_pool, measure
from bench.raw_sqlite import concurrent_commits
from functions.engine.settings import DEFAULT_WORKERS
from harness.engine_api import Institution, auth, new_institution
from harness.servers import engine_process, uvicorn_process

CONCURRENCY = 64
GOAL_RATIO_TO_RAW = 0.50
GOAL_P99_TIMES_HEALTHZ = 3.0
MIX = [("list_files", {}), ("delete", {"path": "a.txt", "sha256": "a" * 64}), ("format_disk", {})]
ROW_BYTES = 1200  # a proposal row and its events, roughly


def proposals(inst: Institution) -> list[Request]:
    headers = {"Authorization": f"Bearer {inst.tokens['owner']}"}
    headers["Content-Type"] = "application/json"
    path = f"/v1/institutions/{inst.institution_id}/proposals"
    return [
        Request("POST", path, headers, json.dumps({"action": a, "params": p}).encode())
        for a, p in MIX
    ]


def show(label: str, result: LoadResult, ok: int) -> None:
    figure(f"{label} throughput", result.rate, "req/s")
    for p in (50, 99):
        figure(f"{label} p{p}", result.percentile(p), "ms")
    if bad := result.unexpected(ok):
        note(f"UNEXPECTED STATUSES: {bad}")


def raw_reference(seconds: float) -> float:
    with (
        tempfile.TemporaryDirectory(prefix="bench-raw-") as tmp,
        ProcessPoolExecutor(1, mp_context=get_context("spawn")) as pool,
    ):
        return pool.submit(concurrent_commits, tmp, CONCURRENCY, seconds, ROW_BYTES).result()


def commits_over_http(
    tmp: Path, pool: ProcessPoolExecutor, seconds: float, warmup: float
) -> LoadResult:
    """The ceiling: bench.hello_app's one durable commit per request, on 64 files."""
    folder = tmp / "ceiling"
    folder.mkdir()
    env = {"BENCH_COMMIT_DIR": str(folder)}
    body = json.dumps({"action": "list_files", "params": {}}).encode()
    headers = {"Content-Type": "application/json"}
    requests = [[Request("POST", f"/commit/{n}", headers, body)] for n in range(CONCURRENCY)]
    with uvicorn_process(
        "bench.hello_app:create_app", env, health="/", workers=DEFAULT_WORKERS
    ) as app:
        return measure(pool, app, requests, CONCURRENCY, seconds, warmup)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(__doc__, argv)
    seconds, warmup = (1.0, 0.2) if args.quick else (8.0, 1.0)
    title("proposal_latency", f"POST proposals, {CONCURRENCY} concurrent clients", args.quick)
    with (
        tempfile.TemporaryDirectory(prefix="bench-proposals-") as tmp,
        engine_process(
            Path(tmp),
            Path(tmp) / "engine.log",
            workers=DEFAULT_WORKERS,
            ENGINE_RATE_LIMIT_PER_SECOND="0",
        ) as engine,
        load_pool() as pool,
    ):
        institutions = [new_institution(engine) for _ in range(CONCURRENCY)]
        raw = raw_reference(seconds)
        ceiling = commits_over_http(Path(tmp), pool, seconds, warmup)
        spread = measure(
            pool, engine, [proposals(i) for i in institutions], CONCURRENCY, seconds, warmup
        )
        busy = institutions[0]
        health = measure(pool, engine, [Request("GET", "/healthz")], CONCURRENCY, seconds, warmup)
        one = measure(pool, engine, proposals(busy), CONCURRENCY, seconds, warmup)
        verified = [
            httpx.get(i.url("/ledger/verify"), headers=auth(i.tokens["owner"])).json()
            for i in institutions
        ]
    note(f"engine with {DEFAULT_WORKERS} worker processes; {CONCURRENCY} closed-loop clients")
    note(f"{warmup:g} s of warm-up, then {seconds:g} s per measurement")
    note("1. many institutions: each client on its own institution")
    show("POST proposals, 64 institutions", spread, 201)
    figure("reference: raw durable commits, 64 files", raw, "commits/s")
    ratio("ratio proposals / raw commits", spread.rate / raw)
    show("ceiling: 1 commit per request", ceiling, 201)
    ratio("ratio ceiling / raw commits", ceiling.rate / raw)
    ratio("ratio proposals / ceiling", spread.rate / ceiling.rate)
    note("2. one busy institution: all clients on one institution (group commit)")
    show("POST proposals, 1 institution", one, 201)
    show("reference: GET /healthz", health, 200)
    p99_ratio = one.percentile(99) / health.percentile(99)
    figure("p99 proposals / p99 healthz", p99_ratio, "x")
    figure(
        "ceiling p99 (64 files) / healthz p99", ceiling.percentile(99) / health.percentile(99), "x"
    )
    ok = all(v.get("ok") for v in verified)
    note(f"ledgers after the load: {'all verify' if ok else 'SOME DO NOT VERIFY'},")
    note(f"{sum(v.get('events', 0) for v in verified):,} events in {len(verified)} institutions")
    goal(
        f"64 institutions >= {GOAL_RATIO_TO_RAW:.0%} of raw commits",
        spread.rate / raw >= GOAL_RATIO_TO_RAW,
    )
    goal(f"one institution p99 <= {GOAL_P99_TIMES_HEALTHZ:g}x healthz p99", p99_ratio <= 3.0)


if __name__ == "__main__":
    main()
