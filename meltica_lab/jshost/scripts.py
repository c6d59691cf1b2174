"""How the JavaScript files in ``meltica_lab/jshost/js`` become the scripts installed in an isolate.

Every host script is made the same way: its files, in order, inside one strict function that gives
them a private namespace ``M`` holding the shared schema (``M.schema``, from ``schema.json``); each
file adds one part to ``M`` and the last sets ``M.entry``, the one value the script exposes, under a
script-level ``const`` of the caller's choosing. The files are read once per process (they are part
of the installed package and never change while it runs) and never rewritten.
"""

from __future__ import annotations

import functools
import re
from importlib import resources

from meltica_lab.jshost.schema import SCHEMA_TEXT

_NAME = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$]*$")


@functools.cache
def runtime_file(name: str) -> str:
    """The text of a JavaScript file shipped in ``meltica_lab/jshost/js``."""
    return resources.files("meltica_lab.jshost").joinpath("js", name).read_text(encoding="utf-8")


@functools.cache
def _body(files: tuple[str, ...]) -> str:
    parts = "\n".join(runtime_file(name) for name in files)
    head = f'(function () {{\n"use strict";\nconst M = {{ schema: Object.freeze({SCHEMA_TEXT}) }};\n'
    return f"{head}{parts}\nreturn M.entry;\n}})();\n"


def host_script(files: tuple[str, ...], entry: str) -> str:
    """One script of ``files`` that binds ``M.entry`` to the script-level constant ``entry``."""
    if not _NAME.match(entry):
        raise ValueError(f"host script entry must be a JavaScript identifier, got {entry!r}")
    return f"const {entry} = {_body(tuple(files))}"
