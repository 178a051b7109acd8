"""Email verification and password reset, end to end through a real SMTP server: single-use,
time-limited links; a reset ends every session; bad links change nothing."""

import psycopg

from tests.support.console_api import ConsoleUser
from tests.support.smtp import link_in


def reset_link(user: ConsoleUser, mailbox, skip: int = 0) -> str:
    asked = user.post("/api/password/forgot", {"email": user.email.upper()})
    assert asked.status_code == 202 and asked.json() == {"sent": True}
    message = mailbox.wait_for(user.email, "Reset", skip=skip)
    return link_in(message, "/reset?token=").removeprefix("/reset?token=")


def reset_mails(database_url: str, email: str) -> int:
    """How many reset emails the outbox holds for `email` (sent or not)."""
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "SELECT COUNT(*) FROM outbox WHERE recipient=%s AND kind='password_reset'", (email,)
        ).fetchone()
    assert row is not None
    return int(row[0])


def test_a_forgotten_password_is_reset_once_and_every_session_ends(
    make_user, mailbox, console, console_database_url
):
    user = make_user().sign_up()
    laptop = ConsoleUser(console)  # a second computer, signed in too
    laptop.email = user.email
    signed = laptop.post("/api/login", {"email": user.email, "password": user.password})
    assert signed.status_code == 200

    token = reset_link(user, mailbox)
    page = user.http.get(f"/reset?token={token}", headers={"Accept": "text/html"})
    assert page.status_code == 200 and "reset-form" in page.text
    short = user.post("/api/password/reset", {"token": token, "password": "short"})
    assert short.status_code == 400 and short.json()["error"]["code"] == "bad_password"
    done = user.post("/api/password/reset", {"token": token, "password": "a brand new secret"})
    assert done.status_code == 200, done.text
    assert done.json()["sessions_ended"] == 2
    assert laptop.get("/api/session").json()["user"] is None  # the other computer too
    laptop.http.close()

    again = make_user().post("/api/password/reset", {"token": token, "password": "x" * 12})
    assert again.status_code == 410 and again.json()["error"]["code"] == "link_used"
    # The sent message no longer holds its link (the outbox keeps what, to whom and when).
    with psycopg.connect(console_database_url) as conn:
        kept = conn.execute(
            "SELECT body, sent_at FROM outbox WHERE recipient=%s AND kind='password_reset'",
            (user.email,),
        ).fetchall()
    assert kept and all(body == "" and sent_at for body, sent_at in kept)
    fresh = make_user()
    old = fresh.post("/api/login", {"email": user.email, "password": user.password})
    assert old.status_code == 401
    new = fresh.post("/api/login", {"email": user.email, "password": "a brand new secret"})
    assert new.status_code == 200
    assert fresh.get("/api/session").json()["user"]["email_verified_at"]  # the link proved it


def test_an_unknown_email_gets_the_same_answer_and_no_mail(make_user, mailbox):
    stranger = make_user()
    asked = stranger.post("/api/password/forgot", {"email": "nobody@example.org"})
    assert asked.status_code == 202 and asked.json() == {"sent": True}
    bad = stranger.post("/api/password/forgot", {"email": "not an email"})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "bad_email"
    user = make_user().sign_up()  # its confirmation email shows the postman has run since
    mailbox.wait_for(user.email, "Confirm")
    assert mailbox.to("nobody@example.org") == []


def test_forged_and_expired_links_change_nothing(make_user, mailbox, console_database_url):
    user = make_user().sign_up()
    token = reset_link(user, mailbox)
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    refused = user.post("/api/password/reset", {"token": forged, "password": "x" * 12})
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "bad_link"
    for junk in (None, "", 42, "x" * 600):
        assert (
            user.post("/api/password/reset", {"token": junk, "password": "x" * 12}).status_code
            == 400
        )
    # A link issued before the password last changed is dead, even unexpired.
    second = reset_link(user, mailbox, skip=len(mailbox.messages))
    assert (
        user.post("/api/password/reset", {"token": second, "password": "y" * 12}).status_code == 200
    )
    stale = make_user().post("/api/password/reset", {"token": token, "password": "z" * 12})
    assert stale.json()["error"]["code"] == "link_used"
    assert reset_mails(console_database_url, user.email) == 2


def test_resets_to_one_address_are_limited(make_user, mailbox, console_database_url):
    user = make_user().sign_up()
    for _ in range(5):
        assert user.post("/api/password/forgot", {"email": user.email}).status_code == 202
    assert reset_mails(console_database_url, user.email) == 3


def test_the_email_is_confirmed_by_its_link_once(make_user, mailbox):
    user = make_user().sign_up()
    assert user.get("/api/session").json()["user"]["email_verified_at"] is None
    message = mailbox.wait_for(user.email, "Confirm")
    path = link_in(message, "/verify?token=")
    first = user.http.get(path, headers={"Accept": "text/html"})
    assert first.status_code == 200 and "is confirmed" in first.text
    assert user.get("/api/session").json()["user"]["email_verified_at"]
    second = user.http.get(path, headers={"Accept": "text/html"})
    assert "already confirmed" in second.text
    assert user.post("/api/email/verify-again", {}).json() == {"sent": False}
    bad = user.http.get("/verify?token=nonsense", headers={"Accept": "text/html"})
    assert bad.status_code == 200 and "not valid" in bad.text


def test_a_failing_smtp_server_is_retried_and_the_mail_arrives(make_user, mailbox):
    mailbox.refuse = 1  # the first delivery gets "451 try again later"
    user = make_user().sign_up()
    message = mailbox.wait_for(user.email, "Confirm", timeout=30)
    assert "/verify?token=" in link_in(message, "/verify?token=")
