"""Rate limits, body limits, security headers and request ids on the real engine and console."""

import httpx
import pytest
from starlette.testclient import TestClient

from functions.engine.app import build_app as build_engine
from functions.engine.settings import EngineSettings
from harness.engine_api import SEEN, auth, new_institution
from harness.servers import ADMIN_TOKEN, console_process, engine_process, json_lines
from tests.support.agent_process import wait_for
from tests.support.databases import require_postgres

LIMITED = {"ENGINE_RATE_LIMIT_PER_SECOND": "1", "ENGINE_RATE_LIMIT_BURST": "3"}


@pytest.fixture(scope="module")
def strict_engine(tmp_path_factory):
    folder = tmp_path_factory.mktemp("strict-engine")
    log = folder / "engine.log"
    with engine_process(folder / "data", log, ENGINE_MAX_BODY_BYTES="1024", **LIMITED) as base:
        yield base, log


def test_engine_rate_limits_each_client_with_retry_after(strict_engine):
    base, _ = strict_engine
    url = f"{base}/v1/institutions/inst_000000000000000000000000/contract"
    mine = {"Authorization": "Bearer token-of-a-noisy-client"}
    statuses = [httpx.get(url, headers=mine).status_code for _ in range(3)]
    assert statuses == [404, 404, 404]  # no such institution: answered, not limited
    limited = httpx.get(url, headers=mine)
    assert limited.status_code == 429
    assert int(limited.headers["retry-after"]) >= 1
    assert limited.json()["error"]["code"] == "rate_limited"
    other = httpx.get(url, headers={"Authorization": "Bearer token-of-someone-else"})
    assert other.status_code == 404
    assert all(httpx.get(f"{base}/healthz").status_code == 200 for _ in range(10))


def test_engine_refuses_large_bodies_declared_or_streamed(strict_engine):
    base, _ = strict_engine
    url = f"{base}/v1/admin/institutions"
    declared = httpx.post(url, content=b"{" + b" " * 4096 + b"}", headers={"X-Client": "a"})
    assert declared.status_code == 413
    assert declared.json()["error"]["code"] == "body_too_large"

    def chunks():
        for _ in range(8):
            yield b" " * 512

    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    streamed = httpx.post(url, content=chunks(), headers=admin)
    assert "content-length" not in streamed.request.headers
    assert streamed.status_code == 413
    assert streamed.json()["error"]["code"] == "body_too_large"


def test_engine_security_headers_and_request_ids(strict_engine):
    base, log = strict_engine
    given = httpx.get(f"{base}/healthz", headers={"X-Request-ID": "req-from-caller-1"})
    assert given.headers["x-request-id"] == "req-from-caller-1"
    assert given.headers["x-content-type-options"] == "nosniff"
    assert given.headers["cache-control"] == "no-store"
    assert "frame-ancestors 'none'" in given.headers["content-security-policy"]
    made = httpx.get(f"{base}/healthz", headers={"X-Request-ID": "bad id with spaces"})
    assert made.headers["x-request-id"] != "bad id with spaces"
    assert len(made.headers["x-request-id"]) == 32

    def logged() -> list[dict]:  # access lines are written in batches, off the event loop
        return [line for line in json_lines(log) if line.get("request_id") == "req-from-caller-1"]

    access = wait_for(logged, timeout=10, what="the access line")
    assert access[0]["path"] == "/healthz" and access[0]["status"] == 200
    assert access[0]["service"] == "engine" and access[0]["msg"] == "request"


