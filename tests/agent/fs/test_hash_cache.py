"""The agent's hash cache: an unchanged folder is listed again without reading its files; any
change (content, size, a time set back, a file replaced) is hashed again; files changed in the
last seconds are never cached; what changes files never trusts it."""

import hashlib
import os
import sqlite3
import time
from contextlib import closing

import pytest

from agent.fs import FsError
from agent.fs.duplicates import find_duplicates
from agent.fs.executor import execute, wait_for_cache
from agent.fs.hash_cache import KEPT_REPORTS, PARTIAL_BYTES, HashCache
from agent.fs.operations import list_files
from agent.fs.safe_root import SafeRoot

LATER = 60 * 10**9  # a clock a minute ahead: the files were written long enough ago
DAY, MINUTE = 86400 * 10**9, 60 * 10**9


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def later() -> int:
    return time.time_ns() + LATER


@pytest.fixture
def root(tmp_path):
    base = tmp_path / "root"
    (base / "docs").mkdir(parents=True)
    for n in range(20):
        (base / "docs" / f"{n}.txt").write_bytes(f"file {n % 5}".encode() * 100)
    (base / "big.bin").write_bytes(os.urandom(200_000))
    (base / "big copy.bin").write_bytes((base / "big.bin").read_bytes())
    return base


def listing(root, cache_path, clock=later):
    cache = HashCache(cache_path, clock=clock)
    with SafeRoot(root) as safe:
        report = list_files(safe, {"path": "."}, None, cache)
    cache.save()
    return {f["path"]: f["sha256"] for f in report["files"]}, cache


def test_a_second_listing_of_an_unchanged_folder_reads_no_file(root, tmp_path):
    cache_path = tmp_path / "state" / "hashes.db"
    first, cold = listing(root, cache_path)
    assert cold.hits == 0 and cold.misses == 22
    assert oct(cache_path.stat().st_mode & 0o777) == "0o600"
    again, warm = listing(root, cache_path)
    assert again == first and warm.hits == 22 and warm.misses == 0
    assert first["docs/3.txt"] == sha(b"file 3" * 100)


def test_every_kind_of_change_is_hashed_again(root, tmp_path):
    cache_path = tmp_path / "hashes.db"
    listing(root, cache_path)
    same_size = root / "docs" / "1.txt"
    old = same_size.stat()
    same_size.write_bytes(b"FILE 1" * 100)  # same size, new content
    os.utime(same_size, ns=(old.st_atime_ns, old.st_mtime_ns))  # and its old mtime back
    replaced = root / "docs" / "2.txt"
    replaced.unlink()
    replaced.write_bytes(b"file 9" * 100)  # a new file under the old name and size
    grown = root / "big.bin"
    grown.write_bytes(grown.read_bytes() + b"!")
    after, cache = listing(root, cache_path)
    assert after["docs/1.txt"] == sha(b"FILE 1" * 100)
    assert after["docs/2.txt"] == sha(b"file 9" * 100)
    assert after["big.bin"] == sha(grown.read_bytes())
    assert cache.misses == 3 and cache.hits == 19


def test_a_file_changed_in_the_last_seconds_is_not_cached(root, tmp_path):
    cache_path = tmp_path / "hashes.db"
    listing(root, cache_path, clock=time.time_ns)  # everything here was just written
    _, cache = listing(root, cache_path)
    assert cache.hits == 0


def forget_reports(cache_path):
    with closing(sqlite3.connect(cache_path)) as conn, conn:
        conn.execute("DELETE FROM reports")


def scanned_twice(safe, cache_path):
    """Duplicates found without a cache, then with one filled by a first scan: the groups of
    all three must agree; the second cache (whose kept report is forgotten: each file's hashes
    are what is tested) is returned to count what it answered."""
    plain = find_duplicates(safe)["groups"]
    cold = HashCache(cache_path, clock=later)
    assert find_duplicates(safe, cache=cold)["groups"] == plain
    cold.save()
    forget_reports(cache_path)
    warm = HashCache(cache_path, clock=later)
    assert find_duplicates(safe, cache=warm)["groups"] == plain
    return plain, warm


