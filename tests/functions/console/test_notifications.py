"""Notices: an approval waiting and about to expire, a failed job, an agent offline; in the
portal (with an unread badge) and by email to a real SMTP server, unless turned off."""

from tests.functions.console.test_members import invited, join
from tests.support.console_api import ConsoleUser
from tests.support.portal_agent import agent_for, chat_until_proposed, settled
from tests.support.smtp import link_in


def confirmed(user: ConsoleUser, mailbox) -> ConsoleUser:
    path = link_in(mailbox.wait_for(user.email, "Confirm"), "/verify?token=")
    assert user.http.get(path).status_code == 200
    return user


def test_people_are_told_what_needs_them_by_email_and_in_the_portal(
    watching_console, mailbox, engine, tmp_path
):
    owner = confirmed(ConsoleUser(watching_console).sign_up(), mailbox)
    package = owner.onboard()
    assistant = join(ConsoleUser(watching_console), invited(owner, mailbox, "assist@example.org"))
    assistant.email = "assist@example.org"
    off = owner.post("/api/notifications/choices", {"email": {"job_failed": False}})
    assert off.status_code == 200 and off.json()["email"]["job_failed"] is False
    folder = tmp_path / "root"
    folder.mkdir()
    (folder / "old.txt").write_bytes(b"old notes")

    with agent_for(package, engine, folder, tmp_path):
        asked = chat_until_proposed(assistant, "delete old.txt")
        assert asked["decision"] == "pending_approval", asked
        waiting = mailbox.wait_for(owner.email, "Waiting for your approval")
        assert "delete old.txt" in str(waiting["Subject"])
        assert "/approvals" in link_in(waiting, "/approvals")
        mailbox.wait_for(owner.email, "Expires")
        assert owner.get("/api/notifications").json()["unread"] >= 2
        page = owner.http.get("/dashboard", headers={"Accept": "text/html"})
        assert 'id="unread"' in page.text
        # The assistant asked for it, so nobody asks them to approve it.
        kinds = [n["kind"] for n in assistant.get("/api/notifications").json()["notices"]]
        assert "approval_waiting" not in kinds

        (folder / "old.txt").write_bytes(b"changed since the listing")  # the agent refuses
        digest = next(
            p["digest"]
            for p in owner.get("/api/approvals").json()["pending"]
            if p["proposal_id"] == asked["proposal_id"]
        )
        approved = owner.post(f"/api/approvals/{asked['proposal_id']}/approve", {"digest": digest})
        assert approved.status_code == 200, approved.text
        assert settled(owner, asked["proposal_id"])["state"] != "done"
        failed = mailbox.wait_for(assistant.email, "A job did not run")
        assert "delete" in str(failed["Subject"])
    assert (folder / "old.txt").read_bytes() == b"changed since the listing"

    mailbox.wait_for(owner.email, "offline")  # the agent stopped with the block above
    notices = owner.get("/api/notifications").json()["notices"]
    assert {"approval_waiting", "approval_expiring", "job_failed", "agent_offline"} <= {
        n["kind"] for n in notices
    }
    assert not [m for m in mailbox.to(owner.email) if "did not run" in str(m["Subject"])]
    listed = owner.http.get("/notifications", headers={"Accept": "text/html"})
    assert "A job did not run" in listed.text
    assert owner.get("/api/notifications").json()["unread"] == 0
    # Every notice came once, however many rounds saw it.
    subjects = [str(m["Subject"]) for m in mailbox.to(owner.email)]
    assert sum("Waiting for your approval" in s for s in subjects) == 1
    owner.http.close()
    assistant.http.close()


def test_bad_choices_are_refused_and_change_nothing(make_user):
    user = make_user().sign_up()
    for bad in (None, {}, {"job_failed": "no"}, {"everything": False}, ["job_failed"]):
        refused = user.post("/api/notifications/choices", {"email": bad})
        assert refused.status_code == 400 and refused.json()["error"]["code"] == "bad_choices"
    assert all(user.get("/api/notifications").json()["email"].values())
    assert make_user().get("/api/notifications").status_code == 401
