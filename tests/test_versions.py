"""Semantic-version order of tags."""

from meltica_lab.versions import is_version, newest, version_key


def test_double_digit_minor_sorts_after_single_digit():
    assert newest(["v1.9.0", "v1.10.0", "v1.2.0"]) == "v1.10.0"


def test_prerelease_sorts_before_its_release_and_numeric_ids_before_text():
    order = sorted(["1.0.0", "1.0.0-rc.1", "1.0.0-alpha", "1.0.0-alpha.2", "0.9"], key=version_key)
    assert order == ["0.9", "1.0.0-alpha", "1.0.0-alpha.2", "1.0.0-rc.1", "1.0.0"]


def test_non_versions_sort_before_versions_and_latest_is_ignored():
    assert newest(["stable", "v0.0.1", "latest"]) == "v0.0.1"
    assert newest(["latest"]) is None
    assert not is_version("stable") and is_version("V2") and is_version("2.1.3+build.5")
