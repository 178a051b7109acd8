"""More than one person: the owner invites an assistant and an auditor by an emailed link; each
gets an engine actor of their own, so the ledger names who asked and who approved; removing a
member revokes their actor and ends their sessions. Real console, engine, PostgreSQL, SMTP
server and agent."""

import psycopg
import pytest

from tests.support.console_api import ConsoleUser
from tests.support.portal_agent import agent_for, chat_until_proposed, settled
from tests.support.smtp import link_in


def invited(owner: ConsoleUser, mailbox, email: str, role: str = "executive_admin") -> str:
    """The token of the invitation the owner sends to `email` (read from the email itself)."""
    before = len(mailbox.messages)
    sent = owner.post("/api/invitations", {"email": email, "role": role})
    assert sent.status_code == 201, sent.text
    message = mailbox.wait_for(email.lower(), "invited you", skip=before)
    return link_in(message, "/invite?token=").removeprefix("/invite?token=")


def join(person: ConsoleUser, token: str) -> ConsoleUser:
    accepted = person.post("/api/invitations/accept", {"token": token, "password": person.password})
    assert accepted.status_code == 201, accepted.text
    person.csrf = accepted.json()["csrf_token"]
    return person


def test_the_assistant_asks_the_owner_approves_and_the_ledger_names_both(
    make_user, mailbox, engine, tmp_path
):
    owner = make_user().sign_up()
    package = owner.onboard()
    folder = tmp_path / "root"
    folder.mkdir()
    (folder / "old.txt").write_bytes(b"old notes")
    assistant = make_user()
    token = invited(owner, mailbox, assistant.email)

    page = assistant.http.get(f"/invite?token={token}", headers={"Accept": "text/html"})
    assert page.status_code == 200 and "Ana&#39;s files" in page.text
    join(assistant, token)
    reused = make_user().post("/api/invitations/accept", {"token": token, "password": "x" * 12})
    assert reused.status_code == 410 and reused.json()["error"]["code"] == "invitation_used"

    roster = owner.get("/api/members").json()
    roles = {m["email"]: m["role"] for m in roster["members"]}
    assert roles == {owner.email: "owner", assistant.email: "executive_admin"}
    assistant_actor = next(m["actor_id"] for m in roster["members"] if m["role"] != "owner")
    assert assistant.get("/api/dashboard").json()["role"] == "executive_admin"

    with agent_for(package, engine, folder, tmp_path):
        asked = chat_until_proposed(assistant, "delete old.txt")
        assert asked["decision"] == "pending_approval", asked
        pending = assistant.get("/api/approvals").json()["pending"]
        mine = next(p for p in pending if p["proposal_id"] == asked["proposal_id"])
        refused = assistant.post(
            f"/api/approvals/{asked['proposal_id']}/approve", {"digest": mine["digest"]}
        )
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "self_approval"
        approved = owner.post(
            f"/api/approvals/{asked['proposal_id']}/approve", {"digest": mine["digest"]}
        )
        assert approved.status_code == 200, approved.text
        assert settled(owner, asked["proposal_id"])["state"] == "done"
    assert not (folder / "old.txt").exists()

    case = [e for e in owner.get("/api/audit").json()["events"] if e["case_id"] == asked["case_id"]]
    proposed = next(e for e in case if e["type"] == "proposal.pending_approval")
    granted = next(e for e in case if e["type"] == "approval.granted")
    assert proposed["payload"]["requested_by"] == assistant_actor
    assert granted["actor"] != assistant_actor
    assert granted["actor"] == owner.get("/api/members").json()["members"][0]["actor_id"]
    # The timeline names them, and shows one person's doings on request.
    theirs = owner.get("/api/audit", person=assistant_actor).json()
    assert theirs["timeline"] and {e["who"] for e in theirs["timeline"]} == {assistant_actor}
    assert any(
        e["sentence"].startswith(f"{assistant.email} asked to delete old.txt")
        for e in theirs["timeline"]
    )
    assert assistant.email in {p["name"] for p in theirs["people"]}
    bad = owner.get("/api/audit", person="'; DROP TABLE")
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "bad_person"


def test_an_auditor_reads_everything_and_can_neither_ask_nor_invite(make_user, mailbox):
    owner = make_user().sign_up()
    owner.onboard()
    auditor = join(make_user(), invited(owner, mailbox, "Audit.Person@Example.org", "auditor"))
    assert auditor.get("/api/audit").status_code == 200
    assert auditor.get("/api/members").json()["invitations"] == []  # the owner's to see
    denied = auditor.post("/api/chat", {"text": "list files"}).json()
    assert denied["decision"] == "denied" and "auditor" in denied["reason"]
    refused = auditor.post("/api/invitations", {"email": "x@example.org", "role": "auditor"})
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "owner_only"
    assert auditor.post("/api/agent-token", {}).status_code == 403


