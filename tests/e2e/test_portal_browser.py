import hashlib
import re
import shlex

import pytest

from tests.support.agent_process import agent_cli, running_agent, wait_for
from tests.support.browser import screenshot
from tests.support.portal_agent import agent_for

PHONE = {"width": 390, "height": 844}
# Sparse, so it takes little disk; hashed by one process at about 1 GB/s, it keeps the scan
# running for the seconds the page needs to show its progress (the page asks once a second;
# the other files are read meanwhile by the agent's other processes).
BIG_VIDEO = 3_000_000_000
DESKTOP = {"width": 1366, "height": 900}


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
    page.click("#chat-form button[type=submit]")
    page.locator("#conversation p[data-decision=allowed]").wait_for()
    page.locator("#conversation p.state[data-state=done]", has_text="1 file listed").wait_for()
    page.fill("#chat-text", "apagar arquivo nada.txt")
    page.click("#chat-form button[type=submit]")
    page.locator("#conversation p[data-decision=not_found]").wait_for(timeout=30_000)
    assert "nada.txt was not found in your folder" in page.inner_text("#conversation")
    page.fill("#chat-text", "apagar arquivo X.txt")
    page.click("#chat-form button[type=submit]")
    answer = page.locator("#conversation p.engine").nth(3)
    answer.wait_for()
    assert answer.get_attribute("data-decision") == "pending_approval"
    assert "Needs approval" in answer.inner_text()
    page.fill("#chat-text", "qual é o tempo hoje?")
    page.click("#chat-form button[type=submit]")
    page.locator("#conversation p[data-decision=help]").wait_for()
    page.fill("#chat-text", "apagar tudo")
    page.click("#chat-form button[type=submit]")
    page.locator("#conversation p[data-decision=help]").nth(1).wait_for()
    assert "I do not delete everything at once" in page.inner_text("#conversation")
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
    page.click("button[value=reject]")  # without a reason: said next to the buttons
    refused = page.locator("form.decision [data-role=error]")
    refused.wait_for()
    assert "reason" in refused.inner_text() and refused.is_visible()
    screenshot(page, f"05a-reject-needs-a-reason-{suffix}", full_page=False)
    page.fill("input[name=reason]", "ok to delete")
    page.click("button[value=approve]")
    done = page.locator("article.proposal p.state[data-state=done]")
    done.wait_for(timeout=30_000)
    assert "moved to .libervia-quarantine/" in done.inner_text()
    assert not folder.joinpath("X.txt").exists()
    screenshot(page, f"05b-approved-done-{suffix}")
    page.goto("/chat")
    page.fill("#chat-text", "restaurar X.txt")
    page.click("#chat-form button[type=submit]")
    back = page.locator("#conversation p.state[data-state=done]", has_text="X.txt is back")
    back.wait_for(timeout=30_000)
    assert folder.joinpath("X.txt").read_bytes() == b"delete me"
    screenshot(page, f"05c-chat-restored-{suffix}")

    def result_shown():
        page.goto("/dashboard")
        return page.locator("#timeline li[data-type='job.result']").count() >= 2

    wait_for(result_shown, what="job results on the dashboard")
    assert page.locator("#agent-status").inner_text() == "Online"
    assert page.locator("#pending-count").inner_text() == "0 waiting"
    granted = page.locator("#timeline li[data-type='approval.granted']")
    assert granted.count() >= 1
    assert "approved" in granted.first.inner_text() or "aprovou" in granted.first.inner_text()
    assert page.locator("#timeline li[data-type='job.created']").count() >= 1
    screenshot(page, f"06-dashboard-{suffix}")

    page.goto("/audit?category=approval")
    assert page.locator("#timeline li[data-type='approval.granted']").count() == 1
    page.locator("#public-key").filter(has_not_text="…").wait_for()
    screenshot(page, f"07-audit-{suffix}")
    if suffix == "phone":
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], "no horizontal scrolling at phone width"

    missing = page.goto("/no-such-page")
    assert missing is not None and missing.status == 404
    assert page.locator("#error-page h1").inner_text() == "Page not found"
    screenshot(page, f"08-not-found-{suffix}")


