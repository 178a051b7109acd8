"""What the agent found, browsed and acted on through the console, with the real agent on a
real folder: files by folder, duplicates with a keep rule, cleanup kinds; one approval for a
whole selection; the quarantine with restore and purge."""

import hashlib

import pytest

from tests.support.portal_agent import agent_for, settled


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


FOLDER = {
    "Fotos/2024/praia.jpg": b"sea" * 1000,
    "Fotos/2024/praia (1).jpg": b"sea" * 1000,
    "Downloads/praia.jpg": b"sea" * 1000,
    "Docs/nota.txt": b"uma nota",
    "Docs/vazio.txt": b"",
    "Docs/~$rascunho.docx": b"lock",
    "leia-me.md": b"# ola",
}


@pytest.fixture
def scanned(make_user, engine, tmp_path):
    root = tmp_path / "root"
    for path, data in FOLDER.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_bytes(data)
    (root / "Vazia").mkdir()
    (root / "Docs" / "atalho").symlink_to(root / "apagado.txt")
    user = make_user().sign_up()
    package = user.onboard()
    with agent_for(package, engine, root, tmp_path):
        scan = user.post("/api/scan", {}).json()
        assert scan["decision"] == "allowed"
        assert settled(user, scan["proposal_id"])["state"] == "done"
        yield user, root


def approve_all(user) -> list[dict]:
    cards = user.get("/api/approvals").json()["pending"]
    for card in cards:
        approved = user.post(
            f"/api/approvals/{card['proposal_id']}/approve", {"digest": card["digest"]}
        )
        assert approved.status_code == 200, approved.text
    return cards


def test_files_are_browsed_by_folder_searched_and_paged(scanned):
    user, _ = scanned
    top = user.get("/api/files").json()
    assert [f["name"] for f in top["folders"]] == ["Docs", "Downloads", "Fotos"]
    assert top["folders"][2] == {"name": "Fotos", "path": "Fotos", "files": 2, "bytes": 6000}
    assert [f["path"] for f in top["files"]["items"]] == ["leia-me.md"]
    found = user.get("/api/files", q="PRAIA").json()["files"]
    assert found["total"] == 3
    page = user.get("/api/files", folder="Docs", per_page=2, page=2).json()["files"]
    assert page["page"] == 2 and page["pages"] == 2 and len(page["items"]) == 1
    biggest = user.get("/api/files", folder="Fotos/2024", sort="size", desc="1").json()
    assert biggest["files"]["items"][0]["size"] == 3000
    assert user.get("/api/files", page="zero").status_code == 400


def test_duplicates_keep_the_chosen_copy_and_cleanup_names_each_kind(scanned):
    user, _ = scanned
    shortest = user.get("/api/duplicates", keep="shortest").json()
    assert shortest["total_groups"] == 1 and shortest["wasted_bytes"] == 6000
    group = shortest["groups"][0]
    assert group["keep"]["path"] == "Downloads/praia.jpg" and group["wasted"] == 6000
    assert sorted(f["path"] for f in group["copies"]) == [
        "Fotos/2024/praia (1).jpg",
        "Fotos/2024/praia.jpg",
    ]
    kinds = {k["kind"]: k for k in user.get("/api/cleanup").json()["kinds"]}
    assert kinds["duplicates"]["count"] == 2 and kinds["duplicates"]["bytes"] == 6000
    assert [f["path"] for f in kinds["empty"]["files"]] == ["Docs/vazio.txt"]
    assert [f["path"] for f in kinds["temporary"]["files"]] == ["Docs/~$rascunho.docx"]
    assert kinds["big"]["count"] == 0
    assert [f["path"] for f in kinds["empty_folders"]["files"]] == ["Vazia"]
    assert [f["path"] for f in kinds["broken_links"]["files"]] == ["Docs/atalho"]
    assert not kinds["broken_links"]["actionable"] and kinds["empty"]["actionable"]
    # The page counts each kind in what it holds, singular or plural, in the reader's language.
    page = user.http.get("/cleanup", headers={"Accept-Language": "pt-BR"}).text
    for kind, count in [
        ("duplicates", "2 arquivos · 6,0 kB"),
        ("empty", "1 arquivo · 0 byte"),
        ("empty_folders", "1 pasta<"),
        ("broken_links", "1 link<"),
    ]:
        section = page.split(f'id="kind-{kind}"')[1].split("</h2>")[0]
        assert count in section + "<", (kind, section)
    duplicates = user.http.get("/duplicates", headers={"Accept-Language": "pt-BR"}).text
    assert "1 grupo de arquivos idênticos; 6,0 kB podem ser liberados." in duplicates


