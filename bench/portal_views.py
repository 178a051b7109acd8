"""The portal's views of what the agent found, on a listing of 100,000 files: the work done
once per new listing (building the views), and per page (a folder, a search, a page of
duplicates, the cleanup kinds), each as a ratio to parsing that listing's JSON in the same run
(the least the console must do with a listing at all)."""

import json
import random
import time

from bench.common import figure, goal, note, parse_args, ratio, title
from kernel.canonical import canonical_json
from portal.findings import Findings


def listing(count: int, seed: int = 5) -> dict:
    rng = random.Random(seed)
    files = []
    for n in range(count):
        folder = rng.choice(["Fotos", "Documentos", "Downloads", "Backup/Fotos", "Música"])
        sub = f"{2010 + rng.randrange(15)}/{rng.randrange(1, 13):02d}"
        content = rng.randrange(count // 5) if rng.random() < 0.3 else count + n
        size = 0 if rng.random() < 0.01 else rng.randrange(1, 5_000_000)
        files.append(
            {
                "path": f"{folder}/{sub}/IMG_{n:06d}.jpg",
                "size": size if content > count else 1000 + content,
                "sha256": f"{content:064x}",
                "mtime": 1.6e9 + rng.randrange(10**8),
            }
        )
    return {"files": files, "count": count}


def best(fn, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(__doc__, argv)
    count = 10_000 if args.quick else 100_000
    rounds = 2 if args.quick else 5
    title("portal_views", f"Files, Duplicates and Cleanup on {count:,} files", args.quick)
    raw = canonical_json(listing(count))
    note(f"listing: {len(raw) / 1e6:.1f} MB of JSON")
    parse = best(lambda: json.loads(raw), rounds)
    report = json.loads(raw)
    inventory = {f["path"]: f for f in report["files"]}
    build = best(lambda: Findings(inventory), rounds)
    found = Findings(inventory)
    started = time.perf_counter()
    found.cleanup()  # computed once per listing and keep rule, then kept
    first_cleanup = time.perf_counter() - started
    pages = {
        "folder page (Fotos/2015/03)": lambda: found.folder("Fotos/2015/03", ""),
        "search everywhere (IMG_0999)": lambda: found.folder("", "IMG_0999"),
        "biggest first in Fotos/2020/07": lambda: found.folder(
            "Fotos/2020/07", "", sort="size", descending=True, page=2
        ),
        "duplicates, page 1": lambda: found.duplicates("newest", 1),
        "cleanup kinds (200 of each)": lambda: found.cleanup(shown=200),
    }
    figure("parse the listing (reference)", parse * 1000, "ms")
    figure("build the views (once per listing)", build * 1000, "ms")
    ratio("build / parse", build / parse)
    figure("cleanup kinds, first time (once)", first_cleanup * 1000, "ms")
    slowest = 0.0
    for label, view in pages.items():
        took = best(view, rounds)
        slowest = max(slowest, took)
        figure(label, took * 1000, "ms")
        ratio(f"  {label} / parse", took / parse)
    goal("every page costs under 5% of parsing the listing once", slowest < parse * 0.05)


if __name__ == "__main__":
    main()
