from pathlib import Path

import pytest

from tests.support.engine_api import Institution, new_institution
from tests.support.servers import engine_process


@pytest.fixture(scope="session")
def engine_data_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("engine-data")


@pytest.fixture(scope="session")
def engine(engine_data_dir) -> str:
    """One real engine process shared by tests; each test makes its own institution."""
    with engine_process(engine_data_dir) as base:
        yield base


@pytest.fixture
def inst(engine) -> Institution:
    return new_institution(engine)
