"""`libervia check`: every record has the ledger events that record it, and every event has
its record. Decisions and their events commit in one transaction, so on a healthy file this
finds nothing; anything it finds is damage (or tampering) to look at.

What each record must have:
- actor: one `actor.created`, one `actor.revoked` once revoked, any `actor.token_reissued`;
  activated department: one `department.activated`;
  bundle: one `contract.registered`, and `contract.released` once released;
  admin key: one `institution.admin_key_bootstrapped`;
- proposal: one `proposal.<decision>`; approved: one `approval.granted` naming its job;
  rejected: one `approval.rejected`; expired: one `approval.expired`; otherwise none of those;
- job: one `job.created`; a `job.leased` per attempt; `job.lease_expired` for each lease that
  lapsed; done: one `job.executed` and one `job.result` with its status, the report the job
  keeps hashing to the sha256 its `job.executed` holds; expired: `job.expired`.
"""

import hashlib
import sqlite3
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from governance.departments import active_departments
from ledger import store as ledger_store
from ledger.verify import VerifyResult
from tenants import InstitutionMissing, TenantError
from tenants.database import Reader
from tenants.layout import DataDir
from tenants.registry import Registry
from tenants.tenant import Tenants

# Which payload field names the record an event is about.
_SUBJECT = """
CASE
  WHEN type LIKE 'job.%' THEN json_extract(payload, '$.job_id')
  WHEN type LIKE 'proposal.%' OR type LIKE 'approval.%' THEN json_extract(payload, '$.proposal_id')
  WHEN type LIKE 'actor.%' THEN json_extract(payload, '$.actor_id')
  WHEN type LIKE 'contract.%' THEN json_extract(payload, '$.ref')
  WHEN type = 'department.activated' THEN json_extract(payload, '$.department')
END
"""
KNOWN_TYPES = {
    "institution.created",
    "institution.admin_key_bootstrapped",
    "actor.created",
    "actor.revoked",
    "actor.token_reissued",
    "contract.registered",
    "contract.released",
    "contract.release_approved",
    "department.activated",
    "proposal.allowed",
    "proposal.pending_approval",
    "proposal.denied",
    "approval.granted",
    "approval.rejected",
    "approval.refused",
    "approval.expired",
    "job.created",
    "job.leased",
    "job.lease_expired",
    "job.expired",
    "job.executed",
    "job.result",
    "witness.alarm",
}
RECORDLESS = {"witness.alarm"}  # events that stand alone: no record is expected
_CLOSING = {
    "approved": "approval.granted",
    "rejected": "approval.rejected",
    "expired": "approval.expired",
}


@dataclass(frozen=True)
class Mismatch:
    kind: str  # "record_without_event", "event_without_record", "disagreement"
    subject: str  # e.g. "proposal prop_…", "event job.leased"
    detail: str

    def __str__(self) -> str:
        return f"{self.kind}: {self.subject}: {self.detail}"


@dataclass(frozen=True)
class CheckReport:
    records: int
    events: int
    mismatches: list[Mismatch]

    @property
    def ok(self) -> bool:
        return not self.mismatches