def test_duplicates_from_the_cache_are_the_same_groups(root, tmp_path):
    cache_path = tmp_path / "hashes.db"
    with SafeRoot(root) as safe:
        plain, warm = scanned_twice(safe, cache_path)
        assert warm.misses == 0 and warm.hits >= 22
        (root / "big copy.bin").write_bytes(os.urandom(200_000))  # no longer a copy
        changed = HashCache(cache_path, clock=later)
        groups = find_duplicates(safe, cache=changed)["groups"]
    assert [g for g in groups if "big.bin" in g["paths"]] == []
    assert len(groups) == len(plain) - 1


def test_a_few_files_of_one_size_are_told_apart_from_the_cache(root, tmp_path):
    """Files compared side by side with no first-bytes pass (a few of one size) leave the hash
    of their first bytes in the cache, matched or not: a rescan opens none of them."""
    for name, data in {"x1": b"a" * 9000, "x2": b"b" * 9000, "x3": b"a" * 9000}.items():
        (root / name).write_bytes(data)
    (root / "alone-1").write_bytes(b"c" * 7000)  # two unrelated files of one size
    (root / "alone-2").write_bytes(b"d" * 7000)
    with SafeRoot(root) as safe:
        plain, warm = scanned_twice(safe, tmp_path / "hashes.db")
    assert warm.misses == 0
    assert [g["paths"] for g in plain if g["size"] == 9000] == [["x1", "x3"]]
    assert not [g for g in plain if g["size"] == 7000]
    with closing(sqlite3.connect(tmp_path / "hashes.db")) as conn:
        kept = dict(conn.execute("SELECT ino, sha256 FROM hashes").fetchall())
    for name in ("x1", "x2", "x3", "alone-1", "alone-2"):  # small: what the first pass reads
        assert kept[(root / name).stat().st_ino] == sha((root / name).read_bytes()), name


def test_what_changes_files_hashes_them_itself(root, tmp_path):
    """A cache that says otherwise (tampered with) cannot make a delete act on other content:
    the agent compares the approved sha256 with the file as it is."""
    cache_path = tmp_path / "hashes.db"
    listing(root, cache_path)
    with sqlite3.connect(cache_path) as conn:
        conn.execute("UPDATE hashes SET sha256=?", ("0" * 64,))
    conn.close()
    lied, _ = listing(root, cache_path)
    assert lied["docs/0.txt"] == "0" * 64  # a listing trusts its own cache...
    with pytest.raises(FsError) as refused:  # ...a delete never does
        execute(root, "delete", {"path": "docs/0.txt", "sha256": "0" * 64}, {}, None, cache_path)
    assert refused.value.code == "hash_mismatch"
    real = sha(b"file 0" * 100)
    done = execute(root, "delete", {"path": "docs/0.txt", "sha256": real}, {}, None, cache_path)
    assert done and not (root / "docs" / "0.txt").exists()


def test_a_broken_cache_file_is_started_afresh(root, tmp_path):
    cache_path = tmp_path / "hashes.db"
    cache_path.write_bytes(b"this is not a database" * 100)
    listed = execute(root, "list_files", {"path": "."}, {}, None, cache_path)
    assert listed["count"] == 22
    assert HashCache(cache_path).misses == 0  # a readable, fresh cache now


def test_a_cache_of_another_partial_size_forgets_its_partial_hashes(root, tmp_path):
    """The first caches kept the hash of 16 KiB where duplicates now compare 4 KiB: kept,
    they would split real copies. Their whole-file hashes still serve."""
    cache_path = tmp_path / "hashes.db"
    with SafeRoot(root) as safe:
        plain = find_duplicates(safe)["groups"]
        cold = HashCache(cache_path, clock=later)
        find_duplicates(safe, cache=cold)
        cold.save()
        forget_reports(cache_path)
        with closing(sqlite3.connect(cache_path)) as conn, conn:
            conn.execute("PRAGMA user_version=0")  # as the first caches were made
            # Each one different, as 16 KiB hashes of files differing after 4 KiB would be.
            conn.execute("UPDATE hashes SET partial=hex(randomblob(32)) WHERE partial IS NOT NULL")
            stale = {row[0] for row in conn.execute("SELECT partial FROM hashes")} - {None}
        assert stale
        old = HashCache(cache_path, clock=later)
        assert find_duplicates(safe, cache=old)["groups"] == plain
        with closing(sqlite3.connect(cache_path)) as conn:
            assert conn.execute("PRAGMA user_version").fetchone()[0] == PARTIAL_BYTES
            kept = {row[0] for row in conn.execute("SELECT partial FROM hashes")}
        assert not kept & stale


