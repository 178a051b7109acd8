import pytest

from portal import PortalError
from portal.secret_box import SecretBox, new_key_b64


def test_round_trip_and_ciphertext_hides_the_secret():
    box = SecretBox.from_b64(new_key_b64())
    nonce, sealed = box.seal("lat_secret-token", "inst_1/agent")
    assert "lat_secret" not in sealed
    assert box.open(nonce, sealed, "inst_1/agent") == "lat_secret-token"


def test_wrong_context_or_key_does_not_decrypt():
    box = SecretBox.from_b64(new_key_b64())
    nonce, sealed = box.seal("s", "inst_1/agent")
    with pytest.raises(PortalError):
        box.open(nonce, sealed, "inst_2/agent")
    with pytest.raises(PortalError):
        SecretBox.from_b64(new_key_b64()).open(nonce, sealed, "inst_1/agent")


def test_bad_keys_are_refused():
    with pytest.raises(PortalError):
        SecretBox(b"short")
    with pytest.raises(PortalError):
        SecretBox.from_b64("***")
