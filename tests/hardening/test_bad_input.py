"""Bad input at every entry point: one table, one row per case.

Each row names what it feeds in (``id``), prepares the workspace (``setup``), calls one entry point
(``act``), and states the error class (always a :class:`MelticaLabError`), the text the message must
contain to name the file, selector, field or row at fault (``{root}`` and ``{inputs}`` are filled in),
and optionally the structured attributes the error must carry. For every row the whole workspace,
strategies root and inputs alike, must be byte-for-byte the same after the failure as before it.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest

from meltica_lab.backtest import run_backtest
from meltica_lab.cli import build_parser, main
from meltica_lab.config import AppConfig, load_app_config
from meltica_lab.errors import (
    AmbiguousHashError,
    ConfigError,
    ConflictError,
    DataError,
    IntegrityError,
    MelticaLabError,
    MigrationError,
    ModuleError,
    NotFoundError,
    RegistryError,
    SelectorError,
    UsageError,
    UsageExportError,
)
from meltica_lab.jshost.limits import Limits
from meltica_lab.loader import Loader
from meltica_lab.migrate import migrate, plan_migration
from meltica_lab.registry import REGISTRY_FILE, load_registry, store_module
from meltica_lab.runtime import Manager
from meltica_lab.usage import read_usage_export
from tests.hardening.conftest import CLEAN, T0, Workspace, register, strategy_source, trades_csv, tree, tree_changes

QUICK = Limits(eval_seconds=1.0, call_seconds=2.0, heap_bytes=64 * 1024 * 1024)
TAMPERED = "throw new Error('TAMPERED CODE RAN');\n"
HASH_A = "sha256:" + "a" * 64


# -- acts: one entry point each -------------------------------------------------------------------------
def load(ws: Workspace) -> Any:
    return load_registry(ws.root)


def resolve(selector: str) -> Callable[[Workspace], Any]:
    def act(ws: Workspace) -> Any:
        return Loader(ws.root, config=AppConfig(), cache_dir=ws.cache).resolve(_filled(selector, ws))

    return act


def upload(source: str | bytes, **options: Any) -> Callable[[Workspace], Any]:
    def act(ws: Workspace) -> Any:
        with Manager(ws.root, cache_dir=ws.cache, limits=QUICK) as manager:
            return manager.upload(source, **options)

    return act


def store(source: bytes, name: str, tag: str) -> Callable[[Workspace], Any]:
    return lambda ws: store_module(ws.root, source, name=name, tag=tag)


def migrate_write(ws: Workspace) -> Any:
    return migrate(ws.root, write=True)


def backtest(data: str, strategy: str = CLEAN, **options: Any) -> Callable[[Workspace], Any]:
    def act(ws: Workspace) -> Any:
        return run_backtest(strategy, ws.inputs / data, root=ws.root, progress=False, **{"limits": QUICK, **options})

    return act


def read_export(name: str) -> Callable[[Workspace], Any]:
    return lambda ws: read_usage_export(ws.inputs / name)


@dataclass(frozen=True)
class cli:
    """The command as the CLI runs it, minus the last step that turns the error into an exit code."""

    argv: tuple[str, ...]

    def __init__(self, *argv: str) -> None:
        object.__setattr__(self, "argv", argv)

    def __call__(self, ws: Workspace) -> Any:
        args = build_parser().parse_args([_filled(a, ws) for a in self.argv])
        return args.func(args)


# -- setups --------------------------------------------------------------------------------------------
def raw_registry(text: str | bytes) -> Callable[[Workspace], None]:
    def setup(ws: Workspace) -> None:
        data = text.encode() if isinstance(text, str) else text
        (ws.root / REGISTRY_FILE).write_bytes(data.replace(b"@HASH@", ws.clean_hash.encode()))

    return setup


def registry_doc(entry: Mapping[str, Any]) -> Callable[[Workspace], None]:
    """A registry whose only strategy is ``alpha`` with ``entry``; ``@HASH@`` is the clean revision's hash."""
    return raw_registry(json.dumps({CLEAN: entry}))


def location(path: Any) -> dict[str, Any]:
    return {"tags": {"latest": "@HASH@"}, "hashes": {"@HASH@": {"tag": "v1.0.0", "path": path}}}


def input_file(name: str, data: str | bytes) -> Callable[[Workspace], None]:
    return lambda ws: ws.write(name, data) and None


def flat_files(files: Mapping[str, str | bytes]) -> Callable[[Workspace], None]:
    def setup(ws: Workspace) -> None:
        for name, data in files.items():
            (ws.root / name).write_bytes(data.encode() if isinstance(data, str) else data)

    return setup


def steps(*setups: Callable[[Workspace], None]) -> Callable[[Workspace], None]:
    def setup(ws: Workspace) -> None:
        for one in setups:
            one(ws)

    return setup


def tamper(ws: Workspace) -> None:
    (ws.root / CLEAN / "v1.0.0" / f"{CLEAN}.js").write_text(TAMPERED + strategy_source(), encoding="utf-8")


def symlink_out_of_root(ws: Workspace) -> None:
    outside = ws.inputs / "outside"
    outside.mkdir()
    (outside / f"{CLEAN}.js").write_text(strategy_source(), encoding="utf-8")
    (ws.root / "escape").symlink_to(outside, target_is_directory=True)
    registry_doc(location("escape/alpha.js"))(ws)