def test_console_rate_limit_body_limit_and_headers(engine, tmp_path):
    require_postgres()
    with console_process(
        tmp_path / "console",
        engine,
        None,
        CONSOLE_RATE_LIMIT_PER_SECOND="1",
        CONSOLE_RATE_LIMIT_BURST="3",
    ) as base:
        page = httpx.get(f"{base}/login")
        assert page.status_code == 200
        assert page.headers["x-frame-options"] == "DENY"
        assert "script-src 'self'" in page.headers["content-security-policy"]
        too_big = httpx.post(
            f"{base}/api/login", content=b"x" * (70 * 1024), headers={"Origin": base}
        )
        assert too_big.status_code == 413
        statuses = [httpx.get(f"{base}/api/session").status_code for _ in range(3)]
        assert statuses[-1] == 429
        assert int(httpx.get(f"{base}/api/session").headers["retry-after"]) >= 1
        # The console takes no bearer tokens: a made-up one does not buy a fresh budget.
        made_up = httpx.get(f"{base}/login", headers={"Authorization": "Bearer made-up-1"})
        assert made_up.status_code == 429
        assert made_up.json()["error"]["code"] == "rate_limited"
        # A person's browser navigating gets a page in their language, with when to come back.
        browser = {"Accept": "text/html,*/*;q=0.8", "Accept-Language": "pt-BR,pt;q=0.9"}
        page = httpx.get(f"{base}/dashboard", headers=browser)
        assert page.status_code == 429
        assert page.headers["content-type"].startswith("text/html")
        assert int(page.headers["retry-after"]) >= 1
        assert page.headers["x-frame-options"] == "DENY"
        assert '<html lang="pt-BR">' in page.text
        assert "Pedidos demais de uma vez" in page.text
        assert 'href="/dashboard">Tentar de novo' in page.text
        elsewhere = httpx.get(f"{base}//evil.example/x", headers=browser)
        assert elsewhere.status_code == 429
        assert 'href="/evil.example/x">' in elsewhere.text


def test_engine_counts_refused_tokens_per_address(strict_engine):
    base, _ = strict_engine
    url = f"{base}/v1/admin/institutions"
    guesses = [
        httpx.post(url, json={}, headers={"Authorization": f"Bearer guess-{n}"}) for n in range(3)
    ]
    assert [r.status_code for r in guesses] == [401, 401, 401]
    fresh = httpx.post(url, json={}, headers={"Authorization": "Bearer guess-fresh"})
    assert fresh.status_code == 429  # a new token each time does not buy a new budget
    assert fresh.json()["error"]["code"] == "rate_limited"
    assert int(fresh.headers["retry-after"]) >= 1
    assert httpx.get(f"{base}/healthz").status_code == 200


def test_a_person_asking_through_their_agent_has_their_own_budget(tmp_path):
    """The console proposes with the agent's token on a person's behalf: an agent working
    through a queue of jobs does not use up the budget of the person asking in the chat, and a
    made-up person's token costs the address, as a made-up bearer token does."""
    settings = EngineSettings(
        data_dir=tmp_path / "data",
        admin_token=ADMIN_TOKEN,
        rate_limit_per_second=0.01,
        rate_limit_burst=12,
    )
    settings.data_dir.mkdir()
    with TestClient(build_engine(settings), raise_server_exceptions=False) as engine:
        inst = new_institution(str(engine.base_url), http=engine)
        agent = auth(inst.tokens["agent"])
        polls = [engine.get(inst.url("/runtime/jobs"), headers=agent) for _ in range(12)]
        assert polls[-1].status_code == 200
        assert engine.get(inst.url("/runtime/jobs"), headers=agent).status_code == 429
        # Only where the requester's token is checked: anywhere else it would be a fresh budget.
        for method, path in (("GET", "/runtime/jobs"), ("GET", "/proposals")):
            elsewhere = engine.request(
                method, inst.url(path), headers={**agent, "X-Libervia-Requester": "made-up"}
            )
            assert elsewhere.status_code == 429, (method, path)
        delete = {"action": "delete", "params": {"path": "docs/a.txt", "sha256": SEEN}}
        asked = engine.post(
            inst.url("/proposals"),
            json=delete,
            headers={**agent, "X-Libervia-Requester": inst.tokens["owner"]},
        )
        assert asked.status_code == 201, asked.text
        assert asked.json()["requested_by"] == inst.actor_ids["owner"]
        alone = engine.post(inst.url("/proposals"), json=delete, headers=agent)
        assert alone.status_code == 429
        made_up = [
            engine.post(
                inst.url("/proposals"),
                json=delete,
                headers={**agent, "X-Libervia-Requester": f"made-up-{n}"},
            ).status_code
            for n in range(13)
        ]
        assert set(made_up[:12]) == {401} and made_up[12] == 429
