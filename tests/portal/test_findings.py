from portal.findings import Findings, localized


def f(path, size=10, sha="x", mtime=0.0):
    return {"path": path, "size": size, "sha256": sha, "mtime": mtime}


FILES = {
    item["path"]: item
    for item in [
        f("Fotos/a.jpg", sha="a", mtime=1.0),
        f("Fotos/2024/a.jpg", sha="a", mtime=3.0),
        f("Downloads/a (1).jpg", sha="a", mtime=2.0),
        f("Docs/empty.txt", size=0, sha="e"),
        f("Docs/also-empty.txt", size=0, sha="e"),
        f("Docs/report.tmp", sha="t"),
        f("Videos/film.mkv", size=3 * 10**9, sha="v"),
        f("top.txt", sha="u"),
    ]
}


def test_folders_show_their_subfolders_and_direct_files():
    view = Findings(FILES).folder("", "")
    assert [(d["name"], d["files"]) for d in view["folders"]] == [
        ("Docs", 3),
        ("Downloads", 1),
        ("Fotos", 2),
        ("Videos", 1),
    ]
    assert [x["path"] for x in view["files"]["items"]] == ["top.txt"]
    searched = Findings(FILES).folder("Fotos", "A.JPG")
    assert searched["folders"] == [] and searched["files"]["total"] == 2


def test_each_keep_rule_keeps_a_different_copy_and_empty_files_are_not_duplicates():
    found = Findings(FILES)
    assert found.wasted_bytes == 20 and len(found.groups) == 1
    kept = {
        rule: found.duplicates(rule)["groups"][0]["keep"]["path"]
        for rule in ("shortest", "oldest", "newest")
    }
    assert kept == {
        "shortest": "Fotos/a.jpg",
        "oldest": "Fotos/a.jpg",
        "newest": "Fotos/2024/a.jpg",
    }


def test_cleanup_kinds_give_their_reason_and_the_space_they_free():
    kinds = {k["kind"]: k for k in localized(Findings(FILES).cleanup())}
    assert kinds["duplicates"]["bytes"] == 20
    assert [x["reason"] for x in kinds["duplicates"]["files"]] == [
        "same content as Fotos/a.jpg"
    ] * 2
    assert (
        kinds["empty"]["count"] == 2 and kinds["temporary"]["files"][0]["path"] == "Docs/report.tmp"
    )
    assert kinds["big"]["files"][0]["path"] == "Videos/film.mkv"


def test_paging_through_100000_files_stays_in_bounds():
    many = {f"F/{n:06d}.jpg": f(f"F/{n:06d}.jpg", sha=str(n)) for n in range(100_000)}
    found = Findings(many)
    last = found.folder("F", "", page=10**6, per_page=200)["files"]
    assert last["page"] == 500 and len(last["items"]) == 200
    assert last["items"][-1]["path"] == "F/099999.jpg"


def test_search_ignores_case_in_any_script_and_stays_below_the_folder():
    files = {
        p: f(p, sha=p)
        for p in ("Straße/Fuß.txt", "Straße/notas.TXT", "Zeta/fuss.md", "Ärger/ÖL.pdf", "a.txt")
    }
    found = Findings(files)
    assert [x["path"] for x in found.folder("", "FUSS")["files"]["items"]] == [
        "Straße/Fuß.txt",
        "Zeta/fuss.md",
    ]
    assert [x["path"] for x in found.folder("Straße", "txt")["files"]["items"]] == [
        "Straße/Fuß.txt",
        "Straße/notas.TXT",
    ]
    assert [x["path"] for x in found.folder("", "öl")["files"]["items"]] == ["Ärger/ÖL.pdf"]
    assert found.folder("Zeta", "straße")["files"]["total"] == 0, "not above the folder"
