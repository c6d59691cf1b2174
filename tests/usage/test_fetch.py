"""Usage exports are read through meltica_lab.files: a FIFO or a directory is refused at once, with
the file named, and a file over the size limit before it is read."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from meltica_lab.errors import UsageExportError
from meltica_lab.files import ReadLimits
from meltica_lab.usage import read_usage_export
from meltica_lab.usage.fetch import read_file


@pytest.mark.timeout(120)
def test_a_fifo_as_a_usage_export_is_refused_instead_of_hanging(tmp_path: Path):
    fifo = tmp_path / "usage.json"
    os.mkfifo(fifo)
    with pytest.raises(UsageExportError, match=r"usage\.json: usage export is a FIFO \(named pipe\)"):
        read_usage_export(fifo)


def test_a_directory_as_a_usage_export_is_refused(tmp_path: Path):
    with pytest.raises(UsageExportError, match="usage export is a directory"):
        read_usage_export(tmp_path)


def test_a_usage_export_over_the_size_limit_is_refused_before_reading(tmp_path: Path):
    path = tmp_path / "usage.json"
    path.write_text('{"registry": {}, "usage": []}', encoding="utf-8")
    with pytest.raises(UsageExportError, match="over the limit of 10 bytes"):
        read_file(path, ReadLimits(max_bytes=10))
    assert bytes(read_file(path)) == path.read_bytes()
