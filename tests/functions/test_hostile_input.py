"""Every route of both apps, walked with hostile input (property-based): malformed JSON,
numbers no field takes, nesting 100k deep, lone surrogates, NaN, NUL and traversal in paths,
strange methods, wrong and right credentials. Nothing answers 500; every refusal of an API is a
JSON error naming its code. The apps run in process (Starlette's TestClient) on real files; the
console talks to a real engine process."""

import json
import re
import uuid
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from functions.console.app import ROUTES as CONSOLE_ROUTES
from functions.console.app import build_app as build_console
from functions.console.settings import ConsoleSettings
from functions.engine.app import ROUTES as ENGINE_ROUTES
from functions.engine.app import build_app as build_engine
from functions.engine.settings import EngineSettings
from harness.servers import ADMIN_TOKEN, CONSOLE_KEY

NASTY_TEXT = [
    "",
    "\x00",
    "a\x00b",
    "..",
    "../../etc/passwd",
    "/etc/passwd",
    "%00",
    "%2e%2e%2f",
    "é" * 300,
    "x" * 5000,
    "inst_" + "0" * 24,
    "prop_" + "f" * 24,
    "job_" + "a" * 24,
    "\ud800",
    "SHA256SUMS",
    "v1.0.0",
    "approve",
    "reject",
    "-1",
    "9" * 30,
    "<script>",
    "'; DROP TABLE users; --",
]
SCALARS = st.one_of(
    st.sampled_from(NASTY_TEXT),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.none(),
)
JSON_VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(
            st.sampled_from(
                [
                    "action",
                    "params",
                    "path",
                    "digest",
                    "reason",
                    "status",
                    "report",
                    "lease_seconds",
                    "source",
                    "builtin",
                    "name",
                    "role",
                    "external_id",
                    "text",
                    "email",
                    "password",
                    "csrf_token",
                    "problem",
                    "seen_size",
                    "case_id",
                    "department",
                    "sha256",
                ]
            ),
            inner,
            max_size=6,
        ),
    ),
    max_leaves=12,
)
RAW_BODIES = st.sampled_from(
    [
        b"",
        b"{",
        b"[]",
        b'"text"',
        b"null",
        b"\xff\xfe\x00",
        b'{"digest": NaN}',
        b'{"lease_seconds": Infinity}',
        b'{"n": 1e999}',
        b'{"action": "' + b"\\ud800" + b'"}',
        b'{"n": ' + b"9" * 5000 + b"}",
        b"[" * 100_000 + b"]" * 100_000,
        b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
        b'{"params": {"path": "a\\u0000b"}}',
    ]
)
BODIES = st.one_of(RAW_BODIES, JSON_VALUES.map(lambda v: json.dumps(v).encode()))
QUERIES = st.dictionaries(
    st.sampled_from(
        [
            "seq",
            "from",
            "to",
            "wait",
            "limit",
            "format",
            "category",
            "since",
            "until",
            "status",
            "type",
            "after_seq",
            "order",
            "case_id",
        ]
    ),
    st.sampled_from(NASTY_TEXT + ["1", "0", "jsonl", "sqlite", "csv", "2**70", "1.5"]),
    max_size=3,
)
METHODS = st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH"])
SLOW_OK = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow]


def templates(routes) -> list[tuple[str, list[str]]]:
    found = []
    for route in routes:
        path = getattr(route, "path", None)
        if path and "{" in path or path:
            found.append((path, sorted(getattr(route, "methods", None) or {"GET"})))
    return found


def fill(path: str, values: list[str]) -> str:
    parts = iter(values)
    return re.sub(r"{[^}]+}", lambda _: quote(next(parts), safe="", errors="surrogatepass"), path)


def with_query(url: str, query: dict[str, str]) -> str:
    """The query as an attacker sends it: any bytes, percent-encoded (surrogates too)."""
    if not query:
        return url
    encoded = "&".join(
        f"{quote(k, safe='')}={quote(v, safe='', errors='surrogatepass')}" for k, v in query.items()
    )
    return f"{url}?{encoded}"


def assert_answered(response, api: bool) -> None:
    assert response.status_code < 500 or response.status_code in (503, 507), (
        response.status_code,
        response.text[:300],
    )
    if api and response.status_code >= 400 and response.request.method != "HEAD":
        body = response.json()
        assert isinstance(body["error"]["code"], str) and body["error"]["message"]


