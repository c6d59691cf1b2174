"""``python -m meltica_lab.cli``."""

from meltica_lab.cli import entry_point

entry_point()
