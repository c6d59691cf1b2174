"""The one place meltica-lab opens files it did not write, and writes files others will read.

Reading: every file is checked to be a regular file of bounded size *before* its bytes are read (a
FIFO, a device or a directory is refused at once instead of hanging; a 6 GiB sparse file is refused
instead of exhausting memory). Decoding is bounded too: JSON by nesting depth and integer length, YAML
by the size its aliases expand to. Every refusal is one line naming the file and the limit, raised as
the caller's own error class (``error=``), so ``except DataError`` keeps working for data files.

Writing: :func:`write_atomic` replaces a file through a temporary file in the same directory, fsynced,
renamed into place. It edits *through* a symlink (the link stays, its target gets the new bytes),
keeps the mode an existing file had, and gives a new file the mode the umask allows, as any other
tool would. :func:`remove_stale_temps` clears the temporary files a crash left behind.

Limits are one value, :class:`ReadLimits`; :data:`DEFAULT_LIMITS` suits the kit's own files, and
``ReadLimits.from_env()`` lets an operator raise them (``MELTICA_LAB_MAX_FILE_BYTES`` and friends).
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import secrets
import stat
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from types import MappingProxyType
from typing import IO, TYPE_CHECKING, Any

from meltica_lab.errors import MelticaLabError

if TYPE_CHECKING:
    import yaml

ErrorType = type[MelticaLabError]
PathLike = str | os.PathLike[str]
TEMP_SUFFIX = ".tmp"

_MIB = 1024 * 1024

LIMIT_VARIABLES: Mapping[str, str] = MappingProxyType(
    {
        "max_bytes": "MELTICA_LAB_MAX_FILE_BYTES",
        "json_depth": "MELTICA_LAB_MAX_JSON_DEPTH",
        "json_int_digits": "MELTICA_LAB_MAX_JSON_INT_DIGITS",
        "yaml_nodes": "MELTICA_LAB_MAX_YAML_NODES",
    }
)
"""The environment variable that sets each :class:`ReadLimits` field."""


@dataclass(frozen=True)
class ReadLimits:
    """Bounds on what a read accepts.

    ``max_bytes``: largest file (bytes); ``json_depth``: deepest nesting of arrays/objects;
    ``json_int_digits``: longest integer literal; ``yaml_nodes``: most nodes a YAML document may
    stand for once its aliases are expanded (a 300-byte alias bomb stands for billions).
    """

    max_bytes: int = 64 * _MIB
    json_depth: int = 200
    json_int_digits: int = 40
    yaml_nodes: int = 100_000

    def __post_init__(self) -> None:
        for name in ("max_bytes", "json_depth", "json_int_digits", "yaml_nodes"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise MelticaLabError(f"ReadLimits.{name}: expected a positive integer, got {value!r}", field=name)

    @classmethod
    def from_env(cls, base: ReadLimits | None = None) -> ReadLimits:
        """``base`` (default: the defaults) with each limit given in the environment applied."""
        start = base if base is not None else cls()
        changes: dict[str, int] = {}
        for name, variable in LIMIT_VARIABLES.items():
            text = os.environ.get(variable, "").strip()
            if not text:
                continue
            try:
                changes[name] = int(text.replace("_", ""))
            except ValueError:
                raise MelticaLabError(
                    f"{variable}={shorten(text)!r}: expected a positive integer", field=variable
                ) from None
        return replace(start, **changes) if changes else start

    def with_(self, **changes: int) -> ReadLimits:
        """A copy with some limits changed."""
        return replace(self, **changes)


DEFAULT_LIMITS = ReadLimits()
"""The limits for the kit's own inputs (registry, modules, configs, exports) when none are given."""


def shorten(text: str, limit: int = 80) -> str:
    """``text`` cut to ``limit`` characters with a note of how long it was: one-line messages stay short."""
    text = str(text)
    if len(text) <= limit:
        return text
    return f"{text[: limit - 20]}... ({len(text):,} characters)"


def _limits(limits: ReadLimits | None) -> ReadLimits:
    return limits if limits is not None else ReadLimits.from_env()