@pytest.fixture(scope="module")
def engine_app(tmp_path_factory):
    settings_ = EngineSettings(
        data_dir=tmp_path_factory.mktemp("hostile-engine"),
        admin_token=ADMIN_TOKEN,
        rate_limit_per_second=0,
    )
    with TestClient(build_engine(settings_), raise_server_exceptions=False) as client:
        admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        made = client.post("/v1/admin/institutions", headers=admin, json={"external_id": "h"})
        iid = made.json()["institution_id"]
        key = client.post(f"/v1/admin/institutions/{iid}/admin-key", headers=admin).json()
        tokens = {"platform": ADMIN_TOKEN, "admin": key["admin_key"], "garbage": "lat_nope"}
        for who, role in (("owner", "owner"), ("agent", "organizational_agent")):
            actor = client.post(
                f"/v1/institutions/{iid}/actors",
                headers={"Authorization": f"Bearer {key['admin_key']}"},
                json={"name": who, "role": role},
            )
            tokens[who] = actor.json()["token"]
        bearer = {"Authorization": f"Bearer {tokens['admin']}"}
        client.post(
            f"/v1/institutions/{iid}/bundles",
            headers=bearer,
            json={"builtin": "personal_ops@v1.0.0"},
        )
        client.post(f"/v1/institutions/{iid}/bundles/personal_ops/v1.0.0/release", headers=bearer)
        yield client, iid, tokens


@settings(max_examples=600, deadline=None, suppress_health_check=SLOW_OK)
@given(st.data())
def test_the_engine_answers_hostile_input_without_a_500(engine_app, data):
    client, iid, tokens = engine_app
    path, methods = data.draw(st.sampled_from(templates(ENGINE_ROUTES)))
    values = [data.draw(st.sampled_from([iid, *NASTY_TEXT])) for _ in re.findall(r"{[^}]+}", path)]
    who = data.draw(st.sampled_from([None, *tokens]))
    headers = {"Authorization": f"Bearer {tokens[who]}"} if who else {}
    method = data.draw(st.one_of(st.sampled_from(methods), METHODS))
    body = data.draw(BODIES) if method != "GET" else b""
    response = client.request(
        method,
        with_query(fill(path, values), data.draw(QUERIES)),
        content=body,
        headers={**headers, "Content-Type": "application/json"},
    )
    assert_answered(response, api=True)


@pytest.fixture(scope="module")
def console_app(engine, tmp_path_factory):
    folder = tmp_path_factory.mktemp("hostile-console")
    settings_ = ConsoleSettings(
        engine_url=engine,
        engine_public_url=engine,
        platform_token=ADMIN_TOKEN,
        session_secret="test-session-secret-0123456789abcdefghij",
        encryption_key=CONSOLE_KEY,
        database_url=None,
        accounts_sqlite_path=folder / "accounts.db",
        agent_dist_dir=folder / "dist",  # nothing published
        rate_limit_per_second=0,
    )
    with TestClient(
        build_console(settings_), raise_server_exceptions=False, base_url="http://testserver"
    ) as client:
        csrf = client.get("/api/session").json()["csrf_token"]
        origin = {"Origin": "http://testserver", "X-CSRF-Token": csrf}
        email = f"h-{uuid.uuid4().hex[:8]}@example.org"
        signed = client.post(
            "/api/signup",
            json={"email": email, "password": "correct horse battery"},
            headers=origin,
        )
        csrf = signed.json()["csrf_token"]
        origin = {"Origin": "http://testserver", "X-CSRF-Token": csrf}
        assert client.post("/api/onboarding", json={"name": "H"}, headers=origin).status_code == 200
        yield client, origin


@settings(max_examples=500, deadline=None, suppress_health_check=SLOW_OK)
@given(st.data())
def test_the_console_answers_hostile_input_without_a_500(console_app, data):
    client, origin = console_app
    path, methods = data.draw(st.sampled_from(templates(CONSOLE_ROUTES)))
    if path.startswith("/static") or path in ("/api/logout", "/api/logout-everywhere"):
        return  # signing out would end the session the other examples use
    values = [data.draw(st.sampled_from(NASTY_TEXT)) for _ in re.findall(r"{[^}]+}", path)]
    method = data.draw(st.one_of(st.sampled_from(methods), METHODS))
    headers = origin if data.draw(st.booleans()) else {}
    body = data.draw(BODIES) if method != "GET" else b""
    response = client.request(
        method,
        with_query(fill(path, values), data.draw(QUERIES)),
        content=body,
        headers={**headers, "Content-Type": "application/json"},
        follow_redirects=False,
    )
    assert_answered(response, api=path.startswith("/api") or path.startswith("/downloads"))
