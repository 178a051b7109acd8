"""The ledger as a person reads it: who did what, in a sentence, in their language, with local
and relative times. The raw event stays with each entry (one click away on the page) and the
exports stay raw."""

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from babel import Locale
from babel.dates import format_timedelta

from portal import engine_words, i18n, letters
from portal.i18n import N_, _

SENTENCES = {
    "proposal.pending_approval": N_("%(who)s asked to %(what)s; it waits for approval."),
    "proposal.allowed": N_("%(who)s asked to %(what)s; the Engine allowed it."),
    "proposal.denied": N_("%(who)s asked to %(what)s; the Engine refused: %(reason)s"),
    "approval.granted": N_("%(who)s approved: %(what)s."),
    "approval.rejected": N_("%(who)s rejected: %(what)s."),
    "approval.refused": N_("%(who)s could not approve %(what)s: %(reason)s"),
    "approval.expired": N_("Nobody approved %(what)s in time; it expired."),
    "job.created": N_("The Engine gave your agent the job: %(what)s."),
    "job.leased": N_("%(who)s started: %(what)s."),
    "job.lease_expired": N_("%(who)s did not finish in time; the job waits again: %(what)s."),
    "job.executed": N_("%(who)s reported what it did: %(what)s."),
    "job.expired": N_("The job expired before your agent ran it: %(what)s."),
    "actor.created": N_("%(name)s was given access as %(role)s."),
    "actor.revoked": N_("The access of %(name)s was revoked."),
    "actor.token_reissued": N_("%(name)s got a new token; the old one stopped working."),
    "contract.registered": N_("The contract %(ref)s was registered."),
    "contract.release_approved": N_("%(who)s approved the contract %(ref)s."),
    "contract.released": N_("The contract %(ref)s is in force."),
    "department.activated": N_("The department %(department)s was activated."),
    "institution.created": N_("The institution was created."),
    "institution.admin_key_bootstrapped": N_("The institution's admin key was issued."),
    "witness.alarm": N_("A witness raised an alarm: %(problem)s"),
}
RESULTS = {
    "succeeded": N_("Done: %(what)s."),
    "failed": N_("Failed: %(what)s."),
    "refused": N_("Your agent refused: %(what)s."),
}
GROUPS = {"proposal": "requests", "approval": "approvals", "job": "execution"}


@dataclass(frozen=True)
class Person:
    name: str
    role: str


@dataclass(frozen=True)
class Entry:
    seq: int
    ts: str
    when: str  # relative: "3 minutes ago" / "há 3 minutos"
    at: str  # absolute, in the reader's time zone
    sentence: str
    who: str  # the person (or agent) it names, for the filter
    group: str
    type: str
    raw: dict[str, Any]


def relative(ts: str, now: datetime | None = None) -> str:
    try:
        moment = datetime.fromisoformat(ts.replace("Z", "+00:00"))
    except ValueError:
        return ts
    delta = moment - (now or datetime.now(UTC))
    return format_timedelta(
        delta, add_direction=True, threshold=1.1, locale=Locale.parse(i18n.current())
    )


class Reader:
    """Turns events into entries, knowing the people (actor id -> name and role) and, per
    case, what was asked (so an approval says what it approved)."""

    def __init__(
        self,
        people: dict[str, Person],
        summary: Any,  # (action, params) -> the words for it, sizes included where known
    ) -> None:
        self.people, self.summary = people, summary
        self.asked: dict[str, tuple[str, dict[str, Any]]] = {}

    def name(self, actor_id: str | None) -> str:
        if actor_id in (None, "", "engine"):
            return _("The Engine")
        if actor_id == "institution_admin":
            return _("The administrator")
        person = self.people.get(actor_id)
        if person is None:
            return str(actor_id)
        if person.role == "organizational_agent":
            return _("Your agent")
        return person.name

    def read(self, events: list[dict[str, Any]], now: datetime | None = None) -> list[Entry]:
        for event in sorted(events, key=lambda e: e["seq"]):  # what was asked comes first
            payload = event["payload"]
            if "action" in payload and event["case_id"] and event["case_id"] not in self.asked:
                self.asked[event["case_id"]] = (payload["action"], payload.get("params") or {})
        return [self.entry(event, now) for event in events]

    def what(self, event: dict[str, Any]) -> str:
        payload = event["payload"]
        asked = self.asked.get(event["case_id"] or "")
        if asked is None and "action" in payload:
            asked = (payload["action"], payload.get("params") or {})
        return str(self.summary(*asked)) if asked else _("a request")

    def entry(self, event: dict[str, Any], now: datetime | None = None) -> Entry:
        payload, kind = event["payload"], event["type"]
        who_id = payload.get("requested_by") or event["actor"]
        if kind.startswith(("approval.", "job.", "contract.")):
            who_id = event["actor"]
        subject = payload.get("actor_id") or payload.get("id")
        params = {
            "who": self.name(who_id),
            "what": self.what(event) if kind.split(".")[0] in GROUPS else "",
            "reason": engine_words.reason(
                payload.get("reason_code") or payload.get("code"),
                payload.get("reason_args"),
                payload.get("reason") or payload.get("code") or "",
            ),
            # Someone this institution knows by the reader's words (the person's email, "your
            # agent"), else the name the event recorded.
            "name": self.name(subject)
            if subject in self.people
            else payload.get("name") or self.name(subject),
            "role": letters.role_name(payload.get("role", "")),
            "ref": payload.get("ref") or payload.get("contract_ref") or "",
            "department": payload.get("department") or payload.get("code") or "",
            "problem": payload.get("problem") or "",
        }
        if kind == "job.result":
            template = RESULTS.get(payload.get("status", ""), N_("Finished: %(what)s."))
        else:
            template = SENTENCES.get(kind, "")
        sentence = _(template, **params) if template else kind
        return Entry(
            seq=event["seq"],
            ts=event["ts"],
            when=relative(event["ts"], now),
            at=i18n.when(event["ts"]),
            sentence=sentence,
            who=str(who_id or ""),
            group=GROUPS.get(kind.split(".")[0], "other"),
            type=kind,
            raw=event,
        )
