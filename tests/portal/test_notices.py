"""Notices are said where they are read: in the reader's language, actions and outcomes in
words, never the engine's identifiers."""

import pytest

from portal import i18n
from portal.notices import sentence


@pytest.mark.parametrize(
    ("locale", "status", "said"),
    [
        ("en", "refused", "A job did not run: “delete” (your agent refused it)"),
        ("pt_BR", "refused", "Uma tarefa não foi executada: “apagar” (seu agente recusou)"),
        (
            "pt_BR",
            "expired",
            "Uma tarefa não foi executada: “apagar” (seu agente não a executou a tempo)",
        ),
        ("pt_BR", "something_new", "Uma tarefa não foi executada: “apagar” (something_new)"),
    ],
)
def test_a_failed_job_is_said_in_the_readers_words(locale, status, said):
    with i18n.speaking(locale):
        assert sentence("job_failed", {"action": "delete", "status": status}) == said
