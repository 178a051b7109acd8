import hashlib
import json
import re

import httpx
import pytest

from agent import __version__ as agent_version
from tests.support.cli import verify_offline
from tests.support.portal_agent import agent_for, settled

SECRET = re.compile(r"\b(lak|lat)_[A-Za-z0-9_-]{20,}")


@pytest.fixture
def onboarded(make_user):
    user = make_user().sign_up()
    package = user.onboard()
    return user, package


def test_onboarding_returns_the_runtime_package_once(onboarded):
    user, package = onboarded
    runtime = package["runtime_package"]
    assert runtime["institution_id"].startswith("inst_")
    assert runtime["agent_token"].startswith("lat_")
    assert package["contract"]["ref"] == "personal_ops@v1.1.0"
    again = user.onboard()
    assert again["runtime_package"]["agent_token"] is None
    assert again["runtime_package"]["institution_id"] == runtime["institution_id"]


def test_chat_allowed_pending_denied_and_help(onboarded):
    user, _ = onboarded
    allowed = user.post("/api/chat", {"text": "listar arquivos"}).json()
    assert allowed["decision"] == "allowed" and allowed["job_id"]
    unseen = user.post("/api/chat", {"text": "apagar arquivo X.txt"}).json()
    assert unseen["inspecting"] and "proposal_id" not in unseen
    denied = user.post("/api/chat", {"text": "apagar arquivo ../fora.txt"}).json()
    assert denied["decision"] == "denied" and "'..'" in denied["reason"]
    unknown = user.post("/api/chat", {"text": "qual é a previsão do tempo?"}).json()
    assert unknown["understood"] is False and "listar arquivos" in unknown["reply"]
    assert user.post("/api/chat", {"text": ""}).status_code == 400


@pytest.fixture
def with_agent(onboarded, engine, tmp_path):
    user, package = onboarded
    folder = tmp_path / "root"
    folder.mkdir()
    (folder / "notes.txt").write_bytes(b"notes")
    (folder / "a.txt").write_bytes(b"a")
    with agent_for(package, engine, folder, tmp_path) as log:
        settled(user, user.post("/api/chat", {"text": "list files"}).json()["proposal_id"])
        yield user, log


def test_approve_through_the_portal(with_agent):
    user, log = with_agent
    proposal_id = user.post("/api/chat", {"text": "delete file notes.txt"}).json()["proposal_id"]
    pending = user.get("/api/approvals").json()["pending"]
    assert [p["proposal_id"] for p in pending] == [proposal_id]
    assert pending[0]["impact"]["files"][0]["path"] == "notes.txt"
    wrong = user.post(f"/api/approvals/{proposal_id}/approve", {"digest": "0" * 64})
    assert wrong.status_code == 409
    ok = user.post(
        f"/api/approvals/{proposal_id}/approve", {"digest": pending[0]["digest"], "reason": "fine"}
    )
    assert ok.status_code == 200 and ok.json()["status"] == "approved"
    assert settled(user, proposal_id)["message"].startswith("done: moved to .libervia-quarantine/")
    dashboard = user.get("/api/dashboard").json()
    assert dashboard["pending_approvals"] == []
    assert dashboard["agent"]["version"] == agent_version  # from the agent's User-Agent
    # The agent proposed what the person asked; the ledger names the person, who also approved.
    events = user.get("/api/audit").json()["events"]
    asked = next(e for e in events if e["type"] == "proposal.pending_approval")
    granted = next(e for e in events if e["type"] == "approval.granted")
    assert asked["payload"]["requested_by"] == granted["actor"] != asked["actor"]
    assert asked["payload"]["requester_role"] == "owner"
    assert dashboard["agent"]["online"] is True
    types = [a["type"] for a in dashboard["last_actions"]]
    assert "job.executed" in types and "job.created" in types


def test_reject_needs_a_reason(with_agent):
    user, _ = with_agent
    proposal_id = user.post("/api/chat", {"text": "delete file a.txt"}).json()["proposal_id"]
    assert user.post(f"/api/approvals/{proposal_id}/reject", {}).status_code == 400
    rejected = user.post(f"/api/approvals/{proposal_id}/reject", {"reason": "keep it"})
    assert rejected.json()["status"] == "rejected"
    state = user.get(f"/api/proposals/{proposal_id}").json()["state"]
    assert state["state"] == "rejected" and state["message"] == "rejected: keep it"


def test_audit_filters_and_exports_verify_offline(onboarded, tmp_path):
    user, _ = onboarded
    user.post("/api/chat", {"text": "listar arquivos"})
    user.post("/api/chat", {"text": "apagar arquivo ../x"})
    rbac = user.get("/api/audit", category="rbac").json()["events"]
    assert [e["type"] for e in rbac] == ["proposal.denied"]
    execution = user.get("/api/audit", category="execution").json()["events"]
    assert {e["type"] for e in execution} == {"job.created"}
    assert user.get("/api/audit", since="2999-01-01").json()["events"] == []
    assert user.get("/api/audit", since="yesterday").status_code == 400
    csv = user.get("/api/audit/export", format="csv")
    assert csv.text.startswith("seq,ts,institution_id")
    key = user.get("/api/audit/public-key").json()["public_key"]
    for fmt in ("jsonl", "sqlite"):
        exported = user.get("/api/audit/export", format=fmt)
        path = tmp_path / f"ledger.{fmt}"
        path.write_bytes(exported.content)
        cli = verify_offline(path, key)
        assert cli.returncode == 0, cli.stderr


