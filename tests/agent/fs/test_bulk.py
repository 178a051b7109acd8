"""Many files in one approved job: each re-checked and acted on alone; undo and purge."""

import hashlib

import pytest

from agent.fs import FsError
from agent.fs.executor import execute


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def item(path: str, data: bytes) -> dict:
    return {"path": path, "sha256": sha(data), "size": len(data)}


@pytest.fixture
def root(tmp_path):
    root = tmp_path / "root"
    (root / "Fotos").mkdir(parents=True)
    for name in ("a.jpg", "a (1).jpg", "a (2).jpg"):
        (root / "Fotos" / name).write_bytes(b"same photo")
    return root


def test_each_file_of_the_set_is_checked_and_quarantined_alone(root):
    (root / "Fotos" / "a (2).jpg").write_bytes(b"edited since")  # changed after approval
    files = [item("Fotos/a (1).jpg", b"same photo"), item("Fotos/a (2).jpg", b"same photo")]
    files.append(item("Fotos/gone.jpg", b"same photo"))
    report = execute(root, "quarantine_files", {"files": files}, {})
    by_path = {f["path"]: f for f in report["files"]}
    assert report["quarantined"] == 1 and report["refused"] == 2 and report["bytes"] == 10
    assert by_path["Fotos/a (1).jpg"]["status"] == "quarantined"
    assert by_path["Fotos/a (2).jpg"]["error"]["code"] == "hash_mismatch"
    assert by_path["Fotos/gone.jpg"]["error"]["code"] == "not_found"
    assert not (root / "Fotos" / "a (1).jpg").exists()
    assert (root / "Fotos" / "a (2).jpg").read_bytes() == b"edited since"
    assert (root / by_path["Fotos/a (1).jpg"]["quarantine_path"]).read_bytes() == b"same photo"


def test_a_set_where_nothing_could_be_done_is_refused(root):
    with pytest.raises(FsError) as refused:
        execute(root, "quarantine_files", {"files": [item("Fotos/a.jpg", b"other")]}, {})
    assert refused.value.code == "hash_mismatch" and "none of the 1 files" in refused.value.message


def test_restore_puts_it_back_and_never_overwrites(root):
    done = execute(root, "quarantine_files", {"files": [item("Fotos/a.jpg", b"same photo")]}, {})
    qid = done["files"][0]["quarantine_id"]
    (root / "Fotos" / "a.jpg").write_bytes(b"a new file with that name")
    with pytest.raises(FsError) as refused:
        execute(root, "restore", {"quarantine_id": qid}, {})
    assert refused.value.code == "target_exists"
    (root / "Fotos" / "a.jpg").unlink()
    restored = execute(root, "restore", {"quarantine_id": qid}, {})
    assert restored == {
        "restored": "Fotos/a.jpg",
        "quarantine_id": qid,
        "sha256": sha(b"same photo"),
        "size": 10,
    }
    assert (root / "Fotos" / "a.jpg").read_bytes() == b"same photo"
    with pytest.raises(FsError, match="not_found"):
        execute(root, "restore", {"quarantine_id": qid}, {})


def test_purge_erases_only_quarantined_files_that_are_what_was_approved(root):
    done = execute(root, "delete", {"path": "Fotos/a.jpg", "sha256": sha(b"same photo")}, {})
    where = done["quarantine_path"]
    for path in ("Fotos/a (1).jpg", ".libervia-quarantine/journal.jsonl", where + "x"):
        with pytest.raises(FsError):
            execute(root, "purge", {"files": [item(path, b"same photo")]}, {})
    assert (root / "Fotos" / "a (1).jpg").exists()
    with pytest.raises(FsError, match="hash_mismatch"):
        execute(root, "purge", {"files": [item(where, b"other")]}, {})
    purged = execute(root, "purge", {"files": [item(where, b"same photo")]}, {})
    assert purged["purged"] == 1 and not (root / where).exists()
    with pytest.raises(FsError, match="not_found"):
        execute(root, "restore", {"quarantine_id": done["quarantine_id"]}, {})
