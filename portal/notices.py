"""Telling people what needs them: an approval waiting, one about to expire, a failed job, an
agent offline for a while. Each notice is one row per person (unique by kind and subject, so a
round that runs twice, or in two console processes, tells nobody twice), shown in the portal
until read, and emailed unless that person turned the kind off.

The watcher reads each institution's records with its admin key (it reads, never decides), one
institution at a time, in a thread of its own: nothing here is on a request's path.
"""

import functools
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from kernel.errors import Refused
from kernel.ids import new_id
from kernel.times import stamp_now
from portal import credentials, engine_words, i18n, letters, mail
from portal.db import Database, Tx
from portal.engine_client import EngineClient
from portal.i18n import N_, _
from portal.rounds import Rounds
from portal.secret_box import SecretBox
from portal.workspace import impact

log = logging.getLogger("libervia.notices")
KINDS = {
    "approval_waiting": N_("An approval is waiting for me"),
    "approval_expiring": N_("An approval is about to expire"),
    "job_failed": N_("A job failed"),
    "agent_offline": N_("My agent has been offline for a while"),
}
# Each kind's sentence, filled in where it is read: in the reader's language and time zone.
SENTENCES = {
    "approval_waiting": N_("Waiting for your approval: %(summary)s"),
    "approval_expiring": N_("Expires %(when)s unless someone approves it: %(summary)s"),
    "job_failed": N_("A job did not run: %(action)s (%(status)s)"),
    "agent_offline": N_("Your agent has been offline since %(when)s."),
}
# How a job ended without running, as a person says it (the engine's job statuses).
JOB_OUTCOMES = {
    "failed": N_("it failed"),
    "refused": N_("your agent refused it"),
    "expired": N_("your agent did not run it in time"),
}
DECIDERS = ("owner", "executive_admin")  # who is told: the people who can act on it
FAILED = ("failed", "refused")
MAX_SHOWN = 50
# A removed member keeps no window on the institution they left.
_MEMBER = " AND institution_id IN (SELECT institution_id FROM memberships WHERE user_id=?)"


@dataclass(frozen=True)
class Person:
    user_id: str
    email: str
    role: str
    actor_id: str | None
    locale: str | None
    verified: bool


@dataclass(frozen=True)
class Notice:
    kind: str
    subject_key: str
    link: str
    params: Callable[[], dict[str, Any]]  # called in each recipient's language
    skip_actor: str | None = None  # the person who asked is not asked to approve it


def sentence(kind: str, params: dict[str, Any]) -> str:
    """A notice in the reader's language; its time in their time zone."""
    shown = {**params}
    if "when" in shown:
        shown["when"] = i18n.when(shown["when"])
    if "action" in shown:
        shown["action"] = engine_words.action_label(shown["action"])
    if shown.get("status") in JOB_OUTCOMES:
        shown["status"] = _(JOB_OUTCOMES[shown["status"]])
    return _(SENTENCES[kind], **shown) if kind in SENTENCES else kind


def unread_count(db: Database, user_id: str) -> int:
    with db.transaction() as tx:
        row = tx.one(
            "SELECT COUNT(*) AS n FROM notifications WHERE user_id=? AND read_at IS NULL" + _MEMBER,
            (user_id, user_id),
        )
    return int(row["n"]) if row else 0


def inbox(db: Database, user_id: str) -> dict[str, Any]:
    """The newest notices (unread first marked as such) and this person's email choices."""
    with db.transaction() as tx:
        rows = tx.all(
            "SELECT id, kind, params, link, created_at, read_at FROM notifications"
            " WHERE user_id=?" + _MEMBER + " ORDER BY created_at DESC, id LIMIT ?",
            (user_id, user_id, MAX_SHOWN),
        )
        off = {
            row["kind"]
            for row in tx.all(
                "SELECT kind FROM notification_choices WHERE user_id=? AND email=0", (user_id,)
            )
        }
    shown = [
        {
            **{k: v for k, v in row.items() if k != "params"},
            "message": sentence(row["kind"], json.loads(row["params"])),
        }
        for row in rows
    ]
    return {
        "notices": shown,
        "unread": sum(1 for row in rows if row["read_at"] is None),
        "email": {kind: kind not in off for kind in KINDS},
    }


