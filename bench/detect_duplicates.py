"""detect_duplicates on a generated tree of 50,000 files (or, with --tree, on a folder of your
own, only read), side by side with jdupes and fdupes in the same run, on a warm cache, checking
that all three find the same groups. GNU find's stat-only walk of the tree is printed too: no
scan that looks at every file (as a rescan must, to see what changed) can cost less.

Ours runs in a fresh Python process (interpreter start included), as the tools do, from its
compiled bytecode as the agent ships it (PYTHONDONTWRITEBYTECODE is dropped for it, so the
warm-up run writes the bytecode and the timed runs do not compile the agent again):
`jdupes -r -q DIR`, `fdupes -r -q DIR`. Hard links are one file for all three; which of its
names a tool prints is arbitrary, so groups are compared as sets of (device, inode).
"""

import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import ROOT, figure, goal, note, parser, ratio, title

OURS = [
    sys.executable,
    "-c",
    "import json, sys; from agent.fs.executor import execute; "
    "print(json.dumps(execute(sys.argv[1], 'detect_duplicates', {'path': '.'}, {})))",
]


# The same, with the agent's hash cache (the second scan of an unchanged folder).
OURS_CACHED = [
    sys.executable,
    "-c",
    "import json, sys; from pathlib import Path; from agent.fs.executor import execute; "
    "print(json.dumps(execute(sys.argv[1], 'detect_duplicates', {'path': '.'}, {}, None,"
    " Path(sys.argv[2]))))",
]
GOAL_CACHED = 0.25
COMPILED = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def generate(root: Path, files: int, seed: int = 11) -> None:
    """A realistic mix: many small files, some large; ~20% copies; some hard links."""
    rng = random.Random(seed)
    originals: list[Path] = []
    for n in range(files):
        folder = root / f"d{rng.randrange(50)}" / f"s{rng.randrange(20)}"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"file{n}.dat"
        roll = rng.random()
        if originals and roll < 0.2:
            shutil.copyfile(rng.choice(originals), path)
        elif originals and roll < 0.22:
            path.hardlink_to(rng.choice(originals))
        else:
            size = rng.choice([100, 1000, 4000, 10_000, 30_000, 100_000, 1_000_000])
            size = max(1, int(size * rng.uniform(0.5, 1.5))) if rng.random() < 0.7 else size
            path.write_bytes(rng.randbytes(size))
            originals.append(path)


def groups_of_tool(output: str, root: Path) -> set[frozenset[str]]:
    groups, current = set(), []
    for line in output.splitlines() + [""]:
        if line.strip():
            current.append(line.removeprefix(f"{root}/"))
        elif current:
            groups.add(frozenset(current))
            current = []
    return groups


def as_inodes(groups: set[frozenset[str]], root: Path) -> set[frozenset[tuple[int, int]]]:
    """Which path of a set of hard links stands for it is arbitrary: compare files, not names."""

    def inode(path: str) -> tuple[int, int]:
        st = (root / path).stat()
        return st.st_dev, st.st_ino

    return {frozenset(inode(p) for p in group) for group in groups}


def timed(command: list[str]) -> tuple[float, str]:
    env = COMPILED if command[0] == sys.executable else None
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, check=True, cwd=ROOT, env=env)
    return time.perf_counter() - started, result.stdout


def main(argv: list[str] | None = None) -> None:
    arguments = parser(__doc__)
    arguments.add_argument("--tree", type=Path, help="a folder to scan instead (only read)")
    args = arguments.parse_args(argv)
    files = 3_000 if args.quick else 50_000
    what = f"the folder {args.tree}" if args.tree else f"{files:,} files"
    title("detect_duplicates", f"{what} vs jdupes and fdupes", args.quick)
    tools = [t for t in ("jdupes", "fdupes") if shutil.which(t)]
    if len(tools) < 2:
        note("jdupes and fdupes are needed: apt-get install jdupes fdupes")
    with tempfile.TemporaryDirectory(prefix="bench-dupes-") as tmp:
        if args.tree:
            root = args.tree.resolve()
        else:
            root = Path(tmp) / "tree"
            generate(root, files)
        runs = {"ours": [*OURS, str(root)], **{t: [t, "-r", "-q", str(root)] for t in tools}}
        runs["find (stat walk)"] = ["find", str(root), "-printf", "%s %i %T@ %C@\\n"]
        for command in runs.values():
            timed(command)  # warm the page cache and the interpreter's files
        times: dict[str, list[float]] = {name: [] for name in runs}
        outputs = {}
        for _ in range(1 if args.quick else 3):
            for name, command in runs.items():
                seconds, outputs[name] = timed(command)
                times[name].append(seconds)
        best = {name: min(values) for name, values in times.items()}
        walk = best.pop("find (stat walk)")
        ours = as_inodes(
            {frozenset(g["paths"]) for g in json.loads(outputs["ours"])["groups"]}, root
        )
        identical = {t: as_inodes(groups_of_tool(outputs[t], root), root) == ours for t in tools}
        for name in best:
            figure(f"{name} (best of {len(times[name])})", best[name], "s")
        figure("find's stat-only walk, the floor of a rescan", walk, "s")
        for tool in tools:
            note(f"groups identical to {tool} (as files): {identical[tool]} ({len(ours)} groups)")
        if "jdupes" in tools:
            ratio("ours / jdupes time", best["ours"] / best["jdupes"])
            goal(
                "no slower than jdupes on a warm cache, identical groups",
                best["ours"] <= best["jdupes"] and identical["jdupes"],
            )
        # Second scan of the unchanged tree with the hash cache (filled by a first scan; the
        # files must be older than the cache's 2 s "racy" window to be kept in it).
        cache = Path(tmp) / "state" / "hashes.db"  # beside the tree, not in it
        cached = [*OURS_CACHED, str(root), str(cache)]
        time.sleep(2.1)
        filling = []  # the first scan as the agent runs it: with a hash cache, empty, to fill
        for _ in range(1 if args.quick else 3):
            shutil.rmtree(cache.parent, ignore_errors=True)
            filling.append(timed(cached)[0])
        rescans = [timed(cached) for _ in range(1 if args.quick else 3)]
        rescan = min(seconds for seconds, _ in rescans)
        same = (
            as_inodes({frozenset(g["paths"]) for g in json.loads(rescans[-1][1])["groups"]}, root)
            == ours
        )
        figure(
            f"ours, first scan filling an empty hash cache (best of {len(filling)})",
            min(filling),
            "s",
        )
        figure("ours, second scan with the hash cache", rescan, "s")
        note(f"groups identical to the first scan's: {same}")
        if "jdupes" in tools:
            ratio("find's walk / jdupes time", walk / best["jdupes"])
            ratio("ours (filling the hash cache) / jdupes time", min(filling) / best["jdupes"])
            ratio("ours (hash cache) / jdupes time", rescan / best["jdupes"])
            goal(
                f"a second scan costs <= {GOAL_CACHED:.0%} of jdupes, identical groups",
                rescan <= GOAL_CACHED * best["jdupes"] and same,
            )


if __name__ == "__main__":
    main()
