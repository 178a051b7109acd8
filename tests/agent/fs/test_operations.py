import hashlib
import os
import threading

import pytest

from agent.fs import FsError
from agent.fs.duplicates import first_bytes_of
from agent.fs.executor import execute
from agent.fs.quarantine import restore
from agent.fs.safe_root import SafeRoot, hash_file
from agent.fs.scan import Entry, Files


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def root(tmp_path):
    base = tmp_path / "root"
    (base / "docs").mkdir(parents=True)
    (base / "docs" / "a.txt").write_bytes(b"alpha")
    (base / "b.txt").write_bytes(b"beta")
    return base


def run(root, action, params, options=None):
    return execute(root, action, params, options or {})


def test_list_files_reports_hashes_and_sizes(root):
    report = run(root, "list_files", {"path": ".", "recursive": True})
    assert {f["path"]: (f["size"], f["sha256"]) for f in report["files"]} == {
        "b.txt": (4, sha(b"beta")),
        "docs/a.txt": (5, sha(b"alpha")),
    }
    shallow = run(root, "list_files", {"path": ".", "recursive": False})
    assert [f["path"] for f in shallow["files"]] == ["b.txt"]


def test_rename_and_move_never_overwrite(root):
    (root / "docs" / "taken.txt").write_bytes(b"keep me")
    with pytest.raises(FsError) as refused:
        run(root, "rename", {"path": "docs/a.txt", "new_name": "taken.txt"})
    assert refused.value.code == "target_exists"
    assert (root / "docs" / "taken.txt").read_bytes() == b"keep me"
    (root / "archive").mkdir()
    (root / "archive" / "b.txt").write_bytes(b"older")
    with pytest.raises(FsError, match="target_exists"):
        run(root, "move", {"path": "b.txt", "destination": "archive"})
    assert (root / "b.txt").read_bytes() == b"beta"


def test_rename_and_move_report_hashes(root):
    renamed = run(
        root, "rename", {"path": "docs/a.txt", "new_name": "c.txt", "sha256": sha(b"alpha")}
    )
    assert renamed["files"][0]["new_path"] == "docs/c.txt"
    assert renamed["files"][0]["sha256_after"] == sha(b"alpha")
    moved = run(root, "move", {"path": "docs/c.txt", "destination": "new/deep"})
    assert moved["files"][0]["new_path"] == "new/deep/c.txt"
    assert (root / "new" / "deep" / "c.txt").read_bytes() == b"alpha"


@pytest.mark.parametrize("action", ["rename", "move", "delete"])
def test_hash_mismatch_refuses_and_touches_nothing(root, action):
    params = {
        "path": "b.txt",
        "sha256": sha(b"not beta"),
        "new_name": "x.txt",
        "destination": "elsewhere",
    }
    params = {
        k: v
        for k, v in params.items()
        if k
        in {
            "rename": ("path", "sha256", "new_name"),
            "move": ("path", "sha256", "destination"),
            "delete": ("path", "sha256"),
        }[action]
    }
    with pytest.raises(FsError) as refused:
        run(root, action, params)
    assert refused.value.code == "hash_mismatch"
    assert sorted(p.name for p in root.iterdir()) == ["b.txt", "docs"]


def test_delete_quarantines_and_restores(root):
    report = run(root, "delete", {"path": "docs/a.txt", "sha256": sha(b"alpha")})
    assert not (root / "docs" / "a.txt").exists()
    where = root / report["quarantine_path"]
    assert where.read_bytes() == b"alpha"
    listed = run(root, "list_files", {"path": "."})
    assert [f["path"] for f in listed["files"]] == ["b.txt"]
    qid = report["quarantine_path"].split("/")[1]
    assert restore(root, qid)["restored"] == "docs/a.txt"
    assert (root / "docs" / "a.txt").read_bytes() == b"alpha"
    with pytest.raises(FsError, match="not_found"):
        restore(root, qid)


def test_hard_delete_when_the_contract_says_so(root):
    report = run(root, "delete", {"path": "b.txt"}, {"delete_mode": "hard"})
    assert report["quarantine_path"] is None and not (root / "b.txt").exists()


def test_quarantine_cannot_be_targeted(root):
    run(root, "delete", {"path": "b.txt"})
    with pytest.raises(FsError, match="path_refused"):
        run(root, "move", {"path": "docs/a.txt", "destination": ".libervia-quarantine"})
    with pytest.raises(FsError, match="path_refused"):
        run(root, "delete", {"path": ".libervia-quarantine/journal.jsonl"})