def duplicates(safe, cache_path, clock=later, **params):
    cache = HashCache(cache_path, clock=clock)
    groups = find_duplicates(safe, cache=cache, **params)["groups"]
    cache.save()
    return groups, cache


def test_a_scan_that_sees_the_same_files_gets_the_kept_report(root, tmp_path):
    """No hash is looked up, no file opened: the walk alone proves nothing changed."""
    cache_path = tmp_path / "hashes.db"
    with SafeRoot(root) as safe:
        plain = find_duplicates(safe)["groups"]
        first, cold = duplicates(safe, cache_path)
        again, warm = duplicates(safe, cache_path)
    assert first == again == plain and cold.misses > 0
    assert warm.hits == warm.misses == 0


@pytest.mark.parametrize("change", ["content", "renamed", "added", "removed", "time"])
def test_any_change_the_walk_sees_makes_the_report_again(root, tmp_path, change):
    cache_path = tmp_path / "hashes.db"
    copy = root / "big copy.bin"
    with SafeRoot(root) as safe:
        duplicates(safe, cache_path)
        if change == "content":  # same size, same mtime set back: only the ctime tells
            old = copy.stat()
            copy.write_bytes(os.urandom(old.st_size))
            os.utime(copy, ns=(old.st_atime_ns, old.st_mtime_ns))
        elif change == "renamed":
            copy.rename(root / "docs" / "big copy.bin")
        elif change == "added":
            (root / "docs" / "third.bin").write_bytes((root / "big.bin").read_bytes())
        elif change == "removed":
            copy.unlink()
        else:
            os.utime(copy, ns=(0, 0))
        groups, cache = duplicates(safe, cache_path)
        assert groups == find_duplicates(safe)["groups"]
    assert cache.hits > 0  # made again, from the hashes of the files unchanged
    big = [g["paths"] for g in groups if g["size"] == 200_000]
    expected = {
        "content": [],
        "renamed": [["big.bin", "docs/big copy.bin"]],
        "added": [["big copy.bin", "big.bin", "docs/third.bin"]],
        "removed": [],
        "time": [["big copy.bin", "big.bin"]],
    }
    assert big == expected[change]


def test_a_report_of_files_changed_in_the_last_seconds_is_not_kept(root, tmp_path):
    cache_path = tmp_path / "hashes.db"
    with SafeRoot(root) as safe:
        duplicates(safe, cache_path, clock=time.time_ns)  # everything here was just written
        _, cache = duplicates(safe, cache_path)
    assert cache.misses > 0


def test_each_folder_and_minimum_size_has_its_own_report(root, tmp_path):
    cache_path = tmp_path / "hashes.db"
    with SafeRoot(root) as safe:
        everything, _ = duplicates(safe, cache_path)
        large, _ = duplicates(safe, cache_path, min_size=1000)
        docs, _ = duplicates(safe, cache_path, path="docs")
        for _ in range(2):  # the second time, each from its own report
            assert duplicates(safe, cache_path)[0] == everything
            assert duplicates(safe, cache_path, min_size=1000)[0] == large
            assert duplicates(safe, cache_path, path="docs")[0] == docs
        assert [g["size"] for g in large] == [200_000]
        assert all(p.startswith("docs/") for g in docs for p in g["paths"])
        assert len(everything) == len(docs) + 1
        for size in range(2, 20):  # only the latest few are kept
            duplicates(safe, cache_path, min_size=size)
    with closing(sqlite3.connect(cache_path)) as conn:
        assert conn.execute("SELECT count(*) FROM reports").fetchone()[0] == KEPT_REPORTS


