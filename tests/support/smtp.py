"""A real SMTP server (aiosmtpd) on a free port, keeping every message it receives."""

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from harness.servers import free_port


@dataclass
class Mailbox:
    host: str
    port: int
    messages: list[EmailMessage] = field(default_factory=list)
    arrived: threading.Condition = field(default_factory=threading.Condition)
    refuse: int = 0  # answer this many next messages with a temporary failure

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        with self.arrived:
            if self.refuse:
                self.refuse -= 1
                return "451 try again later"
            raw = envelope.content if isinstance(envelope.content, bytes) else b""
            self.messages.append(message_from_bytes(raw, policy=policy.default))  # type: ignore[arg-type]
            self.arrived.notify_all()
        return "250 OK"

    def wait_for(
        self, to: str, subject_has: str = "", timeout: float = 20, skip: int = 0
    ) -> EmailMessage:
        """The first message to `to` (whose subject contains `subject_has`) after the first
        `skip` messages received, once it arrives."""

        def found() -> EmailMessage | None:
            for message in self.messages[skip:]:
                if message["To"] == to and subject_has in str(message["Subject"]):
                    return message
            return None

        with self.arrived:
            if not self.arrived.wait_for(lambda: found() is not None, timeout):
                raise AssertionError(f"no message to {to} ({subject_has!r}) in {timeout} s")
            message = found()
            assert message is not None
            return message

    def to(self, address: str) -> list[EmailMessage]:
        with self.arrived:
            return [m for m in self.messages if m["To"] == address]


@contextmanager
def smtp_server() -> Iterator[Mailbox]:
    port = free_port()
    mailbox = Mailbox("127.0.0.1", port)
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield mailbox
    finally:
        controller.stop()


def body(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    return str(part.get_content())  # type: ignore[attr-defined]


def link_in(message: EmailMessage, path: str) -> str:
    """The path (with its token) of the first link in the message under `path`."""
    for word in body(message).split():
        if path in word:
            return word[word.index(path) :]
    raise AssertionError(f"no {path} link in {body(message)!r}")


def smtp_env(mailbox: Mailbox) -> dict[str, str]:
    """The console's settings for sending through `mailbox` (plain SMTP on loopback)."""
    return {
        "SMTP_HOST": mailbox.host,
        "SMTP_PORT": str(mailbox.port),
        "SMTP_SECURITY": "none",
        "SMTP_FROM": "Libervia <noreply@libervia.test>",
        "CONSOLE_MAIL_INTERVAL_SECONDS": "0.5",
        "CONSOLE_MAIL_RETRY_SECONDS": "1",
    }
