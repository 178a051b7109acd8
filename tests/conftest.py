import pytest

from tests.support.engine_api import new_institution
from tests.support.servers import engine_process


@pytest.fixture(scope="session")
def engine(tmp_path_factory):
    """One real engine process shared by tests; each test makes its own institution."""
    with engine_process(tmp_path_factory.mktemp("engine-data")) as base:
        yield base


@pytest.fixture
def inst(engine):
    return new_institution(engine)