def signed_up_and_onboarded(page, email: str) -> dict:
    """Sign up and onboard through the console's API, in the page's own session."""
    csrf = page.request.get("/api/session").json()["csrf_token"]
    body = {"email": email, "password": "correct horse battery staple"}
    signed = page.request.post("/api/signup", data=body, headers={"X-CSRF-Token": csrf})
    assert signed.ok, signed.text()
    csrf = signed.json()["csrf_token"]
    onboarded = page.request.post(
        "/api/onboarding", data={"name": "Ana"}, headers={"X-CSRF-Token": csrf}
    )
    assert onboarded.ok, onboarded.text()
    return onboarded.json()


def a_folder_of_personal_files(root, count: int) -> None:
    """`count` files in dated photo folders and documents; every 25th photo copied to
    Downloads and to a backup folder, some empty files and temporary ones."""
    for n in range(count):
        if n % 10 == 9:
            path = root / "Documentos" / f"{2015 + n % 10}" / f"relatório {n:05d}.txt"
            data = b"notes %d" % n
        else:
            path = root / "Fotos" / f"{2015 + n % 9}" / f"{n % 12 + 1:02d}" / f"IMG_{n:05d}.jpg"
            data = b"photo %d " % n * 40
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        if n % 25 == 0 and n % 10 != 9:
            for copy in (root / "Downloads" / path.name, root / "Backup" / "Fotos" / path.name):
                copy.parent.mkdir(parents=True, exist_ok=True)
                copy.write_bytes(data)
    for n in range(5):
        (root / "Documentos" / f"vazio {n}.txt").write_bytes(b"")
        (root / "Downloads" / f"video {n}.mp4.crdownload").write_bytes(b"partial")
    (root / "Vídeos").mkdir()
    with (root / "Vídeos" / "video.mp4").open("wb") as video:
        video.truncate(BIG_VIDEO)


# What the loop reads on the pages, in each language (the rest goes by element, not words).
SAYS = {
    "en-US": {
        "not_yet": "has not looked at your folder yet",
        "running": "running on your agent",
        "groups": "401 groups of identical files",
        "batch": "quarantine {n} files",
        "erase": "erase 1 quarantined file for good",
        "selected": "40 selected, ",
        "one_selected": "1 selected, 1 byte",
        "erased": "done: 1 file erased",
    },
    "pt-BR": {
        "not_yet": "ainda não olhou sua pasta",
        "running": "rodando no seu agente",
        "groups": "401 grupos de arquivos idênticos",
        "batch": "pôr {n} arquivos em quarentena",
        "erase": "eliminar de vez 1 arquivo da quarentena",
        "selected": "40 selecionados, ",
        "one_selected": "1 selecionado, 1 byte",
        "erased": "concluído: 1 arquivo eliminado",
    },
}


