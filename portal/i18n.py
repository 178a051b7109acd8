"""The portal's languages: English and Brazilian Portuguese, from a real gettext catalog
(`portal/locale/<locale>/LC_MESSAGES/messages.po`, compiled when first used).

The language of a request is chosen once, at the edge (`LocaleMiddleware`): the `lang` cookie
the person picked, else their browser's Accept-Language, else English. It is kept in a context
variable, so templates, chat replies and states in worker threads all speak it. The time zone
comes from the `tz` cookie the page sets from the browser (UTC until then).
"""

import contextlib
import contextvars
import io
from collections.abc import Iterator
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import unquote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale, UnknownLocaleError
from babel.dates import format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.support import NullTranslations, Translations

LOCALES = ("en", "pt_BR")
DEFAULT = "en"
LOCALE_DIR = Path(__file__).parent / "locale"
LANG_COOKIE, TZ_COOKIE = "lang", "tz"
_locale: contextvars.ContextVar[str] = contextvars.ContextVar("locale", default=DEFAULT)
_zone: contextvars.ContextVar[str] = contextvars.ContextVar("zone", default="UTC")


@cache
def translations(locale: str) -> NullTranslations:
    path = LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po"
    if locale == DEFAULT or not path.is_file():
        return NullTranslations()
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=locale)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled)


def negotiate(accept_language: str | None) -> str:
    """The best of LOCALES for an Accept-Language header (any Portuguese gets pt_BR)."""
    weighted = []
    for n, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                continue
        weighted.append((-quality, n, tag.strip().lower()))
    for _, _, tag in sorted(weighted):
        if tag.startswith("pt"):
            return "pt_BR"
        if tag.startswith("en"):
            return "en"
    return DEFAULT


def choose(cookie: str | None, accept_language: str | None) -> str:
    return cookie if cookie in LOCALES else negotiate(accept_language)


def zone_of(cookie: str | None) -> str:
    if not cookie or len(cookie) > 64:
        return "UTC"
    try:
        ZoneInfo(cookie)
    except (ZoneInfoNotFoundError, ValueError):
        return "UTC"
    return cookie


def use(locale: str, zone: str = "UTC") -> None:
    _locale.set(locale if locale in LOCALES else DEFAULT)
    _zone.set(zone)


@contextlib.contextmanager
def speaking(locale: str | None) -> Iterator[None]:
    """Words for someone other than the reader (an email to an invited person), then back."""
    token = _locale.set(locale if locale in LOCALES else DEFAULT)
    try:
        yield
    finally:
        _locale.reset(token)


def current() -> str:
    return _locale.get()


def html_lang() -> str:
    return current().replace("_", "-")


def gettext(message: str, **params: Any) -> str:
    text = translations(current()).gettext(message)
    return text % params if params else text


def ngettext(singular: str, plural: str, n: int, **params: Any) -> str:
    text = translations(current()).ngettext(singular, plural, n)
    return text % {"num": number(n), **params}


_ = gettext


def N_(message: str) -> str:
    """Marks a message for the catalog where it is defined; it is translated where shown."""
    return message


def N_plural(singular: str, plural: str) -> tuple[str, str]:
    """N_ for a message said of a number: its singular and plural, translated where shown."""
    return singular, plural


def number(n: float) -> str:
    return format_decimal(n, locale=current())


def size(n: int) -> str:
    """1.2 MB / 1,2 MB: decimal units, in the reader's number format."""
    if n < 1000:
        return ngettext("%(num)s byte", "%(num)s bytes", n)
    value = float(n)
    for unit in ("kB", "MB", "GB", "TB"):
        value /= 1000
        if value < 1000:
            return f"{format_decimal(value, format='#,##0.0', locale=current())} {unit}"
    return f"{format_decimal(value / 1000, format='#,##0.0', locale=current())} PB"


