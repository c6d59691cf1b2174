"""Parameterised notebook reports: a papermill run plus an HTML export of the executed notebook.

:func:`run_report` is the one entry point (``meltica-lab report`` and ``meltica-lab demo`` call it):
it checks the parameters against the notebook's ``parameters`` cell, executes the notebook with
papermill, and writes ``<out>/<name>.ipynb`` and ``<out>/<name>.html``. Both files are staged in a
temporary folder and only moved into place once the run succeeded, so a failed run leaves ``out``
as it was and raises an error naming the notebook, the cell and the exception.

Parameters arrive in three ways, all supported: Python values (the API), text from a command line
(``-p KEY VALUE``: parsed as YAML, so ``-p config '{lookback: 20}'`` gives a dict), and YAML files.
Papermill's own CLI hands ``-p`` values that are not plain scalars over as text; the notebooks call
:func:`as_mapping` / :func:`as_list` on such parameters, which accept either form.

Paths: the kernel runs in the notebook's folder, as in JupyterLab and nbval, so a notebook's own
defaults (``../strategies``) work in all three. A path *given* to :func:`run_report` (a parameter the
notebook marks ``# type: path``) is relative to the directory the user ran from instead, and is
handed to the notebook resolved, so ``-p data examples/data/btc_trades.csv`` from the project folder
means that file and an error names the full path it tried. URLs are left as they are.

The kernel talks to papermill over local IPC sockets (where the platform has them) in a private
temporary folder, so it does not warn about unencrypted TCP into the user's terminal.

The HTML export drops the saved widget state: without it nbconvert falls back to each widget's
static ``text/html`` representation, so reports stay readable without a kernel or a network.
"""

from __future__ import annotations

import copy
import os
import shutil
import socket as socket_module
import tempfile
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

from meltica_lab.errors import MelticaLabError, NotebookError, UsageError

NOTEBOOK_DIR = Path(__file__).resolve().parents[1] / "notebooks"
"""The project's notebooks (present in a source checkout); bare names given to :func:`find_notebook` look here."""

NOTEBOOK_SUFFIX = ".ipynb"

PATH_TYPE = "path"
"""The type comment (``name = "x"  # type: path  help``) that marks a notebook parameter as a path."""

TEXT_TYPES = ("str", PATH_TYPE)
"""Parameter types whose command-line text is kept as typed (not parsed as YAML)."""


class _ParameterLoader(yaml.SafeLoader):
    """YAML without the timestamp rule: ``2024-03-01`` stays text, papermill cannot inject a date."""


_ParameterLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def parse_parameter_value(text: str, *, name: str = "value") -> Any:
    """A command-line parameter value parsed as YAML: ``20`` -> 20, ``true`` -> True, ``null`` -> None,
    ``'{lookback: 20}'`` -> dict, ``'[a, b]'`` -> list; anything else stays text."""
    try:
        return yaml.load(text, Loader=_ParameterLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at column {mark.column + 1}" if mark is not None else ""
        raise UsageError(f"parameter {name}: {text!r} is not valid YAML{where}", field=name) from None


def parse_parameters_text(text: str, *, source: str) -> dict[str, Any]:
    """A YAML mapping of parameters (a ``-y`` string or a ``-f`` file's text); ``source`` names it in errors."""
    try:
        data = yaml.load(text, Loader=_ParameterLoader)
    except yaml.YAMLError as exc:
        raise UsageError(f"{source}: not valid YAML: {exc}", path=source) from None
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        raise UsageError(
            f"{source}: expected a mapping of parameter names to values, got {type(data).__name__}", path=source
        )
    return {str(k): v for k, v in data.items()}


def read_parameters_file(path: str | Path) -> dict[str, Any]:
    """Parameters from a YAML (or JSON) file holding one mapping."""
    location = Path(path)
    try:
        text = location.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"{location}: cannot read parameters file: {exc.strerror}", path=str(location)) from None
    return parse_parameters_text(text, source=str(location))


def as_mapping(value: Any, name: str) -> dict[str, Any]:
    """A dict parameter given as a dict, ``None`` (empty) or YAML text (papermill's ``-p``)."""
    parsed = parse_parameter_value(value, name=name) if isinstance(value, str) else value
    if parsed is None:
        return {}
    if not isinstance(parsed, Mapping):
        raise UsageError(f"parameter {name}: expected a mapping such as {{key: value}}, got {value!r}", field=name)
    return {str(k): v for k, v in parsed.items()}


def as_list(value: Any, name: str) -> list[Any]:
    """A list parameter given as a list or tuple, ``None`` (empty), YAML text, or one scalar (a list of one)."""
    parsed = parse_parameter_value(value, name=name) if isinstance(value, str) else value
    if parsed is None:
        return []
    if isinstance(parsed, list | tuple):
        return list(parsed)
    if isinstance(parsed, Mapping):
        raise UsageError(f"parameter {name}: expected a list such as [a, b], got {value!r}", field=name)
    return [parsed]