def test_no_engine_secret_reaches_the_browser(onboarded):
    user, package = onboarded
    user.post("/api/chat", {"text": "apagar arquivo X.txt"})
    agent_token = package["runtime_package"]["agent_token"]
    responses = [
        user.get(path)
        for path in (
            "/",
            "/dashboard",
            "/approvals",
            "/audit",
            "/chat",
            "/onboarding",
            "/api/session",
            "/api/dashboard",
            "/api/approvals",
            "/api/audit",
            "/api/contract",
            "/api/downloads",
            "/api/audit/public-key",
        )
    ]
    responses.append(user.post("/api/chat", {"text": "listar arquivos"}))
    responses.append(user.post("/api/onboarding", {"name": "again"}))
    for response in responses:
        assert response.status_code in (200, 303), (response.url, response.text[:200])
        body = response.text + json.dumps(dict(response.headers))
        assert agent_token not in body
        assert not SECRET.search(body), response.url


def test_downloads_need_login_and_only_serve_published_files(onboarded, make_user):
    user, _ = onboarded
    assert user.get("/api/downloads").json()["files"] == []
    assert user.get("/downloads/..%2Fconsole.db").status_code == 404
    stranger = make_user()
    assert stranger.get("/api/downloads").status_code == 401


def test_published_builds_list_every_version_with_its_checksum(onboarded, tmp_path, engine):
    user, package = onboarded
    dist = tmp_path / "console" / "dist"
    dist.mkdir(parents=True)
    sums = []
    for version in ("0.1.0", "10.0.0", "9.1.0"):  # newest by SemVer, not by text
        name = f"libervia-agent-{version}-linux-x86_64"
        binary = f"\x7fELF build {version}".encode()
        (dist / name).write_bytes(binary)
        sums.append(f"{hashlib.sha256(binary).hexdigest()}  {name}")
    (dist / "SHA256SUMS").write_text("\n".join(sums) + "\n")
    (dist / "not-published.txt").write_text("secret")
    listed = user.get("/api/downloads").json()
    assert [f["version"] for f in listed["files"]] == ["10.0.0", "9.1.0", "0.1.0"]
    assert listed["newest"] == "10.0.0" and listed["saved_as"] == "libervia-agent"
    newest = listed["files"][0]
    assert newest["os"] == "linux" and newest["arch"] == "x86_64"
    download = user.get(newest["url"])
    assert download.content == b"\x7fELF build 10.0.0"
    assert hashlib.sha256(download.content).hexdigest() == newest["sha256"]
    assert 'filename="libervia-agent"' in download.headers["content-disposition"]
    assert user.get("/downloads/SHA256SUMS").text.splitlines() == sums
    assert user.get("/downloads/not-published.txt").status_code == 404

    # The agent runs 0.1.0 (its User-Agent says so): the dashboard names the newer build.
    folder = tmp_path / "root"
    folder.mkdir()
    with agent_for(package, engine, folder, tmp_path):
        listed_files = user.post("/api/chat", {"text": "list files"}).json()
        settled(user, listed_files["proposal_id"])
        agent = user.get("/api/dashboard").json()["agent"]
    assert agent["version"] == agent_version and agent["newer_build"] == "10.0.0"
    page = user.http.get("/dashboard", headers={"Accept": "text/html"})
    assert 'id="newer-build"' in page.text and "10.0.0" in page.text


def test_each_audit_row_offers_a_proof_an_auditor_checks_offline(onboarded):
    from ledger import proof

    user, _ = onboarded
    user.post("/api/chat", {"text": "apagar arquivo X.txt"})
    row = next(
        e for e in user.get("/api/audit").json()["events"] if e["type"].startswith("proposal")
    )
    downloaded = user.get("/api/audit/proof", seq=row["seq"])
    assert downloaded.status_code == 200, downloaded.text
    assert "attachment" in downloaded.headers["content-disposition"]
    key = user.get("/api/audit/public-key").json()["public_key"]
    report = proof.verify(downloaded.json(), key)
    assert report.event["seq"] == row["seq"] and report.event["type"] == row["type"]
    assert user.get("/api/audit/proof", seq="nope").status_code == 400
    verified = user.get("/api/audit/verify").json()
    assert verified["ok"] is True and verified["witness"]["status"] == "ok"


def test_a_malformed_refused_proposal_in_the_ledger_leaves_the_timeline_readable(onboarded):
    """The engine records every refusal with the params as sent; the timeline still reads."""
    user, package = onboarded
    runtime = package["runtime_package"]
    for params in ({"files": "abc"}, {"files": [{"path": "a"}]}, {"path": ["x"]}):
        refused = httpx.post(
            f"{runtime['engine_base_url']}/v1/institutions/{runtime['institution_id']}/proposals",
            json={"action": "quarantine_files", "params": params},
            headers={"Authorization": f"Bearer {runtime['agent_token']}"},
        )
        assert refused.json()["decision"] == "denied", refused.text
    audit = user.get("/api/audit")
    assert audit.status_code == 200, audit.text
    denied = [e for e in audit.json()["timeline"] if e["type"] == "proposal.denied"]
    assert len(denied) == 3 and all(e["sentence"].startswith("Your agent asked") for e in denied)
    assert user.get("/api/dashboard").status_code == 200