def test_removing_a_member_revokes_their_actor_and_ends_their_sessions(make_user, mailbox):
    owner = make_user().sign_up()
    owner.onboard()
    assistant = join(make_user(), invited(owner, mailbox, "helper@example.org"))
    assistant.email = "helper@example.org"
    member_id = next(
        m["user_id"] for m in owner.get("/api/members").json()["members"] if m["role"] != "owner"
    )
    assert assistant.post(f"/api/members/{member_id}/remove", {}).status_code == 403
    removed = owner.post(f"/api/members/{member_id}/remove", {})
    assert removed.status_code == 200, removed.text
    assert assistant.get("/api/dashboard").status_code == 401  # the session ended
    events = owner.get("/api/audit").json()["events"]
    assert [e["type"] for e in events].count("actor.revoked") == 1
    assert owner.get("/api/members").json()["members"][-1]["role"] == "owner"
    again = owner.post(f"/api/members/{member_id}/remove", {})
    assert again.status_code == 404 and again.json()["error"]["code"] == "member_not_found"
    # Signing in again opens an account that belongs to no institution any more.
    back = ConsoleUser(owner.http.base_url.__str__().rstrip("/"))
    signed = back.post("/api/login", {"email": "helper@example.org", "password": back.password})
    assert signed.status_code == 200
    assert back.get("/api/dashboard").json()["error"]["code"] == "not_onboarded"
    back.http.close()


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"email": "not-an-email", "role": "auditor"}, 400, "bad_email"),
        ({"email": "x@example.org,victim@example.com", "role": "auditor"}, 400, "bad_email"),
        ({"email": "a@example.org", "role": "owner"}, 400, "bad_role"),
        ({"email": "a@example.org"}, 400, "bad_role"),
    ],
)
def test_a_bad_invitation_is_refused_and_sends_nothing(
    make_user, console_database_url, body, status, code
):
    owner = make_user().sign_up()
    owner.onboard()
    refused = owner.post("/api/invitations", body)
    assert refused.status_code == status and refused.json()["error"]["code"] == code
    assert owner.get("/api/members").json()["invitations"] == []
    with psycopg.connect(console_database_url) as conn:
        kinds = conn.execute("SELECT kind FROM outbox").fetchall()
    assert kinds == [("verify_email",)]


def test_inviting_a_member_again_is_refused(make_user, mailbox):
    owner = make_user().sign_up()
    owner.onboard()
    join(make_user(), invited(owner, mailbox, "twice@example.org"))
    again = owner.post("/api/invitations", {"email": "TWICE@example.org", "role": "auditor"})
    assert again.status_code == 409 and again.json()["error"]["code"] == "already_member"
    self_invite = owner.post("/api/invitations", {"email": owner.email, "role": "auditor"})
    assert self_invite.status_code == 409


def test_expired_withdrawn_and_unknown_links_change_nothing(
    make_user, mailbox, console_database_url
):
    owner = make_user().sign_up()
    owner.onboard()
    late = invited(owner, mailbox, "late@example.org")
    with psycopg.connect(console_database_url) as conn:
        conn.execute(
            "UPDATE invitations SET expires_at='2000-01-01T00:00:00Z' WHERE email=%s",
            ("late@example.org",),
        )
    person = make_user()
    expired = person.post("/api/invitations/accept", {"token": late, "password": person.password})
    assert expired.status_code == 410 and expired.json()["error"]["code"] == "invitation_expired"

    first = invited(owner, mailbox, "changed@example.org")
    second = invited(owner, mailbox, "changed@example.org")  # the newer link replaces it
    replaced = person.post("/api/invitations/accept", {"token": first, "password": person.password})
    assert replaced.json()["error"]["code"] == "invitation_withdrawn"
    waiting = owner.get("/api/members").json()["invitations"]
    assert {i["email"]: i["state"] for i in waiting} == {
        "late@example.org": "expired",
        "changed@example.org": "pending",
    }
    withdrawn_id = next(i["id"] for i in waiting if i["email"] == "changed@example.org")
    assert owner.post(f"/api/invitations/{withdrawn_id}/withdraw", {}).status_code == 200
    gone = person.post("/api/invitations/accept", {"token": second, "password": person.password})
    assert gone.json()["error"]["code"] == "invitation_withdrawn"

    unknown = person.post("/api/invitations/accept", {"token": "x" * 43, "password": "y" * 12})
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "invitation_not_found"
    page = person.http.get("/invite?token=" + "x" * 43, headers={"Accept": "text/html"})
    assert page.status_code == 200 and "not valid" in page.text
    assert [m["role"] for m in owner.get("/api/members").json()["members"]] == ["owner"]
    assert person.get("/api/session").json()["user"] is None


def test_an_existing_account_joins_only_when_signed_in_as_the_invited_address(make_user, mailbox):
    owner = make_user().sign_up()
    owner.onboard()
    person = make_user().sign_up()  # has an account, not onboarded
    token = invited(owner, mailbox, person.email)
    stranger = make_user()
    taken = stranger.post("/api/invitations/accept", {"token": token, "password": "z" * 12})
    assert taken.status_code == 409 and taken.json()["error"]["code"] == "sign_in_first"
    joined = person.post("/api/invitations/accept", {"token": token})
    assert joined.status_code == 201, joined.text
    person.csrf = joined.json()["csrf_token"]
    other_owner = make_user().sign_up()
    other_owner.onboard()
    busy = invited(other_owner, mailbox, person.email)
    refused = person.post("/api/invitations/accept", {"token": busy})
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "already_member"