def when(value: str | float | None) -> str:
    """An ISO timestamp or epoch seconds, in the reader's time zone and language."""
    if value is None or value == "":
        return ""
    if isinstance(value, int | float):
        moment = datetime.fromtimestamp(value, UTC)
    else:
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        locale = Locale.parse(current())
    except (UnknownLocaleError, ValueError):
        locale = Locale.parse(DEFAULT)
    return format_datetime(moment, "short", tzinfo=ZoneInfo(_zone.get()), locale=locale)


class LocaleMiddleware:
    """Sets the request's language and time zone before anything renders or replies."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            use_the_askers(scope)
        await self.app(scope, receive, send)


def use_the_askers(scope: dict) -> None:
    """The language and time zone of whoever sent this request (cookies, then the browser's)."""
    headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
    cookies = _cookies(headers.get("cookie", ""))
    use(
        choose(cookies.get(LANG_COOKIE), headers.get("accept-language")),
        zone_of(cookies.get(TZ_COOKIE)),
    )


def _cookies(header: str) -> dict[str, str]:
    found = {}
    for part in header.split(";"):
        name, _, value = part.strip().partition("=")
        if name in (LANG_COOKIE, TZ_COOKIE):
            found[name] = unquote(value.strip().strip('"'))
    return found


# What the page's script says, translated once per page (in base.html) for `t()` in app.js. A
# message said of a number goes as its two forms, by the names Intl.PluralRules gives them (both
# languages have those two: "one", for 1 in English and for 0 and 1 in Portuguese, and "other").
JS_MESSAGES: dict[str, str | tuple[str, str]] = {
    "request_failed": N_("request failed (%(status)s)"),
    "token_once": N_("Save this now: the agent token is shown only once."),
    "onboarded": N_("Done: %(name)s is active (%(ref)s)."),
    "institution_created": N_("Institution created and contract released."),
    "approved": N_("Approved."),
    "rejected": N_("Rejected."),
    "no_build": N_("No agent build is published yet (the operator runs make agent)."),
    "chain_ok": N_("verified: %(events)s events, head %(head)s…"),
    "chain_broken": N_("BROKEN at event #%(seq)s: %(reason)s"),
    "witness_ok": N_("this console saw the ledger grow to %(size)s events without any rewrite"),
    "witness_alarm": N_("ALARM: %(problem)s"),
    "review": N_("Review it in Approvals"),
    "selected": N_plural("%(num)s selected, %(size)s", "%(num)s selected, %(size)s"),
    "select_one": N_("Select at least one file."),
    "contract_now": N_("Your contract is now %(ref)s."),
    "bytes": N_plural("%(num)s byte", "%(num)s bytes"),
    "token_reissued": N_("New token issued; the old one no longer works. It is shown only once."),
    "saved": N_("Saved."),
    "steps_where": N_("On your computer, in the folder the download went to (a terminal there):"),
    "steps_service": N_("Then start it now and with the computer:"),
    "steps_run": N_("Or run it only in this window with ./libervia-agent run (Ctrl+C stops it)."),
    "build": N_("Version %(version)s for %(os)s %(arch)s"),
    "newest": N_("(newest)"),
    "saved_as": N_("Each build is saved as libervia-agent; check it against SHA256SUMS."),
    "verification_sent": N_("Sent: look in your inbox."),
    "confirm_remove": N_("Remove %(email)s? Their access ends at once."),
    # Refusals of the edge (functions/edge.py), said before any page or language is known.
    "error_rate_limited": N_("Too many requests at once; wait a moment and try again."),
    "error_body_too_large": N_("That is too large to send."),
}


def _js_message(message: str | tuple[str, str]) -> str | dict[str, str]:
    if isinstance(message, str):
        return gettext(message)
    catalog = translations(current())
    return {"one": catalog.ngettext(*message, 1), "other": catalog.ngettext(*message, 2)}


def js_strings() -> dict[str, Any]:
    return {
        "locale": html_lang(),
        "messages": {key: _js_message(message) for key, message in JS_MESSAGES.items()},
    }
