"""The outbox and the postman against a real SMTP server: a subject cannot add headers, a
message that cannot be sent is retried with backoff and finally marked failed with why."""

from datetime import timedelta

import pytest

from harness.servers import free_port
from portal import mail
from portal.migrations import migrate
from tests.support.databases import accounts_database
from tests.support.smtp import smtp_server


@pytest.fixture
def db(tmp_path):
    with accounts_database("sqlite", tmp_path) as database:
        migrate(database)
        yield database


def postman(db, port: int) -> mail.Postman:
    settings = mail.SmtpSettings(
        "127.0.0.1", port, "Libervia <noreply@libervia.test>", security="none"
    )
    return mail.Postman(db, settings, first_retry=timedelta(0))


def test_a_line_break_in_a_subject_adds_no_header(db):
    with smtp_server() as box:
        with db.transaction() as tx:
            mail.enqueue(tx, "ana@example.org", "test", "Ana's files\r\nBcc: eve@example.org", "hi")
        assert postman(db, box.port).send_due() == 1
        message = box.wait_for("ana@example.org")
    assert message["Bcc"] is None
    assert message["Subject"] == "Ana's files Bcc: eve@example.org"


def test_an_unreachable_server_is_retried_then_marked_failed(db):
    with db.transaction() as tx:
        mail.enqueue(tx, "ana@example.org", "test", "hello", "body")
    nobody = postman(db, free_port())  # nothing listens there
    for _ in range(mail.MAX_ATTEMPTS):
        assert nobody.send_due() == 0
        with db.transaction() as tx:  # due again at once (first_retry=0), until it failed
            tx.execute("UPDATE outbox SET next_attempt_at='2000-01-01T00:00:00Z'")
    with db.transaction() as tx:
        row = tx.one("SELECT attempts, sent_at, failed_at, last_error FROM outbox")
    assert row["attempts"] == mail.MAX_ATTEMPTS and row["sent_at"] is None
    assert row["failed_at"] and "ConnectionRefused" in row["last_error"]
    assert nobody.send_due() == 0  # a failed message is not tried again
