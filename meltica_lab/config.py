"""``config/app.yaml``: where the strategies live and whether a registry is required.

Only the gateway keys meltica-lab needs are read: ``strategies.directory`` (default ``strategies``) and
``strategies.requireRegistry`` (default ``false``). Other keys are left alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from meltica_lab.errors import ConfigError
from meltica_lab.files import read_yaml

DEFAULT_CONFIG_PATH = Path("config") / "app.yaml"
DEFAULT_STRATEGIES_DIR = "strategies"


@dataclass(frozen=True)
class AppConfig:
    """The strategies settings of the gateway's app config."""

    strategies_directory: Path = Path(DEFAULT_STRATEGIES_DIR)
    require_registry: bool = False
    source: Path | None = None


def load_app_config(path: str | Path | None = None) -> AppConfig:
    """Read ``config/app.yaml`` (relative to the working directory unless ``path`` is given).

    A missing default file gives the defaults; a missing explicit file, malformed YAML or a value of
    the wrong type is a :class:`ConfigError` naming the file and the key; so is a file that is not a
    regular file, too large, or a YAML alias bomb (:mod:`meltica_lab.files`).
    """
    explicit = path is not None
    file = Path(path) if explicit else DEFAULT_CONFIG_PATH
    try:
        data = read_yaml(file, what="app config", error=ConfigError)
    except FileNotFoundError:
        if explicit:
            raise ConfigError(f"{file}: config file not found", path=str(file)) from None
        return AppConfig()
    section = _section(file, data)
    directory = section.get("directory", DEFAULT_STRATEGIES_DIR)
    if not isinstance(directory, str) or not directory.strip():
        raise ConfigError(
            f"{file}: strategies.directory: expected a non-empty path string, got {directory!r}",
            path=str(file),
            field="strategies.directory",
        )
    require = section.get("requireRegistry", False)
    if not isinstance(require, bool):
        raise ConfigError(
            f"{file}: strategies.requireRegistry: expected true or false, got {require!r}",
            path=str(file),
            field="strategies.requireRegistry",
        )
    return AppConfig(Path(directory.strip()), require, file)


def _section(file: Path, data: Any) -> dict[str, Any]:
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{file}: expected a mapping at the top level", path=str(file))
    section = data.get("strategies") or {}
    if not isinstance(section, dict):
        raise ConfigError(f"{file}: strategies: expected a mapping", path=str(file), field="strategies")
    return section
