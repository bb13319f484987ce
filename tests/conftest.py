"""Test-wide settings: caches go to a temporary folder, never to the user's ~/.cache."""
from __future__ import annotations

import os

import pytest


@pytest.fixture(autouse=True, scope="session")
def _private_cache(tmp_path_factory):
    old = os.environ.get("GDYNET_CACHE")
    os.environ["GDYNET_CACHE"] = str(tmp_path_factory.mktemp("gdynet-cache"))
    yield
    if old is None:
        os.environ.pop("GDYNET_CACHE", None)
    else:
        os.environ["GDYNET_CACHE"] = old
