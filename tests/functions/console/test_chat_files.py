"""The chat names what it acts on: files the agent has seen, found by path or bare name, or
looked at by the agent first; never a card for a file nobody hashed."""

import hashlib

import pytest

from tests.support.portal_agent import agent_for, chat_until_proposed, settled


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def folder(tmp_path):
    root = tmp_path / "root"
    for path, data in {
        "notas.txt": b"lista de compras",
        "docs/relatorio.pdf": b"%PDF relatorio",
        "docs/old/relatorio.pdf": b"%PDF relatorio antigo",
        "Misc/a.txt": b"alpha",
    }.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_bytes(data)
    return root


@pytest.fixture
def user_with_agent(make_user, engine, folder, tmp_path):
    user = make_user().sign_up()
    package = user.onboard()
    with agent_for(package, engine, folder, tmp_path):
        listed = user.post("/api/chat", {"text": "listar arquivos"}).json()
        assert settled(user, listed["proposal_id"])["message"] == "done: 4 files listed"
        yield user


def test_a_bare_name_is_found_in_the_latest_listing(user_with_agent):
    answer = user_with_agent.post("/api/chat", {"text": "apagar arquivo notas.txt"}).json()
    assert answer["decision"] == "pending_approval"
    assert answer["intent"]["params"]["sha256"] == sha256(b"lista de compras")
    card = user_with_agent.get("/api/approvals").json()["pending"][0]
    assert card["impact"]["files"] == [
        {"path": "notas.txt", "size": 16, "sha256": sha256(b"lista de compras")}
    ]


def test_several_files_with_that_name_make_the_chat_ask_which(user_with_agent):
    answer = user_with_agent.post("/api/chat", {"text": "delete relatorio.pdf"}).json()
    assert answer["choices"] == ["docs/old/relatorio.pdf", "docs/relatorio.pdf"]
    assert "Which one?" in answer["reply"] and "proposal_id" not in answer
    assert user_with_agent.get("/api/approvals").json()["pending"] == []
    chosen = user_with_agent.post("/api/chat", {"text": "delete docs/old/relatorio.pdf"}).json()
    assert chosen["intent"]["params"]["sha256"] == sha256(b"%PDF relatorio antigo")


def test_a_file_created_after_the_listing_is_looked_at_before_it_is_proposed(
    user_with_agent, folder
):
    (folder / "docs" / "new.txt").write_bytes(b"fresh")
    first = user_with_agent.post("/api/chat", {"text": "apagar docs/new.txt"}).json()
    assert first["inspecting"] and "docs/" in first["reply"]
    assert user_with_agent.get("/api/approvals").json()["pending"] == []
    answer = chat_until_proposed(user_with_agent, "apagar docs/new.txt")
    assert answer["decision"] == "pending_approval"
    assert answer["intent"]["params"]["sha256"] == sha256(b"fresh")


@pytest.mark.parametrize("text", ["apagar arquivo sumiu.txt", "delete nowhere/ghost.txt"])
def test_a_file_that_is_not_there_gets_not_found_and_no_card(user_with_agent, text):
    answer = chat_until_proposed(user_with_agent, text)
    assert answer["not_found"] is True and "not found in your folder" in answer["reply"]
    assert user_with_agent.get("/api/approvals").json()["pending"] == []


def test_rename_within_a_folder_and_its_result_is_followed_to_the_end(user_with_agent, folder):
    answer = user_with_agent.post("/api/chat", {"text": 'rename "Misc/a.txt" to "Misc/b.txt"'})
    proposal = answer.json()
    assert proposal["decision"] == "pending_approval", proposal
    assert proposal["intent"]["params"]["new_name"] == "b.txt"
    pending = user_with_agent.get(f"/api/proposals/{proposal['proposal_id']}").json()
    assert pending["state"]["state"] == "awaiting_approval"
    card = user_with_agent.get("/api/approvals").json()["pending"][0]
    user_with_agent.post(
        f"/api/approvals/{card['proposal_id']}/approve", {"digest": card["digest"]}
    )
    state = settled(user_with_agent, proposal["proposal_id"])
    assert state == {
        "state": "done",
        "message": "done: now at Misc/b.txt",
        "final": True,
        "code": None,
        "progress": None,
    }
    assert (folder / "Misc" / "b.txt").read_bytes() == b"alpha"


