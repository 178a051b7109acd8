"""Agent polls per second (GET .../runtime/jobs?wait=0, empty queue) against a hello-world
Starlette app served by uvicorn the same way, both driven by the same load generator.

The engine and the hello app run as real uvicorn processes; the load generator is a third
process with 32 keep-alive connections. Rounds alternate between the two servers.
"""

import tempfile
from pathlib import Path

from bench.common import figure, goal, note, parse_args, ratio, title
from bench.load import LoadResult, Request, load_pool, measure
from harness.engine_api import new_institution
from harness.servers import engine_process, uvicorn_process

GOAL = 0.40
CONCURRENCY = 32


def hello_process():
    """bench.hello_app under uvicorn, started like the engine; yields its base URL."""
    return uvicorn_process("bench.hello_app:create_app", {}, health="/")


def show(label: str, result: LoadResult) -> None:
    figure(label, result.rate, "req/s")
    note(f"  {result.requests:,} requests, p50 {result.percentile(50):.1f} ms")
    if bad := result.unexpected(200):
        note(f"  UNEXPECTED STATUSES: {bad}")


def main(argv: list[str] | None = None) -> None:
    args = parse_args(__doc__, argv)
    rounds, seconds, warmup = (1, 1.0, 0.3) if args.quick else (3, 4.0, 1.0)
    title("agent_poll", "agent polls vs hello-world Starlette", args.quick)
    with (
        tempfile.TemporaryDirectory(prefix="bench-poll-") as tmp,
        engine_process(
            Path(tmp), Path(tmp) / "engine.log", ENGINE_RATE_LIMIT_PER_SECOND="0"
        ) as engine,
        hello_process() as hello,
        load_pool() as pool,
    ):
        inst = new_institution(engine)
        poll = Request(
            "GET",
            f"/v1/institutions/{inst.institution_id}/runtime/jobs?wait=0",
            {"Authorization": f"Bearer {inst.tokens['agent']}"},
        )
        targets = {"poll": (engine, [poll]), "hello": (hello, [Request("GET", "/")])}
        results = {name: LoadResult() for name in targets}
        for i in range(rounds):
            for name, (base, requests) in targets.items():
                run = measure(pool, base, requests, CONCURRENCY, seconds, warmup if i == 0 else 0)
                results[name] = results[name].merge(run)
    note(
        f"{CONCURRENCY} connections, {rounds} alternating round(s) of {seconds:g} s per server"
        f" after {warmup:g} s of warm-up"
    )
    show("GET .../runtime/jobs?wait=0 (engine)", results["poll"])
    show("reference: GET / (hello-world Starlette)", results["hello"])
    share = results["poll"].rate / results["hello"].rate
    ratio("ratio poll / hello", share)
    goal(f"ratio >= {GOAL:.0%}", share >= GOAL)


if __name__ == "__main__":
    main()
