"""The portal speaks English and Brazilian Portuguese from one real catalog: every message
the code and the templates use is translated, with the same placeholders."""

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from portal import i18n

ROOT = Path(__file__).resolve().parents[2]
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None, "N_plural": (1, 2)}
METHODS = [
    ("portal/**.py", "python"),
    ("functions/console/**.py", "python"),
    ("portal/templates/**.html", "jinja2"),
]
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def used_messages() -> set[str | tuple[str, ...]]:
    found: set[str | tuple[str, ...]] = set()
    for _filename, _lineno, message, _comments, _context in extract_from_dir(
        str(ROOT), METHODS, keywords=KEYWORDS
    ):
        found.add(message if isinstance(message, str) else tuple(message))
    return found


def test_every_message_in_use_has_a_portuguese_translation_with_the_same_placeholders():
    path = ROOT / "portal" / "locale" / "pt_BR" / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as handle:
        catalog = read_po(handle, locale="pt_BR")
    used = used_messages()
    assert len(used) > 200
    untranslated, mismatched = [], []
    for message in used:
        key = message[0] if isinstance(message, tuple) else message
        entry = catalog.get(key)
        strings = entry.string if entry else None
        texts = list(strings) if isinstance(strings, tuple) else [strings]
        if entry is None or not all(texts):
            untranslated.append(key)
            continue
        originals = message if isinstance(message, tuple) else (message,)
        wanted = set(PLACEHOLDER.findall(" ".join(originals)))
        if any(set(PLACEHOLDER.findall(text)) != wanted for text in texts):
            mismatched.append(key)
    assert untranslated == [], "run make messages and translate these in messages.po"
    assert mismatched == []


@pytest.mark.parametrize(
    ("header", "locale"),
    [
        ("pt-BR,pt;q=0.9,en;q=0.8", "pt_BR"),
        ("pt-PT", "pt_BR"),
        ("en-US,en;q=0.9", "en"),
        ("de-DE,pt;q=0.5", "pt_BR"),
        ("fr", "en"),
        ("", "en"),
        ("en;q=0.2,pt;q=0.7", "pt_BR"),
        ("pt;q=garbage,en", "en"),
    ],
)
def test_the_browser_language_picks_the_catalog(header, locale):
    assert i18n.negotiate(header) == locale
    assert i18n.choose("pt_BR", header) == "pt_BR", "a chosen language wins"
    assert i18n.choose("xx", header) == locale


def test_numbers_sizes_and_times_follow_the_reader():
    i18n.use("pt_BR", i18n.zone_of("America/Sao_Paulo"))
    try:
        assert i18n.size(1_234_567) == "1,2 MB" and i18n.number(12345) == "12.345"
        assert i18n.when("2026-12-01T23:11:00Z") == "01/12/2026 20:11"
        assert i18n.gettext("Files") == "Arquivos"
        assert i18n.ngettext("hashing %(num)s file", "hashing %(num)s files", 1) == (
            "calculando o hash de 1 arquivo"
        )
    finally:
        i18n.use("en")
    assert i18n.size(1_234_567) == "1.2 MB" and i18n.number(12345) == "12,345"
    assert i18n.zone_of("../../etc/passwd") == "UTC" and i18n.zone_of("x" * 100) == "UTC"


def test_the_pages_script_gets_both_forms_of_a_message_said_of_a_number():
    with i18n.speaking("pt_BR"):
        messages = i18n.js_strings()["messages"]
    assert messages["selected"] == {
        "one": "%(num)s selecionado, %(size)s",
        "other": "%(num)s selecionados, %(size)s",
    }
    assert messages["bytes"] == {"one": "%(num)s byte", "other": "%(num)s bytes"}
    assert messages["saved"] == "Salvo."
