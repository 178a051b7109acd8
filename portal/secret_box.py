"""Engine credentials at rest: AES-256-GCM, key from the environment, bound to their owner."""

import base64
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from portal import PortalError


class SecretBox:
    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise PortalError("the console encryption key must be 32 bytes (base64-encoded)")
        self._aead = AESGCM(key)

    @classmethod
    def from_b64(cls, text: str) -> "SecretBox":
        try:
            return cls(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
        except ValueError as exc:
            raise PortalError("the console encryption key is not valid base64") from exc

    def seal(self, plaintext: str, context: str) -> tuple[str, str]:
        """Returns (nonce, ciphertext), both base64; `context` (e.g. institution and kind) is
        authenticated, so a ciphertext moved to another row does not decrypt."""
        nonce = os.urandom(12)
        sealed = self._aead.encrypt(nonce, plaintext.encode(), context.encode())
        return base64.b64encode(nonce).decode(), base64.b64encode(sealed).decode()

    def open(self, nonce: str, ciphertext: str, context: str) -> str:
        try:
            plain = self._aead.decrypt(
                base64.b64decode(nonce), base64.b64decode(ciphertext), context.encode()
            )
        except (InvalidTag, ValueError) as exc:
            raise PortalError("stored secret does not decrypt with this key and context") from exc
        return plain.decode()


def new_key_b64() -> str:
    return base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("=")
