"""Where a request stands, in plain words: from the engine's proposal and job to what a person
reads under a chat reply or an approval card ("waiting for your agent", "done", "failed: the
file changed after you approved, so nothing was done")."""

from dataclasses import asdict, dataclass
from typing import Any

# The agent's refusal codes, as a person would say them.
REASONS = {
    "hash_mismatch": "the file changed after it was approved, so nothing was done",
    "not_found": "it is not in your folder (any more), so nothing was done",
    "not_a_file": "it is a folder or a special file, not a regular file; nothing was done",
    "target_exists": "something with the new name is already there; nothing was overwritten",
    "path_refused": "the agent may not touch that path; nothing was done",
    "quarantine_unsafe": "the quarantine folder looks tampered with; nothing was done",
    "result_refused": "the engine refused the agent's report",
    "unknown_action": "your agent does not know this action yet (update the agent)",
    "os_error": "your computer refused the operation",
}
FINAL = ("done", "failed", "denied", "rejected", "expired")


@dataclass(frozen=True)
class State:
    state: str  # awaiting_approval, waiting_agent, queued, running, or one of FINAL
    message: str
    final: bool
    code: str | None = None  # the agent's refusal code, when it failed
    progress: dict[str, Any] | None = None  # while running: phase, done, total, bytes

    def view(self) -> dict[str, Any]:
        return asdict(self)


def _state(state: str, message: str, code: str | None = None) -> State:
    return State(state, message, state in FINAL, code)


def size_text(n: int) -> str:
    if n < 1000:
        return f"{n} bytes"
    value = float(n)
    for unit in ("kB", "MB", "GB", "TB"):
        value /= 1000
        if value < 1000:
            return f"{value:.1f} {unit}"
    return f"{value / 1000:.1f} PB"


def running(progress: dict[str, Any] | None) -> State:
    """ "running on your agent: hashing 4000 of 10000 files (1.2 GB so far)"."""
    if not progress:
        return _state("running", "running on your agent")
    done, total = progress.get("done", 0), progress.get("total")
    if progress["phase"] == "scanning":
        step = f"looking through your folder, {_count(done, 'file')} found"
    else:
        verb = "hashing" if progress["phase"] == "hashing" else "comparing contents of"
        step = f"{verb} {done} of {total} files" if total else f"{verb} {_count(done, 'file')}"
    so_far = f" ({size_text(progress['bytes'])} so far)" if progress.get("bytes") else ""
    return State("running", f"running on your agent: {step}{so_far}", False, None, progress)


def _error(report: dict[str, Any] | None) -> dict[str, Any]:
    return (report or {}).get("error") or {}


def failure_reason(report: dict[str, Any] | None) -> str:
    error = _error(report)
    return (
        REASONS.get(error.get("code", "")) or error.get("message") or "the agent reported a failure"
    )


def _count(n: int, thing: str) -> str:
    return f"{n} {thing}" if n == 1 else f"{n} {thing}s"


def done_message(action: str, report: dict[str, Any] | None, report_bytes: int | None) -> str:
    report = report or {}
    if action == "list_files" and "count" in report:
        return f"done: {_count(report['count'], 'file')} listed"
    if action == "detect_duplicates" and "groups" in report:
        return f"done: {_count(len(report['groups']), 'group')} of duplicates found"
    if action == "suggest_cleanup" and "count" in report:
        return f"done: {_count(report['count'], 'suggestion')}"
    if action == "delete" and report.get("quarantine_path"):
        return f"done: moved to {report['quarantine_path']} (restorable)"
    moved = [f for f in report.get("files", []) if f.get("new_path")]
    if moved:
        return f"done: now at {moved[0]['new_path']}"
    if not report and report_bytes:
        return f"done: {report_bytes} bytes of results kept by the engine"
    return "done"


def describe(
    proposal: dict[str, Any], job: dict[str, Any] | None, agent: dict[str, Any] | None
) -> State:
    """The one state a person needs to see for `proposal` (and its job, when it has one)."""
    status = proposal["status"]
    if status == "pending_approval":
        return _state("awaiting_approval", f"waiting for approval (until {proposal['expires_at']})")
    if status == "denied":
        return _state("denied", f"denied by the engine: {proposal['reason']}")
    if status == "rejected":
        reason = proposal.get("decision_reason") or "no reason given"
        return _state("rejected", f"rejected: {reason}")
    if status == "expired":
        return _state("expired", "nobody approved it in time; nothing was done")
    if job is None:
        return _state("queued", "approved: the engine is creating the job")
    if job["status"] == "expired":
        return _state("expired", "your agent did not run it in time; nothing was done")
    if job["status"] == "leased":
        return running(job.get("progress"))
    if job["status"] == "done":
        if job["result_status"] == "succeeded":
            return _state("done", done_message(job["action"], job["result"], job["result_bytes"]))
        reason = failure_reason(job["result"])
        return _state("failed", f"failed: {reason}", _error(job["result"]).get("code"))
    if agent is not None and not agent["online"]:
        since = agent["last_seen_at"]
        where = f"offline since {since}" if since else "it has not connected yet"
        return _state("waiting_agent", f"waiting for your agent ({where})")
    return _state("queued", "queued: your agent will pick it up")
