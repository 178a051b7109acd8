"""The console's request bodies, read at its HTTP edge: a body that does not fit is refused
with the code clients know for that field and a sentence in the reader's language, before
anything runs. The engine bounds and judges what it decides on."""

import re
from typing import Annotated, Any

from pydantic import AfterValidator, Field, StrictBool, StrictStr, StringConstraints
from starlette.requests import Request

from functions.http import read_json
from kernel.bodies import B, Body, parse
from portal.i18n import _
from portal.notices import KINDS
from portal.security import check_csrf
from portal.workspace import MAX_SELECTION, QUARANTINE_ID

PROPOSAL_ID = re.compile(r"prop_[0-9a-f]{24}")  # the engine's one format
NO_CONTROLS = r"^[^\x00-\x1f\x7f]*$"


async def posted(request: Request, model: type[B]) -> B:
    """The body of a form of our own pages, read as `model`. Its CSRF token is checked first,
    from the raw body: a cross-site request is refused as such whatever else it holds."""
    body = await read_json(request)
    check_csrf(request, body.get("csrf_token"))
    return parse(model, body)


class NewInstitution(Body):
    CODES = {"name": "bad_name"}
    MESSAGES = {
        "name": lambda: _(
            "The institution's name has at most 100 characters, and no control characters."
        )
    }
    name: (
        Annotated[
            str,
            StringConstraints(
                strict=True, strip_whitespace=True, max_length=100, pattern=NO_CONTROLS
            ),
        ]
        | None
    ) = None


class Verdict(Body):
    """A person's approval (of exactly `digest`) or rejection, with their reason."""

    CODES = {"digest": "missing_digest", "reason": "bad_reason"}  # said by engine_words.ERRORS
    reason: StrictStr = ""
    digest: StrictStr | None = None


class Chat(Body):
    CODES = {"text": "bad_text", "inspected": "bad_inspected"}
    MESSAGES = {"text": lambda: _("Write a request of 1 to 500 characters.")}
    text: Annotated[str, StringConstraints(strict=True, max_length=500, pattern=r"\S")]
    # The proposal whose look at the files the client waited for, to ask again.
    inspected: (
        Annotated[str, StringConstraints(strict=True, pattern=f"^{PROPOSAL_ID.pattern}$")] | None
    ) = None


Selection = Annotated[list[StrictStr], Field(min_length=1, max_length=MAX_SELECTION)]


def _select() -> str:
    return _("Select 1 to %(most)s files.", most=MAX_SELECTION)


class Quarantine(Body):
    CODES = {"paths": "bad_selection"}
    MESSAGES = {"paths": _select}
    paths: Selection


class Restore(Body):
    CODES = {"quarantine_id": "bad_quarantine_id"}
    MESSAGES = {"quarantine_id": lambda: _("That is not a quarantine id.")}
    quarantine_id: Annotated[
        str, StringConstraints(strict=True, pattern=f"^{QUARANTINE_ID.pattern}$")
    ]


class Purge(Body):
    CODES = {"quarantine_ids": "bad_selection"}
    MESSAGES = {"quarantine_ids": _select}
    quarantine_ids: Selection


class ContractApproval(Body):
    """The owner's approval of exactly this manifest (the engine compares it)."""

    CODES = {"manifest_sha256": "bad_manifest"}
    manifest_sha256: StrictStr | None = None


def _kinds_of_notice(choices: dict[str, bool]) -> dict[str, bool]:
    if not choices.keys() <= KINDS.keys():
        raise ValueError("not a kind of notice")
    return choices


class NoticeChoices(Body):
    """Which kinds of notice also come by email."""

    CODES = {"email": "bad_choices"}
    MESSAGES = {
        "email": lambda: _(
            "Choices are kinds of notice (%(kinds)s), each true or false.", kinds=", ".join(KINDS)
        )
    }
    email: Annotated[
        dict[StrictStr, StrictBool], Field(min_length=1), AfterValidator(_kinds_of_notice)
    ]


# Accounts and people. The address, the password's length and the link's signature are the
# accounts' own rules (portal.accounts, portal.recovery); here they are only text.
class SignIn(Body):
    """Read by the accounts themselves: one that does not fit is a wrong credential, counted
    by the throttle like any other guess (a 400 would let a guesser skip it)."""

    email: Any = None
    password: Any = None


class SignUp(Body):
    CODES = {"email": "bad_email", "password": "bad_password"}  # said by engine_words.ERRORS
    email: StrictStr = ""
    password: StrictStr = ""


class PasswordHelp(Body):
    CODES = {"email": "bad_email"}
    email: StrictStr = ""


class NewPassword(Body):
    CODES = {"token": "bad_link", "password": "bad_password"}
    MESSAGES = {"token": lambda: _("%(what)s is not valid.", what=_("This reset link"))}
    token: StrictStr = ""
    password: StrictStr = ""


class Invitation(Body):
    CODES = {"email": "bad_email", "role": "bad_role"}
    MESSAGES = {"role": lambda: _("Choose a role: assistant or auditor.")}
    email: StrictStr = ""
    role: StrictStr = ""


class Joining(Body):
    """An invitation accepted: its link, and a password for a new account (none when signed
    in as the invited address)."""

    CODES = {"token": "bad_link", "password": "bad_password"}
    MESSAGES = {"token": lambda: _("This invitation link is not valid.")}
    token: StrictStr = ""
    password: StrictStr | None = None