@dataclass(frozen=True)
class NotebookParameter:
    """One assignment in a notebook's ``parameters`` cell: ``name``, ``type_name`` (its annotation,
    ``"None"`` when it has none), ``default`` (source text) and ``help`` (its comment)."""

    name: str
    type_name: str
    default: str
    help: str


def find_notebook(notebook: str | Path) -> Path:
    """A notebook path as given, or a bare name (``pinned_backtest``) in the project's notebooks folder."""
    path = Path(notebook)
    if path.is_file():
        return path
    candidates = [NOTEBOOK_DIR / path.name, NOTEBOOK_DIR / f"{path.name}{NOTEBOOK_SUFFIX}"]
    if path.parent == Path("."):
        for candidate in candidates:
            if candidate.is_file():
                return candidate
    known = ", ".join(sorted(p.stem for p in NOTEBOOK_DIR.glob(f"*{NOTEBOOK_SUFFIX}"))) or "none found"
    raise UsageError(
        f"notebook {notebook}: no such file (project notebooks in {NOTEBOOK_DIR}: {known})", path=str(notebook)
    )


def notebook_parameters(notebook: str | Path) -> dict[str, NotebookParameter]:
    """The parameters a notebook declares in its cell tagged ``parameters`` (empty if it has none)."""
    import papermill

    path = find_notebook(notebook)
    found = papermill.inspect_notebook(str(path))
    return {
        name: NotebookParameter(name, str(p["inferred_type_name"]), str(p["default"]), str(p["help"]))
        for name, p in found.items()
    }


def parse_cli_parameters(notebook: str | Path, pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """``-p KEY VALUE`` pairs as values: YAML-parsed, except that a parameter the notebook annotates as
    ``str`` or marks ``# type: path`` keeps its text as typed (a selector or hash such as ``12345678``
    must not become a number)."""
    declared = notebook_parameters(notebook)
    values: dict[str, Any] = {}
    for key, text in pairs:
        parameter = declared.get(key)
        values[key] = (
            text
            if parameter is not None and parameter.type_name in TEXT_TYPES
            else parse_parameter_value(text, name=key)
        )
    return values


def check_parameters(notebook: str | Path, parameters: Mapping[str, Any]) -> None:
    """:class:`UsageError` naming every parameter the notebook does not declare (papermill only warns)."""
    declared = notebook_parameters(notebook)
    unknown = sorted(set(parameters) - set(declared))
    if unknown:
        known = ", ".join(declared) or "none: the notebook has no cell tagged 'parameters'"
        raise UsageError(
            f"{notebook}: unknown parameter(s) {', '.join(unknown)}; it declares: {known}",
            path=str(notebook),
            field=unknown[0],
        )


def resolve_path_parameters(
    notebook: str | Path, parameters: Mapping[str, Any], base: str | Path | None = None
) -> dict[str, Any]:
    """``parameters`` with every relative path given for a ``# type: path`` parameter made absolute
    against ``base`` (default: the current directory); URLs, absolute paths and ``None`` stay."""
    declared = notebook_parameters(notebook)
    origin = Path(base) if base is not None else Path.cwd()
    out = dict(parameters)
    for name, value in parameters.items():
        parameter = declared.get(name)
        if parameter is None or parameter.type_name != PATH_TYPE or not isinstance(value, str | os.PathLike):
            continue
        text = os.fspath(value)
        if "://" in text or not text:
            continue
        out[name] = str((origin / Path(text).expanduser()).resolve())
    return out


@dataclass(frozen=True)
class Report:
    """A finished run: the source ``notebook``, the ``executed`` copy, its ``html`` export (``None``
    when not asked for), the ``parameters`` passed (paths resolved), the wall ``seconds`` of the whole
    run (parameter check, kernel start, execution, export) and of its parts (``execute_seconds``:
    kernel start and cells, ``export_seconds``: the HTML export)."""

    notebook: Path
    executed: Path
    html: Path | None
    parameters: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    seconds: float = 0.0
    execute_seconds: float = 0.0
    export_seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "notebook": str(self.notebook),
            "executed": str(self.executed),
            "html": str(self.html) if self.html else None,
            "parameters": dict(self.parameters),
            "seconds": round(self.seconds, 3),
            "execute_seconds": round(self.execute_seconds, 3),
            "export_seconds": round(self.export_seconds, 3),
        }


def export_html(executed: Path, target: Path) -> Path:
    """Write ``executed`` (a notebook file) as a standalone HTML page at ``target``.

    Widget state is left out on purpose so every widget shows its static HTML representation.
    """
    import nbformat
    from nbconvert import HTMLExporter

    notebook = nbformat.read(str(executed), as_version=4)
    notebook.metadata.pop("widgets", None)
    body, _ = HTMLExporter(template_name="lab").from_notebook_node(notebook)
    target.write_text(body, encoding="utf-8")
    return target


