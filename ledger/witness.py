"""A witness: someone outside the engine (the agent, the console) who remembers the last
checkpoint they verified and accepts a newer one only with a consistency proof that it extends
the old. A ledger rewritten or rolled back on the engine's disk cannot produce that proof (nor
can a new signing key pass for the old one): the witness raises the alarm.
"""

from collections.abc import Callable
from dataclasses import dataclass

from ledger import LedgerError, merkle
from ledger import checkpoint as checkpoints
from ledger.signing import parse_public_key


class WitnessAlarm(LedgerError):
    """The engine's ledger is not an extension of what this witness saw before."""


@dataclass(frozen=True)
class Seen:
    """A checkpoint a witness verified: its note, signature and the key that signed it."""

    note: str
    signature: str
    public_key: str

    @property
    def size(self) -> int:
        return checkpoints.parse(self.note).size


def judge(
    institution_id: str,
    public_key: str,
    seen: Seen | None,
    note: str,
    signature: str,
    consistency: Callable[[int, int], list[bytes]],
) -> Seen:
    """What the witness keeps after the engine shows `note`: raises WitnessAlarm when the new
    checkpoint is not signed by the key it trusts, is about another ledger, goes back, or does
    not extend the old one (`consistency(old, new)` asks the engine for the proof)."""
    if seen is not None and seen.public_key.strip() != public_key.strip():
        raise WitnessAlarm("the engine signs with another key than the one this witness trusts")
    try:
        stated = checkpoints.verify(parse_public_key(public_key), note, signature)
    except (checkpoints.CheckpointInvalid, LedgerError) as exc:
        raise WitnessAlarm(f"the engine's checkpoint does not verify: {exc}") from exc
    if stated.institution_id != institution_id:
        raise WitnessAlarm(f"the engine's checkpoint is of {stated.institution_id}")
    if seen is not None:
        old = checkpoints.parse(seen.note)
        if stated.size < old.size:
            raise WitnessAlarm(
                f"rolled back: the ledger had {old.size} events, the engine now shows {stated.size}"
            )
        if stated.size == old.size and stated.root != old.root:
            raise WitnessAlarm(f"forked: two different ledgers of {old.size} events")
        if stated.size > old.size:
            proof = consistency(old.size, stated.size)
            if not merkle.verify_consistency(old.size, stated.size, old.root, stated.root, proof):
                raise WitnessAlarm(
                    f"rewritten: the ledger of {stated.size} events does not extend the one of"
                    f" {old.size} this witness saw"
                )
    return Seen(note, signature, public_key.strip())