def test_a_broken_kept_report_is_made_again(root, tmp_path):
    cache_path = tmp_path / "hashes.db"
    with SafeRoot(root) as safe:
        plain, _ = duplicates(safe, cache_path)
        with closing(sqlite3.connect(cache_path)) as conn, conn:
            conn.execute("UPDATE reports SET report='{not json'")
        groups, cache = duplicates(safe, cache_path)
    assert groups == plain and cache.hits > 0


def test_the_agents_own_state_inside_the_root_is_never_listed(root, tmp_path):
    """A root that holds the agent's state folder (a home folder, say): its journal and cache
    change with every job, so they are not the person's files to list, and a rescan of the
    unchanged rest still gets its kept report."""
    state = root / "docs" / ".config" / "state"
    state.mkdir(parents=True)
    (state / "journal.db").write_bytes((root / "big.bin").read_bytes())  # even a "copy"
    cache_path = state / "hashes.db"
    params = {"path": "."}
    found = execute(root, "detect_duplicates", params, {}, None, cache_path)
    listed = execute(root, "list_files", params, {}, None, cache_path)
    with SafeRoot(root) as safe:
        plain = find_duplicates(safe)  # no state here: its files are like any other
    assert any("docs/.config/state/journal.db" in g["paths"] for g in plain["groups"])
    assert not [p for g in found["groups"] for p in g["paths"] if p.startswith("docs/.config")]
    assert not [f for f in listed["files"] if f["path"].startswith("docs/.config")]
    assert "docs/.config" not in listed["empty_folders"]
    with SafeRoot(root, private=[state]) as safe:
        first, _ = duplicates(safe, cache_path)
        (state / "journal.db").write_bytes(b"the next job")
        again, cache = duplicates(safe, cache_path)
    assert again == first == found["groups"]
    assert cache.hits == cache.misses == 0  # the kept report


def test_a_report_a_day_old_is_made_again_from_the_kept_hashes(root, tmp_path):
    """So its files are noted as seen, and the cache never drops what is still there."""
    cache_path = tmp_path / "hashes.db"
    with SafeRoot(root) as safe:
        plain, _ = duplicates(safe, cache_path)
        again, same_day = duplicates(safe, cache_path, clock=lambda: later() + 3600 * 10**9)
        made_again, next_day = duplicates(safe, cache_path, clock=lambda: later() + DAY + MINUTE)
        kept, day_after = duplicates(safe, cache_path, clock=lambda: later() + DAY + 2 * MINUTE)
    assert plain == again == made_again == kept
    assert same_day.hits == same_day.misses == 0
    assert next_day.hits > 0 and next_day.misses == 0  # opens no file either
    assert day_after.hits == day_after.misses == 0


def test_a_state_folder_the_first_listing_makes_is_left_out_too(root):
    state = root / "docs" / "state"  # not there yet: the first job's cache makes it
    listed = execute(root, "list_files", {"path": "."}, {}, None, state / "hashes.db")
    assert (state / "hashes.db").exists()
    assert not [f for f in listed["files"] if f["path"].startswith("docs/state")]


def test_a_cache_saved_while_the_report_goes_out_is_all_written(root, tmp_path):
    """The agent sends a listing's report while the hash cache is written: once written, it
    holds the report and every file's hashes, as a cache saved before returning does."""
    cache_path = tmp_path / "state" / "hashes.db"
    report = execute(
        root,
        "detect_duplicates",
        {"path": "."},
        {},
        None,
        cache_path,
        save_later=True,
        cache_clock=later,
    )
    wait_for_cache()
    kept = HashCache(cache_path, clock=later)
    with SafeRoot(root) as safe:
        assert find_duplicates(safe, cache=kept) == report
        assert kept.hits == kept.misses == 0, "its kept report answered"
        _, files = listing(root, cache_path)
    assert files.hits == 22 and files.misses == 0
