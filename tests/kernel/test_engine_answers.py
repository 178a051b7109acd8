"""The engine's answers as both of its clients read them."""

import json

from kernel.engine_answers import refusal, retry_seconds
from kernel.errors import Conflict, TooLarge, TooMany, Unauthorized, Unavailable


def envelope(code: str, message: str) -> bytes:
    return json.dumps({"error": {"code": code, "message": message}}).encode()


def test_a_refusal_keeps_the_engines_code_and_message_and_its_kind():
    revoked = refusal(401, envelope("actor_revoked", "this actor was revoked"))
    assert isinstance(revoked, Unauthorized)
    assert (revoked.code, revoked.message) == ("actor_revoked", "this actor was revoked")
    assert isinstance(refusal(409, envelope("job_not_leased", "no")), Conflict)
    assert refusal(429, envelope("rate_limited", "slow"), "3").retry_after == 3


def test_an_answer_without_the_envelope_still_says_what_it_was():
    page = refusal(413, b"<html>Request Entity Too Large</html>")
    assert isinstance(page, TooLarge) and page.code == "engine_error"
    assert "413" in page.message
    assert isinstance(refusal(503, b""), Unavailable)
    assert isinstance(refusal(418, envelope("teapot", "?")), Exception)
    assert not isinstance(refusal(429, b"{}"), Unavailable) and isinstance(
        refusal(429, b"{}"), TooMany
    )


def test_retry_after_is_whole_seconds_in_ascii_digits_or_nothing():
    assert retry_seconds("30") == 30
    for odd in (None, "", "²", "١٢", "1.5", "-1", "Wed, 21 Oct 2026 07:28:00 GMT"):
        assert retry_seconds(odd) is None, odd
    assert refusal(429, envelope("rate_limited", "slow"), "²").retry_after is None
