"""The ledger in sentences: names instead of ids, what was asked carried to the approval, the
reader's language and relative times."""

from datetime import UTC, datetime

from portal import i18n
from portal.timeline import Person, Reader

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
PEOPLE = {
    "act_ana": Person("ana@example.org", "owner"),
    "act_bia": Person("bia@example.org", "executive_admin"),
    "act_bot": Person("Agent", "organizational_agent"),
}
EVENTS = [
    {
        "seq": 7,
        "ts": "2026-12-02T11:57:00Z",
        "type": "approval.granted",
        "actor": "act_ana",
        "case_id": "case_1",
        "payload": {"proposal_id": "prop_1", "role": "owner"},
    },
    {
        "seq": 6,
        "ts": "2026-12-02T09:00:00Z",
        "type": "proposal.pending_approval",
        "actor": "act_bot",
        "case_id": "case_1",
        "payload": {
            "action": "delete",
            "params": {"path": "Downloads/vídeo (cópia).mp4"},
            "requested_by": "act_bia",
        },
    },
    {
        "seq": 5,
        "ts": "2026-12-01T12:00:00Z",
        "type": "actor.created",
        "actor": "institution_admin",
        "case_id": None,
        "payload": {"id": "act_bia", "name": "bia@example.org", "role": "executive_admin"},
    },
    {
        "seq": 4,
        "ts": "x",
        "type": "something.new",
        "actor": "engine",
        "case_id": None,
        "payload": {},
    },
]


def summary(action, params):
    return f"{'apagar' if i18n.current() == 'pt_BR' else 'delete'} {params['path']} (62,9 MB)"


def read(locale):
    i18n.use(locale)
    try:
        return Reader(PEOPLE, summary).read(EVENTS, now=NOW)
    finally:
        i18n.use("en")


def test_who_did_what_in_english():
    approved, asked, joined, unknown = read("en")
    assert (
        approved.sentence
        == "ana@example.org approved: delete Downloads/vídeo (cópia).mp4 (62,9 MB)."
    )
    assert approved.when == "3 minutes ago" and approved.who == "act_ana"
    assert asked.sentence.startswith("bia@example.org asked to delete Downloads/vídeo")
    assert asked.who == "act_bia" and asked.when == "3 hours ago"
    assert (
        joined.sentence == "bia@example.org was given access as assistant (proposes and approves)."
    )
    assert unknown.sentence == "something.new" and unknown.when == "x"  # never hidden
    assert approved.raw is EVENTS[0]


def test_who_did_what_in_portuguese():
    approved, asked, joined, _ = read("pt_BR")
    assert (
        approved.sentence
        == "ana@example.org aprovou: apagar Downloads/vídeo (cópia).mp4 (62,9 MB)."
    )
    assert approved.when == "há 3 minutos"
    assert asked.sentence.endswith("aguarda aprovação.")
    assert joined.when == "há 24 horas"


def test_seats_are_named_as_the_reader_knows_them_not_as_recorded():
    """Onboarding records its actors by English names ("Agent", "Owner"): the timeline says
    who they are to the reader instead."""
    made = {
        "seq": 3,
        "ts": "2026-12-01T12:00:00Z",
        "type": "actor.created",
        "actor": "institution_admin",
        "case_id": None,
        "payload": {"id": "act_bot", "name": "Agent", "role": "organizational_agent"},
    }
    owner = {**made, "payload": {"id": "act_ana", "name": "Owner", "role": "owner"}}
    i18n.use("pt_BR")
    try:
        agent, person = Reader(PEOPLE, summary).read([made, owner], now=NOW)
    finally:
        i18n.use("en")
    assert agent.sentence == "Seu agente recebeu acesso como agente (executa o que é permitido)."
    assert person.sentence == "ana@example.org recebeu acesso como proprietário."