def symlinked_flat_file(ws: Workspace) -> None:
    outside = ws.write("beta.js", strategy_source("beta"))
    (ws.root / "beta.js").symlink_to(outside)


@functools.cache
def colliding_sources() -> tuple[str, str]:
    """Two valid revisions of ``alpha`` whose hashes share their first 8 hex digits (found by search)."""
    seen: dict[str, str] = {}
    n = 0
    while True:
        source = strategy_source() + f"// {n}\n"
        prefix = hashlib.sha256(source.encode()).hexdigest()[:8]
        if prefix in seen:
            return seen[prefix], source
        seen[prefix] = source
        n += 1


def two_revisions_sharing_a_prefix(ws: Workspace) -> None:
    first, second = colliding_sources()
    register(ws.root, first, CLEAN, "v2.0.0")
    register(ws.root, second, CLEAN, "v3.0.0")


def ambiguous_prefix() -> str:
    return CLEAN + "@" + hashlib.sha256(colliding_sources()[0].encode()).hexdigest()[:8]


def second_strategy(name: str, **metadata: Any) -> Callable[[Workspace], None]:
    return lambda ws: register(ws.root, strategy_source(name, metadata=metadata), name, "v1.0.0") and None


CONFIGURED = [
    {"name": "period", "type": "int", "default": 5, "description": "window"},
    {"name": "ratio", "type": "float", "default": 0.5},
    {"name": "symbol", "type": "string", "required": True},
]
TRADES = trades_csv([100.0, 101.0, 102.0])


def usage_row(**changes: Any) -> dict[str, Any]:
    row = {
        "strategy": CLEAN,
        "hash": HASH_A,
        "instances": ["i-1"],
        "count": 1,
        "firstSeen": "2024-01-01T00:00:00Z",
        "lastSeen": "2024-01-02T00:00:00Z",
    }
    row.update(changes)
    return row


def export(usage: Any, **top: Any) -> str:
    return json.dumps({"registry": {}, "usage": usage, **top})


YAML_BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 9)}]\n" for i in range(8)
)
"""About 300 bytes of YAML standing for 9**9 strings once its aliases are expanded."""


def previous_outputs_with_result_json_a_directory(ws: Workspace) -> None:
    """An ``--out`` directory from an earlier run, whose ``result.json`` has become a directory."""
    out = ws.inputs / "out"
    out.mkdir()
    for name in ("fills.parquet", "orders.parquet", "equity.parquet"):
        (out / name).write_bytes(b"earlier run")
    (out / "result.json").mkdir()


def history_is_a_directory(ws: Workspace) -> None:
    (ws.root / "registry.history.jsonl").unlink()
    (ws.root / "registry.history.jsonl").mkdir()


def nothing(ws: Workspace) -> None:
    """No preparation beyond the clean workspace."""


@dataclass(frozen=True)
class Case:
    """One bad input: what is prepared, what is called, and what the failure must say."""

    id: str
    act: Callable[[Workspace], Any]
    error: type[MelticaLabError]
    names: Sequence[str]
    setup: Callable[[Workspace], None] = nothing
    attrs: Mapping[str, Any] = field(default_factory=dict)


BOM = "\ufeff"
SYNTAX_ERROR_LINE_3 = "// one\n// two\nmodule.exports = {metadata: {name: 'x',,}};\n"