def test_a_file_changed_after_approval_fails_in_plain_words(user_with_agent, folder):
    proposal = user_with_agent.post("/api/chat", {"text": "apagar notas.txt"}).json()
    (folder / "notas.txt").write_bytes(b"changed since")
    card = user_with_agent.get("/api/approvals").json()["pending"][0]
    user_with_agent.post(
        f"/api/approvals/{card['proposal_id']}/approve", {"digest": card["digest"]}
    )
    state = settled(user_with_agent, proposal["proposal_id"])
    assert state["state"] == "failed" and state["code"] == "hash_mismatch"
    assert state["message"] == "failed: the file changed after it was approved, so nothing was done"
    assert (folder / "notas.txt").read_bytes() == b"changed since"


def test_a_rename_into_another_folder_is_one_move_that_renames(user_with_agent, folder):
    asked = user_with_agent.post("/api/chat", {"text": 'rename "Misc/a.txt" to "docs/c.txt"'})
    proposal = asked.json()
    assert proposal["intent"]["action"] == "move", proposal
    assert proposal["intent"]["params"]["destination"] == "docs"
    assert proposal["intent"]["params"]["new_name"] == "c.txt"
    [card] = user_with_agent.get("/api/approvals").json()["pending"]
    assert card["impact"]["summary"] == "move Misc/a.txt into docs/ as c.txt"
    user_with_agent.post(
        f"/api/approvals/{card['proposal_id']}/approve", {"digest": card["digest"]}
    )
    assert settled(user_with_agent, proposal["proposal_id"])["message"] == "done: now at docs/c.txt"
    assert (folder / "docs" / "c.txt").read_bytes() == b"alpha"
    assert not (folder / "Misc" / "a.txt").exists()
    history = user_with_agent.post("/api/chat", {"text": "what happened to docs/c.txt?"})
    assert history.json()["reply"].endswith("done: now at docs/c.txt."), history.json()


def test_without_an_agent_the_chat_says_it_is_waiting_for_it(make_user):
    user = make_user().sign_up()
    user.onboard()
    first = user.post("/api/chat", {"text": "apagar arquivo notas.txt"}).json()
    state = user.get(f"/api/proposals/{first['inspecting']}").json()["state"]
    assert state == {
        "state": "waiting_agent",
        "message": "waiting for your agent (it has not connected yet)",
        "final": False,
        "code": None,
        "progress": None,
    }
    again = user.post(
        "/api/chat", {"text": "apagar arquivo notas.txt", "inspected": first["inspecting"]}
    ).json()
    assert again["inspecting"] == first["inspecting"] and "waiting for your agent" in again["reply"]
    bad = user.post("/api/chat", {"text": "apagar x", "inspected": "../etc"})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "bad_inspected"


def test_bulk_requests_make_one_proposal_and_always_keep_one_copy(make_user, engine, tmp_path):
    root = tmp_path / "root"
    for path, data in {
        "Fotos/praia.jpg": b"sea",
        "Downloads/praia.jpg": b"sea",
        "Downloads/praia (1).jpg": b"sea",
        "Downloads/only-here.jpg": b"sun",
        "Downloads/only-here (1).jpg": b"sun",
        "Docs/vazio.txt": b"",
    }.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_bytes(data)
    user = make_user().sign_up()
    package = user.onboard()
    with agent_for(package, engine, root, tmp_path):
        answer = chat_until_proposed(user, "apagar todos os duplicados em Downloads")
        assert answer["decision"] == "pending_approval" and answer["count"] == 3
        [card] = user.get("/api/approvals").json()["pending"]
        assert sorted(f["path"] for f in card["impact"]["files"]) == [
            "Downloads/only-here (1).jpg",
            "Downloads/praia (1).jpg",
            "Downloads/praia.jpg",
        ], "Fotos/praia.jpg and one of the two only-here copies stay"
        again = user.post("/api/chat", {"text": "delete all duplicates in Downloads"}).json()
        assert again["reply"] == (
            "All of them already wait for your approval. Review them in Approvals."
        )
        assert "proposal_id" not in again
        pending = user.post("/api/chat", {"text": "o que está pendente?"}).json()
        assert pending["pending"] == [card["proposal_id"]]
        assert pending["reply"].startswith("1 waiting for your approval: quarantine 3 files")
        empty = user.post("/api/chat", {"text": "delete empty files"}).json()
        assert empty["decision"] == "pending_approval" and empty["count"] == 1
        none = user.post("/api/chat", {"text": "apagar arquivos temporários"}).json()
        assert none["reply"] == "There are no temporary files in your folder."
        nowhere = user.post("/api/chat", {"text": "delete all duplicates in Nowhere"}).json()
        assert nowhere["not_found"] is True
        user.post(f"/api/approvals/{card['proposal_id']}/approve", {"digest": card["digest"]})
        settled(user, card["proposal_id"])
        history = user.post("/api/chat", {"text": "o que aconteceu com praia (1).jpg?"})
        assert "“quarantine files” asked" in history.json()["reply"]
        assert history.json()["state"]["state"] == "done"
        never = user.post("/api/chat", {"text": "what happened to notes.md?"}).json()
        assert never["reply"] == "Nothing was asked about notes.md yet."


