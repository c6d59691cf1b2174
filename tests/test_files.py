"""meltica_lab.files: regular-file checks, size limits, bounded JSON and YAML, atomic writes."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from meltica_lab.errors import DataError, MelticaLabError
from meltica_lab.files import (
    ReadLimits,
    json_depth,
    loads_json,
    loads_yaml,
    read_bytes,
    read_json,
    read_text,
    read_yaml,
    remove_stale_temps,
    shorten,
    stat_regular,
    temp_path,
    write_atomic,
)

BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 9)}]\n" for i in range(8)
)
"""A 300-odd byte YAML document that stands for 9**9 strings once its aliases are expanded."""


def mode_of(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_a_fifo_is_refused_at_once_instead_of_blocking(tmp_path: Path):
    fifo = tmp_path / "module.js"
    os.mkfifo(fifo)
    with pytest.raises(DataError, match=r"module\.js: market data is a FIFO \(named pipe\): expected a regular file"):
        read_bytes(fifo, what="market data", error=DataError)
    with pytest.raises(DataError, match="FIFO"):
        stat_regular(fifo, what="market data", error=DataError)


def test_a_directory_is_refused_naming_it(tmp_path: Path):
    with pytest.raises(MelticaLabError, match=f"{tmp_path}: file is a directory: expected a regular file"):
        read_bytes(tmp_path)


def test_a_missing_file_is_left_to_the_caller(tmp_path: Path):
    with pytest.raises(FileNotFoundError):
        read_bytes(tmp_path / "nope")


def test_a_sparse_file_over_the_limit_is_refused_before_reading(tmp_path: Path):
    big = tmp_path / "big.js"
    with big.open("wb") as handle:
        handle.truncate(6 * 1024**3)  # 6 GiB that take no disk space
    with pytest.raises(MelticaLabError, match=r"big\.js: module is 6,144\.0 MiB, over the limit of 64\.0 MiB"):
        read_bytes(big, what="module")


def test_the_size_limit_is_configurable_by_value_and_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    path = tmp_path / "ten.txt"
    path.write_bytes(b"0123456789")
    with pytest.raises(MelticaLabError, match="10 bytes, over the limit of 9 bytes"):
        read_bytes(path, limits=ReadLimits(max_bytes=9))
    assert read_bytes(path, limits=ReadLimits(max_bytes=10)) == b"0123456789"
    monkeypatch.setenv("MELTICA_LAB_MAX_FILE_BYTES", "5")
    with pytest.raises(MelticaLabError, match="MELTICA_LAB_MAX_FILE_BYTES"):
        read_bytes(path)
    monkeypatch.setenv("MELTICA_LAB_MAX_FILE_BYTES", "lots")
    with pytest.raises(MelticaLabError, match="MELTICA_LAB_MAX_FILE_BYTES='lots': expected a positive integer"):
        read_bytes(path)


def test_limits_must_be_positive_integers():
    with pytest.raises(MelticaLabError, match=r"ReadLimits\.max_bytes: expected a positive integer, got 0"):
        ReadLimits(max_bytes=0)


def test_text_is_utf8_with_the_bom_dropped_and_a_bad_byte_named(tmp_path: Path):
    path = tmp_path / "t.txt"
    path.write_bytes("\ufeffhé".encode())
    assert read_text(path) == "hé"
    path.write_bytes(b"ok\xff")
    with pytest.raises(MelticaLabError, match=r"t\.txt: file is not UTF-8 \(byte 2\)"):
        read_text(path)


def test_json_nested_thousands_deep_is_refused_with_its_depth():
    with pytest.raises(MelticaLabError, match=r"x\.json: registry nests 3,000 levels deep, over the limit of 200"):
        loads_json("[" * 3000 + "]" * 3000, "x.json", what="registry")


def test_json_depth_ignores_brackets_inside_strings():
    assert json_depth('{"a": ["[[[\\"", {"b": [1]}]}') == 4
    assert json_depth('"[[[["') == 0


def test_a_json_integer_of_thousands_of_digits_is_refused():
    with pytest.raises(MelticaLabError, match="holds an integer of 5,000 digits, over the limit of 40"):
        loads_json('{"n": ' + "9" * 5000 + "}", "x.json")
    assert loads_json('{"n": -1700000000000000000}', "x.json") == {"n": -1700000000000000000}


def test_malformed_json_names_line_and_column(tmp_path: Path):
    path = tmp_path / "x.json"
    path.write_text('{\n  "a": }', encoding="utf-8")
    with pytest.raises(MelticaLabError, match=r"x\.json: file is malformed JSON at line 2, column 8"):
        read_json(path)


def test_a_yaml_alias_bomb_is_refused_without_expanding_it(tmp_path: Path):
    assert len(BOMB) < 400
    path = tmp_path / "config.yaml"
    path.write_text(BOMB, encoding="utf-8")
    with pytest.raises(MelticaLabError, match=r"config\.yaml: config expands \(through its aliases\) to more than"):
        read_yaml(path, what="config")


def test_yaml_with_a_few_aliases_loads():
    text = "base: &b {fee: 1}\nrun: {<<: *b, size: 2}\nlist: [*b, *b]\n"
    assert loads_yaml(text, "c.yaml") == {"base": {"fee": 1}, "run": {"fee": 1, "size": 2}, "list": [{"fee": 1}] * 2}


def test_malformed_yaml_names_line_and_column():
    with pytest.raises(MelticaLabError, match=r"c\.yaml: file is malformed YAML at line 2, column 1"):
        loads_yaml("a: [1, 2\n", "c.yaml")


def test_deep_yaml_is_an_error_not_a_recursion_error():
    with pytest.raises(MelticaLabError, match=r"c\.yaml: file"):
        loads_yaml("[" * 20000 + "]" * 20000, "c.yaml")


def test_write_atomic_edits_through_a_symlink_and_keeps_the_link(tmp_path: Path):
    target = tmp_path / "repo" / "registry.json"
    target.parent.mkdir()
    target.write_text("old", encoding="utf-8")
    link = tmp_path / "registry.json"
    link.symlink_to(Path("repo") / "registry.json")
    assert write_atomic(link, b"new") == target
    assert link.is_symlink()
    assert target.read_bytes() == b"new"


def test_write_atomic_keeps_an_existing_mode(tmp_path: Path):
    path = tmp_path / "r.json"
    path.write_bytes(b"old")
    path.chmod(0o640)
    write_atomic(path, b"new")
    assert mode_of(path) == 0o640


def test_a_new_file_gets_the_umask_mode(tmp_path: Path):
    old = os.umask(0o022)
    try:
        write_atomic(tmp_path / "a.json", b"x")
        os.umask(0o077)
        write_atomic(tmp_path / "b.json", lambda handle: handle.write(b"y"))
    finally:
        os.umask(old)
    assert mode_of(tmp_path / "a.json") == 0o644
    assert mode_of(tmp_path / "b.json") == 0o600
    assert (tmp_path / "b.json").read_bytes() == b"y"


def test_a_failed_write_leaves_the_file_and_no_temporary(tmp_path: Path):
    path = tmp_path / "r.json"
    path.write_bytes(b"old")

    def fail(handle: object) -> None:
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        write_atomic(path, fail)
    assert path.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.json"]


def test_stale_temporaries_are_removed_and_others_kept(tmp_path: Path):
    path = tmp_path / "registry.json"
    path.write_bytes(b"{}")
    stale = temp_path(path)
    stale.write_bytes(b"half")
    other = tmp_path / ".other.json.abc.tmp"
    other.write_bytes(b"")
    assert remove_stale_temps(path) == [stale]
    assert sorted(p.name for p in tmp_path.iterdir()) == [".other.json.abc.tmp", "registry.json"]


def test_long_values_are_shortened_with_their_length():
    assert shorten("x" * 10) == "x" * 10
    cut = shorten("y" * 100_000)
    assert len(cut) < 100 and "100,000 characters" in cut
