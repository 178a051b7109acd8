"""Find the file a person names in the agent's latest listing: an exact path, or a bare name
that is found anywhere in the folder (several matches: the person chooses)."""

from dataclasses import dataclass, field
from typing import Any

MAX_CHOICES = 10


@dataclass(frozen=True)
class Lookup:
    file: dict[str, Any] | None = None
    choices: list[str] = field(default_factory=list)

    @property
    def ambiguous(self) -> bool:
        return len(self.choices) > 1


def find(inventory: dict[str, dict[str, Any]], named: str) -> Lookup:
    path = named.strip().strip("/").replace("\\", "/")
    if path in inventory:
        return Lookup(inventory[path])
    if "/" in path:
        return Lookup()
    folded = path.casefold()
    matches = sorted(p for p in inventory if p.rsplit("/", 1)[-1].casefold() == folded)
    if len(matches) == 1:
        return Lookup(inventory[matches[0]])
    return Lookup(None, matches[: MAX_CHOICES + 1])


def folder_to_inspect(named: str) -> tuple[str, bool]:
    """What the agent lists to see `named`: its folder alone, or everything for a bare name."""
    path = named.strip().strip("/").replace("\\", "/")
    if "/" not in path:
        return ".", True
    return path.rsplit("/", 1)[0], False
