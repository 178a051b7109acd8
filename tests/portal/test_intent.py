import pytest

from portal.intent import parse


@pytest.mark.parametrize(
    ("text", "action", "params"),
    [
        ("apagar arquivo X.txt", "delete", {"path": "X.txt"}),
        ("Excluir o arquivo 'Meu Doc.txt'", "delete", {"path": "Meu Doc.txt"}),
        ("delete file docs/notes.md", "delete", {"path": "docs/notes.md"}),
        ('remove "old report.pdf".', "delete", {"path": "old report.pdf"}),
        ("listar arquivos", "list_files", {}),
        ("list files in Docs", "list_files", {"path": "Docs"}),
        ("mostrar arquivos da pasta Fotos", "list_files", {"path": "Fotos"}),
        ("encontrar duplicados", "detect_duplicates", {}),
        ("find duplicates in Photos", "detect_duplicates", {"path": "Photos"}),
        ("achar arquivos duplicados", "detect_duplicates", {}),
        ("procure duplicatas", "detect_duplicates", {}),
        ("Quais arquivos estão duplicados?", "detect_duplicates", {}),
        ("busque as cópias na pasta Fotos", "detect_duplicates", {"path": "Fotos"}),
        ("look for duplicates", "detect_duplicates", {}),
        ("quais são meus arquivos?", "list_files", {}),
        ("veja meus arquivos", "list_files", {}),
        ("what are my files?", "list_files", {}),
        ("sugerir limpeza", "suggest_cleanup", {}),
        ("suggest cleanup in Downloads", "suggest_cleanup", {"path": "Downloads"}),
        ("renomear a.txt para B.txt", "rename", {"path": "a.txt", "new_name": "B.txt"}),
        ("rename file a.txt to b.txt", "rename", {"path": "a.txt", "new_name": "b.txt"}),
        ("mover a.txt para a pasta Arquivo", "move", {"path": "a.txt", "destination": "Arquivo"}),
        ("move report.pdf to archive", "move", {"path": "report.pdf", "destination": "archive"}),
        (
            "mover a.txt para a pasta Docs como b.txt",
            "move",
            {"path": "a.txt", "destination": "Docs", "new_name": "b.txt"},
        ),
        (
            'move "old.pdf" to archive as "2024 report.pdf"',
            "move",
            {"path": "old.pdf", "destination": "archive", "new_name": "2024 report.pdf"},
        ),
        # Names with spaces, unquoted, as people type them.
        ("apagar arquivo Documentos/vazio 0.txt", "delete", {"path": "Documentos/vazio 0.txt"}),
        ("apagar Documentos/vazio 0.txt", "delete", {"path": "Documentos/vazio 0.txt"}),
        ("apague foto da praia.jpg", "delete", {"path": "foto da praia.jpg"}),
        ("delete the file my notes", "delete", {"path": "my notes"}),
        (
            "renomear Documentos/vazio 1.txt para novo nome.txt",
            "rename",
            {"path": "Documentos/vazio 1.txt", "new_name": "novo nome.txt"},
        ),
        (
            "rename old photo.jpg to beach 2024.jpg",
            "rename",
            {"path": "old photo.jpg", "new_name": "beach 2024.jpg"},
        ),
        (
            "mover Documentos/vazio 2.txt para Downloads",
            "move",
            {"path": "Documentos/vazio 2.txt", "destination": "Downloads"},
        ),
        (
            "mover foto 1.jpg para a pasta Fotos de viagem como praia 1.jpg",
            "move",
            {"path": "foto 1.jpg", "destination": "Fotos de viagem", "new_name": "praia 1.jpg"},
        ),
        ("limpar em Downloads/Fotos", "suggest_cleanup", {"path": "Downloads/Fotos"}),
        ("limpar Downloads", "suggest_cleanup", {"path": "Downloads"}),
        ("limpe a pasta Fotos de viagem", "suggest_cleanup", {"path": "Fotos de viagem"}),
        ("limpar tudo", "suggest_cleanup", {}),
        ("clean everything", "suggest_cleanup", {}),
        # Quotes as a phone types them; an apostrophe in a name stays.
        ("apagar “notas da reunião.txt”", "delete", {"path": "notas da reunião.txt"}),
        (
            "renomear «a b.txt» para „c d.txt“",
            "rename",
            {"path": "a b.txt", "new_name": "c d.txt"},
        ),
        ("apagar arquivo d’água.txt", "delete", {"path": "d’água.txt"}),
        ("restaurar notas.txt", "restore", {"path": "notas.txt"}),
        (
            "recuperar o arquivo foto da praia.jpg da quarentena",
            "restore",
            {"path": "foto da praia.jpg"},
        ),
        ('restore "my notes.txt" from the quarantine', "restore", {"path": "my notes.txt"}),
    ],
)
def test_known_sentences_map_to_one_action(text, action, params):
    intent = parse(text)
    assert (intent.action, intent.params, intent.help) == (action, params, None)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "olá",
        "qual é o tempo hoje?",
        "format disk",
        "apagar tudo e mais",
        "delete",
        "rename a.txt",
        "please delete everything in my home",
        # Said twice, a separator leaves it unclear where a name ends: quotes are asked for.
        "renomear plano para viagem.txt para plano.txt",
        "move a b to c to d",
        "apagar tudo e mais",
        "restaurar da quarentena",
        "restore from the quarantine",
    ],
)
def test_unknown_text_gets_help_never_a_guess(text):
    intent = parse(text)
    assert intent.action is None and intent.params == {}
    assert "listar arquivos" in intent.help and "delete file" in intent.help


@pytest.mark.parametrize(
    "text",
    [
        "apagar tudo",
        "Apague todos os arquivos",
        "apagar a pasta inteira",
        "delete everything",
        "delete all my files",
        "delete all",
        "remove my whole folder",
    ],
)
def test_delete_everything_is_answered_with_how_to_say_what_goes(text):
    intent = parse(text)
    assert intent.action is None and intent.query is None and intent.params == {}
    assert intent.help is not None and intent.help.startswith("I do not delete everything")


@pytest.mark.parametrize(
    ("text", "query", "params"),
    [
        (
            "apagar todos os duplicados em Downloads",
            "bulk",
            {"kind": "duplicates", "path": "Downloads"},
        ),
        ('delete all duplicates in "My Docs"', "bulk", {"kind": "duplicates", "path": "My Docs"}),
        ("remover as cópias da pasta Fotos", "bulk", {"kind": "duplicates", "path": "Fotos"}),
        ("apagar arquivos vazios", "bulk", {"kind": "empty"}),
        (
            "delete temporary files from Downloads",
            "bulk",
            {"kind": "temporary", "path": "Downloads"},
        ),
        ("o que está pendente?", "pending", {}),
        ("What is pending?", "pending", {}),
        ("what’s pending?", "pending", {}),
        ("pendências", "pending", {}),
        ("o que aconteceu com notas.txt?", "history", {"path": "notas.txt"}),
        ("what happened to the file docs/a.txt", "history", {"path": "docs/a.txt"}),
    ],
)
def test_requests_about_many_files_or_the_records_are_queries(text, query, params):
    intent = parse(text)
    assert (intent.query, intent.params, intent.action) == (query, params, None)