def test_directories_and_unknown_actions_are_refused(root):
    with pytest.raises(FsError, match="not_a_file"):
        run(root, "delete", {"path": "docs"})
    with pytest.raises(FsError, match="unknown_action"):
        run(root, "format_disk", {})


def test_suggest_cleanup_proposes_contract_actions(root):
    (root / "docs" / "a-copy.txt").write_bytes(b"alpha")
    (root / ".DS_Store").write_bytes(b"junk")
    (root / "report.pdf").write_bytes(b"%PDF")
    suggestions = run(root, "suggest_cleanup", {"path": "."})["suggestions"]
    by_path = {s["params"]["path"]: s for s in suggestions}
    assert by_path["docs/a-copy.txt"]["action"] == "delete"
    assert by_path["docs/a-copy.txt"]["params"]["sha256"] == sha(b"alpha")
    assert by_path[".DS_Store"]["action"] == "delete"
    assert by_path["report.pdf"]["params"]["destination"] == "Documents"
    assert "docs/a.txt" not in by_path
    assert all(s["action"] in ("delete", "move") and s["reason"] for s in suggestions)


def test_hardlinks_are_not_duplicates(root):
    os.link(root / "b.txt", root / "b-link.txt")
    assert run(root, "detect_duplicates", {"path": "."})["groups"] == []
    (root / "b-copy.txt").write_bytes(b"beta")
    groups = run(root, "detect_duplicates", {"path": "."})["groups"]
    assert len(groups) == 1 and len(groups[0]["paths"]) == 2


def test_a_listing_names_empty_folders_and_broken_links_without_following_them(root, tmp_path):
    (root / "empty" / "inner").mkdir(parents=True)
    (root / "gone.lnk").symlink_to(root / "nowhere")
    (root / "docs" / "outside.lnk").symlink_to(tmp_path / "not-there-either")
    (root / "fine.lnk").symlink_to(root / "docs")
    report = run(root, "list_files", {"path": "."})
    assert report["empty_folders"] == ["empty/inner"]
    assert report["broken_links"] == ["docs/outside.lnk", "gone.lnk"]
    assert all(not f["path"].endswith(".lnk") for f in report["files"])


def test_a_move_may_rename_on_the_way_and_never_overwrites(root):
    (root / "docs" / "taken.txt").write_bytes(b"keep me")
    params = {"path": "b.txt", "destination": "docs", "sha256": sha(b"beta")}
    with pytest.raises(FsError, match="target_exists"):
        run(root, "move", {**params, "new_name": "taken.txt"})
    for bad in ("../x", "a/b", ".libervia-quarantine"):
        with pytest.raises(FsError, match="path_refused"):
            run(root, "move", {**params, "new_name": bad})
    report = run(root, "move", {**params, "new_name": "beta.txt"})
    assert report["files"][0]["new_path"] == "docs/beta.txt"
    assert (root / "docs" / "beta.txt").read_bytes() == b"beta" and not (root / "b.txt").exists()
    assert (root / "docs" / "taken.txt").read_bytes() == b"keep me"


def test_links_that_loop_or_lead_nowhere_do_not_stop_a_listing(root):
    (root / "loop").symlink_to("loop")
    (root / "docs" / "gone").symlink_to("/nonexistent/place")
    report = run(root, "list_files", {"path": ".", "recursive": True})
    assert {f["path"] for f in report["files"]} == {"docs/a.txt", "b.txt"}
    assert "docs/gone" in report["broken_links"]


def test_a_pipe_swapped_in_for_a_file_is_refused_without_waiting(root):
    """Opening a pipe to read waits for a writer. A file the scan saw, or a job checked, can be
    swapped for a pipe before the agent opens it: the opening never waits."""
    os.mkfifo(root / "docs" / "pipe")
    seen = Entry("docs/pipe", 5, 0.0, 0, 0)  # as if the scan had seen a file there
    outcome: list[object] = []

    def open_both() -> None:
        with SafeRoot(root) as safe, safe.parent("docs/pipe") as (folder, name):
            try:
                hash_file(folder, name)
            except FsError as exc:
                outcome.append(exc.code)
            outcome.append(first_bytes_of(safe, None, Files([seen])))

    worker = threading.Thread(target=open_both, daemon=True)
    worker.start()
    worker.join(10)
    assert not worker.is_alive(), "the agent waited on a pipe"
    assert outcome == ["not_a_file", [None]]
