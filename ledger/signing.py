import base64
import os
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from kernel.canonical import canonical_json
from ledger import LedgerError


class SignatureInvalid(LedgerError):
    pass


def load_or_create_key(path: Path) -> Ed25519PrivateKey:
    """The engine's Ed25519 key, created with 0600 permissions on first use."""
    path = Path(path)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        # Written whole under a private name, then linked into place: processes starting
        # together (engine workers, the clock) all end up with the one key that won.
        partial = path.with_name(f".{path.name}.{os.getpid()}")
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(pem)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(partial, path)
        except FileExistsError:
            pass
        finally:
            partial.unlink()
        directory = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(directory)  # the key survives a power cut, or nothing was signed with it
        finally:
            os.close(directory)
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise LedgerError(f"{path} is not an Ed25519 private key")
    return key


def public_key_b64(key: Ed25519PrivateKey) -> str:
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode()


def parse_public_key(text: str) -> Ed25519PublicKey:
    """Accept a base64 raw key or a PEM public key."""
    text = text.strip()
    try:
        if text.startswith("-----BEGIN"):
            key = serialization.load_pem_public_key(text.encode())
            if not isinstance(key, Ed25519PublicKey):
                raise LedgerError("public key is not Ed25519")
            return key
        return Ed25519PublicKey.from_public_bytes(base64.b64decode(text, validate=True))
    except (ValueError, TypeError) as exc:
        raise LedgerError(f"unreadable public key: {exc}") from exc


def sign(key: Ed25519PrivateKey, message: dict) -> str:
    return base64.b64encode(key.sign(canonical_json(message))).decode()


def verify_signature(public_key: Ed25519PublicKey, message: dict, signature_b64: str) -> None:
    verify_signature_bytes(public_key, canonical_json(message), signature_b64)


def verify_signature_bytes(public_key: Ed25519PublicKey, data: bytes, signature_b64: str) -> None:
    try:
        public_key.verify(base64.b64decode(signature_b64, validate=True), data)
    except (InvalidSignature, ValueError, TypeError) as exc:
        raise SignatureInvalid("signature does not verify with the given public key") from exc


def checkpoint_message(institution_id: str, seq: int, head_hash: str) -> dict:
    return {
        "kind": "libervia.ledger.checkpoint",
        "institution_id": institution_id,
        "seq": seq,
        "head_hash": head_hash,
    }
