"""The engine's decisions said in the reader's language: actions, effects and roles by their
words, never by the contract's identifiers."""

import pytest

from portal import i18n
from portal.engine_words import action_label, effect_label, reason
from portal.workspace import impact, reply

PENDING = {
    "decision": "pending_approval",
    "action": "delete",
    "reason": "'delete' is destructive and requires approval by owner or executive_admin",
    "reason_code": "needs_approval",
    "reason_args": {
        "action": "delete",
        "effect": "destructive",
        "approvers": ["owner", "executive_admin"],
    },
}
ALLOWED = {"decision": "allowed", "action": "list_files", "reason": "", "reason_code": "allowed"}


@pytest.mark.parametrize(
    ("locale", "pending", "allowed"),
    [
        (
            "en",
            "Needs approval: “delete” changes your files and needs the approval of owner or"
            " assistant. Review it in Approvals.",
            "Allowed by the Engine: “list files” only reads or restores, so it runs without"
            " approval. Your agent will run it.",
        ),
        (
            "pt_BR",
            "Precisa de aprovação: “apagar” muda seus arquivos e precisa da aprovação de"
            " proprietário ou assistente. Revise em Aprovações.",
            "Permitido pelo Engine: “listar arquivos” só lê ou restaura, então roda sem"
            " aprovação. Seu agente vai executar.",
        ),
    ],
)
def test_the_chat_says_the_decision_with_the_actions_and_roles_in_words(locale, pending, allowed):
    with i18n.speaking(locale):
        assert reply(PENDING) == pending
        assert reply(ALLOWED) == allowed


def test_an_action_this_portal_does_not_know_keeps_its_identifier():
    with i18n.speaking("pt_BR"):
        assert action_label("format_disk") == "format_disk"
        assert action_label("quarantine_files") == "“pôr arquivos em quarentena”"
        assert effect_label("destructive") == "destrutiva"
        said = reason("unknown_action", {"action": "format_disk"}, "fallback")
        assert said == "format_disk não é uma ação do seu contrato"


@pytest.mark.parametrize(
    ("locale", "param", "said"),
    [
        ("en", "path", "the path must not contain '..' (it would leave your folder)"),
        ("pt_BR", "path", "o caminho não pode conter '..' (sairia da sua pasta)"),
        ("pt_BR", "destination", "o destino não pode conter '..' (sairia da sua pasta)"),
        ("pt_BR", "files[2].path", "files[2].path não pode conter '..' (sairia da sua pasta)"),
    ],
)
def test_a_parameter_is_named_in_words(locale, param, said):
    with i18n.speaking(locale):
        assert reason("param_dot_dot", {"param": param}, "fallback") == said


@pytest.mark.parametrize(
    ("action", "params", "said"),
    [
        ("detect_duplicates", {"path": "."}, "encontrar duplicados na sua pasta"),
        ("detect_duplicates", {"path": "Fotos"}, "encontrar duplicados em Fotos/"),
        ("suggest_cleanup", {}, "sugerir uma limpeza da sua pasta"),
        ("list_files", {"path": "Fotos"}, "listar Fotos/"),
        ("format_disk", {}, "format_disk"),
    ],
)
def test_what_was_asked_is_said_in_words_in_the_timeline(action, params, said):
    with i18n.speaking("pt_BR"):
        assert impact({"action": action, "params": params}, {})["summary"] == said
