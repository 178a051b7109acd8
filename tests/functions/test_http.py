"""The HTTP edge's own readers of a request, against Starlette's."""

from hypothesis import given
from hypothesis import strategies as st
from starlette.requests import Request

from functions.http import query_value

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
