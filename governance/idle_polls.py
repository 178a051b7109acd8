"""What an institution's last poll found when it found nothing at all, so that the agent's next
polls are answered from memory, without a thread or a database read.

An agent asks every few seconds and almost always hears "no jobs": the answer only changes when
the institution's file does. A memory is kept only when no job was queued or out on a lease (a
lease may lapse at any moment), and trusted while nothing was written to that file by this
process (`InstitutionDB.generation`), no peer said the institution changed (`forget`, through
the job notifier's bus), and for `REMEMBER_SECONDS` at a time: a job that another process
queues without telling is seen within that time, as a long-poll's re-check would see it. Only
the poll reads it; leasing and reporting always ask the file."""

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from governance.records import Actor
from governance.tokens import hash_secret, secrets_equal
from tenants.database import InstitutionDB
from tenants.tenant import Tenant

REMEMBER_SECONDS = 1.0
PRUNE_ABOVE = 4096  # memories kept before the lapsed ones are dropped


@dataclass(frozen=True)
class _Memory:
    db: InstitutionDB  # the one read: a reopened file is another
    generation: int
    token_hash: str
    actor: Actor
    until: float


class IdlePolls:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._memories: dict[str, _Memory] = {}
        self._lock = threading.Lock()

    def remember(self, tenant: Tenant, token: str, actor: Actor, generation: int) -> None:
        """`actor` (of `token`) polled and found no job, reading after `generation`."""
        memory = _Memory(
            tenant.db,
            generation,
            hash_secret(token),
            actor,
            self.clock() + REMEMBER_SECONDS,
        )
        with self._lock:
            if len(self._memories) > PRUNE_ABOVE:
                now = self.clock()
                self._memories = {k: m for k, m in self._memories.items() if m.until >= now}
            self._memories[tenant.institution_id] = memory

    def idle_agent(self, tenant: Tenant, token: str | None) -> Actor | None:
        """The agent `token` opens, when its institution is known to have no job for it. Once
        a memory is REMEMBER_SECONDS old, the first caller gets None (it looks at the file and
        remembers again) while the others are answered from it meanwhile: a crowd of polls
        never looks at once."""
        memory = self._memories.get(tenant.institution_id)
        if (
            memory is None
            or token is None
            or memory.db is not tenant.db
            or memory.generation != tenant.db.generation
            or not secrets_equal(hash_secret(token), memory.token_hash)
        ):
            return None
        now = self.clock()
        if memory.until < now:
            with self._lock:
                if self._memories.get(tenant.institution_id) is memory:
                    self._memories[tenant.institution_id] = replace(
                        memory, until=now + REMEMBER_SECONDS
                    )
                    return None
        return memory.actor

    def forget(self, institution_id: str) -> None:
        with self._lock:
            self._memories.pop(institution_id, None)

    def __len__(self) -> int:
        return len(self._memories)