def _record_output_path(executed: Path, final: Path) -> None:
    """Point papermill's ``output_path`` metadata at where the notebook ends up, not the staging copy."""
    import nbformat

    notebook = nbformat.read(str(executed), as_version=4)
    notebook.metadata.setdefault("papermill", {})["output_path"] = str(final)
    nbformat.write(notebook, str(executed))


def _failure(notebook: Path, exc: Exception) -> MelticaLabError:
    from papermill.exceptions import PapermillExecutionError

    if isinstance(exc, PapermillExecutionError):
        first_line = exc.source.strip().splitlines()[0] if exc.source.strip() else ""
        return NotebookError(
            f"{notebook}: the cell starting {first_line!r} (In [{exc.exec_count}]) failed: {exc.ename}: {exc.evalue}",
            path=str(notebook),
        )
    return NotebookError(f"{notebook}: could not be executed: {type(exc).__name__}: {exc}", path=str(notebook))


def _kernel_config(sockets: Path) -> Any:
    """Kernel manager settings: IPC sockets under ``sockets`` where the platform has Unix sockets."""
    from traitlets.config import Config

    config = Config()
    if hasattr(socket_module, "AF_UNIX"):
        config.KernelManager.transport = "ipc"
        config.KernelManager.ip = str(sockets / "kernel")
    return config


def run_report(
    notebook: str | Path,
    *,
    parameters: Mapping[str, Any] | None = None,
    out: str | Path = "reports",
    name: str | None = None,
    html: bool = True,
    kernel_name: str | None = None,
    cwd: str | Path | None = None,
    base: str | Path | None = None,
    progress: bool = False,
    start_timeout: int = 60,
) -> Report:
    """Execute ``notebook`` with ``parameters`` and write ``<out>/<name>.ipynb`` (+ ``.html``).

    ``notebook`` is a path or the bare name of a project notebook (:func:`find_notebook`); ``name``
    defaults to its stem. Unknown parameter names are a :class:`UsageError` before anything runs.
    Relative paths given for ``# type: path`` parameters are relative to ``base`` (default: the
    current directory; see :func:`resolve_path_parameters`). The kernel runs in ``cwd`` (default: the
    notebook's folder). ``kernel_name`` defaults to the notebook's kernelspec. Existing files of the
    same name in ``out`` are replaced only on success.
    """
    import papermill
    from papermill.exceptions import PapermillException

    started = time.perf_counter()
    source = find_notebook(notebook)
    check_parameters(source, dict(parameters or {}))
    values = resolve_path_parameters(source, dict(parameters or {}), base)
    stem = name or source.stem
    target = Path(out)
    created = not target.exists()
    target.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{stem}-", dir=target))
    sockets = Path(tempfile.mkdtemp(prefix="meltica-kernel-"))  # short: a Unix socket path has ~100 bytes
    try:
        executed = staging / f"{stem}{NOTEBOOK_SUFFIX}"
        executing = time.perf_counter()
        try:
            papermill.execute_notebook(
                str(source),
                str(executed),
                parameters=copy.deepcopy(values),
                kernel_name=kernel_name,
                progress_bar=progress,
                cwd=str(cwd if cwd is not None else source.parent.resolve()),
                start_timeout=start_timeout,
                config=_kernel_config(sockets),
            )
        except (PapermillException, RuntimeError, OSError) as exc:
            raise _failure(source, exc) from exc
        exporting = time.perf_counter()
        final = target / executed.name
        _record_output_path(executed, final)
        page = export_html(executed, staging / f"{stem}.html") if html else None
        os.replace(executed, final)
        final_html = None
        if page is not None:
            final_html = target / page.name
            os.replace(page, final_html)
        finished = time.perf_counter()
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        shutil.rmtree(sockets, ignore_errors=True)
        if created and not any(target.iterdir()):
            target.rmdir()
    return Report(
        source,
        final,
        final_html,
        MappingProxyType(values),
        seconds=finished - started,
        execute_seconds=exporting - executing,
        export_seconds=finished - exporting,
    )


def run_reports(
    runs: Sequence[tuple[str | Path, Mapping[str, Any]]],
    *,
    out: str | Path = "reports",
    **options: Any,
) -> list[Report]:
    """Several :func:`run_report` calls into one folder, in order; stops at the first failure."""
    return [run_report(notebook, parameters=parameters, out=out, **options) for notebook, parameters in runs]


__all__ = [
    "NOTEBOOK_DIR",
    "NotebookParameter",
    "Report",
    "as_list",
    "as_mapping",
    "check_parameters",
    "export_html",
    "find_notebook",
    "notebook_parameters",
    "parse_cli_parameters",
    "parse_parameter_value",
    "parse_parameters_text",
    "read_parameters_file",
    "resolve_path_parameters",
    "run_report",
    "run_reports",
]