def check(reader: Reader) -> CheckReport:
    """Compare records and events in one snapshot (call it inside `db.snapshot()`)."""
    conn = reader.conn
    counts: Counter[tuple[str, Any]] = Counter()
    events = 0
    for type_, subject, n in conn.execute(
        f"SELECT type, {_SUBJECT} AS subject, count(*) FROM events GROUP BY type, subject"
    ):
        counts[(type_, subject)] += n
        events += n
    found: list[Mismatch] = []
    seen: set[tuple[str, Any]] = set()

    def expect(type_: str, subject: Any, label: str, wanted: int | range = 1) -> None:
        seen.add((type_, subject))
        have = counts.get((type_, subject), 0)
        ok = have in wanted if isinstance(wanted, range) else have == wanted
        if ok:
            return
        if have == 0:
            found.append(Mismatch("record_without_event", label, f"no {type_} event"))
        else:
            found.append(
                Mismatch("disagreement", label, f"{have} {type_} events where {_want(wanted)}")
            )

    records = 0
    expect("institution.created", None, "institution")
    records += 1
    if reader.meta("admin_key_hash") is not None:
        records += 1
        expect("institution.admin_key_bootstrapped", None, "admin key")
    else:
        expect("institution.admin_key_bootstrapped", None, "admin key", 0)

    for actor_id, revoked_at in conn.execute("SELECT id, revoked_at FROM actors"):
        records += 1
        expect("actor.created", actor_id, f"actor {actor_id}")
        expect("actor.revoked", actor_id, f"actor {actor_id}", 1 if revoked_at else 0)
        seen.add(("actor.token_reissued", actor_id))

    for department in active_departments(reader):
        records += 1
        expect("department.activated", department, f"department {department}")

    for name, version, released_at in conn.execute(
        "SELECT name, version, released_at FROM bundles"
    ):
        records += 1
        ref = f"{name}@v{version}"
        expect("contract.registered", ref, f"bundle {ref}")
        expect("contract.release_approved", ref, f"bundle {ref}", range(0, 2 if released_at else 1))
        if released_at:
            seen.add(("contract.released", ref))
            if counts.get(("contract.released", ref), 0) < 1:
                found.append(
                    Mismatch("record_without_event", f"bundle {ref}", "no contract.released event")
                )
        else:
            expect("contract.released", ref, f"bundle {ref}", 0)

    granted = dict(
        conn.execute(
            "SELECT json_extract(payload, '$.proposal_id'), json_extract(payload, '$.job_id')"
            " FROM events WHERE type='approval.granted'"
        ).fetchall()
    )
    for pid, decision, status, job_id in conn.execute(
        "SELECT id, decision, status, job_id FROM proposals"
    ):
        records += 1
        label = f"proposal {pid}"
        expect(f"proposal.{decision}", pid, label)
        for other in ("allowed", "pending_approval", "denied"):
            if other != decision:
                expect(f"proposal.{other}", pid, label, 0)
        for closed, type_ in _CLOSING.items():
            expect(type_, pid, label, 1 if status == closed else 0)
        seen.add(("approval.refused", pid))
        if status == "approved" and granted.get(pid) != job_id:
            found.append(
                Mismatch(
                    "disagreement",
                    label,
                    f"approval.granted names job {granted.get(pid)}, the proposal {job_id}",
                )
            )

    results = dict(
        conn.execute(
            "SELECT json_extract(payload, '$.job_id'), json_extract(payload, '$.status')"
            " FROM events WHERE type='job.result'"
        ).fetchall()
    )
    report_hashes = dict(
        conn.execute(
            "SELECT json_extract(payload, '$.job_id'), json_extract(payload, '$.report_sha256')"
            " FROM events WHERE type='job.executed'"
            " AND json_extract(payload, '$.report_sha256') IS NOT NULL"
        ).fetchall()
    )
    for jid, status, attempts, result_status, result in conn.execute(
        "SELECT id, status, attempts, result_status, result FROM jobs"
    ):
        records += 1
        label = f"job {jid}"
        expect("job.created", jid, label)
        expect("job.leased", jid, label, attempts)
        lapsed = {
            "leased": range(attempts - 1, attempts),
            "done": range(max(attempts - 1, 0), attempts + 1),
            "expired": range(max(attempts - 1, 0), attempts + 1),  # leased when it expired
        }.get(status, range(attempts, attempts + 1))
        expect("job.lease_expired", jid, label, lapsed)
        finished = 1 if status == "done" else 0
        expect("job.executed", jid, label, finished)
        expect("job.result", jid, label, finished)
        expect("job.expired", jid, label, 1 if status == "expired" else 0)
        if status == "done" and results.get(jid) != result_status:
            found.append(
                Mismatch(
                    "disagreement",
                    label,
                    f"job.result says {results.get(jid)!r}, the job {result_status!r}",
                )
            )
        recorded = report_hashes.get(jid)
        if recorded is not None and (
            result is None or hashlib.sha256(result.encode()).hexdigest() != recorded
        ):
            found.append(
                Mismatch(
                    "disagreement",
                    label,
                    f"its report does not hash to the sha256 job.executed holds ({recorded[:12]}…)",
                )
            )

    for (type_, subject), n in sorted(
        counts.items(), key=lambda item: (item[0][0], str(item[0][1]))
    ):
        if (type_, subject) in seen or type_ in RECORDLESS:
            continue
        what = f"event {type_}" + (f" about {subject}" if subject is not None else "")
        if type_ not in KNOWN_TYPES:
            found.append(Mismatch("event_without_record", what, f"{n} event(s) of an unknown type"))
        else:
            found.append(Mismatch("event_without_record", what, f"{n} event(s) with no record"))
    return CheckReport(records, events, found)


def _want(wanted: int | range) -> str:
    if isinstance(wanted, int):
        return f"{wanted} expected"
    if len(wanted) == 1:
        return f"{wanted.start} expected"
    return f"{wanted.start} to {wanted.stop - 1} expected"


@dataclass(frozen=True)
class InstitutionCheck:
    institution_id: str
    report: CheckReport | None
    chain: VerifyResult | None
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return (
            self.problem is None
            and self.report is not None
            and self.report.ok
            and self.chain is not None
            and self.chain.ok
        )


def check_data_dir(root: Path, institution_id: str | None = None) -> Iterator[InstitutionCheck]:
    """Check one institution, or every registered one, a page at a time."""
    if not (Path(root) / "registry.db").is_file():
        raise TenantError(f"{root} is not a data dir: it has no registry.db")
    data_dir = DataDir(root)
    registry = Registry(data_dir.registry_path)
    tenants = Tenants(data_dir, max_open=8)
    try:
        if institution_id is not None:
            if registry.get(institution_id) is None:
                yield InstitutionCheck(institution_id, None, None, "not a registered institution")
                return
            yield _check_one(tenants, institution_id)
            return
        after = ""
        while page := registry.page(after):
            for institution in page:
                yield _check_one(tenants, institution.id)
            after = page[-1].id
    finally:
        tenants.close()
        registry.db.close()


def _check_one(tenants: Tenants, institution_id: str) -> InstitutionCheck:
    try:
        tenant = tenants.get(institution_id)
        with tenant.db.snapshot() as snapshot:
            return InstitutionCheck(
                institution_id,
                check(snapshot),
                ledger_store.verify(snapshot.conn, tenant.db.path, institution_id),
            )
    except InstitutionMissing:
        return InstitutionCheck(institution_id, None, None, "its database file is missing")
    except TenantError as exc:
        return InstitutionCheck(institution_id, None, None, str(exc))
    except sqlite3.Error as exc:  # malformed payload JSON, damaged pages
        return InstitutionCheck(institution_id, None, None, f"cannot be read: {exc}")
