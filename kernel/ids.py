"""Record ids: a readable prefix and random hex (`prop_…`, `usr_…`)."""

import secrets

ID_BYTES = 12  # 24 hex digits; the accounts store's first ids had 10 bytes (20 digits)


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(ID_BYTES)}"
