"""Fixtures for the widget tests: a strategies root with the flipper strategy in two revisions."""

from __future__ import annotations

from pathlib import Path

import pytest

from meltica_lab.loader import Loader
from tests.widgets.flipper import add_flipper


@pytest.fixture
def flipper_root(tmp_path: Path) -> Path:
    """A root with flipper v1.0.0 (every 50) and v1.1.0 (every 20, latest)."""
    root = tmp_path / "strategies"
    root.mkdir()
    add_flipper(root, "v1.0.0", 50)
    add_flipper(root, "v1.1.0", 20)
    return root


@pytest.fixture
def flipper_loader(flipper_root: Path, tmp_path: Path) -> Loader:
    """A loader over :func:`flipper_root` with its own metadata cache."""
    return Loader(flipper_root, cache_dir=tmp_path / "cache")
