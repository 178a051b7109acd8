"""The run loop: long-poll, lease, execute once, report until acknowledged."""

import hashlib
import random
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from agent.client import EngineClient, EngineUnavailable
from agent.config import AgentConfig
from agent.fs import FsError
from agent.fs.executor import READS, execute
from agent.fs.helpers import helpers_allowed
from agent.journal import Journal
from agent.logs import log
from agent.progress import ProgressReporter
from agent.witness import Witness
from idl import DESTRUCTIVE_ACTIONS
from kernel.canonical import canonical_json
from kernel.errors import Conflict, Forbidden, Refused, Unauthorized
from kernel.times import utc_now
from ledger.witness import WitnessAlarm

WITNESS_RETRY_SECONDS = 30.0
BACKOFF_BASE = 0.5
BACKOFF_CAP = 30.0
PROGRESS_EVERY = 1.0
# Refusals of the agent itself (its token), not of one result: the result waits for later.
AGENT_REFUSED = (Unauthorized, Forbidden)  # the token itself refused: nothing else will pass


def backoff_delay(failures: int) -> float:
    """Exponential backoff with full jitter."""
    return random.uniform(0, min(BACKOFF_CAP, BACKOFF_BASE * 2**failures))


def retry_delay(exc: EngineUnavailable, failures: int) -> float:
    """When to try again: when the engine said (a rate limit's refill, its own estimate of an
    outage), within the backoff's cap; else after the backoff."""
    if exc.retry_after is not None:
        return float(min(exc.retry_after, BACKOFF_CAP))
    return backoff_delay(failures)


