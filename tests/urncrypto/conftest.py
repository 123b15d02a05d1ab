"""Fixtures for the urn's cryptography: no database, no Django objects, only the package."""

import pytest

from ..builders.urncrypto import make_round


@pytest.fixture(scope="session")
def round_2_of_3():
    return make_round()
