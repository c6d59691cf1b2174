"""Node as an independent oracle: the same modules evaluated by Node's vm in strict mode."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from meltica_lab.jshost.metadata import read_metadata
from meltica_lab.jshost.module import ModuleHost

HERE = Path(__file__).resolve().parent
PROJECT = HERE.parents[1]
NODE = shutil.which("node")

pytestmark = pytest.mark.skipif(NODE is None, reason="Node is the oracle and is not installed")

HANDWRITTEN = {
    "exports properties, older version key": """
exports.metadata = { name: "Legacy", version: "0.9.1", displayName: "Legacy", events: ["Trade", " Ticker "] };
exports.create = function (env) { return {}; };
""",
    "metadata computed by code": """
const FIELDS = ["fast", "slow"].map((name, i) => ({ name, type: "int", default: (i + 1) * 10, required: i === 0 }));
const base = { displayName: `Cross ${FIELDS.length}`, events: ["Trade"] };
module.exports = {
  metadata: Object.assign({ name: "CROSS", tag: "v" + [1, 2, 3].join(".") }, base, { config: [...FIELDS] }),
  create: (env) => ({ onTrade() {} }),
};
""",
    "getters, nested defaults, unicode, separators": """
const limits = { window: 60_000, steps: [1, 2, { deep: [true, null, "µs"] }] };
module.exports = {
  metadata: {
    get name() { return "Getter"; },
    displayName: "Ünïcode ✓ 𝒳",
    description: "  spaced  ",
    config: [{ name: "limits", type: "object", default: limits, description: "" }, { name: "n", type: "number" }],
    events: ["ExecReport", "", "Extension"],
  },
  create() { return { onExecReport(ctx, evt, report) { return report?.status ?? "none"; } }; },
};
""",
    "reassigned module.exports with a function": """
function create(env) { return {}; }
create.metadata = { name: "fn", displayName: "Function export", events: ["Trade"], config: [] };
module.exports = { metadata: create.metadata, create };
""",
    "crlf line endings": (
        'module.exports = {\r\n  metadata: { name: "crlf", displayName: "CRLF", events: ["Trade"] },\r\n'
        "  create() { return {}; },\r\n};\r\n"
    ),
}

FAILING = [
    "const x = ;",
    "const a = 1;\n\nconst b = {\n  c: 1,,\n};",
    "const a = 1;\r\nconst b = ;\r\n",
    "x = 010;",
    "null.x;",
    "const config = null;\nconst size = config.size;",
    'function check(v) {\n  if (!v) throw new Error("missing");\n}\ncheck();',
    "\n\n  undefinedFunction();",
    "class A { constructor() { this.x = 1; } }\nA();",
]


def node(sources: list[str]) -> list[dict[str, Any]]:
    result = subprocess.run(
        [NODE, str(HERE / "oracle.js")],
        input=json.dumps(sources),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(result.stdout)


def valid_sources() -> dict[str, str]:
    shipped = {p.relative_to(PROJECT).as_posix(): p.read_text("utf-8") for p in (PROJECT / "strategies").rglob("*.js")}
    return {**HANDWRITTEN, **shipped}


@pytest.fixture(scope="module")
def host():
    with ModuleHost() as module_host:
        yield module_host


def test_metadata_matches_nodes_for_valid_modules(host):
    sources = valid_sources()
    expected = node(list(sources.values()))
    for (label, source), oracle in zip(sources.items(), expected, strict=True):
        report = host.inspect(source, filename="m.js")
        assert "metadata" in oracle, (label, oracle)
        node_metadata, problems = read_metadata(oracle["metadata"])
        assert problems == (), (label, problems)
        assert report.metadata == node_metadata, label
        assert oracle["create"] == "function", label
        assert report.ok, (label, report.diagnostics)


def test_error_positions_match_nodes(host):
    expected = node(FAILING)
    for source, oracle in zip(FAILING, expected, strict=True):
        [diagnostic] = host.inspect(source, filename="m.js").diagnostics
        assert (diagnostic.stage, diagnostic.line, diagnostic.column) == (
            oracle["stage"],
            oracle["line"],
            oracle["column"],
        ), source
