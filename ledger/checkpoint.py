"""Signed checkpoints: a text note naming an institution's ledger at one size, signed with
the engine's Ed25519 key. The note is what is signed, byte for byte:

    libervia.ledger.checkpoint/v2
    institution inst_0123456789abcdef01234567
    size 1234
    root <Merkle tree root (RFC 9162) of the first `size` events, base64>
    head <chain hash of event `size`, hex>
    time <UTC time of signing, ISO 8601>

Each line ends with a newline. A checkpoint commits to both structures: the hash chain (head)
and the Merkle tree (root), so one event can be proved with an inclusion proof, and a later
checkpoint can be proved an extension of an earlier one with a consistency proof.
"""

import base64
import binascii
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ledger import LedgerError
from ledger.signing import SignatureInvalid, verify_signature_bytes

FORMAT = "libervia.ledger.checkpoint/v2"
FIELDS = ("institution", "size", "root", "head", "time")


class CheckpointInvalid(LedgerError):
    pass


@dataclass(frozen=True)
class Checkpoint:
    institution_id: str
    size: int
    root: bytes
    head: str
    time: str

    def note(self) -> str:
        return (
            f"{FORMAT}\n"
            f"institution {self.institution_id}\n"
            f"size {self.size}\n"
            f"root {base64.b64encode(self.root).decode()}\n"
            f"head {self.head}\n"
            f"time {self.time}\n"
        )

    @property
    def root_hex(self) -> str:
        return self.root.hex()

    def sign(self, key: Ed25519PrivateKey) -> str:
        return base64.b64encode(key.sign(self.note().encode())).decode()


def parse(note: str) -> Checkpoint:
    """Strictly: the header, the five fields in order, nothing else."""
    lines = note.split("\n")
    if len(lines) != len(FIELDS) + 2 or lines[0] != FORMAT or lines[-1] != "":
        raise CheckpointInvalid("not a libervia checkpoint note (v2)")
    values = {}
    for name, line in zip(FIELDS, lines[1:-1], strict=True):
        label, _, value = line.partition(" ")
        if label != name or not value:
            raise CheckpointInvalid(f"checkpoint line {line!r} is not its {name!r}")
        values[name] = value
    try:
        size = int(values["size"])
        root = base64.b64decode(values["root"], validate=True)
    except (ValueError, binascii.Error) as exc:
        raise CheckpointInvalid(f"checkpoint size or root is malformed: {exc}") from exc
    if size < 0 or len(root) != 32 or values["size"] != str(size):
        raise CheckpointInvalid("checkpoint size or root is malformed")
    checkpoint = Checkpoint(values["institution"], size, root, values["head"], values["time"])
    if checkpoint.note() != note:
        raise CheckpointInvalid("checkpoint note is not in its canonical form")
    return checkpoint


def verify(public_key: Ed25519PublicKey, note: str, signature_b64: str) -> Checkpoint:
    """The checkpoint a note states, once its signature is checked."""
    checkpoint = parse(note)
    try:
        verify_signature_bytes(public_key, note.encode(), signature_b64)
    except SignatureInvalid as exc:
        raise CheckpointInvalid(
            f"checkpoint at size {checkpoint.size}: its signature does not verify with this key"
        ) from exc
    return checkpoint