CASES: tuple[Case, ...] = (
    # -- registry.json ---------------------------------------------------------------------------------
    Case(
        "registry/malformed-json",
        load,
        RegistryError,
        ["{root}/registry.json", "malformed JSON at line 1"],
        raw_registry('{"alpha": {"tags": {,}}}'),
        {"path": "{root}/registry.json"},
    ),
    Case(
        "registry/truncated-json",
        load,
        RegistryError,
        ["{root}/registry.json", "malformed JSON"],
        raw_registry('{\n  "alpha": {\n    "tags": {\n      "latest": "@HASH@"'),
    ),
    Case(
        "registry/top-level-array",
        load,
        RegistryError,
        ["{root}/registry.json", "(top level)", "got list"],
        raw_registry("[]"),
    ),
    Case("registry/entry-is-a-string", load, RegistryError, ["alpha: expected an object"], registry_doc("x")),
    Case(
        "registry/tags-is-a-list",
        load,
        RegistryError,
        ["alpha.tags: expected an object, got list"],
        registry_doc({"tags": [], "hashes": {}}),
        {"field": "alpha.tags"},
    ),
    Case(
        "registry/tag-value-is-a-number",
        load,
        RegistryError,
        ["alpha.tags['prod']", "got int"],
        registry_doc({**location("alpha/v1.0.0/alpha.js"), "tags": {"latest": "@HASH@", "prod": 5}}),
    ),
    Case(
        "registry/hash-key-upper-case",
        load,
        RegistryError,
        ["alpha.hashes['SHA256:", "lower-case"],
        registry_doc({"hashes": {"SHA256:" + "A" * 64: {"tag": "v1", "path": "alpha/v1/alpha.js"}}}),
    ),
    Case(
        "registry/path-is-a-number",
        load,
        RegistryError,
        [".path: expected a relative path string, got int"],
        registry_doc(location(7)),
    ),
    Case(
        "registry/latest-points-nowhere",
        load,
        RegistryError,
        ["alpha.tags['latest']", HASH_A],
        registry_doc({"tags": {"latest": HASH_A}, "hashes": {}}),
    ),
    Case(
        "registry/path-traversal",
        load,
        RegistryError,
        ["'../inputs/evil.js'", "contains '..'"],
        registry_doc(location("../inputs/evil.js")),
    ),
    Case(
        "registry/absolute-path",
        load,
        RegistryError,
        ["'/etc/passwd'", "is absolute"],
        registry_doc(location("/etc/passwd")),
    ),
    Case(
        "registry/symlink-out-of-root",
        load,
        RegistryError,
        ["'escape/alpha.js'", "resolves outside the root"],
        symlink_out_of_root,
    ),
    Case(
        "registry/nul-byte-in-path",
        load,
        RegistryError,
        ["alpha.hashes[", ".path", "NUL"],
        registry_doc(location("alpha/\u0000/alpha.js")),
    ),
    Case(
        "registry/not-utf8",
        load,
        RegistryError,
        ["{root}/registry.json", "not UTF-8 (byte 1)"],
        raw_registry(b"{\xff}"),
    ),
    Case(
        "registry/duplicate-name-by-case",
        load,
        RegistryError,
        ["duplicate strategy name", "'alpha'"],
        raw_registry('{"Alpha": {}, "alpha": {}}'),
    ),
    Case(
        "registry/duplicate-json-key",
        load,
        RegistryError,
        ["{root}/registry.json", "duplicate key 'alpha'"],
        raw_registry('{"alpha": {"tags": {}, "hashes": {}}, "alpha": {}}'),
    ),
    Case("registry/blank-strategy-name", load, RegistryError, ["strategy name is empty"], raw_registry('{" ": {}}')),
    Case(
        "registry/tampered-module",
        resolve(CLEAN),
        IntegrityError,
        ["{root}/alpha/v1.0.0/alpha.js", "hash mismatch", "will not be run"],
        tamper,
        {"selector": CLEAN},
    ),
    # -- selectors -------------------------------------------------------------------------------------
    Case("selector/empty", resolve("  "), SelectorError, ["selector is empty"]),
    Case(
        "selector/hash-not-hex",
        resolve("alpha@xyz"),
        SelectorError,
        ["'alpha@xyz'", "64 hex digits"],
        attrs={"selector": "alpha@xyz"},
    ),
    Case("selector/prefix-too-short", resolve("alpha@1234"), SelectorError, ["'1234'", "at least 8"]),
    Case("selector/unknown-hash", resolve(HASH_A), NotFoundError, [HASH_A, "not found"], attrs={"selector": HASH_A}),
    Case("selector/unknown-strategy", resolve("alphq:v1.0.0"), NotFoundError, ["'alphq'", "did you mean alpha"]),
    Case("selector/tag-in-wrong-case", resolve("alpha:V1.0.0"), NotFoundError, ["'V1.0.0'", "case-sensitive"]),
    Case(
        "selector/ambiguous-prefix",
        resolve(ambiguous_prefix()),
        AmbiguousHashError,
        [ambiguous_prefix().split("@")[1], "ambiguous: 2 revisions"],
        two_revisions_sharing_a_prefix,
    ),
    Case(
        "selector/hash-of-another-strategy",
        resolve("beta@{hash}"),
        NotFoundError,
        ["belongs to alpha, not beta"],
        second_strategy("beta"),
    ),
    # -- module upload ---------------------------------------------------------------------------------
    Case(
        "upload/not-utf8",
        upload(b"module.exports = {};\n// caf\xe9\n"),
        ModuleError,
        ["upload.js", "not valid UTF-8", "offset 27", "at 2:"],
    ),
    Case(
        "upload/bom-and-syntax-error",
        upload(BOM + SYNTAX_ERROR_LINE_3),
        ModuleError,
        ["upload.js", "compile error at 3:"],
    ),
    Case(
        "upload/crlf-and-syntax-error",
        upload(("// zero\n" + SYNTAX_ERROR_LINE_3).replace("\n", "\r\n")),
        ModuleError,
        ["upload.js", "compile error at 4:"],
    ),
    Case(
        "upload/empty-file",
        upload(b""),
        ModuleError,
        ["metadata export missing", "module.exports.metadata"],
        attrs={"path": "upload.js"},
    ),
    Case(
        "upload/metadata-without-name",
        upload(strategy_source(metadata={"name": ""})),
        ModuleError,
        ["name required", "metadata.name"],
    ),
    Case(
        "upload/metadata-without-events",
        upload(strategy_source(metadata={"events": []})),
        ModuleError,
        ["events must include at least one event type", "metadata.events"],
    ),
    Case(
        "upload/name-with-path-traversal",
        upload(strategy_source("../evil")),
        ModuleError,
        ['"../evil"', "metadata.name"],
    ),
    Case(
        "upload/tag-with-slash",
        upload(strategy_source(), tag="v1/../../x"),
        RegistryError,
        ["'v1/../../x'", "path segment"],
        attrs={"field": "tag"},
    ),
    Case(
        "upload/no-tag-anywhere",
        upload(strategy_source(metadata={"tag": ""})),
        ModuleError,
        ["tag required", "metadata.tag"],
    ),
    Case(
        "upload/create-not-a-function",
        upload("module.exports = {metadata: {name: 'x', tag: 'v1', displayName: 'x', events: ['Trade']}, create: 5};"),
        ModuleError,
        ["create must be a function, got number"],
    ),
    Case(
        "upload/top-level-throws",
        upload(strategy_source(top="throw new RangeError('bad init');")),
        ModuleError,
        ["execute module failed", "RangeError: bad init", "at 1:"],
    ),
    Case(
        "upload/display-name-wrong-type",
        upload(strategy_source(metadata={"displayName": 5})),
        ModuleError,
        ["metadata.displayName"],
    ),
    Case(
        "upload/config-default-wrong-type",
        upload(strategy_source(metadata={"config": [{"name": "n", "type": "int", "default": "abc"}]})),
        ModuleError,
        ["metadata.config[0].default", "does not fit type"],
    ),
    Case(
        "upload/duplicate-config-names",
        upload(strategy_source(metadata={"config": [{"name": "n", "type": "int"}, {"name": "n", "type": "int"}]})),
        ModuleError,
        ["duplicate config name", "metadata.config[1].name"],
    ),
    # -- storing and migrating -------------------------------------------------------------------------
    Case(
        "store/different-bytes-on-a-taken-path",
        store(b"// other\n", CLEAN, "v1.0.0"),
        ConflictError,
        ["{root}/alpha/v1.0.0/alpha.js", "never overwritten"],
        attrs={"path": "{root}/alpha/v1.0.0/alpha.js"},
    ),
    Case("store/name-is-dot-dot", store(b"// x\n", "..", "v1"), RegistryError, ["'..'", "path segment"]),
    Case(
        "migrate/duplicate-name-and-tag",
        migrate_write,
        MigrationError,
        ["beta.js", "beta_copy.js", "beta:v1.0.0"],
        flat_files({"beta.js": strategy_source("beta"), "beta_copy.js": strategy_source("beta") + "// copy\n"}),
    ),
    Case(
        "migrate/flat-file-not-utf8",
        migrate_write,
        MigrationError,
        ["bad.js", "not valid UTF-8"],
        flat_files({"bad.js": b"\xff\xfe"}),
    ),
    Case(
        "migrate/flat-file-without-name",
        migrate_write,
        MigrationError,
        ["nameless.js", "name required"],
        flat_files({"nameless.js": strategy_source(metadata={"name": ""})}),
    ),
    Case(
        "migrate/empty-flat-file",
        migrate_write,
        MigrationError,
        ["empty.js", "metadata export missing"],
        flat_files({"empty.js": b""}),
    ),
    Case(
        "migrate/registered-file-tampered",
        migrate_write,
        MigrationError,
        ["alpha/v1.0.0/alpha.js is registered as", "restore the file"],
        tamper,
    ),
    Case(
        "migrate/symlink-out-of-root",
        migrate_write,
        MigrationError,
        ["beta.js", "outside the root"],
        symlinked_flat_file,
    ),
    Case(
        "migrate/root-missing",
        lambda ws: migrate(ws.inputs / "nowhere"),
        MigrationError,
        ["{inputs}/nowhere", "not a directory"],
    ),
    Case(
        "migrate/unknown-layout",
        lambda ws: migrate(ws.root, layout="flat"),
        MigrationError,
        ["'flat'", "layout"],
        attrs={"field": "layout"},
    ),
    Case(
        "migrate/bad-usage-export",
        lambda ws: plan_migration(ws.root, usage=ws.inputs / "usage.json"),
        UsageExportError,
        ["{inputs}/usage.json", "usage[0].count"],
        input_file("usage.json", export([usage_row(count=2)])),
    ),
    # -- backtest data ---------------------------------------------------------------------------------
    Case(
        "data/missing-quantity-column",
        backtest("t.csv"),
        DataError,
        ["{inputs}/t.csv", "quantity"],
        input_file("t.csv", f"timestamp,price\n{T0},100\n"),
        {"field": "quantity"},
    ),
    Case(
        "data/text-in-price",
        backtest("t.csv"),
        DataError,
        ["{inputs}/t.csv", "row 2 (line 3), column price", "not a number"],
        input_file("t.csv", TRADES.replace(",101.0,", ",abc,")),
        {"row": 2, "field": "price"},
    ),
    Case(
        "data/nan-price",
        backtest("t.csv"),
        DataError,
        ["row 2 (line 3), column price", "missing value"],
        input_file("t.csv", TRADES.replace(",101.0,", ",NaN,")),
        {"row": 2},
    ),
    Case(
        "data/infinite-price",
        backtest("t.csv"),
        DataError,
        ["row 3 (line 4), column price", "finite"],
        input_file("t.csv", TRADES.replace(",102.0,", ",inf,")),
        {"row": 3},
    ),
    Case(
        "data/negative-price",
        backtest("t.csv"),
        DataError,
        ["row 1 (line 2), column price", "expected a price > 0"],
        input_file("t.csv", TRADES.replace(",100.0,", ",-100.0,")),
        {"row": 1},
    ),
    Case(
        "data/timestamps-go-backwards",
        backtest("t.csv"),
        DataError,
        ["row 3 (line 4), column timestamp", "earlier than a previous row"],
        input_file("t.csv", TRADES.replace(str(T0 + 2_000_000_000), str(T0 - 1))),
        {"row": 3},
    ),
    Case("data/empty-file", backtest("t.csv"), DataError, ["{inputs}/t.csv", "empty"], input_file("t.csv", "")),
    Case(
        "data/not-utf8",
        backtest("t.csv"),
        DataError,
        ["{inputs}/t.csv", "UTF8"],
        input_file("t.csv", TRADES.encode().replace(b"BTC-USDT", b"BTC-\xff", 1)),
    ),
    Case(
        "data/ragged-rows",
        backtest("t.csv"),
        DataError,
        ["{inputs}/t.csv", "Expected 4 columns, got 2"],
        input_file("t.csv", TRADES + "1,2\n"),
    ),
    Case(
        "data/duplicate-column",
        backtest("t.csv"),
        DataError,
        ["{inputs}/t.csv", "column price appears 2 times"],
        input_file("t.csv", f"timestamp,price,price,quantity\n{T0},1,2,1\n"),
    ),
    Case(
        "data/timestamp-with-25-digits",
        backtest("t.csv"),
        DataError,
        ["row 2 (line 3), column timestamp"],
        input_file("t.csv", f"timestamp,price,quantity\n2023-11-14T22:13:20Z,1,1\n{'9' * 25},1,1\n"),
        {"row": 2},
    ),
    Case(
        "data/ms-timestamp-after-2262",
        backtest("t.csv"),
        DataError,
        ["row 1 (line 2), column timestamp", "2262"],
        input_file("t.csv", "timestamp,price,quantity\n50000000000000,1,1\n"),
        {"row": 1},
    ),
    Case(
        "data/iso-timestamp-after-2262",
        backtest("t.csv"),
        DataError,
        ["row 1 (line 2), column timestamp", "2262"],
        input_file("t.csv", "timestamp,price,quantity\n3000-01-01T00:00:00Z,1,1\n"),
        {"row": 1},
    ),
    Case(
        "data/corrupt-parquet",
        backtest("t.parquet"),
        DataError,
        ["{inputs}/t.parquet", "not a readable Parquet"],
        input_file("t.parquet", b"PAR1 this is no parquet file PAR1"),
    ),
    Case("data/missing-file", backtest("absent.csv"), DataError, ["{inputs}/absent.csv", "not found"]),
    # -- backtest config -------------------------------------------------------------------------------
    Case(
        "config/text-for-an-int",
        backtest("t.csv", "gamma", config={"period": "abc", "symbol": "X"}),
        ConfigError,
        ["period", "expected an integer", "'abc'"],
        steps(second_strategy("gamma", config=CONFIGURED), input_file("t.csv", TRADES)),
        {"field": "period"},
    ),
    Case(
        "config/bool-for-an-int",
        backtest("t.csv", "gamma", config={"period": True, "symbol": "X"}),
        ConfigError,
        ["period", "expected an integer", "True"],
        steps(second_strategy("gamma", config=CONFIGURED), input_file("t.csv", TRADES)),
    ),
    Case(
        "config/nan-for-a-float",
        backtest("t.csv", "gamma", config={"ratio": math.nan, "symbol": "X"}),
        ConfigError,
        ["ratio", "finite number"],
        steps(second_strategy("gamma", config=CONFIGURED), input_file("t.csv", TRADES)),
    ),
    Case(
        "config/required-value-missing",
        backtest("t.csv", "gamma"),
        ConfigError,
        ["symbol is required"],
        steps(second_strategy("gamma", config=CONFIGURED), input_file("t.csv", TRADES)),
        {"field": "symbol"},
    ),
    Case(
        "config/unknown-key",
        backtest("t.csv", config={"perod": 3}),
        ConfigError,
        ["unknown key(s) perod"],
        input_file("t.csv", TRADES),
        {"field": "perod"},
    ),
    Case(
        "config/negative-time-limit",
        lambda ws: backtest("t.csv", limits=Limits(call_seconds=-1.0))(ws),
        ConfigError,
        ["Limits.call_seconds", "-1.0"],
        input_file("t.csv", TRADES),
        {"field": "call_seconds"},
    ),
    Case(
        "config/app-yaml-flag-is-text",
        lambda ws: load_app_config(ws.inputs / "app.yaml"),
        ConfigError,
        ["{inputs}/app.yaml", "strategies.requireRegistry", "'yes'"],
        input_file("app.yaml", "strategies:\n  requireRegistry: 'yes'\n"),
    ),
    # -- usage exports ---------------------------------------------------------------------------------
    Case(
        "usage/malformed-json",
        read_export("u.json"),
        UsageExportError,
        ["{inputs}/u.json", "not valid JSON"],
        input_file("u.json", '{"usage": ['),
    ),
    Case(
        "usage/top-level-number",
        read_export("u.json"),
        UsageExportError,
        ["{inputs}/u.json", "got 42"],
        input_file("u.json", "42"),
    ),
    Case(
        "usage/usage-is-an-object",
        read_export("u.json"),
        UsageExportError,
        ["{inputs}/u.json: usage:", "expected a list or null"],
        input_file("u.json", export({"a": 1})),
    ),
    Case(
        "usage/no-usage-key",
        read_export("u.json"),
        UsageExportError,
        ['"usage" key'],
        input_file("u.json", json.dumps({"registry": {}})),
    ),
    Case(
        "usage/count-disagrees",
        read_export("u.json"),
        UsageExportError,
        ["usage[1].count", "expected 1"],
        input_file("u.json", export([usage_row(), usage_row(count=3)])),
        {"row": 1, "field": "count"},
    ),
    Case(
        "usage/time-not-rfc3339",
        read_export("u.json"),
        UsageExportError,
        ["usage[0].lastSeen", "yesterday"],
        input_file("u.json", export([usage_row(lastSeen="yesterday")])),
        {"row": 0},
    ),
    Case(
        "usage/instances-is-text",
        read_export("u.json"),
        UsageExportError,
        ["usage[0].instances"],
        input_file("u.json", export([usage_row(instances="i-1")])),
    ),
    Case(
        "usage/registry-is-a-list",
        read_export("u.json"),
        UsageExportError,
        ["registry", "expected an object"],
        input_file("u.json", json.dumps({"registry": [], "usage": []})),
    ),
    Case(
        "usage/empty-file",
        read_export("u.json"),
        UsageExportError,
        ["{inputs}/u.json", "not valid JSON"],
        input_file("u.json", b""),
    ),
    Case(
        "usage/not-utf8",
        read_export("u.json"),
        UsageExportError,
        ["{inputs}/u.json", "not valid JSON"],
        input_file("u.json", b'{"usage": [], "x": "\xff"}'),
    ),
    # -- command line ----------------------------------------------------------------------------------
    Case(
        "cli/backtest-config-without-equals",
        cli(
            "backtest",
            "--strategy",
            CLEAN,
            "--data",
            "{inputs}/t.csv",
            "--root",
            "{root}",
            "--config",
            "period",
            "--no-progress",
        ),
        UsageError,
        ["--config 'period'", "KEY=VALUE"],
        input_file("t.csv", TRADES),
    ),
    Case(
        "cli/backtest-config-file-is-a-list",
        cli(
            "backtest",
            "--strategy",
            CLEAN,
            "--data",
            "{inputs}/t.csv",
            "--root",
            "{root}",
            "--config-file",
            "{inputs}/c.yaml",
        ),
        ConfigError,
        ["{inputs}/c.yaml", "expected a mapping"],
        steps(input_file("t.csv", TRADES), input_file("c.yaml", "- 1\n- 2\n")),
    ),
    Case(
        "cli/backtest-bad-data",
        cli("backtest", "--strategy", CLEAN, "--data", "{inputs}/t.csv", "--root", "{root}", "--no-progress"),
        DataError,
        ["{inputs}/t.csv", "row 2"],
        input_file("t.csv", TRADES.replace(",101.0,", ",x,")),
    ),
    Case(
        "cli/resolve-malformed-selector",
        cli("resolve", "alpha@nothex", "--root", "{root}"),
        SelectorError,
        ["'alpha@nothex'"],
    ),
    Case(
        "cli/tag-with-malformed-hash",
        cli("tag", CLEAN, "prod", "zz", "--root", "{root}"),
        SelectorError,
        ["'zz'", "not a sha256 hash"],
    ),
    Case(
        "cli/tag-unknown-strategy",
        cli("tag", "beta", "prod", "a" * 8, "--root", "{root}"),
        NotFoundError,
        ["'beta' not found"],
    ),
    Case(
        "cli/verify-broken-registry",
        cli("verify", "--root", "{root}"),
        RegistryError,
        ["{root}/registry.json", "malformed JSON"],
        raw_registry("{"),
    ),
    Case(
        "cli/migrate-missing-root",
        cli("migrate", "--root", "{inputs}/nowhere"),
        MigrationError,
        ["{inputs}/nowhere", "not a directory"],
    ),
    # -- found by the independent probe (issue 16): tracebacks or silence before ----------------------
    Case(
        "registry/nested-3000-deep",
        load,
        RegistryError,
        ["{root}/registry.json", "nests 3,001 levels deep"],
        raw_registry('{"alpha": ' + "[" * 3000 + "]" * 3000 + "}"),
    ),
    Case(
        "registry/5000-digit-integer",
        load,
        RegistryError,
        ["{root}/registry.json", "integer of 5,000 digits"],
        raw_registry('{"alpha": {"tags": {}, "hashes": {}, "n": ' + "9" * 5000 + "}}"),
    ),
    Case(
        "registry/one-hash-under-two-strategies",
        load,
        RegistryError,
        ["{root}/registry.json", "beta.hashes[", "also listed under alpha"],
        raw_registry(
            json.dumps(
                {
                    name: {
                        "tags": {"latest": "@HASH@"},
                        "hashes": {"@HASH@": {"tag": "v1.0.0", "path": "alpha/v1.0.0/alpha.js"}},
                    }
                    for name in (CLEAN, "beta")
                }
            )
        ),
    ),
    Case(
        "cli/resolve-empty-hash-after-at",
        cli("resolve", CLEAN + "@", "--root", "{root}"),
        SelectorError,
        ["'alpha@' has an empty hash after '@'"],
    ),
    Case(
        "cli/tag-history-is-a-directory",
        cli("tag", CLEAN, "prod", "{hash}", "--root", "{root}"),
        RegistryError,
        ["{root}/registry.history.jsonl", "tag history is a directory"],
        history_is_a_directory,
    ),
    Case(
        "cli/history-is-a-directory",
        cli("history", CLEAN, "--root", "{root}"),
        RegistryError,
        ["{root}/registry.history.jsonl", "is a directory"],
        history_is_a_directory,
    ),
    Case(
        "cli/prune-days-nan",
        cli("prune", "--export", "{inputs}/u.json", "--days", "nan", "--apply", "--root", "{root}"),
        UsageError,
        ["days: expected a finite number >= 0, got nan"],
        input_file("u.json", export([])),
    ),
    Case(
        "cli/prune-days-inf",
        cli("prune", "--export", "{inputs}/u.json", "--days", "inf", "--apply", "--root", "{root}"),
        UsageError,
        ["days: expected a finite number >= 0, got inf"],
        input_file("u.json", export([])),
    ),
    Case(
        "cli/backtest-lookback-1e30",
        cli(
            "backtest",
            "--strategy",
            "gamma",
            "--data",
            "{inputs}/t.csv",
            "--root",
            "{root}",
            "--no-progress",
            "--config",
            "lookback=1e30",
        ),
        ConfigError,
        ["lookback"],
        steps(
            second_strategy("gamma", config=[{"name": "lookback", "type": "int", "default": 20}]),
            input_file("t.csv", TRADES),
        ),
    ),
    Case(
        "cli/backtest-config-file-alias-bomb",
        cli(
            "backtest",
            "--strategy",
            CLEAN,
            "--data",
            "{inputs}/t.csv",
            "--root",
            "{root}",
            "--no-progress",
            "--config-file",
            "{inputs}/bomb.yaml",
        ),
        ConfigError,
        ["{inputs}/bomb.yaml", "expands (through its aliases)"],
        steps(input_file("t.csv", TRADES), input_file("bomb.yaml", YAML_BOMB)),
    ),
    Case(
        "cli/backtest-out-is-a-file",
        cli(
            "backtest",
            "--strategy",
            CLEAN,
            "--data",
            "{inputs}/t.csv",
            "--root",
            "{root}",
            "--no-progress",
            "--out",
            "{inputs}/out",
        ),
        UsageError,
        ["--out {inputs}/out: is a file"],
        steps(input_file("t.csv", TRADES), input_file("out", "an existing file\n")),
    ),
    Case(
        "cli/backtest-out-result-json-is-a-directory",
        cli(
            "backtest",
            "--strategy",
            CLEAN,
            "--data",
            "{inputs}/t.csv",
            "--root",
            "{root}",
            "--no-progress",
            "--out",
            "{inputs}/out",
        ),
        UsageError,
        ["--out {inputs}/out: result.json exists and is not a regular file"],
        steps(input_file("t.csv", TRADES), previous_outputs_with_result_json_a_directory),
    ),
    Case(
        "cli/usage-bad-export",
        cli("usage", "--export", "{inputs}/u.json"),
        UsageExportError,
        ["{inputs}/u.json", "usage[0].strategy"],
        input_file("u.json", export([usage_row(strategy="")])),
    ),
)


