"""Notebook files for the tests: a tiny parameterised notebook, and readers of executed notebooks."""

from __future__ import annotations

from pathlib import Path

import nbformat

TOY_PARAMETERS = 'config = {"lookback": 10}\nnames = ["a"]\nselector: str = "momentum"\nfail = False\n'
TOY_BODY = (
    "from meltica_lab.reports import as_list, as_mapping\n"
    'config = as_mapping(config, "config")\n'
    'names = as_list(names, "names")\n'
    'if fail:\n    raise ValueError("asked to fail")\n'
    "print(repr(config), repr(names), repr(selector))\n"
)
TOY_WIDGET = (
    "from meltica_lab.widgets.base import LabWidget\n"
    "class Toy(LabWidget):\n"
    "    def state_html(self):\n        return '<p>toy static state</p>'\n"
    "    def describe(self):\n        return 'toy'\n"
    "Toy([])\n"
)


def write_toy_notebook(path: Path) -> Path:
    """A notebook with a tagged parameters cell, a cell printing the parameters, and a widget cell."""
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    parameters = nbformat.v4.new_code_cell(TOY_PARAMETERS)
    parameters.metadata["tags"] = ["parameters"]
    notebook.cells = [
        nbformat.v4.new_markdown_cell("# Toy"),
        parameters,
        nbformat.v4.new_code_cell(TOY_BODY),
        nbformat.v4.new_code_cell(TOY_WIDGET),
    ]
    nbformat.write(notebook, str(path))
    return path


def printed(notebook: Path) -> str:
    """Everything the executed notebook's cells printed to stdout."""
    data = nbformat.read(str(notebook), as_version=4)
    return "".join(
        out.get("text", "")
        for cell in data.cells
        if cell.cell_type == "code"
        for out in cell.get("outputs", [])
        if out.get("output_type") == "stream"
    )


def errors_in(notebook: Path) -> list[str]:
    """Every error output of an executed notebook, as ``ename: evalue``."""
    data = nbformat.read(str(notebook), as_version=4)
    return [
        f"{out['ename']}: {out['evalue']}"
        for cell in data.cells
        if cell.cell_type == "code"
        for out in cell.get("outputs", [])
        if out.get("output_type") == "error"
    ]


def html_outputs(notebook: Path) -> str:
    """All ``text/html`` outputs of an executed notebook, joined."""
    data = nbformat.read(str(notebook), as_version=4)
    return "\n".join(
        out.get("data", {}).get("text/html", "")
        for cell in data.cells
        if cell.cell_type == "code"
        for out in cell.get("outputs", [])
    )
