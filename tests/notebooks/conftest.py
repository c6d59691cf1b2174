"""Fixtures for the notebook tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.notebooks.notebook_files import write_toy_notebook


@pytest.fixture
def toy_notebook(tmp_path: Path) -> Path:
    """A toy parameterised notebook in a temporary folder."""
    return write_toy_notebook(tmp_path / "toy.ipynb")