def _filled(text: str, ws: Workspace) -> str:
    return text.format(root=ws.root, inputs=ws.inputs, hash=ws.clean_hash)


def test_the_table_has_at_least_forty_distinct_cases():
    ids = [case.id for case in CASES]
    assert len(ids) == len(set(ids)) >= 40


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_bad_input_fails_with_a_named_error_and_changes_nothing(case: Case, workspace: Workspace):
    case.setup(workspace)
    before = tree(workspace.base)
    with pytest.raises(MelticaLabError) as info:
        case.act(workspace)
    error = info.value
    assert isinstance(error, case.error), f"{type(error).__name__}: {error}"
    message = str(error)
    for text in case.names:
        assert _filled(text, workspace) in message, message
    for key, value in case.attrs.items():
        wanted = _filled(value, workspace) if isinstance(value, str) else value
        assert getattr(error, key) == wanted, f"{key}={getattr(error, key)!r} in {message}"
    assert tree_changes(before, tree(workspace.base)) == []


CLI_CASES = [case for case in CASES if case.id.startswith("cli/")]


@pytest.mark.parametrize("case", CLI_CASES, ids=[case.id for case in CLI_CASES])
def test_the_cli_turns_each_error_into_its_exit_code_and_one_line(case: Case, workspace: Workspace, capsys):
    case.setup(workspace)
    assert isinstance(case.act, cli)
    code = main([_filled(a, workspace) for a in case.act.argv])
    err = capsys.readouterr().err
    assert code == case.error.exit_code
    assert err.startswith("meltica-lab: error: ") and err.count("\n") == 1
    assert all(_filled(text, workspace) in err for text in case.names), err


