"""meltica-lab: registry, V8 sandbox, backtests and usage analysis for Meltica gateway strategies."""

from meltica_lab.errors import MelticaLabError

__version__ = "0.1.0"

__all__ = ["MelticaLabError", "__version__"]
