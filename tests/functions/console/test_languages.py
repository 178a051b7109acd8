"""The console answers in the reader's language: from the browser's Accept-Language, or the
language the person picked (a cookie, and their account, so it follows them on any computer)."""

import httpx
import pytest

from harness.servers import console_process, engine_process, free_port
from tests.support.console_api import ConsoleUser


def test_a_portuguese_browser_gets_portuguese_pages_and_replies(make_user):
    user = make_user()
    user.http.headers["Accept-Language"] = "pt-BR,pt;q=0.9"
    user.sign_up()
    user.onboard()
    page = user.get("/chat")
    assert '<html lang="pt-BR">' in page.text and "Seu pedido" in page.text
    unseen = user.post("/api/chat", {"text": "apagar arquivo notas.txt"}).json()
    assert unseen["reply"].startswith("Primeiro seu agente olha sua pasta para ver notas.txt")
    state = user.get(f"/api/proposals/{unseen['inspecting']}").json()["state"]
    assert state["message"] == "aguardando seu agente (ele ainda não se conectou)"
    puzzled = user.post("/api/chat", {"text": "olá"}).json()
    assert puzzled["understood"] is False
    assert puzzled["reply"].startswith("Entendo um pedido por vez, em português ou inglês")
    everything = user.post("/api/chat", {"text": "apagar tudo"}).json()
    assert everything["reply"].startswith("Não apago tudo de uma vez: cada pedido diz o que sai")
    assert "proposal_id" not in everything and "inspecting" not in everything
    # The audit's people: the founder by their email, the agent and the spare assistant seat
    # (onboarding's, no one holds it) in Portuguese, not by the engine's English names.
    audited = user.get("/api/audit").json()
    assert {p["name"] for p in audited["people"]} == {user.email, "Seu agente", "Assistente"}
    said = {e["sentence"] for e in audited["timeline"] if e["type"] == "actor.created"}
    assert said == {
        f"{user.email} recebeu acesso como proprietário.",
        "Assistente recebeu acesso como assistente (propõe e aprova).",
        "Seu agente recebeu acesso como agente (executa o que é permitido).",
    }
    # The contract's rules by their words (the identifiers beside them), effects too.
    rules = user.get("/onboarding").text
    assert "listar arquivos <code>list_files</code>" in rules and "destrutiva" in rules
    audit = user.get("/audit").text
    assert "libervia ledger verify ARQUIVO --public-key CHAVE" in audit
    listing = user.post("/api/chat", {"text": "listar arquivos"}).json()
    assert listing["reply"].startswith("Permitido pelo Engine: “listar arquivos” só lê")
    english = make_user()
    english.http.headers["Accept-Language"] = "en-US"
    assert '<html lang="en">' in english.get("/login").text


def test_the_chosen_language_is_remembered_for_the_person(make_user, console):
    user = make_user().sign_up()
    user.onboard()
    assert "Sign out" in user.get("/dashboard").text
    switched = user.http.get(
        "/language", params={"to": "pt_BR", "next": "/dashboard"}, follow_redirects=True
    )
    assert switched.url.path == "/dashboard"
    assert "Sair de todos os lugares" in switched.text and "Painel" in switched.text
    away = user.http.get("/language", params={"to": "pt_BR", "next": "//evil.example"})
    assert away.status_code == 303 and away.headers["location"] == "/"

    elsewhere = ConsoleUser(console)  # another computer: no cookie yet
    try:
        assert "Sign in" in elsewhere.get("/login").text
        login = elsewhere.post("/api/login", {"email": user.email, "password": user.password})
        assert login.status_code == 200 and login.cookies.get("lang") == "pt_BR"
        assert "Arquivos" in elsewhere.http.get("/files", follow_redirects=True).text
    finally:
        elsewhere.http.close()


@pytest.mark.parametrize(
    ("language", "title"), [("en", "Page not found"), ("pt-BR", "Página não encontrada")]
)
def test_an_unknown_page_is_a_page_in_the_readers_language(console, language, title):
    with httpx.Client(base_url=console) as browser:
        page = browser.get(
            "/nowhere", headers={"Accept": "text/html,*/*", "Accept-Language": language}
        )
        assert page.status_code == 404
        assert page.headers["content-type"].startswith("text/html")
        assert title in page.text and f'lang="{language}"' in page.text
        api = browser.get("/api/nowhere", headers={"Accept": "text/html"})
        assert api.status_code == 404 and api.json()["error"]["code"] == "not_found"
        script = browser.get("/nowhere")  # no browser: the JSON error, as before
        assert script.status_code == 404 and script.json()["error"]["code"] == "not_found"


def test_the_engines_reasons_are_said_in_portuguese(make_user):
    user = make_user()
    user.http.headers["Accept-Language"] = "pt-BR"
    user.sign_up()
    user.onboard()
    denied = user.post("/api/chat", {"text": "apagar arquivo ../fora.txt"}).json()
    assert denied["decision"] == "denied"
    assert "'..'" in denied["reason"]  # the engine's words stay in the record
    assert denied["reply"] == (
        "Negado pelo Engine: o caminho não pode conter '..' (sairia da sua pasta)"
    ), denied["reply"]
    events = user.get("/api/audit", category="rbac").json()["timeline"]
    refusal = next(e for e in events if e["type"] == "proposal.denied")
    assert "sairia da sua pasta" in refusal["sentence"]


def test_refusals_are_said_in_the_readers_language_with_their_stable_code(make_user):
    user = make_user()
    user.http.headers["Accept-Language"] = "pt-BR"
    wrong = user.post("/api/login", {"email": "ninguem@example.org", "password": "x" * 12})
    assert wrong.status_code == 401
    assert wrong.json()["error"]["code"] == "bad_credentials"
    assert wrong.json()["error"]["message"] == "E-mail ou senha errados."
    user.http.headers["Accept-Language"] = "en"
    again = user.post("/api/login", {"email": "ninguem@example.org", "password": "x" * 12})
    assert again.json()["error"]["message"] == "Wrong email or password."


def test_an_institution_the_engine_cannot_read_is_said_in_the_readers_language(
    tmp_path, console_database_url
):
    """The engine's storage refusals reach a person in their language, as its decisions do."""
    data, port = tmp_path / "engine", free_port()
    engine = f"http://127.0.0.1:{port}"
    with console_process(tmp_path / "console", engine, console_database_url) as console:
        user = ConsoleUser(console)
        user.http.headers["Accept-Language"] = "pt-BR"
        try:
            with engine_process(data, port=port):
                user.sign_up()
                user.onboard()
            (institution,) = (data / "institutions").iterdir()
            (institution / "institution.db").write_bytes(b"not a database" * 500)
            with engine_process(data, port=port):
                answer = user.post("/api/chat", {"text": "listar arquivos"})
        finally:
            user.http.close()
    assert answer.status_code == 502  # the engine's 503, through the console
    assert answer.json()["error"] == {
        "code": "institution_unavailable",
        "message": "Seus registros não podem ser acessados agora; nada mudou. Tente de novo em um"
        " minuto.",
    }
