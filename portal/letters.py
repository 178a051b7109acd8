"""The words of each email, in the recipient's language (plain text: every mail client reads
it, and nothing in it runs)."""

from dataclasses import dataclass

from portal import i18n
from portal.i18n import _

ROLE_NAMES = {
    "owner": i18n.N_("owner"),
    "executive_admin": i18n.N_("assistant (proposes and approves)"),
    "auditor": i18n.N_("auditor (reads only)"),
    "organizational_agent": i18n.N_("agent (runs what is allowed)"),
}


@dataclass(frozen=True)
class Letter:
    subject: str
    body: str


def role_name(role: str) -> str:
    return _(ROLE_NAMES[role]) if role in ROLE_NAMES else role


def _signed(*paragraphs: str) -> str:
    return "\n\n".join((*paragraphs, "— Libervia Personal Ops")) + "\n"


def invitation(locale: str | None, inviter: str, institution: str, role: str, link: str) -> Letter:
    with i18n.speaking(locale):
        return Letter(
            _(
                "%(inviter)s invited you to %(institution)s",
                inviter=inviter,
                institution=institution,
            ),
            _signed(
                _(
                    "%(inviter)s invited you to %(institution)s on Libervia Personal Ops as"
                    " %(role)s.",
                    inviter=inviter,
                    institution=institution,
                    role=role_name(role),
                ),
                _("Accept the invitation (the link works once, for 7 days):") + f"\n{link}",
                _("If you did not expect this, ignore this email; nothing changes."),
            ),
        )


def password_reset(locale: str | None, link: str) -> Letter:
    with i18n.speaking(locale):
        return Letter(
            _("Reset your Libervia password"),
            _signed(
                _("Someone asked to reset the password of this account.")
                + "\n"
                + _("Choose a new password (the link works once, for 1 hour):")
                + f"\n{link}",
                _(
                    "Resetting signs you out everywhere. If you did not ask for it, ignore this"
                    " email: your password stays as it is."
                ),
            ),
        )


def verify_email(locale: str | None, link: str) -> Letter:
    with i18n.speaking(locale):
        return Letter(
            _("Confirm your email for Libervia"),
            _signed(
                _("Confirm that this address is yours (the link works for 3 days):") + f"\n{link}",
                _("If you did not sign up, ignore this email."),
            ),
        )


def notice(locale: str | None, message: str, link: str) -> Letter:
    with i18n.speaking(locale):
        return Letter(
            message,
            _signed(
                message,
                _("Open it:") + f"\n{link}",
                _("You can turn these emails off in Settings > Notifications."),
            ),
        )
