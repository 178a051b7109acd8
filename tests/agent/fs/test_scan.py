"""The walk shared with helper processes finds what a walk alone finds, in the same order, on
trees of every shape: wide, deep, one crowded folder, links, empty folders."""

import os

import pytest

from agent.fs.helpers import Share
from agent.fs.safe_root import QUARANTINE, SafeRoot
from agent.fs.scan import UNIT_FILES, Entry, Files, Oddities, pack, scan, unpack


@pytest.fixture
def tree(tmp_path):
    root = tmp_path / "root"
    for n in range(400):  # wide: many small folders
        folder = root / "wide" / f"w{n}"
        folder.mkdir(parents=True)
        for m in range(n % 4):
            (folder / f"f{m}").write_bytes(b"x" * m)
    deep = root / "deep"
    for n in range(40):  # deep: a long chain of folders
        deep = deep / f"d{n}"
        deep.mkdir(parents=True)
        (deep / "leaf").write_bytes(b"leaf")
    crowded = root / "crowded"
    crowded.mkdir()
    for n in range(UNIT_FILES + 500):  # one folder of more files than a unit takes
        (crowded / f"c{n}").write_bytes(b"")
    (root / "empty" / "inner").mkdir(parents=True)
    (root / "wide" / "w1" / "to-nothing").symlink_to(root / "missing")
    (root / "wide" / "w2" / "to-a-folder").symlink_to(root / "crowded")
    (root / QUARANTINE).mkdir()
    (root / QUARANTINE / "kept").write_bytes(b"quarantined")
    return root


def walked(root, helpers: int) -> tuple[list[Entry], Oddities]:
    oddities = Oddities()
    with SafeRoot(root) as safe, Share(safe, helpers=helpers) as share:
        return scan(safe, ".", oddities=oddities, share=share), oddities


def test_a_shared_walk_finds_the_same_files_in_the_same_order(tree):
    alone, alone_odd = walked(tree, 0)
    shared, shared_odd = walked(tree, 1)
    assert shared == alone
    empty = ["empty/inner"] + [f"wide/w{n}" for n in range(0, 400, 4)]
    assert shared_odd.empty_folders == alone_odd.empty_folders
    assert sorted(shared_odd.empty_folders) == sorted(empty)
    assert shared_odd.broken_links == alone_odd.broken_links == ["wide/w1/to-nothing"]
    expected = {
        os.path.relpath(os.path.join(folder, name), tree)
        for folder, _, names in os.walk(tree)
        for name in names
        if not os.path.islink(os.path.join(folder, name))
        and not os.path.relpath(folder, tree).startswith(QUARANTINE)
    }
    assert {entry.path for entry in shared} == expected
    assert len(shared) == len(expected), "no file twice"


def test_a_folder_within_the_tree_is_walked_alone(tree):
    with SafeRoot(tree) as safe, Share(safe, helpers=1) as share:
        found = scan(safe, "deep/d0/d1", share=share)
        assert [e.path for e in found][:2] == ["deep/d0/d1/leaf", "deep/d0/d1/d2/leaf"]
        assert len(found) == 39
        flat = scan(safe, "wide", recursive=False, share=share)
        assert flat == []


def test_entries_travel_packed_and_come_back_the_same():
    entries = [
        Entry("a/b\udcff.txt", 2**40, 1.5e9, 2**64 - 1, 2**63 + 5, -(10**18), 10**18),
        Entry("c", 0, 0.0, 0, 0, 0, 0),
    ]
    assert unpack(pack(entries)) == entries
    assert unpack(pack([])) == []
    import pickle

    assert pickle.loads(pickle.dumps(Files(entries))).entries == entries
