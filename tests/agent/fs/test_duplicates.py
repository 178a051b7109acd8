import random
import shutil
import subprocess

import pytest

from agent.fs.executor import execute


def make_tree(root, files: int, seed: int = 7) -> None:
    """Random folders and contents, with copies, same-size different files, and big files
    whose copies differ only after the partial-hash window."""
    rng = random.Random(seed)
    contents = [rng.randbytes(rng.choice([1, 10, 100, 5000, 20000])) for _ in range(files // 3)]
    big = rng.randbytes(200_000)
    for n in range(files):
        folder = root / f"d{rng.randrange(8)}" / f"s{rng.randrange(3)}"
        folder.mkdir(parents=True, exist_ok=True)
        kind = rng.random()
        if kind < 0.4:
            data = rng.choice(contents)
        elif kind < 0.5:
            data = big[:-1] + bytes([rng.randrange(3)])
        else:
            data = rng.randbytes(rng.choice([10, 100, 5000]))
        (folder / f"f{n}.bin").write_bytes(data)
    (root / "empty-1").write_bytes(b"")
    (root / "empty-2").write_bytes(b"")


def tool_groups(tool: str, root) -> set[frozenset[str]]:
    output = subprocess.run(
        [tool, "-r", "-q", str(root)], capture_output=True, text=True, check=True
    ).stdout
    groups, current = set(), []
    for line in output.splitlines() + [""]:
        if line.strip():
            current.append(line.removeprefix(str(root) + "/"))
        elif current:
            groups.add(frozenset(current))
            current = []
    return {g for g in groups if not any(p.startswith("empty-") for p in g)}


@pytest.mark.parametrize("tool", ["fdupes", "jdupes"])
def test_groups_match_fdupes_and_jdupes(tmp_path, tool):
    if shutil.which(tool) is None:
        pytest.fail(f"{tool} is missing: apt-get install {tool} (.ci/run installs it)")
    make_tree(tmp_path, 600)
    report = execute(tmp_path, "detect_duplicates", {"path": ".", "min_size": 1}, {})
    ours = {frozenset(g["paths"]) for g in report["groups"]}
    assert ours == tool_groups(tool, tmp_path)
    assert len(ours) > 10


def test_progress_is_reported(tmp_path):
    make_tree(tmp_path, 2500)
    seen = []
    execute(tmp_path, "detect_duplicates", {"path": "."}, {}, progress=seen.append)
    assert {"scanning"} <= {p["phase"] for p in seen}
