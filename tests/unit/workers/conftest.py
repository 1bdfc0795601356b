"""Worker tests start threads of their own; leftovers of earlier Qt tests are collected first, on
the main thread, so a collection triggered on one of those threads never finalizes a Qt object."""

from __future__ import annotations

import gc

import pytest


@pytest.fixture(autouse=True)
def _collect_on_the_main_thread():
    gc.collect()
    yield
