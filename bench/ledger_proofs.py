"""Merkle proofs over a ledger of 1,000,000 events: inclusion and consistency proofs generated
(from the institution file's stored tree) and verified offline, per second.

The reference is the same measurement on a ledger of 1,000 events in the same run: with
O(log n) proofs, a thousand times more events costs about twice the hashes (20 levels instead
of 10), not a thousand times. Goal: >= 10,000 inclusion proofs verified per second at 1M.
"""

import functools
import random
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench.common import figure, goal, note, parse_args, ratio, title
from ledger import merkle
from ledger import store as ledger_store
from tenants.database import InstitutionDB, Tx, create_file

GOAL = 10_000  # inclusion proofs verified per second
IID = "inst_" + "c" * 24


def build(path: Path, count: int) -> InstitutionDB:
    create_file(path, IID, lambda tx: tx.record("institution.created", "bench", {}))
    db = InstitutionDB.open(path, IID)

    def append(tx: Tx, n: int) -> None:
        tx.record_many([("step", "bench", {"n": i}, None) for i in range(n)])

    left = count - 1
    while left > 0:
        batch = min(left, 50_000)
        db.write(functools.partial(append, n=batch))
        left -= batch
    return db


def rate(action: Callable[[int], object], picks: list[int], seconds: float) -> float:
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        action(picks[done % len(picks)])
        done += 1
    return done / (time.perf_counter() - start)


def measure(db: InstitutionDB, size: int, seconds: float) -> dict[str, float]:
    rng = random.Random(7)
    picks = [rng.randint(1, size) for _ in range(1000)]
    olds = [rng.randint(1, size - 1) for _ in range(1000)]
    with db.snapshot() as snapshot:
        conn = snapshot.conn
        root = ledger_store.root_at(conn, size)
        leaves = {
            seq: merkle.leaf_hash(row[8])
            for seq in picks
            for row in ledger_store.rows(conn, upto=seq, since=seq)
        }
        proofs = {seq: ledger_store.inclusion_proof(conn, seq, size) for seq in picks}
        old_roots = {m: ledger_store.root_at(conn, m) for m in olds}
        consistency = {m: ledger_store.consistency_proof(conn, m, size) for m in olds}
        figures = {
            "inclusion generated": rate(
                lambda s: ledger_store.inclusion_proof(conn, s, size), picks, seconds
            ),
            "inclusion verified": rate(
                lambda s: merkle.verify_inclusion(leaves[s], s - 1, size, proofs[s], root),
                picks,
                seconds,
            ),
            "consistency generated": rate(
                lambda m: ledger_store.consistency_proof(conn, m, size), olds, seconds
            ),
            "consistency verified": rate(
                lambda m: merkle.verify_consistency(m, size, old_roots[m], root, consistency[m]),
                olds,
                seconds,
            ),
        }
    assert all(merkle.verify_inclusion(leaves[s], s - 1, size, proofs[s], root) for s in picks)
    figures["path length"] = max(len(p) for p in proofs.values())
    return figures


def main(argv: list[str] | None = None) -> None:
    args = parse_args(__doc__, argv)
    big, seconds = (100_000, 0.3) if args.quick else (1_000_000, 2.0)
    title("ledger_proofs", f"Merkle proofs at {big:,} events vs 1,000", args.quick)
    with tempfile.TemporaryDirectory(prefix="bench-proofs-") as tmp:
        start = time.perf_counter()
        large = build(Path(tmp) / "large.db", big)
        note(f"built {big:,} events (and their tree) in {time.perf_counter() - start:.0f} s")
        small = build(Path(tmp) / "small.db", 1000)
        at_large, at_small = measure(large, big, seconds), measure(small, 1000, seconds)
        large.close()
        small.close()
    for name in (
        "inclusion generated",
        "inclusion verified",
        "consistency generated",
        "consistency verified",
    ):
        figure(f"{name} at {big:,}", at_large[name], "proofs/s")
        figure(f"reference: {name} at 1,000", at_small[name], "proofs/s")
        ratio(f"{name}: {big:,} / 1,000", at_large[name] / at_small[name])
    note(
        f"longest inclusion path: {at_large['path length']:.0f} hashes at {big:,},"
        f" {at_small['path length']:.0f} at 1,000"
    )
    goal(
        f"inclusion proofs verified >= {GOAL:,}/s at {big:,}",
        at_large["inclusion verified"] >= GOAL,
    )


if __name__ == "__main__":
    main()
