"""Deterministic chat parser: Portuguese or English text -> one contract action, or help.

No model and no guessing: a sentence either matches a pattern below or gets the help text.
"""

import re
from dataclasses import dataclass, field
from typing import Any

from portal.i18n import N_

NAME = r"""(?:"(?P<{0}q>[^"]+)"|'(?P<{0}s>[^']+)'|(?P<{0}w>\S+))"""
# A name that may hold spaces unquoted: the rest of the sentence (only where nothing follows it).
REST = r"""(?:"(?P<{0}q>[^"]+)"|'(?P<{0}s>[^']+)'|(?P<{0}w>.+))"""
FILE_WORD = r"(?:(?:o |the )?(?:arquivo|ficheiro|file)\s+)?"
FOLDER_WORD = r"(?:(?:a |the |para a |to the )?(?:pasta|folder|diret[oó]rio|directory)\s+)?"


def _name(key: str) -> str:
    return NAME.format(key)


def _words_until(key: str, *separators: str) -> str:
    """A name with spaces, unquoted, that holds none of `separators` as a word: a sentence
    that says one twice is ambiguous and gets the help (which says to quote such names)."""
    stop = "|".join(separators)
    return rf"(?P<{key}w>(?:(?!\s(?:{stop})\s).)+?)"


RENAME_TO = ("para", "to", "como", "as")
MOVE_TO = ("para", "to", "into", "pra")
NAMED = ("como", "chamado", "as", "named", r"renamed\s+to")


DELETE_WORDS = "apagar|apague|apaga|excluir|exclua|deletar|delete|remover|remova|remove"
DELETE_ONE = rf"(?:{DELETE_WORDS})"
DELETE_VERB = rf"(?:{DELETE_WORDS}|limpar|limpe)"  # of many files, "clean" too
KINDS = {
    "duplicates": r"duplicados|duplicadas|duplicatas|c[oó]pias|duplicates|copies|duplicate files",
    "empty": r"(?:arquivos|ficheiros)\s+vazios|empty\s+files",
    "temporary": r"(?:arquivos|ficheiros)\s+tempor[aá]rios|temporary\s+files|temp\s+files",
}
# Requests about many files or about the engine's records: the console answers them itself
# (a bulk request becomes one quarantine_files proposal), never a guess.
QUERIES: list[tuple[str, re.Pattern[str]]] = [
    (
        "bulk",
        re.compile(
            rf"^{DELETE_VERB}\s+(?:todos\s+os\s+|todas\s+as\s+|os\s+|as\s+|all\s+(?:the\s+)?"
            r"|the\s+)?(?P<kind>"
            + "|".join(f"(?P<{k}>{v})" for k, v in KINDS.items())
            + r")(?:\s+(?:em|na|no|da|do|de|dentro\s+de|in|from|inside)\s+"
            + FOLDER_WORD
            + _name("path")
            + r")?$",
            re.IGNORECASE,
        ),
    ),
    (
        "pending",
        re.compile(
            r"^(?:(?:o\s+)?que\s+(?:est[aá]|est[aã]o|ficou|falta)\s+pendentes?"
            r"|what(?:['’]s|\s+is|\s+are)\s+(?:pending|waiting)(?:\s+for\s+me)?"
            r"|pend[eê]ncias|pendentes?|pending|aprova[cç][oõ]es\s+pendentes|pending\s+approvals)$",
            re.IGNORECASE,
        ),
    ),
    (
        "history",
        re.compile(
            rf"^(?:(?:o\s+)?que\s+aconteceu\s+(?:com|ao|[aà])\s+|what\s+happened\s+to\s+)"
            rf"{FILE_WORD}{REST.format('path')}$",
            re.IGNORECASE,
        ),
    ),
]

PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    (
        "delete",
        re.compile(
            rf"^{DELETE_ONE}\s+{FILE_WORD}{_name('path')}$",
            re.IGNORECASE,
        ),
    ),
    (
        "rename",
        re.compile(
            rf"^(?:renomear|renomeie|renomeia|rename)\s+{FILE_WORD}{_name('path')}\s+"
            rf"(?:para|to|como|as)\s+{_name('new_name')}$",
            re.IGNORECASE,
        ),
    ),
    (
        "move",
        re.compile(
            rf"^(?:mover|mova|move)\s+{FILE_WORD}{_name('path')}\s+(?:para|to|into|pra)\s+"
            rf"{FOLDER_WORD}{_name('destination')}(?:\s+(?:como|chamado|as|named|renamed\s+to)"
            rf"\s+{_name('new_name')})?$",
            re.IGNORECASE,
        ),
    ),
    # The same with names that hold spaces, unquoted, as people type them: the rest of the
    # sentence after the word "file" (or a name with a folder or an extension); for rename and
    # move, on each side of a separator said once.
    (
        "delete",
        re.compile(
            rf"^{DELETE_ONE}\s+(?:o |the )?(?:arquivo|ficheiro|file)\s+(?P<pathw>.+)$"
            rf"|^{DELETE_ONE}\s+(?P<path2w>[^\s\"'].*(?:/.*|\.\w{{1,10}}))$",
            re.IGNORECASE,
        ),
    ),
    (
        "rename",
        re.compile(
            rf"^(?:renomear|renomeie|renomeia|rename)\s+{FILE_WORD}"
            rf"{_words_until('path', *RENAME_TO)}\s+(?:{'|'.join(RENAME_TO)})\s+"
            rf"{_words_until('new_name', *RENAME_TO)}$",
            re.IGNORECASE,
        ),
    ),
    (
        "move",
        re.compile(
            rf"^(?:mover|mova|move)\s+{FILE_WORD}{_words_until('path', *MOVE_TO)}"
            rf"\s+(?:{'|'.join(MOVE_TO)})\s+{FOLDER_WORD}"
            rf"{_words_until('destination', *MOVE_TO, *NAMED)}"
            rf"(?:\s+(?:{'|'.join(NAMED)})\s+{_words_until('new_name', *MOVE_TO, *NAMED)})?$",
            re.IGNORECASE,
        ),
    ),
    (
        "restore",
        re.compile(
            r"^(?:restaurar|restaure|restaura|recuperar|recupere|recupera|restore|recover"
            rf"|undelete)\s+{FILE_WORD}"
            r"(?!(?:da|from)\s+(?:(?:a|the)\s+)?(?:quarentena|quarantine)$)"  # no name at all
            r"(?:\"(?P<pathq>[^\"]+)\"|'(?P<paths>[^']+)'|(?P<pathw>.+?))"
            r"(?:\s+(?:da|from)\s+(?:(?:a|the)\s+)?(?:quarentena|quarantine))?$",
            re.IGNORECASE,
        ),
    ),
    (
        "detect_duplicates",
        re.compile(
            r"^(?:(?:encontrar|encontre|procurar|procure|achar|ache|buscar|busque|detectar"
            r"|detecte|mostrar|mostre|listar|liste|ver|veja|find|detect|show|list|look\s+for"
            r"|search\s+for)\s+)?"
            r"(?:(?:os|as|meus|minhas|the|my)\s+)?(?:(?:arquivos|ficheiros|files)\s+)?"
            r"(?:duplicados|duplicadas|duplicatas|repetidos|c[oó]pias|duplicates|duplicate files"
            r"|copies)(?:\s+(?:em|na|no|in)\s+" + FOLDER_WORD + _name("path") + r")?$"
            r"|^(?:quais|que|which|what)\s+(?:arquivos|ficheiros|files)\s+(?:est[aã]o|s[aã]o|are)"
            r"\s+(?:duplicados|repetidos|duplicated|duplicates)$",
            re.IGNORECASE,
        ),
    ),
    (
        "suggest_cleanup",
        re.compile(
            r"^(?:sugerir|sugira|suggest|propor|proponha)?\s*(?:uma\s+|a\s+)?"
            r"(?:limpeza|cleanup|clean up|clean-up)(?:\s+(?:em|in)\s+" + _name("path") + r")?$"
            r"|^(?:limpar|limpe|clean)(?:\s+(?:tudo|everything|all))?$"
            r"|^(?:limpar|limpe|clean)\s+(?:(?:em|in)\s+)?"
            + FOLDER_WORD
            + REST.format("path2")
            + r"$",
            re.IGNORECASE,
        ),
    ),
    (
        "list_files",
        re.compile(
            r"^(?:listar|liste|lista|mostrar|mostre|mostra|ver|veja|list|show)\s+"
            r"(?:(?:os|meus|the|my)\s+)?(?:arquivos|ficheiros|files)"
            r"(?:\s+(?:em|na|no|da|do|in|of)\s+" + FOLDER_WORD + _name("path") + r")?$"
            r"|^(?:quais\s+s[aã]o\s+(?:os\s+)?meus\s+(?:arquivos|ficheiros)"
            r"|what\s+(?:are\s+)?my\s+files(?:\s+are)?)$",
            re.IGNORECASE,
        ),
    ),
]

