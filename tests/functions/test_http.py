"""The HTTP edge: its readers of a request (against Starlette's) and its one table of
refusals."""

import json
import socket
from urllib.parse import urlsplit

from hypothesis import given
from hypothesis import strategies as st
from starlette.requests import Request

from functions.http import STATUS, query_value, refusal_response, status_of
from harness.engine_api import new_institution
from harness.servers import engine_process, json_lines
from kernel import errors
from kernel.errors import Refused

NAME = st.sampled_from(["wait", "limit", "w", ""])
PART = st.one_of(
    st.builds(lambda k, v: f"{k}={v}", NAME, st.text("0123456789;=&%+ab", max_size=6)),
    NAME,
    st.text("&=%+2a0w", max_size=5),
)


def request_for(query: bytes) -> Request:
    return Request({"type": "http", "query_string": query, "headers": []})


@given(st.lists(PART, max_size=6).map("&".join))
def test_a_query_value_is_what_starlette_reads(query):
    request = request_for(query.encode())
    for name in ("wait", "limit", "w"):
        assert query_value(request, name) == request_for(query.encode()).query_params.get(name)


def test_the_last_of_a_repeated_name_wins_as_in_starlette():
    assert query_value(request_for(b"wait=1&wait=2"), "wait") == "2"
    assert query_value(request_for(b"wait"), "wait") == ""
    assert query_value(request_for(b"w%61it=4"), "wait") == "4"
    assert query_value(request_for(b""), "wait") is None


def test_every_kind_of_refusal_has_its_status_in_the_one_table():
    kinds = [k for k in vars(errors).values() if isinstance(k, type) and issubclass(k, Refused)]
    assert set(kinds) - set(STATUS) == {Refused}
    assert all(not hasattr(kind, "status") for kind in kinds)  # no HTTP in the domain


def test_a_refusal_answers_json_with_its_code_and_retry_after():
    class Expired(errors.Gone):
        code = "link_expired"

    response = refusal_response(Expired("that link has expired"))
    assert response.status_code == 410
    assert json.loads(response.body) == {
        "error": {"code": "link_expired", "message": "that link has expired"}
    }
    assert status_of(Refused("no")) == 400
    waited = refusal_response(errors.TooMany("later", code="too_many_attempts", retry_after=7))
    assert (waited.status_code, waited.headers["retry-after"]) == (429, "7")


def test_a_client_gone_mid_body_is_logged_as_such_not_as_a_server_error(tmp_path):
    """An agent whose network drops while it uploads: the engine records a 499 (the client
    closed the request), with no error and no traceback in its log."""
    log = tmp_path / "engine.log"
    with engine_process(tmp_path / "data", log) as base:
        inst = new_institution(base)
        job_id = inst.propose("agent", "list_files")["job_id"]
        inst.post(f"/runtime/jobs/{job_id}/lease", "agent", {})
        host, port = urlsplit(base).hostname, urlsplit(base).port
        for path in (f"/runtime/jobs/{job_id}/result", "/proposals"):
            with socket.create_connection((host, port)) as sock:
                token = inst.tokens["agent"]
                head = (
                    f"POST /v1/institutions/{inst.institution_id}{path} HTTP/1.1\r\n"
                    f"Host: {host}\r\nAuthorization: Bearer {token}\r\n"
                    "Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n"
                )
                sock.sendall(head.encode() + b'{"status": "succeeded", "report": {' + b" " * 1000)
        assert inst.get(f"/runtime/jobs/{job_id}", "owner").json()["status"] == "leased"
    lines = json_lines(log)
    gone = [line for line in lines if line.get("status") == 499]
    assert len(gone) == 2, [line for line in lines if line.get("method") == "POST"]
    assert not [line for line in lines if line.get("level") == "error"]
