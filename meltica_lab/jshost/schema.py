"""What the JavaScript host and Python share, defined once in ``jshost/js/schema.json``.

The table layouts (fills and orders, one float64 column each), the order states by the code the host
stores, the handler codes the host reports in its control word, and the name V8 gives module code.
Python reads the file here; every host script embeds the same file as ``M.schema`` and writes its
tables and codes through it (see :func:`meltica_lab.jshost.scripts.host_script`).
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

SCHEMA_TEXT = resources.files("meltica_lab.jshost").joinpath("js", "schema.json").read_text(encoding="utf-8")
"""The schema file's text, as the host scripts embed it."""
_SCHEMA: dict[str, Any] = json.loads(SCHEMA_TEXT)

CHUNK_COLUMNS: tuple[tuple[str, str], ...] = tuple((name, kind) for name, kind in _SCHEMA["chunkColumns"])
"""The columns of one chunk of events (name, element type: ``Float64`` or ``Int32``), in the order
they lie in the one buffer Python fills and the host reads; each starts at a multiple of 8 bytes, and
the host's control word (two Int32) follows the last. ``equity`` is the host's output."""
FILL_COLUMNS: tuple[str, ...] = tuple(_SCHEMA["fillColumns"])
"""Columns of the fills table, in order."""
ORDER_COLUMNS: tuple[str, ...] = tuple(_SCHEMA["orderColumns"])
"""Columns of the orders table, in order."""
ORDER_STATES: tuple[str, ...] = tuple(_SCHEMA["orderStates"])
"""Order states, by the code the host stores in the orders table's ``state`` column."""
HANDLERS: tuple[str, ...] = tuple(_SCHEMA["handlers"])
"""Handler names by code (0: no handler running), as the host's control word reports them."""
REPORT_HANDLERS: dict[str, str] = dict(_SCHEMA["reportHandlers"])
"""The handler an exec report of each order state goes to."""
MODULE_SOURCE_URL: str = _SCHEMA["moduleSourceURL"]
"""The script name V8 gives a strategy module's code (its ``//# sourceURL``)."""
