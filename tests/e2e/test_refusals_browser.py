"""The edge's refusals in a real browser: a person past the console's rate limit reads why in
their own language, next to the form they sent, although the edge answers before any page or
language is known. Screenshots at both widths."""

import pytest

from harness.servers import console_process
from tests.e2e.test_portal_browser import DESKTOP, PHONE
from tests.support.browser import screenshot

TOO_MANY_PT = "Pedidos demais de uma vez; espere um momento e tente de novo."


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_a_person_past_the_rate_limit_reads_why_in_portuguese(
    browser, engine, console_database_url, viewport, tmp_path
):
    width = "phone" if viewport is PHONE else "desktop"
    limited = {"CONSOLE_RATE_LIMIT_PER_SECOND": "0.01", "CONSOLE_RATE_LIMIT_BURST": "20"}
    with console_process(
        tmp_path / "console", engine, console_database_url, None, **limited
    ) as base:
        page = browser.new_context(viewport=viewport, base_url=base, locale="pt-BR").new_page()
        page.goto("/login")
        assert page.locator("html").get_attribute("lang") == "pt-BR"
        statuses = page.evaluate(
            "async () => { const seen = [];"
            " for (let n = 0; n < 30; n++) seen.push((await fetch('/api/session')).status);"
            " return seen; }"
        )
        assert statuses[-1] == 429
        page.fill("#email", f"rui-{width}@example.org")
        page.fill("#password", "a password of ours")
        page.click("#auth-form button[type=submit]")
        error = page.locator("#auth-form [data-role=error]")
        error.wait_for()
        assert error.inner_text() == TOO_MANY_PT
        screenshot(page, f"20-rate-limited-pt-{width}")
        # Navigating while still limited: a page in Portuguese, not the edge's JSON.
        answer = page.goto("/dashboard")
        assert answer is not None and answer.status == 429
        assert page.locator("#error-page h1").inner_text() == "Pedidos demais"
        assert page.locator("#error-page a").first.get_attribute("href") == "/dashboard"
        screenshot(page, f"20-rate-limited-page-pt-{width}")
