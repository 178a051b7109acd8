"""Never approve blind: a destructive proposal an older engine accepted without naming its
content (no sha256) cannot be approved; it can still be rejected or left to expire."""

import pytest

from governance.approvals import approve, reject
from governance.proposals import submit_proposal
from governance.records import Proposal
from harness.engine_api import SEEN
from kernel.errors import Conflict
from tests.support.domain import open_domain


@pytest.fixture
def domain(tmp_path):
    opened = open_domain(tmp_path / "data")
    yield opened
    opened.close()


def legacy_blind_delete(domain) -> Proposal:
    """A pending delete as the engine stored it before proposals had to name their content."""
    agent = domain.actors["agent"]
    body = {"action": "delete", "params": {"path": "a.txt", "sha256": SEEN}}
    proposal = submit_proposal(domain.ctx, domain.tenant, agent, body)
    domain.tenant.db.write(
        lambda tx: tx.execute(
            'UPDATE proposals SET params=\'{"path":"a.txt"}\' WHERE id=?',
            (proposal.id,),
        )
    )
    return proposal


def test_a_pending_proposal_that_names_no_content_cannot_be_approved(domain):
    proposal = legacy_blind_delete(domain)
    owner = domain.actors["owner"]
    with pytest.raises(Conflict) as refused:
        approve(domain.ctx, domain.tenant, owner, proposal.id, proposal.view())
    assert refused.value.code == "content_unnamed"
    assert "engine.destructive_names_content" in str(refused.value)
    assert domain.tenant.db.all("SELECT id FROM jobs") == []
    rejected = reject(domain.tenant, owner, proposal.id, {"reason": "blind"})
    assert rejected.status == "rejected"