@pytest.mark.parametrize(
    ("viewport", "language"),
    [(DESKTOP, "en-US"), (PHONE, "en-US"), (DESKTOP, "pt-BR"), (PHONE, "pt-BR")],
    ids=["desktop-en", "phone-en", "desktop-pt", "phone-pt"],
)
def test_the_whole_loop_on_a_folder_of_10000_files(
    browser, console, engine, viewport, language, tmp_path
):
    width = "phone" if viewport is PHONE else "desktop"
    suffix = f"{width}-{language[:2]}"
    says = SAYS[language]
    context = browser.new_context(viewport=viewport, base_url=console, locale=language)
    page = context.new_page()
    package = signed_up_and_onboarded(page, f"loop-{suffix}@example.org")
    root = tmp_path / "Organize"
    a_folder_of_personal_files(root, 10_000)
    with agent_for(package, engine, root, tmp_path):
        page.goto("/files")
        assert page.locator("html").get_attribute("lang") == language.replace("en-US", "en")
        assert says["not_yet"] in page.inner_text("#listed")
        page.click("[data-action=scan]")
        bar = page.locator("p.state[data-state=running] progress")
        bar.wait_for(timeout=60_000)  # while the agent hashes the big video
        assert says["running"] in page.inner_text("p.state[data-state=running]")
        screenshot(page, f"09-scan-progress-{suffix}")
        page.locator("#folders").wait_for(timeout=120_000)  # the page reloads once it is done
        assert "Fotos/" in page.inner_text("#folders")
        screenshot(page, f"10-files-{suffix}")
        page.click("#folders a:text('Fotos/')")
        page.click("#folders a:text('2016/')")
        assert page.locator("#folders tr").count() > 1
        page.fill("#q", "IMG_00100")
        page.click("form[role=search] button")
        assert "IMG_00100.jpg" in page.inner_text("#file-list")

        page.goto("/cleanup")
        assert "video.mp4" in page.inner_text("#kind-big")
        assert "vazio 0.txt" in page.inner_text("#kind-empty")
        screenshot(page, f"10b-cleanup-{suffix}", full_page=False)

        page.goto("/duplicates")
        summary = page.inner_text("#duplicates-summary")
        assert summary.startswith(says["groups"])
        screenshot(page, f"11-duplicates-{suffix}", full_page=False)
        boxes = page.locator("form.selection input[name=path]:checked")
        selected = boxes.count()
        assert selected == 40  # 20 groups on the page, two copies each
        assert page.inner_text("[data-role=selected]").startswith(says["selected"])
        one = "t('selected', {num: number(1), size: sizeText(1)}, 1)"
        assert page.evaluate(one) == says["one_selected"], "the singular, in the page's script"
        page.click("form.selection .actions button[type=submit]")
        page.locator("#selection-state a[href='/approvals']").wait_for()

        page.goto("/approvals")
        card = page.locator("article.proposal")
        assert says["batch"].format(n=selected) in card.locator("h2").inner_text()
        assert card.locator("tbody tr").count() == selected
        assert_nothing_clipped(page, "/approvals", viewport)  # each file's hash in view
        screenshot(page, f"12-approval-batch-{suffix}", full_page=False)
        first = card.locator("tbody tr td").first.inner_text()
        page.click("button[value=approve]")
        page.locator("article.proposal p.state[data-state=done]").wait_for(timeout=60_000)
        assert not (root / first).exists()
        screenshot(page, f"13-approval-done-{suffix}", full_page=False)

        page.goto("/quarantine")
        assert page.locator("#quarantined tbody tr").count() == selected
        screenshot(page, f"14-quarantine-{suffix}", full_page=False)
        row = page.locator("#quarantined tbody tr", has_text=first)
        row.locator("[data-action=restore]").click()
        row.locator("p.state[data-state=done], span.state + p.state[data-state=done]").wait_for(
            timeout=60_000
        )
        assert (root / first).exists(), "restored where it was"
        page.reload()
        assert page.locator("#quarantined tbody tr").count() == selected - 1
        page.locator("#quarantined tbody input[type=checkbox]").first.check()
        page.click("form.purge .actions button[type=submit]")
        page.locator("#purge-state a[href='/approvals']").wait_for()
        page.goto("/approvals")
        assert says["erase"] in page.inner_text("article.proposal h2")
        page.click("button[value=approve]")
        erased = page.locator("article.proposal p.state[data-state=done]")
        erased.wait_for(timeout=60_000)
        assert says["erased"] in erased.inner_text()
        page.goto("/quarantine")
        assert page.locator("#quarantined tbody tr").count() == selected - 2
        for path in EVERY_PAGE:
            page.goto(path)
            assert_nothing_clipped(page, path, viewport)
    context.close()


EVERY_PAGE = (
    "/dashboard",
    "/files",
    "/files?folder=Fotos/2016",
    "/duplicates",
    "/cleanup",
    "/approvals",
    "/quarantine",
    "/audit",
    "/chat",
    "/onboarding",
    "/members",
    "/notifications",
)
# Tables (and preformatted text) wider than their box: what a person would have to scroll
# sideways inside the page to read.
CLIPPED = """() => [...document.querySelectorAll("main table, main pre")]
  .filter((box) => box.scrollWidth > box.clientWidth + 1)
  .map((box) => `${box.tagName.toLowerCase()}#${box.id} ${box.scrollWidth}>${box.clientWidth}`)"""


def assert_nothing_clipped(page, path: str, viewport: dict) -> None:
    page_width = page.evaluate("document.documentElement.scrollWidth")
    assert page_width <= viewport["width"], f"{path} scrolls sideways ({page_width} px)"
    assert page.evaluate(CLIPPED) == [], f"clipped on {path} at {viewport['width']} px"