def test_one_approval_quarantines_the_selection_then_restore_and_purge(scanned):
    user, root = scanned
    copies = ["Fotos/2024/praia (1).jpg", "Fotos/2024/praia.jpg", "Docs/vazio.txt"]
    asked = user.post("/api/quarantine-files", {"paths": copies}).json()
    assert asked["decision"] == "pending_approval"
    [card] = user.get("/api/approvals").json()["pending"]
    assert card["impact"]["count"] == 3 and card["impact"]["total_bytes"] == 6000
    assert {f["path"]: f["sha256"] for f in card["impact"]["files"]} == {
        p: sha256(FOLDER[p]) for p in copies
    }
    assert all((root / p).exists() for p in copies), "nothing moves before approval"
    # What a waiting proposal names is not offered again: unticked, disabled, said so.
    for page in ("/duplicates", "/cleanup"):
        html = user.get(page).text
        for path in copies[:2]:
            box = html.split(f'value="{path}"')[1].split(">")[0]
            assert "disabled" in box and "checked" not in box, (page, box)
        assert "already waiting for approval" in html
    assert 'value="Docs/~$rascunho.docx" data-size="4" checked' in user.get("/cleanup").text
    approve_all(user)
    done = settled(user, asked["proposal_id"])
    assert done["state"] == "done", done
    assert not any((root / p).exists() for p in copies)
    listed = {f["path"] for f in user.get("/api/files", q="praia").json()["files"]["items"]}
    assert listed == {"Downloads/praia.jpg"}, "the views follow what was executed"

    held = user.get("/api/quarantine").json()
    assert sorted(f["original_path"] for f in held["files"]) == sorted(copies)
    assert {f["approved_by"] for f in held["files"]} == {user.email}  # the person, by name
    back = next(f for f in held["files"] if f["original_path"] == "Fotos/2024/praia.jpg")
    restored = user.post("/api/restore", {"quarantine_id": back["quarantine_id"]}).json()
    assert restored["decision"] == "allowed", "restoring needs no approval"
    assert settled(user, restored["proposal_id"])["state"] == "done"
    assert (root / "Fotos/2024/praia.jpg").read_bytes() == FOLDER["Fotos/2024/praia.jpg"]
    still = [f["quarantine_id"] for f in user.get("/api/quarantine").json()["files"]]
    assert len(still) == 2 and back["quarantine_id"] not in still

    assert "until you purge them: 2 files, " in user.get("/quarantine").text

    purge = user.post("/api/purge", {"quarantine_ids": still[:1]}).json()
    assert purge["decision"] == "pending_approval", "purging is destructive"
    approve_all(user)
    purged = settled(user, purge["proposal_id"])
    assert (purged["state"], purged["message"]) == ("done", "done: 1 file erased")
    assert "until you purge them: 1 file, " in user.get("/quarantine").text
    purge = user.post("/api/purge", {"quarantine_ids": still[1:]}).json()
    approve_all(user)
    assert settled(user, purge["proposal_id"])["state"] == "done"
    assert user.get("/api/quarantine").json()["files"] == []
    leftovers = [p for p in (root / ".libervia-quarantine").rglob("*") if p.is_file()]
    assert [p.name for p in leftovers] == ["journal.jsonl"]


def test_a_selection_names_only_files_the_agent_saw(scanned):
    user, _ = scanned
    unseen = user.post("/api/quarantine-files", {"paths": ["Docs/nota.txt", "nowhere.txt"]})
    assert unseen.status_code == 409 and unseen.json()["error"]["code"] == "not_in_listing"
    for bad in ([], "Docs", [1, 2], ["x"] * 5001):
        refused = user.post("/api/quarantine-files", {"paths": bad})
        assert refused.status_code == 400 and refused.json()["error"]["code"] == "bad_selection"
    assert user.post("/api/restore", {"quarantine_id": "../x"}).status_code == 400
    assert (
        user.post("/api/purge", {"quarantine_ids": ["20260101T000000Z-00000000"]}).status_code
        == 409
    )
    assert user.get("/api/approvals").json()["pending"] == []
