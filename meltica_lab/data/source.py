"""Opening a market data file as it was downloaded: plain CSV, ``.gz``, a ``.zip`` holding one CSV,
or Parquet, told apart by the file's first bytes (a name can lie; the bytes cannot).

Nothing here writes: a file that cannot be read is a :class:`DataError` in one printable line.
"""

from __future__ import annotations

import hashlib
import io
import os
import struct
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import pyarrow as pa
from isal import igzip, isal_zlib

from meltica_lab.errors import DataError
from meltica_lab.files import ReadLimits, stat_regular
from meltica_lab.hashing import hash_text

_ZIP = (b"PK\x03\x04", b"PK\x05\x06")
_GZIP = b"\x1f\x8b"
_PARQUET = b"PAR1"
_HEAD_BYTES = 1 << 16
_SKIPPED_MEMBERS = ("__MACOSX/",)
_INFLATE_CHUNK = 1 << 22
READ_ERRORS = (OSError, zipfile.BadZipFile, EOFError, zlib.error, isal_zlib.error)
"""What reading a damaged or truncated archive raises, whichever library finds it."""


def printable(text: str, limit: int = 160) -> str:
    """``text`` as one line without control or binary characters (escaped), at most ``limit`` long."""
    out = "".join(c if c.isprintable() else ascii(c)[1:-1] for c in text.replace("\r\n", "\n"))
    return out if len(out) <= limit else out[: limit - 1] + "…"


def _preview(data: bytes) -> str:
    return printable(data[:16].decode("latin-1"), 40)


@dataclass(frozen=True)
class DataFile:
    """A market data file on disk: its ``path``, what it holds (``container``: ``csv``, ``gzip``,
    ``zip`` or ``parquet``) and, for a zip archive, the ``member`` read."""

    path: Path
    container: str
    member: str | None = None

    @property
    def name(self) -> str:
        """The file's name in messages: its path, with ``!member`` for a zip archive."""
        return f"{self.path}!{self.member}" if self.member else str(self.path)

    @contextmanager
    def stream(self, chunk: int = _INFLATE_CHUNK) -> Iterator[IO[bytes] | pa.NativeFile]:
        """The CSV bytes (decompressed), for reading once from the start (a zip member inflated
        ``chunk`` compressed bytes at a time)."""
        try:
            if self.container == "zip":
                with zipfile.ZipFile(self.path) as archive:
                    info = archive.getinfo(str(self.member))
                    if info.compress_type == zipfile.ZIP_DEFLATED:
                        with _Inflated(self.path, info, chunk) as handle:
                            yield handle
                    else:
                        with archive.open(info) as handle:
                            yield handle
            elif self.container == "gzip":
                # ISA-L as for zip members: Tardis.dev files are gzip, and large
                with igzip.open(self.path, "rb") as handle:
                    yield handle
            else:
                with pa.OSFile(str(self.path)) as handle:
                    yield handle
        except READ_ERRORS as exc:
            raise unreadable(self, exc) from None

    def head(self, size: int = _HEAD_BYTES) -> bytes:
        """The first ``size`` bytes of the CSV (decompressed)."""
        with self.stream(chunk=size) as handle:
            try:
                return bytes(handle.read(size))
            except (*READ_ERRORS, pa.ArrowException) as exc:
                raise unreadable(self, exc) from None

    def size(self) -> int | None:
        """How many CSV bytes there are to read (decompressed), when the file says."""
        if self.container == "zip":
            with zipfile.ZipFile(self.path) as archive:
                return archive.getinfo(str(self.member)).file_size
        return None if self.container == "gzip" else self.path.stat().st_size

    def sha256(self) -> str:
        """``sha256:<hex>`` of the file's bytes on disk (as downloaded, not decompressed)."""
        return file_sha256(self.path)


