import pytest

from tests.support.browser import chromium


@pytest.fixture
def browser():
    """Debian's Chromium, one per test."""
    with chromium() as instance:
        yield instance