def test_a_tampered_module_never_runs_anywhere(workspace: Workspace):
    """The tampered bytes would throw a marker the moment V8 saw them; every path refuses them first."""
    from meltica_lab.jshost.module import ModuleHost

    revision = Loader(workspace.root, config=AppConfig(), cache_dir=workspace.cache).resolve(CLEAN)
    tamper(workspace)
    data = workspace.write("t.csv", TRADES)
    with ModuleHost(QUICK) as host:
        loader = Loader(workspace.root, config=AppConfig(), cache_dir=workspace.cache / "cold", host=host)
        with pytest.raises(IntegrityError, match="hash mismatch"):
            loader.resolve(CLEAN)
        assert host.evaluations == 0
    # a revision resolved before the file changed is re-verified when it runs
    with pytest.raises(IntegrityError, match="refusing to run it") as info:
        run_backtest(revision, data, progress=False, limits=QUICK)
    assert "TAMPERED" not in str(info.value)
    with Manager(workspace.root, cache_dir=workspace.cache, limits=QUICK) as manager, pytest.raises(IntegrityError):
        manager.create("i-1", CLEAN, symbols=["BTC-USDT"])
    assert os.path.exists(workspace.root / CLEAN / "v1.0.0" / f"{CLEAN}.js")


def test_bom_and_crlf_sources_are_stored_byte_for_byte_and_run(workspace: Workspace):
    """Not bad input: a BOM and CRLF line ends are kept in the file and in its hash (the gateway hashes
    the raw bytes), and the module still loads, resolves and runs."""
    source = (BOM + strategy_source("crlf", on_trade="log('seen', price);")).replace("\n", "\r\n").encode()
    with Manager(workspace.root, cache_dir=workspace.cache, limits=QUICK) as manager:
        stored = manager.upload(source)
    assert (workspace.root / stored.relpath).read_bytes() == source
    assert stored.hash == "sha256:" + hashlib.sha256(source).hexdigest()
    result = run_backtest("crlf", workspace.write("t.csv", TRADES), root=workspace.root, progress=False, limits=QUICK)
    assert list(result.logs["message"]) == ["seen 100", "seen 101", "seen 102"]


