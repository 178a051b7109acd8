"""The console's bodies: what does not fit is refused with the field's code and a sentence
that names it, in the reader's language, before anything runs (in-process: no server)."""

import pytest

from functions.console import bodies
from kernel.bodies import parse
from kernel.errors import BadRequest
from portal.i18n import speaking


def refused(model, body, locale="en") -> BadRequest:
    with speaking(locale), pytest.raises(BadRequest) as caught:
        parse(model, body)
    return caught.value


@pytest.mark.parametrize(
    ("model", "body", "code", "field"),
    [
        (bodies.NewInstitution, {"name": "x" * 101}, "bad_name", "name"),
        (bodies.NewInstitution, {"name": 7}, "bad_name", "name"),
        (bodies.Chat, {}, "bad_text", "text"),
        (bodies.Chat, {"text": " \n "}, "bad_text", "text"),
        (bodies.Chat, {"text": "x" * 501}, "bad_text", "text"),
        (bodies.Chat, {"text": "listar", "inspected": "prop_1"}, "bad_inspected", "inspected"),
        (bodies.Quarantine, {"paths": []}, "bad_selection", "paths"),
        (bodies.Quarantine, {"paths": [{"path": "a"}]}, "bad_selection", "paths"),
        (bodies.Restore, {"quarantine_id": "../x"}, "bad_quarantine_id", "quarantine_id"),
        (bodies.Purge, {"quarantine_ids": [["x"]]}, "bad_selection", "quarantine_ids"),
        (bodies.Verdict, {"reason": ["no"]}, "bad_reason", "reason"),
        (bodies.Verdict, {"digest": 1}, "missing_digest", "digest"),
        (bodies.NoticeChoices, {"email": {"everything": True}}, "bad_choices", "email"),
        (bodies.NoticeChoices, {"email": {"job_failed": 1}}, "bad_choices", "email"),
        (bodies.SignUp, {"email": ["a@b.c"], "password": "x" * 12}, "bad_email", "email"),
        (bodies.SignUp, {"email": "a@b.c", "password": 1234567890}, "bad_password", "password"),
        (bodies.PasswordHelp, {"email": None}, "bad_email", "email"),
        (bodies.NewPassword, {"token": 5}, "bad_link", "token"),
        (bodies.Invitation, {"email": "a@b.c", "role": ["owner"]}, "bad_role", "role"),
        (bodies.Joining, {"token": {"t": 1}}, "bad_link", "token"),
    ],
)
def test_a_body_that_does_not_fit_names_its_field(model, body, code, field):
    problem = refused(model, body)
    assert problem.code == code
    if said := model.MESSAGES.get(field):  # the field's own sentence names it
        assert problem.message == said()
    else:
        assert f"'{field}'" in problem.message


def test_the_sentence_is_in_the_readers_language():
    assert refused(bodies.Chat, {"text": ""}).message == "Write a request of 1 to 500 characters."
    portuguese = refused(bodies.Quarantine, {"paths": []}, "pt_BR").message
    assert "5000" in portuguese and "Select" not in portuguese


def test_what_fits_is_read_as_typed_values():
    assert parse(bodies.NewInstitution, {"name": "  Casa  "}).name == "Casa"
    assert parse(bodies.NewInstitution, {}).name is None
    asked = parse(bodies.Chat, {"text": "apagar a.txt", "inspected": "prop_" + "a" * 24})
    assert (asked.text, asked.inspected) == ("apagar a.txt", "prop_" + "a" * 24)
    assert parse(bodies.NoticeChoices, {"email": {"job_failed": False}}).email == {
        "job_failed": False
    }
