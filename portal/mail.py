"""Email through SMTP, never on a request's path: a message is written to the outbox in the same
transaction as what it tells about, and the postman thread delivers it, retrying with backoff,
recording when it was sent or why it finally was not. Once sent (or given up on) a message's
body is forgotten: it may hold a single-use link."""

import logging
import smtplib
import ssl
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import make_msgid, parseaddr

from kernel.ids import new_id
from kernel.times import stamp, stamp_now
from portal.db import Database, Tx
from portal.rounds import Rounds

log = logging.getLogger("libervia.mail")
MAX_ATTEMPTS = 6
FIRST_RETRY = timedelta(seconds=30)  # then doubled each time: 30 s, 1 min, 2 min, 4 min, 8 min


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    sender: str
    username: str = ""
    password: str = ""
    security: str = "starttls"  # starttls | tls | none
    timeout: float = 20


@dataclass(frozen=True)
class Mail:
    id: str
    recipient: str
    subject: str
    body: str
    attempts: int


def enqueue(tx: Tx, recipient: str, kind: str, subject: str, body: str) -> str:
    """A message to send once `tx` commits (and only if it does)."""
    message_id = new_id("mail")
    one_line = " ".join(subject.split())[:200]  # a name with a line break cannot add a header
    tx.execute(
        "INSERT INTO outbox (id, recipient, kind, subject, body, created_at, next_attempt_at)"
        " VALUES (?,?,?,?,?,?,?)",
        (message_id, recipient, kind, one_line, body, stamp_now(), stamp_now()),
    )
    return message_id


def due(db: Database, limit: int = 20) -> list[Mail]:
    """Messages to send now; each is claimed (its next attempt moved on) so that another
    postman, in another console process, does not send it too."""
    moment = datetime.now(UTC)
    claimed = []
    with db.transaction() as tx:
        rows = tx.all(
            "SELECT id, recipient, subject, body, attempts FROM outbox WHERE sent_at IS NULL"
            " AND failed_at IS NULL AND next_attempt_at <= ? ORDER BY created_at LIMIT ?",
            (stamp(moment), limit),
        )
        for row in rows:
            if tx.execute(
                "UPDATE outbox SET next_attempt_at=? WHERE id=? AND next_attempt_at <= ?"
                " AND sent_at IS NULL",
                (stamp(moment + timedelta(minutes=5)), row["id"], stamp(moment)),
            ):
                claimed.append(Mail(**row))
    return claimed


def record_sent(db: Database, mail: Mail) -> None:
    with db.transaction() as tx:
        tx.execute(
            "UPDATE outbox SET sent_at=?, attempts=?, body='' WHERE id=?",
            (stamp_now(), mail.attempts + 1, mail.id),
        )


def record_failure(
    db: Database, mail: Mail, error: str, first_retry: timedelta = FIRST_RETRY
) -> None:
    """Retried later with backoff; after MAX_ATTEMPTS it is marked failed, with the reason."""
    attempts = mail.attempts + 1
    retry = datetime.now(UTC) + first_retry * 2 ** (attempts - 1)
    given_up = attempts >= MAX_ATTEMPTS
    with db.transaction() as tx:
        tx.execute(
            "UPDATE outbox SET attempts=?, last_error=?, next_attempt_at=?, failed_at=? WHERE id=?",
            (attempts, error[:500], stamp(retry), stamp_now() if given_up else None, mail.id),
        )
        if given_up:
            tx.execute("UPDATE outbox SET body='' WHERE id=?", (mail.id,))


def deliver(settings: SmtpSettings, mail: Mail) -> None:
    message = EmailMessage()
    message["From"] = settings.sender
    message["To"] = mail.recipient
    message["Subject"] = mail.subject
    message["Message-ID"] = make_msgid(domain=parseaddr(settings.sender)[1].rpartition("@")[2])
    message.set_content(mail.body)
    if settings.security == "tls":
        smtp: smtplib.SMTP = smtplib.SMTP_SSL(
            settings.host,
            settings.port,
            timeout=settings.timeout,
            context=ssl.create_default_context(),
        )
    else:
        smtp = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
    with smtp:
        if settings.security == "starttls":
            smtp.starttls(context=ssl.create_default_context())
        if settings.username:
            smtp.login(settings.username, settings.password)
        smtp.send_message(message, to_addrs=[mail.recipient])


class Postman:
    """Sends what is due, in rounds (`portal.rounds`): when woken (something was enqueued) or
    every `interval` seconds (retries, and messages other processes enqueued)."""

    def __init__(
        self,
        db: Database,
        settings: SmtpSettings,
        interval: float = 5,
        first_retry: timedelta = FIRST_RETRY,
    ) -> None:
        self.db, self.settings, self.first_retry = db, settings, first_retry
        self.rounds = Rounds("postman", self.send_due, interval)
        self.start, self.wake, self.stop = self.rounds.start, self.rounds.wake, self.rounds.stop

    def send_due(self) -> int:
        sent = 0
        for mail in due(self.db):
            try:
                deliver(self.settings, mail)
            except (OSError, ValueError, smtplib.SMTPException) as exc:
                log.warning("mail %s not sent: %s", mail.id, exc)
                record_failure(self.db, mail, f"{type(exc).__name__}: {exc}", self.first_retry)
                continue
            record_sent(self.db, mail)
            sent += 1
        return sent
