"""Where a request stands, in plain words: from the engine's proposal and job to what a person
reads under a chat reply or an approval card ("waiting for your agent", "done", "failed: the
file changed after you approved, so nothing was done"), in the reader's language."""

from dataclasses import asdict, dataclass
from typing import Any

from portal.i18n import N_, _, ngettext, number, size, when

# The agent's refusal codes, as a person would say them.
REASONS = {
    "hash_mismatch": N_("the file changed after it was approved, so nothing was done"),
    "not_found": N_("it is not in your folder (any more), so nothing was done"),
    "not_a_file": N_("it is a folder or a special file, not a regular file; nothing was done"),
    "target_exists": N_("something with the new name is already there; nothing was overwritten"),
    "path_refused": N_("the agent may not touch that path; nothing was done"),
    "quarantine_unsafe": N_("the quarantine folder looks tampered with; nothing was done"),
    "result_refused": N_("the engine refused the agent's report"),
    "unknown_action": N_("your agent does not know this action yet (update the agent)"),
    "os_error": N_("your computer refused the operation"),
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


def running(progress: dict[str, Any] | None) -> State:
    """ "running on your agent: hashing 4,000 of 10,000 files (1.2 GB so far)"."""
    if not progress:
        return _state("running", _("running on your agent"))
    done, total = progress.get("done", 0), progress.get("total")
    if progress["phase"] == "scanning":
        step = ngettext(
            "looking through your folder, %(num)s file found",
            "looking through your folder, %(num)s files found",
            done,
        )
    elif total:
        step = (
            ngettext(
                "hashing %(done)s of %(num)s file",
                "hashing %(done)s of %(num)s files",
                total,
                done=number(done),
            )
            if progress["phase"] == "hashing"
            else ngettext(
                "comparing contents of %(done)s of %(num)s file",
                "comparing contents of %(done)s of %(num)s files",
                total,
                done=number(done),
            )
        )
    else:
        step = ngettext("hashing %(num)s file", "hashing %(num)s files", done)
    if progress.get("bytes"):
        step = _("%(step)s (%(size)s so far)", step=step, size=size(progress["bytes"]))
    return State("running", _("running on your agent: %(step)s", step=step), False, None, progress)


def _error(report: dict[str, Any] | None) -> dict[str, Any]:
    return (report or {}).get("error") or {}


def failure_reason(report: dict[str, Any] | None) -> str:
    error = _error(report)
    known = REASONS.get(error.get("code", ""))
    return _(known) if known else error.get("message") or _("the agent reported a failure")


def done_message(action: str, report: dict[str, Any] | None, report_bytes: int | None) -> str:
    report = report or {}
    if action == "list_files" and "count" in report:
        return ngettext("done: %(num)s file listed", "done: %(num)s files listed", report["count"])
    if action == "detect_duplicates" and "groups" in report:
        return ngettext(
            "done: %(num)s group of duplicates found",
            "done: %(num)s groups of duplicates found",
            len(report["groups"]),
        )
    if action == "suggest_cleanup" and "count" in report:
        return ngettext("done: %(num)s suggestion", "done: %(num)s suggestions", report["count"])
    if action == "delete" and report.get("quarantine_path"):
        return _("done: moved to %(path)s (restorable)", path=report["quarantine_path"])
    if action in ("quarantine_files", "purge") and "files" in report:
        went = report.get("quarantined", report.get("purged", 0))
        refused = report.get("refused", 0)
        message = (
            ngettext(
                "done: %(num)s file quarantined (restorable)",
                "done: %(num)s files quarantined (restorable)",
                went,
            )
            if action == "quarantine_files"
            else ngettext("done: %(num)s file erased", "done: %(num)s files erased", went)
        )
        if refused:
            message += ngettext(
                "; %(num)s left alone (changed or gone)",
                "; %(num)s left alone (changed or gone)",
                refused,
            )
        return message
    moved = [f for f in report.get("files", []) if f.get("new_path")]
    if moved:
        return _("done: now at %(path)s", path=moved[0]["new_path"])
    if report.get("restored"):
        return _("done: %(path)s is back", path=report["restored"])
    if not report and report_bytes:
        return _("done: %(size)s of results kept by the engine", size=size(report_bytes))
    return _("done")


def describe(
    proposal: dict[str, Any], job: dict[str, Any] | None, agent: dict[str, Any] | None
) -> State:
    """The one state a person needs to see for `proposal` (and its job, when it has one)."""
    status = proposal["status"]
    if status == "pending_approval":
        until = when(proposal["expires_at"])
        return _state("awaiting_approval", _("waiting for approval (until %(when)s)", when=until))
    if status == "denied":
        return _state("denied", _("denied by the engine: %(reason)s", reason=proposal["reason"]))
    if status == "rejected":
        reason = proposal.get("decision_reason") or _("no reason given")
        return _state("rejected", _("rejected: %(reason)s", reason=reason))
    if status == "expired":
        return _state("expired", _("nobody approved it in time; nothing was done"))
    if job is None:
        return _state("queued", _("approved: the engine is creating the job"))
    if job["status"] == "expired":
        return _state("expired", _("your agent did not run it in time; nothing was done"))
    if job["status"] == "leased":
        return running(job.get("progress"))
    if job["status"] == "done":
        if job["result_status"] == "succeeded":
            return _state("done", done_message(job["action"], job["result"], job["result_bytes"]))
        reason = failure_reason(job["result"])
        return _state(
            "failed", _("failed: %(reason)s", reason=reason), _error(job["result"]).get("code")
        )
    if agent is not None and not agent["online"]:
        since = agent["last_seen_at"]
        if since:
            return _state(
                "waiting_agent",
                _("waiting for your agent (offline since %(when)s)", when=when(since)),
            )
        return _state("waiting_agent", _("waiting for your agent (it has not connected yet)"))
    return _state("queued", _("queued: your agent will pick it up"))