class _Inflated(io.RawIOBase):
    """A deflated zip member, inflated with ISA-L (2-3 times zlib's speed: a day of trades is
    hundreds of MB unzipped) in large chunks, its CRC-32 and size checked at the end."""

    def __init__(self, path: Path, info: zipfile.ZipInfo, chunk: int = _INFLATE_CHUNK) -> None:
        super().__init__()
        self._chunk = chunk
        self._file = path.open("rb")
        self._file.seek(info.header_offset)
        local = self._file.read(30)
        if len(local) < 30 or local[:4] != b"PK\x03\x04":
            self._file.close()
            raise zipfile.BadZipFile("bad local file header")
        name_length, extra_length = struct.unpack("<HH", local[26:30])
        self._file.seek(info.header_offset + 30 + name_length + extra_length)
        self._info = info
        self._left = info.compress_size
        self._inflater = isal_zlib.decompressobj(-15)
        self._crc = 0
        self._size = 0
        self._pending = bytearray()
        self._done = False

    def readable(self) -> bool:
        return True

    def _more(self) -> None:
        chunk = self._file.read(min(self._left, self._chunk)) if self._left else b""
        self._left -= len(chunk)
        out = self._inflater.decompress(chunk) if chunk else self._inflater.flush()
        self._crc = zlib.crc32(out, self._crc)
        self._size += len(out)
        self._pending += out
        if not chunk:
            self._done = True
            if not self._inflater.eof or self._size != self._info.file_size:
                raise zipfile.BadZipFile(f"truncated: {self._size:,} of {self._info.file_size:,} bytes")
            if self._crc != self._info.CRC:
                raise zipfile.BadZipFile("CRC-32 mismatch: the archive is damaged")

    def read(self, size: int = -1) -> bytes:
        while not self._done and (size < 0 or len(self._pending) < size):
            self._more()
        size = len(self._pending) if size < 0 else min(size, len(self._pending))
        out = bytes(self._pending[:size])
        del self._pending[:size]
        return out

    def close(self) -> None:
        self._file.close()
        super().close()


def unreadable(file: DataFile, exc: BaseException) -> DataError:
    """The one-line error for a file whose bytes cannot be read as what it claims to be."""
    what = {
        "zip": "a damaged or truncated zip archive",
        "gzip": "damaged or truncated gzip data",
    }.get(file.container, "unreadable")
    return DataError(f"{file.name}: {what} ({printable(str(exc) or type(exc).__name__)})", path=str(file.path))


def file_sha256(path: Path) -> str:
    """``sha256:<hex>`` of a file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return hash_text(digest)


DATA_LIMITS = ReadLimits(max_bytes=256 << 30)
"""Market data files are large (a day of BTCUSDT trades is ~100 MB zipped, far more unpacked): the
bound only stops what cannot be a dump; the regular-file check is what matters."""


def _check_regular(path: Path) -> os.stat_result:
    source = str(path)
    try:
        info = stat_regular(path, what="data file", limits=DATA_LIMITS, error=DataError)
    except FileNotFoundError:
        raise DataError(f"{source}: data file not found", path=source) from None
    return info


def open_data_file(path: str | Path) -> DataFile:
    """The data file at ``path``, what it holds decided from its first bytes.

    A ``.gz``/``.zip`` name whose bytes are not gzip/zip, an empty file, a zip archive that is
    damaged or holds no file or several files, is a :class:`DataError`.
    """
    path = Path(path)
    source = str(path)
    info = _check_regular(path)
    if info.st_size == 0:
        raise DataError(f"{source}: no data (the file is empty)", path=source)
    with path.open("rb") as handle:
        magic = handle.read(4)
    suffix = path.suffix.lower()
    if magic.startswith(_GZIP):
        return DataFile(path, "gzip")
    if suffix == ".gz":
        raise DataError(f"{source}: not gzip data (it starts with {_preview(magic)!r})", path=source)
    if magic in _ZIP:
        return DataFile(path, "zip", _zip_member(path))
    if suffix == ".zip":
        raise DataError(f"{source}: not a zip archive (it starts with {_preview(magic)!r})", path=source)
    if magic == _PARQUET or suffix in (".parquet", ".pq"):
        return DataFile(path, "parquet")
    return DataFile(path, "csv")


def _zip_member(path: Path) -> str:
    source = str(path)
    try:
        with zipfile.ZipFile(path) as archive:
            members = [
                m.filename for m in archive.infolist() if not m.is_dir() and not m.filename.startswith(_SKIPPED_MEMBERS)
            ]
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise DataError(f"{source}: a damaged or truncated zip archive ({printable(str(exc))})", path=source) from None
    if not members:
        raise DataError(f"{source}: the zip archive holds no file; expected one CSV", path=source)
    if len(members) > 1:
        shown = ", ".join(printable(m, 60) for m in members[:5]) + (", ..." if len(members) > 5 else "")
        raise DataError(
            f"{source}: the zip archive holds {len(members)} files ({shown}); expected one CSV: "
            "extract the one to read, or pass each as its own file",
            path=source,
        )
    return members[0]
