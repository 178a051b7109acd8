"""Typed records the Engine's domain hands across package boundaries."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    """An institution's actor as its token proves it: a person in a role, or the agent."""

    id: str
    name: str
    role: str
    is_agent: bool
    last_seen_at: str | None = None
    agent_version: str | None = None
