"""What an idle poll remembers, and every way it is forgotten: the domain in process on a real
data dir, peers over real Unix datagram sockets, a clock in the test's hands."""

import asyncio
from dataclasses import replace

import pytest

from governance.idle_polls import PRUNE_ABOVE, REMEMBER_SECONDS, IdlePolls
from governance.institutions import revoke_actor
from governance.notifier import JobNotifier, PeerBus
from tests.support.clock import ManualClock
from tests.support.domain import open_domain

TOKEN = "lat_the-agents-token"


@pytest.fixture
def domain(tmp_path):
    domain = open_domain(tmp_path / "data")
    yield domain
    domain.close()


@pytest.fixture
def idle(domain) -> IdlePolls:
    idle = IdlePolls(ManualClock())
    idle.remember(domain.tenant, TOKEN, domain.actors["agent"], domain.tenant.db.generation)
    return idle


def test_the_agent_is_answered_from_memory_and_nobody_else(domain, idle):
    assert idle.idle_agent(domain.tenant, TOKEN) == domain.actors["agent"]
    assert idle.idle_agent(domain.tenant, TOKEN + "x") is None
    assert idle.idle_agent(domain.tenant, None) is None


def test_any_write_to_the_institution_here_ends_the_memory(domain, idle):
    """Even one that tells nobody: a revocation straight through governance."""
    revoke_actor(domain.tenant, domain.actors["agent"].id, "lost laptop")
    assert idle.idle_agent(domain.tenant, TOKEN) is None


def test_a_reopened_file_is_not_the_one_remembered(domain, idle):
    domain.ctx.tenants.close()
    reopened = domain.ctx.tenants.get(domain.institution_id)
    assert reopened.db is not domain.tenant.db
    assert idle.idle_agent(reopened, TOKEN) is None


def test_once_old_one_poll_looks_again_while_the_others_are_answered(domain, idle):
    idle.clock.now += REMEMBER_SECONDS + 0.01
    assert idle.idle_agent(domain.tenant, TOKEN) is None  # this one reads the file
    assert idle.idle_agent(domain.tenant, TOKEN) == domain.actors["agent"]  # the crowd waits
    idle.clock.now += REMEMBER_SECONDS + 0.01
    assert idle.idle_agent(domain.tenant, TOKEN) is None  # the look failed: asked again


def test_lapsed_memories_are_dropped_when_there_are_many(domain):
    idle, agent = IdlePolls(ManualClock()), domain.actors["agent"]
    for n in range(PRUNE_ABOVE + 1):
        others = replace(domain.tenant, institution_id=f"inst_{n}")
        idle.remember(others, TOKEN, agent, domain.tenant.db.generation)
    idle.clock.now += REMEMBER_SECONDS + 1
    idle.remember(domain.tenant, TOKEN, agent, domain.tenant.db.generation)
    assert len(idle) == 1


def test_a_change_in_another_worker_is_forgotten_here(tmp_path, domain):
    async def scenario() -> None:
        here, there = PeerBus(tmp_path, identity=301), PeerBus(tmp_path, identity=302)
        polling, changing = JobNotifier(here), JobNotifier(there)
        here.listen(polling)
        try:
            polling.idle.remember(
                domain.tenant, TOKEN, domain.actors["agent"], domain.tenant.db.generation
            )
            woken = polling.register(domain.institution_id)
            changing.notify(domain.institution_id)
            await asyncio.wait_for(woken.wait(), 5)
            assert polling.idle.idle_agent(domain.tenant, TOKEN) is None
        finally:
            here.close()
            there.close()

    asyncio.run(scenario())
