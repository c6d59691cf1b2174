"""Bytes of a usage export from a file or an ``http(s)://`` URL, in one writable buffer.

The buffer is handed to the parser as is (the fast path works in place), so a file of known size is
read without an extra copy.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from os import fstat
from pathlib import Path
from typing import BinaryIO

from meltica_lab.errors import UsageExportError
from meltica_lab.files import ReadLimits, open_regular
from meltica_lab.usage.records import export_error

__all__ = ["fetch_url", "read_file"]


def _read_stream(stream: BinaryIO, size: int | None) -> bytearray:
    """All bytes of ``stream`` in one writable buffer, without an extra copy when the size is known."""
    if size is None:
        return bytearray(stream.read())
    buf = bytearray(size)
    filled = stream.readinto(buf) or 0
    del buf[filled:]
    buf += stream.read()  # the source grew after its size was taken
    return buf


EXPORT_LIMITS = ReadLimits(max_bytes=4 * 1024**3)
"""Usage exports of busy gateways run to gigabytes: a larger size bound than the kit's own files
(``MELTICA_LAB_MAX_FILE_BYTES`` still overrides it)."""


def read_file(path: Path, limits: ReadLimits | None = None) -> bytearray:
    """The bytes of the file at ``path``: a regular file within the size limit, else a
    :class:`~meltica_lab.errors.UsageExportError` naming it (a FIFO is refused at once, never waited
    on; see :mod:`meltica_lab.files`). Other ``OSError`` as raised; the callers name the file."""
    bounds = limits if limits is not None else ReadLimits.from_env(EXPORT_LIMITS)
    with open_regular(path, what="usage export", limits=bounds, error=UsageExportError) as handle:
        return _read_stream(handle, fstat(handle.fileno()).st_size)


def fetch_url(url: str) -> bytearray:
    """The body of ``GET url`` (asking for JSON); an HTTP error or an unreachable host raises
    :class:`~meltica_lab.errors.UsageExportError` naming the URL and the first line of the answer."""
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            length = response.headers.get("Content-Length")
            return _read_stream(response, int(length) if length and length.isdigit() else None)
    except urllib.error.HTTPError as exc:
        lines = exc.read().decode("utf-8", "replace").strip().splitlines()
        raise export_error(url, None, None, f"HTTP {exc.code}: {lines[0][:200] if lines else exc.reason}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise export_error(url, None, None, f"cannot fetch: {exc}") from None