def mark_read(db: Database, user_id: str) -> int:
    with db.transaction() as tx:
        return tx.execute(
            "UPDATE notifications SET read_at=? WHERE user_id=? AND read_at IS NULL",
            (stamp_now(), user_id),
        )


def choose(db: Database, user_id: str, choices: dict[str, bool]) -> dict[str, bool]:
    """Turn the email of each kind (of KINDS) on or off (the notice in the portal stays)."""
    with db.transaction() as tx:
        for kind, email in choices.items():
            tx.execute(
                "INSERT INTO notification_choices (user_id, kind, email) VALUES (?,?,?)"
                " ON CONFLICT (user_id, kind) DO UPDATE SET email=excluded.email",
                (user_id, kind, 1 if email else 0),
            )
    return dict(inbox(db, user_id)["email"])


def _people(tx: Tx, institution_id: str) -> list[Person]:
    rows = tx.all(
        "SELECT u.id, u.email, u.locale, u.email_verified_at, m.role, m.actor_id"
        " FROM memberships m JOIN users u ON u.id = m.user_id WHERE m.institution_id=?",
        (institution_id,),
    )
    return [
        Person(
            r["id"], r["email"], r["role"], r["actor_id"], r["locale"], bool(r["email_verified_at"])
        )
        for r in rows
        if r["role"] in DECIDERS
    ]


def deliver(tx: Tx, institution_id: str, notice: Notice, portal_url: str) -> int:
    """One row per person told (none twice), and an email to those who want it; returns how
    many emails were enqueued."""
    emailed = 0
    for person in _people(tx, institution_id):
        if notice.skip_actor and person.actor_id == notice.skip_actor:
            continue
        with i18n.speaking(person.locale):
            params = notice.params()
            message = sentence(notice.kind, params)
        inserted = tx.execute(
            "INSERT INTO notifications (id, user_id, institution_id, kind, subject_key, params,"
            " link, created_at) VALUES (?,?,?,?,?,?,?,?) ON CONFLICT DO NOTHING",
            (
                new_id("ntc"),
                person.user_id,
                institution_id,
                notice.kind,
                notice.subject_key,
                json.dumps(params),
                notice.link,
                stamp_now(),
            ),
        )
        if not inserted or not person.verified:
            continue
        if tx.one(
            "SELECT 1 AS off FROM notification_choices WHERE user_id=? AND kind=? AND email=0",
            (person.user_id, notice.kind),
        ):
            continue
        letter = letters.notice(person.locale, message, f"{portal_url}{notice.link}")
        mail.enqueue(tx, person.email, f"notice:{notice.kind}", letter.subject, letter.body)
        emailed += 1
    return emailed


def _summary(proposal: dict[str, Any]) -> str:
    return str(impact(proposal, {})["summary"])  # the words the approvals page uses


