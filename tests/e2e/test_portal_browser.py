import hashlib
import re
import shlex

import pytest

from tests.support.agent_process import agent_cli, running_agent, wait_for
from tests.support.browser import chromium, screenshot

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


@pytest.fixture
def browser():
    with chromium() as instance:
        yield instance


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_signup_onboarding_chat_approve_status(browser, console, viewport, tmp_path):
    suffix = "phone" if viewport is PHONE else "desktop"
    page = browser.new_page(viewport=viewport, base_url=console)
    page.goto("/")
    assert page.url.endswith("/login")
    screenshot(page, f"01-login-{suffix}")
    page.click("text=Create an account")
    page.fill("#email", f"ana-{suffix}@example.org")
    page.fill("#password", "correct horse battery staple")
    screenshot(page, f"02-signup-{suffix}")
    page.click("button[type=submit]")
    page.wait_for_url("**/onboarding")

    page.fill("#name", "Ana's files")
    page.click("text=Create and activate")
    command = page.locator("pre.command")
    command.wait_for()
    assert re.search(r"--actor-token lat_\S+", command.inner_text())
    screenshot(page, f"03-onboarding-{suffix}")
    folder = tmp_path / "Organize"
    folder.mkdir()
    (folder / "X.txt").write_bytes(b"delete me")
    args = shlex.split(command.inner_text())[1:]
    args[args.index("--root-dir") + 1] = str(folder)
    config = tmp_path / "agent.json"
    agent_cli(config, *args)
    page.reload()
    assert "lat_" not in page.content(), "the agent token is shown only once"
    assert page.locator("td", has_text="delete").count() == 1

    with running_agent(config, tmp_path / "agent.log"):
        run_chat_and_approval(page, suffix, folder)
    page.close()


def run_chat_and_approval(page, suffix, folder):
    page.goto("/chat")
    page.fill("#chat-text", "listar arquivos")
    page.click("text=Send")
    page.locator("#conversation p[data-decision=allowed]").wait_for()
    page.locator("#conversation p.state[data-state=done]", has_text="1 file listed").wait_for()
    page.fill("#chat-text", "apagar arquivo nada.txt")
    page.click("text=Send")
    page.locator("#conversation p[data-decision=not_found]").wait_for(timeout=30_000)
    assert "nada.txt was not found in your folder" in page.inner_text("#conversation")
    page.fill("#chat-text", "apagar arquivo X.txt")
    page.click("text=Send")
    answer = page.locator("#conversation p.engine").nth(3)
    answer.wait_for()
    assert answer.get_attribute("data-decision") == "pending_approval"
    assert "Needs approval" in answer.inner_text()
    page.fill("#chat-text", "qual é o tempo hoje?")
    page.click("text=Send")
    page.locator("#conversation p[data-decision=help]").wait_for()
    screenshot(page, f"04-chat-{suffix}")

    page.goto("/approvals")
    card = page.locator("article.proposal")
    assert "delete X.txt" in card.inner_text()
    wait_for(
        lambda: page.reload() or hashlib.sha256(b"delete me").hexdigest() in card.inner_text(),
        what="the listed hash in the impact summary",
    )
    assert folder.joinpath("X.txt").exists(), "nothing is deleted before approval"
    screenshot(page, f"05-approvals-{suffix}")
    page.fill("input[name=reason]", "ok to delete")
    page.click("button[value=approve]")
    done = page.locator("article.proposal p.state[data-state=done]")
    done.wait_for(timeout=30_000)
    assert "moved to .libervia-quarantine/" in done.inner_text()
    assert not folder.joinpath("X.txt").exists()
    screenshot(page, f"05b-approved-done-{suffix}")

    def result_shown():
        page.goto("/dashboard")
        return page.locator("td", has_text="job.result").count() >= 2

    wait_for(result_shown, what="job results on the dashboard")
    assert page.locator("#agent-status").inner_text() == "Online"
    assert page.locator("#pending-count").inner_text() == "0 waiting"
    assert page.locator("td", has_text="approval.granted").count() >= 1
    assert page.locator("td", has_text="job.created").count() >= 1
    screenshot(page, f"06-dashboard-{suffix}")

    page.goto("/audit?category=approval")
    assert page.locator("#timeline td", has_text="approval.granted").count() == 1
    page.locator("#public-key").filter(has_not_text="…").wait_for()
    screenshot(page, f"07-audit-{suffix}")
    if suffix == "phone":
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], "no horizontal scrolling at phone width"
