import hashlib
import random
import shutil
import subprocess

import pytest

from agent.fs.duplicates import FEW, MAX_COMPARED, WHOLE_AT_ONCE, first_bytes_of
from agent.fs.executor import execute
from agent.fs.hash_cache import PARTIAL_BYTES
from agent.fs.safe_root import SafeRoot
from agent.fs.scan import Files, scan


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


def test_files_alike_but_for_one_byte_anywhere_are_told_apart(tmp_path):
    """One size, the same first bytes: compared side by side, chunk by chunk (1 MiB)."""
    base = random.Random(3).randbytes(2_500_000)
    variants = {"a": base, "b": base, "c": base}
    for name, at in (("d", 5000), ("e", 1024 * 1024), ("f", len(base) - 1)):
        changed = bytearray(base)
        changed[at] ^= 0xFF
        variants[name] = bytes(changed)
    variants["g"] = variants["d"]  # a copy of one that differs: its own group
    for name, data in variants.items():
        (tmp_path / f"{name}.bin").write_bytes(data)
    report = execute(tmp_path, "detect_duplicates", {"path": "."}, {})
    found = {frozenset(g["paths"]): g["sha256"] for g in report["groups"]}
    assert found == {
        frozenset({"a.bin", "b.bin", "c.bin"}): hashlib.sha256(base).hexdigest(),
        frozenset({"d.bin", "g.bin"}): hashlib.sha256(variants["d"]).hexdigest(),
    }


def test_a_group_too_large_to_compare_side_by_side_is_hashed_file_by_file(tmp_path):
    data = random.Random(4).randbytes(50_000)
    for n in range(MAX_COMPARED + 5):
        (tmp_path / f"copy{n}.bin").write_bytes(data if n % 2 else data[:-1] + b"!")
    groups = execute(tmp_path, "detect_duplicates", {"path": "."}, {})["groups"]
    assert sorted(len(g["paths"]) for g in groups) == [18, 19]
    assert {g["sha256"] for g in groups} == {
        hashlib.sha256(data).hexdigest(),
        hashlib.sha256(data[:-1] + b"!").hexdigest(),
    }


def test_small_files_alike_in_their_first_bytes_are_told_apart_by_the_first_pass(tmp_path):
    """Read whole at once (up to WHOLE_AT_ONCE): what differs after the first PARTIAL_BYTES
    still tells them apart, with no second reading."""
    data = random.Random(5).randbytes(WHOLE_AT_ONCE)
    assert len(data) > PARTIAL_BYTES
    variants = [data, data[:-1] + b"!", data[:PARTIAL_BYTES] + bytes(WHOLE_AT_ONCE - PARTIAL_BYTES)]
    for n in range(3 * (FEW + 1)):
        (tmp_path / f"f{n}.bin").write_bytes(variants[n % 3])
    groups = execute(tmp_path, "detect_duplicates", {"path": "."}, {})["groups"]
    assert {g["sha256"]: len(g["paths"]) for g in groups} == {
        hashlib.sha256(v).hexdigest(): FEW + 1 for v in variants
    }


def test_a_small_file_that_changed_since_the_scan_is_left_out(tmp_path):
    (tmp_path / "a.bin").write_bytes(b"x" * 5000)
    with SafeRoot(tmp_path) as root:
        [entry] = scan(root, ".")
        assert first_bytes_of(root, None, Files([entry])) == [
            hashlib.sha256(b"x" * 5000).hexdigest()
        ]
        with open(tmp_path / "a.bin", "ab") as grown:
            grown.write(b"y")
        assert first_bytes_of(root, None, Files([entry])) == [None]
        (tmp_path / "a.bin").write_bytes(b"x" * 4999)
        assert first_bytes_of(root, None, Files([entry])) == [None]
