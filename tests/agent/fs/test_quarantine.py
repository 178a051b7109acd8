"""The quarantine cannot be turned against the files outside root_dir, nor lose a record."""

import hashlib
import json
import os
import shutil

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent.fs import FsError
from agent.fs.executor import execute
from agent.fs.quarantine import restore

FIXTURE_OK = [HealthCheck.function_scoped_fixture]


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def world(tmp_path):
    root, outside = tmp_path / "root", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    (root / "a.txt").write_bytes(b"alpha")
    (outside / "precious.txt").write_bytes(b"not yours")
    return root, outside


def delete(root, path="a.txt", data=b"alpha"):
    return execute(root, "delete", {"path": path, "sha256": sha(data)}, {})


def quarantine_dir(root):
    return root / ".libervia-quarantine"


def test_a_journal_hard_linked_outside_is_refused_and_nothing_moves(world):
    root, outside = world
    quarantine_dir(root).mkdir()
    os.link(outside / "precious.txt", quarantine_dir(root) / "journal.jsonl")
    with pytest.raises(FsError) as refused:
        delete(root)
    assert refused.value.code == "quarantine_unsafe"
    assert (outside / "precious.txt").read_bytes() == b"not yours"
    assert (root / "a.txt").read_bytes() == b"alpha"


def test_a_journal_that_is_a_symlink_is_refused_and_nothing_moves(world):
    root, outside = world
    quarantine_dir(root).mkdir()
    (quarantine_dir(root) / "journal.jsonl").symlink_to(outside / "precious.txt")
    with pytest.raises(FsError) as refused:
        delete(root)
    assert refused.value.code == "quarantine_unsafe"
    assert (root / "a.txt").exists() and (outside / "precious.txt").read_bytes() == b"not yours"


def test_a_quarantine_folder_that_is_a_symlink_is_refused(world):
    root, outside = world
    quarantine_dir(root).symlink_to(outside)
    with pytest.raises(FsError) as refused:
        delete(root)
    assert refused.value.code == "quarantine_unsafe"
    assert sorted(p.name for p in outside.iterdir()) == ["precious.txt"]


def test_every_quarantined_file_has_its_record(world):
    root, _ = world
    report = delete(root)
    lines = (quarantine_dir(root) / "journal.jsonl").read_text().splitlines()
    assert [json.loads(line)["original_path"] for line in lines] == ["a.txt"]
    assert report["quarantine_path"].split("/")[1] == json.loads(lines[0])["id"]


def test_a_journal_naming_a_path_out_of_the_root_restores_nothing(world):
    root, outside = world
    report = delete(root)
    qid = report["quarantine_path"].split("/")[1]
    journal = quarantine_dir(root) / "journal.jsonl"
    record = json.loads(journal.read_text())
    for forged in ("../outside/precious.txt", "/etc/passwd", ".libervia-quarantine/x"):
        journal.write_text(json.dumps({**record, "original_path": forged}) + "\n")
        with pytest.raises(FsError) as refused:
            restore(root, qid)
        assert refused.value.code == "path_refused"
    assert (outside / "precious.txt").read_bytes() == b"not yours"


IDS = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["../outside", "a/b", "20260101T000000Z-0000000/../..", ".", "..", "/etc"]),
    st.builds(lambda a, b: f"{a}/{b}", st.text(max_size=10), st.text(max_size=10)),
)


@settings(max_examples=150, deadline=None, suppress_health_check=FIXTURE_OK)
@given(IDS)
def test_restore_walks_no_id_as_a_path(world, quarantine_id):
    root, outside = world
    before = {p: p.read_bytes() for p in outside.rglob("*") if p.is_file()}
    with pytest.raises(FsError) as refused:
        restore(root, quarantine_id)
    assert refused.value.code in ("path_refused", "not_found")
    assert {p: p.read_bytes() for p in outside.rglob("*") if p.is_file()} == before
    assert not (outside / "a.txt").exists()


def test_restore_still_works(world):
    root, _ = world
    report = delete(root)
    qid = report["quarantine_path"].split("/")[1]
    assert restore(root, qid)["restored"] == "a.txt"
    assert (root / "a.txt").read_bytes() == b"alpha"
    shutil.rmtree(quarantine_dir(root))
    with pytest.raises(FsError) as missing:
        restore(root, qid)
    assert missing.value.code == "not_found"
