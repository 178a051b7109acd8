"""When the engine says when to come back (Retry-After, on a rate limit or an outage), the agent
comes back then, not after a backoff of its own: a real engine past its limit."""

import httpx
import pytest

from agent.client import EngineClient, EngineUnavailable
from agent.config import AgentConfig
from agent.runner import BACKOFF_BASE, BACKOFF_CAP, retry_delay
from harness.engine_api import auth, new_institution
from harness.servers import engine_process

LIMITED = {"ENGINE_RATE_LIMIT_PER_SECOND": "0.2", "ENGINE_RATE_LIMIT_BURST": "12"}


def test_the_agent_waits_as_long_as_the_engine_says(tmp_path):
    with engine_process(tmp_path / "data", **LIMITED) as base:
        inst = new_institution(base)
        polls = [
            httpx.get(inst.url("/runtime/jobs"), headers=auth(inst.tokens["agent"]))
            for _ in range(13)
        ]
        said = int(polls[-1].headers["retry-after"])
        assert polls[-1].status_code == 429 and said >= 1
        config = AgentConfig(
            institution_id=inst.institution_id,
            actor_token=inst.tokens["agent"],
            engine_base_url=base,
            root_dir=str(tmp_path),
            state_dir=str(tmp_path / "state"),
        )
        client = EngineClient(config)
        try:
            with pytest.raises(EngineUnavailable) as refused:
                client.poll(0)
        finally:
            client.close()
    assert refused.value.retry_after is not None and 1 <= refused.value.retry_after <= said
    assert retry_delay(refused.value, failures=0) == refused.value.retry_after


def test_without_a_word_from_the_engine_the_agent_backs_off():
    gone = EngineUnavailable("engine unreachable")
    assert all(0 <= retry_delay(gone, failures=0) <= BACKOFF_BASE for _ in range(50))
    assert retry_delay(EngineUnavailable("busy", retry_after=3600), failures=0) == BACKOFF_CAP
