"""Every data test has its own cache directory: a large file read in a test is cached there, not in
the user's cache."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("MELTICA_LAB_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
