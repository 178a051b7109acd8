"""What is in the agent's folder, as far as the ledger tells: the newest whole-folder listing,
with every change executed since applied (quarantined, renamed, moved, restored files).

Events are walked newest first, so what a newer event says of a path wins over older ones: a
file deleted after a listing is gone from it; a file listed again after a restore is back.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

Report = Callable[[dict[str, Any]], dict[str, Any]]  # a job.executed payload -> its report
Whole = Callable[[dict[str, Any]], bool]  # is this listing the whole folder?
CHANGES = ("delete", "quarantine_files", "rename", "move")


@dataclass
class Inventory:
    files: dict[str, dict[str, Any]] = field(default_factory=dict)
    listed_at: str | None = None  # when the newest listing it holds ran
    whole: bool = False  # a whole-folder listing was reached
    empty_folders: list[str] = field(default_factory=list)  # as that whole listing saw them
    broken_links: list[str] = field(default_factory=list)


def fold(events: Iterable[dict[str, Any]], report_of: Report, is_whole: Whole) -> Inventory:
    """The inventory from `job.executed` events, newest first."""
    inventory = Inventory()
    gone: set[str] = set()

    def add(item: dict[str, Any]) -> None:
        if item["path"] not in gone:
            inventory.files.setdefault(item["path"], item)

    for event in events:
        payload = event["payload"]
        action = payload.get("action")
        if action not in (*CHANGES, "list_files", "restore"):
            continue
        report = report_of(payload)
        if "error" in report and "files" not in report:
            continue  # refused or failed: nothing changed
        if action == "list_files":
            inventory.listed_at = inventory.listed_at or event["ts"]
            for item in report.get("files", []):
                add(item)
            if is_whole(payload):
                inventory.whole = True
                inventory.empty_folders = list(report.get("empty_folders", []))
                inventory.broken_links = list(report.get("broken_links", []))
                break  # older listings only say older things
        elif action == "restore" and report.get("restored"):
            add({"path": report["restored"], "sha256": report["sha256"], "size": report["size"]})
        elif action in CHANGES:
            for touched in report.get("files", []):
                if touched.get("status") == "refused":
                    continue
                if action in ("rename", "move") and touched.get("new_path"):
                    add(
                        {
                            "path": touched["new_path"],
                            "sha256": touched["sha256_after"],
                            "size": touched["size_after"],
                        }
                    )
                gone.add(touched["path"])
    return inventory
