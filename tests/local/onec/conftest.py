"""The 1C sandbox's fixtures: a running sandbox per module (current and old release, and a fresh one per test)
and an HTTP session logged in as the OData user."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from local.onec.releases import OnecFlavour
from local.onec.sandbox import OnecSandbox
from local.seed import (
    ONEC_PASSWORD,
    ONEC_USERNAME,
)


@pytest.fixture(scope="module")
def sandbox() -> Iterator[OnecSandbox]:
    with OnecSandbox() as running:
        yield running


@pytest.fixture(scope="module")
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        session.auth = (ONEC_USERNAME, ONEC_PASSWORD)
        yield session


@pytest.fixture
def old_release() -> Iterator[OnecSandbox]:
    with OnecSandbox(flavour=OnecFlavour.BP_2018) as running:
        yield running


@pytest.fixture
def fresh() -> Iterator[OnecSandbox]:
    """A sandbox of its own, for numbers, codes and counts that must start from the seed."""
    with OnecSandbox() as running:
        yield running
