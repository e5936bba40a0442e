from __future__ import annotations

import pytest

from outcome_gym.studies.finding import ENV
from tests.studies import STUDIES_DIR


@pytest.fixture(scope="session", autouse=True)
def _studies_folder():
    """Studies looked up by name come from this repository's folder, whatever the current one."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(ENV, str(STUDIES_DIR))
        yield