class Runner:
    def __init__(
        self,
        config: AgentConfig,
        client: EngineClient,
        journal: Journal,
        own_files: Sequence[Path] = (),
    ) -> None:
        self.config = config
        self.own_files = own_files  # its configuration: never listed nor touched by a job
        self.client = client
        self.journal = journal
        self.stop = threading.Event()
        self.allowed_actions: set[str] = set()
        self.contract_ref: str | None = None
        self.witness = Witness(config, client)

    def run(self) -> None:
        log(
            "info",
            "agent starting",
            institution_id=self.config.institution_id,
            root_dir=self.config.root_dir,
            engine=self.config.engine_base_url,
        )
        failures = 0
        pending_poll: BackgroundCall | None = None
        while not self.stop.is_set():
            try:
                if not self.allowed_actions:
                    self.load_contract()
                self.report_interrupted()
                self.resend_unacknowledged()
                if pending_poll is None:
                    pending_poll = BackgroundCall(self.client.poll, self.config.poll_wait_seconds)
                if not self._wait(pending_poll):
                    break
                jobs, pending_poll = pending_poll.result(), None
                failures = 0
                if jobs and not self.witnessed():
                    self.stop.wait(WITNESS_RETRY_SECONDS)
                    continue
                for job in jobs:
                    if self.stop.is_set():
                        break
                    self.handle(job)
            except EngineUnavailable as exc:
                pending_poll = None
                delay = retry_delay(exc, failures)
                failures += 1
                log(
                    "warning",
                    "engine unavailable; retrying",
                    error=str(exc),
                    retry_in=round(delay, 2),
                )
                self.stop.wait(delay)
            except Refused as exc:
                pending_poll = None
                delay = backoff_delay(failures)
                failures += 1
                log(
                    "error",
                    "engine refused the agent",
                    refusal=type(exc).__name__,
                    code=exc.code,
                    error=str(exc),
                    retry_in=round(delay, 2),
                )
                self.stop.wait(max(delay, 1.0))
        log("info", "agent stopped")

    def witnessed(self) -> bool:
        """The engine's ledger extends what this agent saw: only then are jobs taken."""
        try:
            trusted = self.witness.check()
        except WitnessAlarm as exc:
            log("error", "ledger witness alarm: every job is refused", problem=str(exc))
            return False
        log("debug", "ledger witnessed", size=trusted.size)
        return True

    def _wait(self, call: "BackgroundCall") -> bool:
        """Wait for the poll, but return False at once when asked to stop."""
        while not call.done.is_set():
            if self.stop.wait(0.05):
                return False
        return True

    def load_contract(self) -> None:
        contract = self.client.contract()
        manifest = contract["manifest"]
        self.allowed_actions = set(manifest["actions"])
        self.contract_ref = contract["ref"]
        log(
            "info",
            "contract loaded",
            contract_ref=contract["ref"],
            actions=sorted(self.allowed_actions),
        )

    def handle(self, job: dict[str, Any]) -> None:
        job_id, case_id = job["job_id"], job["case_id"]
        if self.journal.get(job_id) is not None:
            return  # already executed (or interrupted): never run twice; the result is re-sent
        trace = {"case_id": case_id, "request_id": job.get("request_id")}
        ids = {"job_id": job_id, **trace}
        try:
            self.client.lease(job_id, trace)
        except Refused as exc:
            log("info", "job not leased", **ids, code=exc.code)
            return
        if job.get("contract_ref") and job["contract_ref"] != self.contract_ref:
            self.load_contract()  # the owner released another version: judge by that one
        self.journal.begin(job)
        # A listing shares its reading with helper processes, forked as it starts (one per
        # further core; none while another thread runs).
        helpers = helpers_allowed() if job["action"] in READS else 0
        log("info", "job started", **ids, action=job["action"], helpers=helpers)
        status, report = self.execute(job)
        self.journal.finish(job_id, status, report)
        log("info", "job finished", **ids, status=status, duration_ms=report.get("duration_ms"))
        self.deliver(job_id, case_id, status, report, job.get("request_id"))

    def execute(self, job: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        started = time.monotonic()
        refusal = refusal_of(job, self.allowed_actions)
        if refusal is not None:
            code, message = refusal
            return "refused", {"error": {"code": code, "message": message}, "duration_ms": 0}

        def tell(data: dict[str, Any]) -> None:
            self.journal.set_progress(job["job_id"], data)
            self.client.progress(job["job_id"], data)
            log(
                "info",
                "progress",
                job_id=job["job_id"],
                case_id=job["case_id"],
                request_id=job.get("request_id"),
                **data,
            )

        try:
            with ProgressReporter(tell, PROGRESS_EVERY) as progress:
                report = execute(
                    Path(self.config.root_dir),
                    job["action"],
                    job["params"],
                    job.get("options") or {},
                    progress.update,
                    self.config.hash_cache_path,
                    self.own_files,
                    save_later=True,  # the result goes out while the hash cache is written
                )
            status = "succeeded"
        except FsError as exc:
            report, status = {"error": {"code": exc.code, "message": exc.message}}, "refused"
        except OSError as exc:
            report, status = {"error": {"code": "os_error", "message": str(exc)}}, "failed"
        report["duration_ms"] = round((time.monotonic() - started) * 1000, 3)
        return status, report

    def deliver(
        self,
        job_id: str,
        case_id: str | None,
        status: str,
        report: dict[str, Any],
        request_id: str | None = None,
    ) -> bool:
        """Post the result until the engine has it. False: not now (the engine is away, or
        refuses this agent as a whole), send it again later. A result the engine refuses as
        such (too large, malformed) is replaced by a failure saying why, so the job ends
        and the next one is taken: one job never holds the agent."""
        trace = {"case_id": case_id, "request_id": request_id}
        ids = {"job_id": job_id, "case_id": case_id}
        try:
            self.client.post_result(job_id, status, report, trace)
        except EngineUnavailable as exc:
            log("warning", "result not delivered; will re-send", **ids, error=str(exc))
            return False
        except Refused as exc:
            if isinstance(exc, AGENT_REFUSED):
                log(
                    "error",
                    "result not delivered: the engine refuses this agent",
                    **ids,
                    error=str(exc),
                )
                return False
            if not isinstance(exc, Conflict):
                return self.deliver_refusal(job_id, status, report, exc, trace)
            log("warning", "engine no longer expects this result", **ids, error=str(exc))
        self.journal.acknowledge(job_id)
        return True

    def deliver_refusal(
        self,
        job_id: str,
        status: str,
        report: dict[str, Any],
        refused: Refused,
        trace: dict[str, str | None],
    ) -> bool:
        ids = {"job_id": job_id, "case_id": trace.get("case_id")}
        log("error", "result refused; reporting the job as failed", **ids, error=str(refused))
        body = canonical_json(report)
        failure = {
            "error": {
                "code": "result_refused",
                "message": f"the engine refused this job's result: {refused.code}: {refused}",
            },
            "refused_result": {
                "status": status,
                "bytes": len(body),
                "sha256": hashlib.sha256(body).hexdigest(),
            },
            "duration_ms": report.get("duration_ms"),
        }
        try:
            self.client.post_result(job_id, "failed", failure, trace)
        except EngineUnavailable as exc:
            log("warning", "failure not delivered; will re-send", **ids, error=str(exc))
            return False
        except Refused as exc:
            if isinstance(exc, AGENT_REFUSED):
                return False
            log(
                "error",
                "the engine refused the failure too; giving up on this result",
                **ids,
                error=str(exc),
            )
        self.journal.finish(job_id, "failed", failure)
        self.journal.acknowledge(job_id)
        return True

    def resend_unacknowledged(self) -> None:
        for entry in self.journal.unacknowledged():
            log("info", "re-sending result", job_id=entry["job_id"], case_id=entry["case_id"])
            if not self.deliver(
                entry["job_id"], entry["case_id"], entry["result_status"], entry["report"]
            ):
                raise EngineUnavailable("results still undelivered")

    def report_interrupted(self) -> None:
        """A job that began but never finished is never run again: it is reported as failed."""
        for entry in self.journal.interrupted():
            report = {
                "error": {
                    "code": "interrupted",
                    "message": "the agent stopped while executing; not re-executed",
                },
                "duration_ms": 0,
            }
            self.journal.finish(entry["job_id"], "failed", report)


def refusal_of(job: dict[str, Any], allowed_actions: set[str]) -> tuple[str, str] | None:
    """Why this agent will not start a job, whatever the engine says (None: it may)."""
    action = job["action"]
    if action not in allowed_actions:
        return "unknown_action", f"{action!r} is not in the released contract"
    if action in DESTRUCTIVE_ACTIONS or (job.get("options") or {}).get("effect") == "destructive":
        if not job.get("approval_digest"):
            return "no_approval", f"{action!r} is destructive and this job carries no approval"
        not_after = job.get("not_after")
        if not not_after or not_after <= utc_now():
            return "approval_window_closed", "the approval window of this job has closed"
    return None


class BackgroundCall:
    """A call on a daemon thread, so a long-poll in flight never delays shutdown."""

    def __init__(self, function: Callable[..., Any], *args: Any) -> None:
        self.done = threading.Event()
        self._value: Any = None
        self._error: BaseException | None = None

        def run() -> None:
            try:
                self._value = function(*args)
            except BaseException as exc:  # re-raised in the caller's thread
                self._error = exc
            finally:
                self.done.set()

        self._thread = threading.Thread(target=run, name="poll", daemon=True)
        self._thread.start()

    def result(self) -> Any:
        """The call's value, once its thread has ended: the jobs it brings run in a process
        of one thread, which may fork its helpers (agent.fs.helpers)."""
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._value
