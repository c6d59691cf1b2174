"""config/app.yaml: strategies.directory and strategies.requireRegistry."""

from pathlib import Path

import pytest

from meltica_lab.config import AppConfig, load_app_config
from meltica_lab.errors import ConfigError


def test_missing_default_file_gives_defaults(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert load_app_config() == AppConfig()


def test_reads_directory_and_require_registry(tmp_path):
    cfg = tmp_path / "app.yaml"
    cfg.write_text("strategies:\n  directory: ./strats\n  requireRegistry: true\nother: 1\n")
    loaded = load_app_config(cfg)
    assert loaded.strategies_directory == Path("./strats") and loaded.require_registry


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("strategies:\n  requireRegistry: 'yes'\n", "strategies.requireRegistry: expected true or false"),
        ("strategies:\n  directory: 3\n", "strategies.directory: expected a non-empty path"),
        ("strategies: [1]\n", "strategies: expected a mapping"),
        ("strategies: {directory: [\n", "malformed YAML at line"),
    ],
)
def test_bad_values_name_the_file_and_key(tmp_path, text, needle):
    cfg = tmp_path / "app.yaml"
    cfg.write_text(text)
    with pytest.raises(ConfigError, match=needle) as info:
        load_app_config(cfg)
    assert str(cfg) in str(info.value)


def test_explicit_missing_file_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_app_config(tmp_path / "nope.yaml")