# "Delete everything" names no file: it is answered with how to say what goes, never proposed.
EVERYTHING = re.compile(
    rf"^{DELETE_ONE}\s+(?:tudo|todos|todas|todos\s+os\s+(?:meus\s+)?(?:arquivos|ficheiros)"
    r"|everything|all(?:\s+(?:of\s+)?(?:my|the))?(?:\s+files)?"
    r"|(?:a\s+|minha\s+)?pasta(?:\s+(?:inteira|toda))?|(?:my\s+)?(?:whole\s+|entire\s+)?folder)$",
    re.IGNORECASE,
)
NOT_EVERYTHING = N_(
    "I do not delete everything at once: each request says what goes. Ask for example "
    '"apagar todos os duplicados em Downloads" / "delete all duplicates in Downloads", '
    '"apagar arquivos vazios" / "delete empty files" or "apagar arquivo notas.txt" / "delete '
    'file notes.txt", or choose the files on the Cleanup page; deleted files wait in the '
    "quarantine, restorable."
)
HELP = N_(
    "I understand one request at a time, in Portuguese or English, for example: "
    '"listar arquivos" / "list files in docs", "encontrar duplicados" / "find duplicates", '
    '"sugerir limpeza" / "suggest cleanup", "apagar arquivo notas.txt" / '
    '"delete file notes.txt", "renomear a.txt para b.txt" / "rename a.txt to b.txt", '
    '"mover a.txt para arquivo" / "move a.txt to archive", "apagar todos os duplicados em '
    'Downloads" / "delete all duplicates in Downloads", "apagar arquivos vazios" / "delete '
    'empty files", "o que está pendente?" / "what is pending?", "o que aconteceu com '
    'notas.txt?" / "what happened to notes.txt?", "restaurar notas.txt" / "restore notes.txt". '
    "Put names with spaces in quotes. "
    "The Engine decides whether each request is allowed."
)


@dataclass(frozen=True)
class Intent:
    action: str | None
    params: dict[str, Any] = field(default_factory=dict)
    help: str | None = None
    query: str | None = None  # bulk, pending or history: answered by the console


def _value(match: re.Match[str], key: str) -> str | None:
    for suffix in ("q", "s", "w"):
        value = match.groupdict().get(key + suffix)
        if value:
            return value
    return None


# Quotes as phones and word processors type them, read as the plain ones.
# (A curly apostrophe stays: names hold it, "d’água.txt".)
PLAIN_QUOTES = str.maketrans({"“": '"', "”": '"', "„": '"', "«": '"', "»": '"'})


def parse(text: str) -> Intent:
    cleaned = " ".join(text.translate(PLAIN_QUOTES).strip().split()).rstrip(".!?")
    for query, pattern in QUERIES:
        match = pattern.match(cleaned)
        if not match:
            continue
        params = {key: value for key in ("path",) if (value := _value(match, key))}
        if query == "bulk":
            params["kind"] = next(k for k in KINDS if match.group(k))
        return Intent(None, params, query=query)
    if EVERYTHING.match(cleaned):
        return Intent(None, help=NOT_EVERYTHING)
    for action, pattern in PATTERNS:
        match = pattern.match(cleaned)
        if not match:
            continue
        params = {}
        for key in ("path", "new_name", "destination"):
            if value := _value(match, key):
                params[key] = value
        if action in ("suggest_cleanup", "delete") and (value := _value(match, "path2")):
            params["path"] = value
        return Intent(action, params)
    return Intent(None, help=HELP)
