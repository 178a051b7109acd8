"""The agent's poll answered from memory (governance.idle_polls) never hides a change: the
engine's app in process, on a real data dir, with the memory's clock in the test's hands."""

from collections.abc import Iterator

import pytest

from governance.context import EngineContext
from governance.idle_polls import REMEMBER_SECONDS, IdlePolls
from governance.institutions import authenticate_actor
from governance.proposals import submit_proposal
from harness.engine_api import Institution
from tests.support.clock import ManualClock

AGENT_UA = {"User-Agent": "libervia-agent/1.0.0"}


@pytest.fixture
def memory(engine_app) -> Iterator[tuple[IdlePolls, ManualClock]]:
    clock = ManualClock()
    idle = engine_app.app.state.ctx.notifier.idle
    idle.clock = clock
    yield idle, clock


def poll(inst: Institution, who: str = "agent", **headers: str):
    return inst.http.get(
        inst.url("/runtime/jobs"),
        params={"wait": 0},
        headers={"Authorization": f"Bearer {inst.tokens[who]}", **AGENT_UA, **headers},
    )


def remembered(inst: Institution, memory) -> None:
    idle, _ = memory
    assert poll(inst).json() == {"jobs": []}
    assert len(idle) == 1  # the next polls are answered from memory


def test_a_revoked_agent_is_refused_on_its_very_next_poll(local_inst, memory):
    remembered(local_inst, memory)
    revoked = local_inst.post(f"/actors/{local_inst.actor_ids['agent']}/revoke", "admin")
    assert revoked.status_code == 200
    refused = poll(local_inst)
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "actor_revoked"


def test_a_reissued_token_shuts_the_old_one_out_at_once(local_inst, memory):
    remembered(local_inst, memory)
    issued = local_inst.post(f"/actors/{local_inst.actor_ids['agent']}/token", "admin")
    assert issued.status_code == 201
    assert poll(local_inst).json()["error"]["code"] == "bad_token"
    local_inst.tokens["agent"] = issued.json()["token"]
    assert poll(local_inst).json() == {"jobs": []}


def test_another_token_or_a_person_is_never_answered_from_the_agents_memory(local_inst, memory):
    remembered(local_inst, memory)
    local_inst.tokens["stranger"] = "lat_" + "x" * 40
    assert poll(local_inst, "stranger").json()["error"]["code"] == "bad_token"
    assert poll(local_inst, "owner").json()["error"]["code"] == "not_an_agent"
    assert poll(local_inst).json() == {"jobs": []}


def test_a_job_queued_here_is_in_the_next_poll(local_inst, memory):
    remembered(local_inst, memory)
    job_id = local_inst.propose("owner", "list_files")["job_id"]
    assert [job["job_id"] for job in poll(local_inst).json()["jobs"]] == [job_id]


def test_a_job_another_process_queued_silently_shows_within_the_memorys_time(
    local_inst, memory, engine_app
):
    """A process that does not tell the engine (no peer bus) is seen once the memory is
    REMEMBER_SECONDS old, as a long-poll's re-check would see it."""
    idle, clock = memory
    remembered(local_inst, memory)
    other = EngineContext.open(engine_app.app.state.settings.data_dir)
    try:
        tenant, owner = authenticate_actor(
            other, local_inst.institution_id, local_inst.tokens["owner"]
        )
        job_id = submit_proposal(
            other, tenant, owner, {"action": "list_files", "params": {}}
        ).job_id
    finally:
        other.close()
    assert poll(local_inst).json() == {"jobs": []}  # still the memory
    clock.now += REMEMBER_SECONDS + 0.01
    assert [job["job_id"] for job in poll(local_inst).json()["jobs"]] == [job_id]
    assert len(idle) == 0  # jobs found: nothing to remember


def test_a_new_agent_build_is_recorded_on_its_first_poll(local_inst, memory):
    remembered(local_inst, memory)
    assert poll(local_inst, **{"User-Agent": "libervia-agent/1.1.0"}).json() == {"jobs": []}
    actors = local_inst.get("/actors", "admin").json()["actors"]
    assert [a["agent_version"] for a in actors if a["is_agent"]] == ["1.1.0"]