def test_a_move_to_a_files_path_moves_it_there_under_that_name(user_with_agent, folder):
    for text in ("apagar /etc/passwd", "delete C:\\Windows\\win.ini"):
        refused = user_with_agent.post("/api/chat", {"text": text}).json()
        assert refused["decision"] == "denied", refused
        assert refused["reply"] == (
            "Denied by the Engine: the path must be a path inside your folder, not an absolute one"
        )
    outside = user_with_agent.post("/api/chat", {"text": "move Misc/a.txt to /etc/a.txt"}).json()
    assert outside["decision"] == "denied", outside
    assert outside["reply"] == (
        "Denied by the Engine: the destination must be a path inside your folder, not an absolute"
        " one"
    )
    asked = user_with_agent.post("/api/chat", {"text": "mover Misc/a.txt para docs/a.txt"})
    proposal = asked.json()
    assert proposal["intent"]["action"] == "move", proposal
    assert proposal["intent"]["params"]["destination"] == "docs"
    assert "new_name" not in proposal["intent"]["params"]
    [card] = user_with_agent.get("/api/approvals").json()["pending"]
    assert card["impact"]["summary"] == "move Misc/a.txt into docs/"
    user_with_agent.post(
        f"/api/approvals/{card['proposal_id']}/approve", {"digest": card["digest"]}
    )
    assert settled(user_with_agent, proposal["proposal_id"])["message"] == "done: now at docs/a.txt"
    assert (folder / "docs" / "a.txt").read_bytes() == b"alpha"
    assert not (folder / "docs" / "a.txt" / "a.txt").exists()


def test_a_deleted_file_is_restored_by_its_name(user_with_agent, folder):
    absent = user_with_agent.post("/api/chat", {"text": "restaurar notas.txt"}).json()
    assert absent["reply"] == "notas.txt is not in the quarantine." and "proposal_id" not in absent
    for name in ("notas.txt", "docs/relatorio.pdf", "docs/old/relatorio.pdf"):
        deleted = user_with_agent.post("/api/chat", {"text": f"apagar arquivo {name}"}).json()
        [card] = user_with_agent.get("/api/approvals").json()["pending"]
        user_with_agent.post(
            f"/api/approvals/{card['proposal_id']}/approve", {"digest": card["digest"]}
        )
        assert settled(user_with_agent, deleted["proposal_id"])["state"] == "done"
    assert not (folder / "notas.txt").exists()

    which = user_with_agent.post("/api/chat", {"text": "recuperar relatorio.pdf"}).json()
    assert which["choices"] == ["docs/old/relatorio.pdf", "docs/relatorio.pdf"]
    asked = user_with_agent.post(
        "/api/chat", {"text": "restaurar o arquivo notas.txt da quarentena"}
    ).json()
    assert asked["decision"] == "allowed", "restoring needs no approval"
    assert asked["intent"]["params"]["quarantine_id"]
    assert settled(user_with_agent, asked["proposal_id"])["message"] == "done: notas.txt is back"
    assert (folder / "notas.txt").read_bytes() == b"lista de compras"
    held = [f["original_path"] for f in user_with_agent.get("/api/quarantine").json()["files"]]
    assert sorted(held) == ["docs/old/relatorio.pdf", "docs/relatorio.pdf"]
    history = user_with_agent.post("/api/chat", {"text": "o que aconteceu com notas.txt?"})
    assert history.json()["reply"].endswith("done: notas.txt is back."), history.json()
    still_held = user_with_agent.post("/api/chat", {"text": "what happened to docs/relatorio.pdf"})
    assert "moved to .libervia-quarantine/" in still_held.json()["reply"]
    said = [e["sentence"] for e in user_with_agent.get("/api/audit").json()["timeline"]]
    assert any("restore notas.txt from the quarantine" in sentence for sentence in said), said
