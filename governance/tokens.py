import hashlib
import hmac
import secrets


def new_secret(prefix: str) -> str:
    """A random 256-bit secret, URL-safe, with a readable prefix."""
    return f"{prefix}_{secrets.token_urlsafe(32)}"


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def secrets_equal(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())
