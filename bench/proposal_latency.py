"""Proposal latency (p50/p95/p99) and throughput under 64 concurrent clients, against GET /healthz
under the same 64-client load on the same engine process.

The clients are closed-loop (each sends its next request as soon as it has the answer), so by
Little's law latency is about 64 / throughput: the p99 goal is also a throughput goal. Proposals
cycle through list_files (allowed: a job is created), delete (pending_approval) and format_disk
(denied), all by the owner; each is decided and written to tenant.db and the durable ledger.
"""

import json
import tempfile
from pathlib import Path

import httpx

from bench.common import figure, goal, note, parse_args, title
from bench.load import LoadResult, Request, load_pool, measure
from tests.support.engine_api import auth, new_institution
from tests.support.servers import engine_process

GOAL_P99_MS = 20.0
CONCURRENCY = 64
MIX = [("list_files", {}), ("delete", {"path": "a.txt"}), ("format_disk", {})]


def show(label: str, result: LoadResult, ok: int) -> None:
    figure(f"{label} throughput", result.rate, "req/s")
    for p in (50, 95, 99):
        figure(f"{label} p{p}", result.percentile(p), "ms")
    if bad := result.unexpected(ok):
        note(f"UNEXPECTED STATUSES: {bad}")


def main(argv: list[str] | None = None) -> None:
    args = parse_args(__doc__, argv)
    seconds, health_seconds, warmup = (1.0, 1.0, 0.2) if args.quick else (12.0, 6.0, 1.0)
    title("proposal_latency", f"POST proposals, {CONCURRENCY} concurrent clients", args.quick)
    with (
        tempfile.TemporaryDirectory(prefix="bench-proposals-") as tmp,
        engine_process(
            Path(tmp), Path(tmp) / "engine.log", ENGINE_RATE_LIMIT_PER_SECOND="0"
        ) as engine,
        load_pool() as pool,
    ):
        inst = new_institution(engine)
        headers = {"Authorization": f"Bearer {inst.tokens['owner']}"}
        headers["Content-Type"] = "application/json"
        path = f"/v1/institutions/{inst.institution_id}/proposals"
        proposals = [
            Request("POST", path, headers, json.dumps({"action": a, "params": p}).encode())
            for a, p in MIX
        ]
        healthz = [Request("GET", "/healthz")]
        health = measure(pool, engine, healthz, CONCURRENCY, health_seconds, warmup)
        submitted = measure(pool, engine, proposals, CONCURRENCY, seconds, warmup)
        verified = httpx.get(inst.url("/ledger/verify"), headers=auth(inst.tokens["owner"])).json()
    note(f"{CONCURRENCY} closed-loop connections, {warmup:g} s of warm-up, then")
    note(f"proposals for {seconds:g} s (list_files, delete, format_disk in turn)")
    note(f"and GET /healthz for {health_seconds:g} s")
    show("POST proposals", submitted, 201)
    show("reference: GET /healthz", health, 200)
    figure("p99 proposals / p99 healthz", submitted.percentile(99) / health.percentile(99), "x")
    note(f"ledger after the load: ok={verified.get('ok')}, {verified.get('events')} events")
    goal(f"proposal p99 <= {GOAL_P99_MS:g} ms", submitted.percentile(99) <= GOAL_P99_MS)


if __name__ == "__main__":
    main()