# -- read-only places and very long values -------------------------------------------------------------
@pytest.fixture
def read_only():
    """Make directories read-only for the test (``chattr +i`` when running as root, whom file modes do
    not stop), and writable again afterwards."""
    import subprocess

    made: list[str] = []

    def lock(path: os.PathLike[str]) -> None:
        if os.geteuid() == 0:
            done = subprocess.run(["chattr", "+i", os.fspath(path)], capture_output=True, check=False)
            if done.returncode != 0:
                pytest.skip(f"cannot make {path} read-only as root: {done.stderr.decode().strip()}")
        else:
            os.chmod(path, 0o555)
        made.append(os.fspath(path))

    yield lock
    for path in made:
        if os.geteuid() == 0:
            subprocess.run(["chattr", "-i", path], check=True)
        else:
            os.chmod(path, 0o755)


def test_a_tag_edit_on_a_read_only_root_is_one_line_and_changes_nothing(workspace: Workspace, read_only, capsys):
    read_only(workspace.root)
    before = tree(workspace.base)
    assert main(["tag", CLEAN, "prod", workspace.clean_hash, "--root", str(workspace.root)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("meltica-lab: error: ") and err.count("\n") == 1, err
    assert str(workspace.root) in err
    assert tree_changes(before, tree(workspace.base)) == []


def test_backtest_out_into_a_read_only_directory_writes_nothing(workspace: Workspace, read_only, capsys):
    data = workspace.write("t.csv", TRADES)
    out = workspace.inputs / "out"
    previous_outputs(out)
    read_only(out)
    before = tree(workspace.base)
    argv = ["backtest", "--strategy", CLEAN, "--data", str(data), "--root", str(workspace.root), "--no-progress"]
    assert main([*argv, "--out", str(out)]) == UsageError.exit_code
    err = capsys.readouterr().err
    assert err.startswith(f"meltica-lab: error: --out {out}") and err.count("\n") == 1, err
    assert tree_changes(before, tree(workspace.base)) == []


def previous_outputs(out: os.PathLike[str]) -> None:
    os.makedirs(out)
    for name in ("fills.parquet", "orders.parquet", "equity.parquet", "result.json"):
        with open(os.path.join(out, name), "wb") as handle:
            handle.write(b"earlier run")


def test_backtest_out_replaces_all_outputs_or_none(workspace: Workspace, monkeypatch: pytest.MonkeyPatch):
    """A failure while renaming the third output puts the first two back as they were."""
    from meltica_lab.cli import common

    data = workspace.write("t.csv", TRADES)
    out = workspace.inputs / "out"
    previous_outputs(out)
    before = tree(workspace.base)
    real_replace = os.replace
    renamed: list[str] = []

    def failing_replace(src: Any, dst: Any) -> None:
        if str(dst).endswith("equity.parquet") and str(src).endswith(".tmp") and not renamed.count("x"):
            renamed.append("x")
            raise OSError(28, "No space left on device", str(dst))
        real_replace(src, dst)

    monkeypatch.setattr(common.os, "replace", failing_replace)
    argv = ["backtest", "--strategy", CLEAN, "--data", str(data), "--root", str(workspace.root), "--no-progress"]
    assert main([*argv, "--out", str(out)]) == UsageError.exit_code
    assert renamed == ["x"]
    assert tree_changes(before, tree(workspace.base)) == []


@pytest.mark.parametrize(
    "argv",
    [
        ["resolve", "{long}"],
        ["resolve", CLEAN + ":{long}"],
        ["resolve", CLEAN + "@{long}"],
        ["tag", CLEAN, "{long}", "{hash}"],
        ["tag", "{long}", "prod", "{hash}"],
    ],
    ids=["name", "tag", "hash", "tag-name", "strategy"],
)
def test_a_100k_character_value_gives_a_short_error_line(workspace: Workspace, capsys, argv: list[str]):
    long = "x" * 100_000
    filled = [a.format(long=long, hash=workspace.clean_hash) for a in argv]
    assert main([*filled, "--root", str(workspace.root)]) in (1, 2)
    err = capsys.readouterr().err
    assert err.startswith("meltica-lab: error: ") and err.count("\n") == 1, err[:300]
    assert len(err) < 400, err[:400]
    assert "100,000 characters" in err
