"""Two people in a real browser: the owner (in Portuguese) invites an assistant (in English) who
joins by the emailed link; notices with their badge; a reset password page; an error shown
next to the control that caused it. Screenshots per language and width."""

import pytest

from tests.e2e.test_portal_browser import DESKTOP, PHONE, signed_up_and_onboarded
from tests.support.agent_process import wait_for
from tests.support.browser import screenshot
from tests.support.portal_agent import agent_for
from tests.support.smtp import link_in


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_an_owner_invites_an_assistant_who_joins(
    browser, watching_console, mailbox, engine, viewport, tmp_path
):
    width = "phone" if viewport is PHONE else "desktop"
    owner_context = browser.new_context(
        viewport=viewport, base_url=watching_console, locale="pt-BR"
    )
    owner = owner_context.new_page()
    owner_email = f"ana-{width}@example.org"
    package = signed_up_and_onboarded(owner, owner_email)

    owner.goto("/members")
    assert owner.locator("html").get_attribute("lang") == "pt-BR"
    owner.fill("#invite-email", owner_email)  # herself: refused, and said next to the form
    owner.click("#invite-form button[type=submit]")
    error = owner.locator("#invite-form [data-role=error]")
    error.wait_for()
    assert "membro" in error.inner_text()
    screenshot(owner, f"15-members-error-pt-{width}")
    owner.fill("#invite-email", f"bia-{width}@example.org")
    owner.select_option("#invite-role", "executive_admin")
    owner.click("#invite-form button[type=submit]")
    owner.locator("#invitations").wait_for()
    assert f"bia-{width}@example.org" in owner.locator("#invitations").inner_text()
    screenshot(owner, f"15-members-pt-{width}")

    letter = mailbox.wait_for(f"bia-{width}@example.org", "invited you")
    path = link_in(letter, "/invite?token=")
    helper_context = browser.new_context(
        viewport=viewport, base_url=watching_console, locale="en-US"
    )
    helper = helper_context.new_page()
    helper.goto(path)
    assert "Ana" in helper.locator("main").inner_text()
    helper.fill("#password", "another long passphrase")
    screenshot(helper, f"16-invitation-en-{width}")
    helper.click("#accept-form button[type=submit]")
    helper.wait_for_url("**/dashboard")
    assert helper.locator("#agent-status").count() == 1

    folder = tmp_path / "Organize"
    folder.mkdir()
    with agent_for(package, engine, folder, tmp_path):
        wait_for(
            lambda: owner.request.get("/api/dashboard").json()["agent"]["online"],
            20,
            "the agent's first poll",
        )

    def told() -> bool:  # the agent stopped: the owner is told (in the portal; her address
        # is not confirmed, so no email)
        notices = owner.request.get("/api/notifications").json()["notices"]
        return any(n["kind"] == "agent_offline" for n in notices)

    wait_for(told, 20, "the agent-offline notice")
    owner.goto("/dashboard")
    assert owner.locator("#unread").inner_text().strip() != ""
    screenshot(owner, f"17-dashboard-badge-pt-{width}")
    owner.goto("/notifications")
    assert owner.locator("#notices li").count() >= 1
    screenshot(owner, f"17-notices-pt-{width}")
    owner.goto("/members")
    assert owner.locator("#members li").count() == 2
    screenshot(owner, f"18-members-two-pt-{width}")

    helper.goto("/forgot")
    screenshot(helper, f"19-forgot-en-{width}")
    owner_context.close()
    helper_context.close()
