from portal.lookup import find, folder_to_inspect

INVENTORY = {
    p: {"path": p, "sha256": p, "size": 1}
    for p in ("notas.txt", "docs/Relatorio.pdf", "old/relatorio.pdf", "docs/a.txt")
}


def test_an_exact_path_wins():
    assert find(INVENTORY, "docs/a.txt").file == INVENTORY["docs/a.txt"]
    assert find(INVENTORY, "/notas.txt").file == INVENTORY["notas.txt"]


def test_a_bare_name_is_found_anywhere_and_ignores_case():
    assert find(INVENTORY, "a.txt").file == INVENTORY["docs/a.txt"]
    both = find(INVENTORY, "RELATORIO.PDF")
    assert both.file is None and both.ambiguous
    assert both.choices == ["docs/Relatorio.pdf", "old/relatorio.pdf"]


def test_a_path_with_a_folder_is_never_guessed():
    assert find(INVENTORY, "other/a.txt").file is None
    assert not find(INVENTORY, "other/a.txt").ambiguous


def test_what_the_agent_lists_to_see_a_file():
    assert folder_to_inspect("notas.txt") == (".", True)
    assert folder_to_inspect("docs/sub/a.txt") == ("docs/sub", False)