def _size(n: int) -> str:
    if n >= _MIB:
        return f"{n / _MIB:,.1f} MiB"
    return f"{n:,} bytes"


def _kind_of(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"


def check_regular(
    st: os.stat_result, path: PathLike, *, what: str = "file", limits: ReadLimits | None = None, error: ErrorType
) -> None:
    """Raise ``error`` unless ``st`` describes a regular file within ``limits.max_bytes``."""
    bound = _limits(limits).max_bytes
    if not stat.S_ISREG(st.st_mode):
        raise error(f"{path}: {what} is {_kind_of(st.st_mode)}: expected a regular file", path=str(path))
    if st.st_size > bound:
        raise error(
            f"{path}: {what} is {_size(st.st_size)}, over the limit of {_size(bound)} "
            f"(raise it with {LIMIT_VARIABLES['max_bytes']} or ReadLimits(max_bytes=...))",
            path=str(path),
        )


def stat_regular(
    path: PathLike, *, what: str = "file", limits: ReadLimits | None = None, error: ErrorType = MelticaLabError
) -> os.stat_result:
    """``os.stat`` of a file that must be regular and within the size limit (symlinks followed).

    For readers that hand the path to a library (pyarrow, pandas): check first, then let it open.
    ``FileNotFoundError`` passes through so callers can say what a missing file means to them.
    """
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise error(f"{path}: cannot read {what}: {exc.strerror}", path=str(path)) from None
    check_regular(st, path, what=what, limits=limits, error=error)
    return st


@contextlib.contextmanager
def open_regular(
    path: PathLike, *, what: str = "file", limits: ReadLimits | None = None, error: ErrorType = MelticaLabError
) -> Iterator[IO[bytes]]:
    """A binary handle on a regular file of bounded size; never blocks on a FIFO.

    The file is opened non-blocking (so opening a FIFO with no writer returns at once), checked with
    ``fstat`` on the very descriptor that will be read (no window for a swap between check and read),
    then switched back to blocking reads. ``FileNotFoundError`` passes through.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise
    except OSError as exc:
        if exc.errno == errno.ENXIO:  # a socket, or a FIFO on a system that refuses it
            raise error(f"{path}: {what} is not a regular file", path=str(path)) from None
        raise error(f"{path}: cannot read {what}: {exc.strerror}", path=str(path)) from None
    try:
        check_regular(os.fstat(fd), path, what=what, limits=limits, error=error)
        os.set_blocking(fd, True)
        handle = os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
    with handle:
        yield handle


def read_bytes(
    path: PathLike, *, what: str = "file", limits: ReadLimits | None = None, error: ErrorType = MelticaLabError
) -> bytes:
    """The bytes of a regular file within the size limit (see :func:`open_regular`).

    A file that grows past the limit while being read is refused as well.
    """
    bound = _limits(limits).max_bytes
    with open_regular(path, what=what, limits=limits, error=error) as handle:
        data = handle.read(bound + 1)
    if len(data) > bound:
        raise error(f"{path}: {what} grew past the limit of {_size(bound)} while being read", path=str(path))
    return data


def decode_text(data: bytes, path: PathLike, *, what: str = "file", error: ErrorType = MelticaLabError) -> str:
    """UTF-8 text (a leading byte-order mark dropped); a bad byte is an error naming its offset."""
    try:
        return data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        raise error(f"{path}: {what} is not UTF-8 (byte {exc.start})", path=str(path)) from None


def read_text(
    path: PathLike, *, what: str = "file", limits: ReadLimits | None = None, error: ErrorType = MelticaLabError
) -> str:
    """:func:`read_bytes` decoded as UTF-8 (see :func:`decode_text`)."""
    return decode_text(read_bytes(path, what=what, limits=limits, error=error), path, what=what, error=error)


# -- JSON ----------------------------------------------------------------------------------------------
def json_depth(text: str) -> int:
    """The deepest nesting of arrays and objects in JSON ``text`` (brackets inside strings ignored).

    Linear and iterative: it measures documents the parser itself could not (it recurses).
    """
    brackets = _NOT_BRACKETS.sub("", _STRINGS.sub("", _ESCAPES.sub("", text)))
    depth = deepest = 0
    for char in brackets:
        if char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


_ESCAPES = re.compile(r"\\.", re.DOTALL)
_STRINGS = re.compile(r'"[^"]*"')
_NOT_BRACKETS = re.compile(r"[^\[\]{}]+")


def loads_json(
    text: str | bytes,
    path: PathLike,
    *,
    what: str = "file",
    limits: ReadLimits | None = None,
    error: ErrorType = MelticaLabError,
    **options: Any,
) -> Any:
    """``json.loads`` with bounded nesting depth and integer length; ``options`` go to ``json.loads``.

    Malformed JSON is an error naming the line and column. (Python's own parser recurses, and an
    integer of thousands of digits costs quadratic time: both are refused before they are parsed.)
    """
    bounds = _limits(limits)
    if isinstance(text, bytes):
        text = decode_text(text, path, what=what, error=error)
    if text.count("[") + text.count("{") > bounds.json_depth:  # only then can it be too deep
        depth = json_depth(text)
        if depth > bounds.json_depth:
            raise error(
                f"{path}: {what} nests {depth:,} levels deep, over the limit of {bounds.json_depth} "
                f"({LIMIT_VARIABLES['json_depth']})",
                path=str(path),
            )

    def bounded_int(literal: str) -> int:
        digits = len(literal.lstrip("-"))
        if digits > bounds.json_int_digits:
            raise error(
                f"{path}: {what} holds an integer of {digits:,} digits, over the limit of "
                f"{bounds.json_int_digits} ({LIMIT_VARIABLES['json_int_digits']})",
                path=str(path),
            )
        return int(literal)

    options.setdefault("parse_int", bounded_int)
    try:
        return json.loads(text, **options)
    except json.JSONDecodeError as exc:
        raise error(
            f"{path}: {what} is malformed JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}", path=str(path)
        ) from None
    except RecursionError:
        raise error(f"{path}: {what} nests too deeply to parse", path=str(path)) from None


def read_json(
    path: PathLike,
    *,
    what: str = "file",
    limits: ReadLimits | None = None,
    error: ErrorType = MelticaLabError,
    **options: Any,
) -> Any:
    """A bounded JSON file: :func:`read_text` then :func:`loads_json`."""
    text = read_text(path, what=what, limits=limits, error=error)
    return loads_json(text, path, what=what, limits=limits, error=error, **options)


# -- YAML ----------------------------------------------------------------------------------------------
def loads_yaml(
    text: str,
    path: PathLike,
    *,
    what: str = "file",
    limits: ReadLimits | None = None,
    error: ErrorType = MelticaLabError,
    loader: type | None = None,
) -> Any:
    """One YAML document with the safe loader (or ``loader``), refused when its aliases expand past
    ``limits.yaml_nodes`` nodes, so an alias bomb fails at once instead of filling memory.

    Malformed YAML is an error naming the line and column.
    """
    import yaml  # imported by what reads YAML: a process that reads none (a backtest) never loads it

    bound = _limits(limits).yaml_nodes
    parser = (loader or getattr(yaml, "CSafeLoader", yaml.SafeLoader))(text)
    try:
        node = parser.get_single_node()
        if node is None:
            return None
        expanded = _expanded_size(node, bound)
        if expanded > bound:
            raise error(
                f"{path}: {what} expands (through its aliases) to more than {bound:,} nodes "
                f"({LIMIT_VARIABLES['yaml_nodes']}); refusing to build it",
                path=str(path),
            )
        return parser.construct_document(node)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None)
        detail = f": {shorten(problem)}" if problem else ""
        raise error(f"{path}: {what} is malformed YAML{where}{detail}", path=str(path)) from None
    except RecursionError:
        raise error(f"{path}: {what} nests too deeply to parse", path=str(path)) from None
    finally:
        parser.dispose()


def _expanded_size(root: yaml.Node, bound: int) -> int:
    """How many nodes ``root`` stands for with every alias expanded, counted without expanding (each
    distinct node once, iteratively); stops counting past ``bound``."""
    sizes: dict[int, int] = {}
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        if id(node) in sizes:
            continue
        children = _children(node)
        if children_done or not children:
            total = 1 + sum(sizes[id(c)] for c in children)
            sizes[id(node)] = min(total, bound + 1)
            continue
        stack.append((node, True))
        stack.extend((child, False) for child in children if id(child) not in sizes)
    return sizes[id(root)]


def _children(node: yaml.Node) -> list[yaml.Node]:
    if node.id == "sequence":
        return list(node.value)
    if node.id == "mapping":
        return [part for pair in node.value for part in pair]
    return []


def read_yaml(
    path: PathLike, *, what: str = "file", limits: ReadLimits | None = None, error: ErrorType = MelticaLabError
) -> Any:
    """A bounded YAML file: :func:`read_text` then :func:`loads_yaml`."""
    return loads_yaml(
        read_text(path, what=what, limits=limits, error=error), path, what=what, limits=limits, error=error
    )


# -- writing -------------------------------------------------------------------------------------------
def resolve_link(path: PathLike) -> Path:
    """The file a path finally names: symlinks followed (to a target that may not exist yet)."""
    current = Path(path)
    for _ in range(40):  # the kernel's own bound on link chains
        try:
            target = os.readlink(current)
        except (FileNotFoundError, OSError):  # not a link (EINVAL), or missing: this is the file
            return current
        current = current.parent / target
    raise OSError(errno.ELOOP, os.strerror(errno.ELOOP), str(path))


def temp_path(target: PathLike) -> Path:
    """A fresh temporary name beside ``target`` (``.<name>.<random>.tmp``), cleaned by
    :func:`remove_stale_temps` when a crash leaves it."""
    target = Path(target)
    return target.with_name(f".{target.name}.{secrets.token_hex(6)}{TEMP_SUFFIX}")


def create_new(path: PathLike) -> int:
    """Open a new file for writing (``O_EXCL``) with the mode the umask allows (``0o666 & ~umask``),
    as ``open(path, "x")`` would; returns the descriptor."""
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o666)


def write_atomic(path: PathLike, data: bytes | Callable[[IO[bytes]], object], *, mode: int | None = None) -> Path:
    """Replace ``path`` with ``data`` (bytes, or a function writing to a binary handle) atomically.

    Through a symlink the link's target is replaced and the link kept. The new file keeps the
    permission bits of the file it replaces (or gets ``mode``); a new file gets the umask's mode. The
    bytes are fsynced before the rename and the directory after it. Returns the file written.
    """
    target = resolve_link(path)
    try:
        keep = stat.S_IMODE(os.stat(target).st_mode)
    except FileNotFoundError:
        keep = None
    wanted = mode if mode is not None else keep
    tmp = temp_path(target)
    fd = create_new(tmp)
    try:
        with os.fdopen(fd, "wb") as handle:
            if wanted is not None:
                os.fchmod(handle.fileno(), wanted)
            if isinstance(data, bytes | bytearray | memoryview):
                handle.write(data)
            else:
                data(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    fsync_dir(target.parent)
    return target


def fsync_dir(directory: PathLike) -> None:
    """fsync a directory, so a rename or a new name in it survives a power cut."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def remove_stale_temps(path: PathLike) -> list[Path]:
    """Remove the temporary files :func:`write_atomic` and :func:`temp_path` leave beside ``path``
    when a crash interrupts them; returns those removed. Call it only where no other writer of
    ``path`` can be active (under the lock that serialises them)."""
    target = resolve_link(path)
    prefix = f".{target.name}."
    removed = []
    try:
        names = os.listdir(target.parent)
    except (FileNotFoundError, NotADirectoryError):
        return []
    for name in names:
        if name.startswith(prefix) and name.endswith(TEMP_SUFFIX):
            stale = target.parent / name
            with contextlib.suppress(FileNotFoundError, IsADirectoryError):
                stale.unlink()
                removed.append(stale)
    return removed