def _moment(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


@dataclass
class Watcher:
    """Each round looks at every active institution and tells the people what needs them."""

    db: Database
    box: SecretBox
    engine: EngineClient
    portal_url: str
    offline_after: timedelta
    expiry_warning: timedelta
    interval: float = 60
    on_mail: Callable[[], None] = lambda: None

    def __post_init__(self) -> None:
        self.rounds = Rounds("notices", self.round, self.interval)
        self.start, self.stop = self.rounds.start, self.rounds.stop

    def round(self) -> int:
        with self.db.transaction() as tx:
            institutions = tx.all(
                "SELECT id, engine_institution_id FROM institutions WHERE onboarding_state='active'"
            )
        emailed = 0
        for institution in institutions:
            try:
                emailed += self.watch(institution["id"], institution["engine_institution_id"])
            except Refused as exc:  # one institution's trouble does not stop the others
                log.warning("notices of %s skipped: %s", institution["id"], exc.message)
        if emailed:
            self.on_mail()
        return emailed

    def watch(self, institution_id: str, engine_id: str) -> int:
        with self.db.transaction() as tx:
            admin_key = credentials.load(tx, self.box, institution_id, "admin_key")
            seen = tx.one(
                "SELECT seen_seq FROM notice_watch WHERE institution_id=?",
                (institution_id,),
            )
        notices = self._approvals(engine_id, admin_key)
        if seen is None:  # first look: only what happens from now on is news
            head = self.engine.get(engine_id, "/ledger/events", admin_key, order="desc", limit=1)
            seen_seq = head["events"][0]["seq"] if head["events"] else 0
        else:
            seen_seq = seen["seen_seq"]
            failed, seen_seq = self._failures(engine_id, admin_key, seen_seq)
            notices += failed
        offline = self._offline(engine_id, admin_key)
        if offline is not None:
            notices.append(offline)
        emailed = 0
        with self.db.transaction() as tx:
            for notice in notices:
                emailed += deliver(tx, institution_id, notice, self.portal_url)
            tx.execute(
                "INSERT INTO notice_watch (institution_id, seen_seq) VALUES (?,?)"
                " ON CONFLICT (institution_id) DO UPDATE SET seen_seq=excluded.seen_seq",
                (institution_id, seen_seq),
            )
        return emailed

    def _approvals(self, engine_id: str, admin_key: str) -> list[Notice]:
        pending = self.engine.get(engine_id, "/approvals", admin_key)["pending"]
        notices = []
        soon = datetime.now(UTC) + self.expiry_warning
        for proposal in pending:

            def waiting(p: dict[str, Any] = proposal) -> dict[str, Any]:
                return {"summary": _summary(p)}

            def expiring(p: dict[str, Any] = proposal) -> dict[str, Any]:
                return {"summary": _summary(p), "when": p["expires_at"]}

            asker = proposal.get("requested_by")
            notices.append(
                Notice("approval_waiting", proposal["proposal_id"], "/approvals", waiting, asker)
            )
            if proposal.get("expires_at") and _moment(proposal["expires_at"]) <= soon:
                notices.append(
                    Notice(
                        "approval_expiring", proposal["proposal_id"], "/approvals", expiring, asker
                    )
                )
        return notices

    def _failures(self, engine_id: str, admin_key: str, after: int) -> tuple[list[Notice], int]:
        events = self.engine.get(
            engine_id,
            "/ledger/events",
            admin_key,
            type="job.result,job.expired",
            after_seq=after,
            limit=500,
        )["events"]
        notices = []
        for event in events:
            after = max(after, event["seq"])
            status = event["payload"].get("status", "expired")
            if event["type"] == "job.result" and status not in FAILED:
                continue
            try:
                job = self.engine.get(
                    engine_id, f"/runtime/jobs/{event['payload']['job_id']}", admin_key
                )
            except Refused as exc:  # one job the engine cannot show silences nothing else
                log.warning("job %s skipped: %s", event["payload"].get("job_id"), exc.message)
                continue

            facts = {"action": job["action"], "status": status}
            notices.append(
                Notice("job_failed", job["job_id"], "/audit", functools.partial(dict, facts))
            )
        return notices, after

    def _offline(self, engine_id: str, admin_key: str) -> Notice | None:
        actors = self.engine.get(engine_id, "/actors", admin_key)["actors"]
        agent = next((a for a in actors if a["role"] == "organizational_agent"), None)
        last_seen = agent["last_seen_at"] if agent else None
        if not last_seen or datetime.now(UTC) - _moment(last_seen) < self.offline_after:
            return None

        # One notice per time it went quiet: its last sighting names the episode.
        return Notice("agent_offline", last_seen, "/dashboard", lambda: {"when": last_seen})
