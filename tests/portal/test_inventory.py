"""The folder's state from the ledger's job.executed events, newest first."""

from portal.inventory import fold


def event(seq, action, report, ts="2026-12-01T10:00:00Z"):
    return {
        "seq": seq,
        "ts": ts,
        "payload": {"action": action, "job_id": f"job_{seq}", "report": report},
    }


def listing(seq, *paths):
    files = [{"path": p, "sha256": p, "size": 1} for p in paths]
    return event(seq, "list_files", {"files": files, "count": len(files)})


def touched(path, new_path, status=None):
    item = {
        "path": path,
        "new_path": new_path,
        "sha256_before": path,
        "size_before": 1,
        "sha256_after": path,
        "size_after": 1,
    }
    return {**item, "status": status} if status else item


def report_of(payload):
    return payload["report"]


def test_changes_after_the_listing_are_applied_and_older_listings_ignored():
    events = [
        event(
            9, "restore", {"restored": "b.txt", "quarantine_id": "q2", "sha256": "b.txt", "size": 1}
        ),
        event(8, "rename", {"files": [touched("c.txt", "d.txt")]}),
        event(
            7,
            "quarantine_files",
            {
                "files": [
                    touched("a.txt", ".libervia-quarantine/q1/a.txt", "quarantined"),
                    touched("e.txt", None, "refused"),
                ]
            },
        ),
        event(6, "delete", {"error": {"code": "hash_mismatch", "message": "x"}}),
        listing(5, "a.txt", "b.txt", "c.txt", "e.txt"),
        listing(2, "old.txt"),
    ]
    inventory = fold(events, report_of, lambda payload: True)
    assert sorted(inventory.files) == ["b.txt", "d.txt", "e.txt"]
    assert inventory.whole and inventory.listed_at == "2026-12-01T10:00:00Z"


def test_a_partial_listing_adds_to_the_whole_one_below_it():
    events = [listing(5, "docs/new.txt"), listing(4, "docs/a.txt", "b.txt")]
    inventory = fold(events, report_of, lambda payload: payload["job_id"] == "job_4")
    assert sorted(inventory.files) == ["b.txt", "docs/a.txt", "docs/new.txt"]
