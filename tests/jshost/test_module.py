"""The module host: evaluation as the gateway does it, its headlines and diagnostics, and isolation."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from meltica_lab.errors import ModuleError, UsageError
from meltica_lab.jshost.diagnostics import Diagnostic
from meltica_lab.jshost.limits import Limits
from meltica_lab.jshost.metadata import INVALID_HINT
from meltica_lab.jshost.module import (
    COMPILE_HINT,
    EXECUTE_HINT,
    MISSING_HINT,
    ModuleHost,
    ModuleReport,
)
from tests.jshost.conftest import SHORT, metadata, module_js, probe_js

PROJECT = Path(__file__).resolve().parents[2]


def only(report: ModuleReport) -> Diagnostic:
    [diagnostic] = report.diagnostics
    return diagnostic


def position(report: ModuleReport) -> tuple[str, int, int]:
    d = only(report)
    return d.stage, d.line, d.column


# --- a valid module ------------------------------------------------------------------------------


def test_a_valid_module_reports_its_metadata_and_no_problem(host):
    report = host.inspect(
        module_js(metadata(name="Demo", config=[{"name": "n", "type": "int", "default": 2}])), filename="demo.js"
    )
    assert report.ok and report.headline == "" and report.diagnostics == ()
    assert report.metadata is not None
    meta = report.metadata
    assert (meta.name, meta.tag, meta.config_field("n").default) == ("demo", "v1.0.0", 2)
    assert report.cacheable


def test_properties_added_to_exports_are_the_export(host):
    source = f"exports.metadata = {json.dumps(metadata())};\nexports.create = (env) => ({{}});"
    assert host.inspect(source, filename="x.js").ok


@pytest.mark.parametrize("path", sorted((PROJECT / "strategies").rglob("*.js")), ids=lambda p: p.parent.name)
def test_the_projects_own_strategies_load_cleanly(host, path):
    report = host.inspect(path.read_bytes(), filename=str(path))
    assert report.ok, report.diagnostics
    assert report.metadata.name == path.stem
    assert host.replacements == 0


# --- what a module sees ---------------------------------------------------------------------------


def test_a_module_sees_only_module_exports_and_a_no_op_console(host):
    probe = (
        "const seen = [typeof require, typeof process, typeof setTimeout, typeof WebAssembly, typeof globalThis.module,"
        " typeof globalThis.exports, module.exports === exports, console.log('x'), console.warn('y')].join(',');"
    )
    report = host.inspect(probe_js("seen", before=probe + "\n"), filename="x.js")
    assert report.metadata.description == "undefined,undefined,undefined,undefined,undefined,undefined,true,,"


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("undeclared = 5;", "ReferenceError: undeclared is not defined"),
        (
            "delete Object.prototype;",
            "TypeError: Cannot delete property 'prototype' of function Object() { [native code] }",
        ),
        ("(function () { return this; })().x = 1;", "TypeError: Cannot set properties of undefined (setting 'x')"),
    ],
)
def test_modules_run_in_strict_mode(host, source, message):
    report = host.inspect(source, filename="x.js")
    assert (report.headline, only(report).stage, only(report).message) == ("execute module failed", "execute", message)


def test_sloppy_only_syntax_does_not_compile(host):
    report = host.inspect("with ({}) {}", filename="x.js")
    assert only(report).message == "SyntaxError: Strict mode code may not include a with statement"


def test_top_level_declarations_do_not_leak_into_the_next_module(host):
    assert host.inspect(module_js(before="var shared = 1; function helper() {}\n"), filename="a.js").ok
    report = host.inspect(probe_js("typeof shared + typeof helper"), filename="b.js")
    assert report.metadata.description == "undefinedundefined"


# --- compile: headline, line and column in the user's file ----------------------------------------


@pytest.mark.parametrize(
    ("source", "line", "column", "message"),
    [
        ("const x = ;", 1, 11, "SyntaxError: Unexpected token ';'"),
        ("const a = 1;\n\nconst b = {\n  c: 1,,\n};", 4, 8, "SyntaxError: Unexpected token ','"),
        ("const a = 1;\r\nconst b = ;\r\n", 2, 11, "SyntaxError: Unexpected token ';'"),
        ("const 𝒳 = 1; const y = ;", 1, 24, "SyntaxError: Unexpected token ';'"),
        ("/* never closed\nconst x = 1;", 1, 1, "SyntaxError: Invalid or unexpected token"),
        ("x = 010;", 1, 5, "SyntaxError: Octal literals are not allowed in strict mode."),
    ],
)
def test_syntax_errors_point_into_the_users_file(host, source, line, column, message):
    report = host.inspect(source, filename="/srv/strategies/grid/v1/grid.js")
    assert report.headline == 'compile module "grid.js" failed'
    assert report.metadata is None
    assert (only(report).stage, only(report).line, only(report).column) == ("compile", line, column)
    assert (only(report).message, only(report).hint) == (message, COMPILE_HINT)


@pytest.mark.parametrize("source", ["if (ready) {\n  go();\n", "function f() {", "const s = `abc"])
def test_a_module_that_ends_inside_an_open_construct_reports_the_end_of_input(host, source):
    lines = source.split("\n")
    report = host.inspect(source, filename="x.js")
    assert only(report).message == "SyntaxError: Unexpected end of input"
    assert position(report) == ("compile", len(lines), len(lines[-1]) + 1)


def test_source_nested_too_deeply_for_the_parser_is_a_compile_error_without_position(host):
    report = host.inspect("(" * 100_000, filename="deep.js")
    assert report.headline == 'compile module "deep.js" failed'
    assert only(report) == Diagnostic("compile", "RangeError: Maximum call stack size exceeded", hint=COMPILE_HINT)


def test_the_headline_names_the_base_name_of_a_windows_path(host):
    assert host.inspect("let = ;", filename="C:\\strategies\\grid.js").headline == 'compile module "grid.js" failed'


def test_a_module_cannot_close_the_function_around_it(host):
    report = host.inspect("}); globalThis.escaped = 1; (function () {", filename="x.js")
    assert only(report).stage == "compile"
    probe = host.inspect(probe_js("typeof escaped"), filename="y.js")
    assert probe.metadata.description == "undefined"


# --- execute: thrown values, positions, limits -----------------------------------------------------


@pytest.mark.parametrize(
    ("source", "line", "column", "message"),
    [
        ("null.x;", 1, 6, "TypeError: Cannot read properties of null (reading 'x')"),
        (
            "const config = null;\nconst size = config.size;",
            2,
            21,
            "TypeError: Cannot read properties of null (reading 'size')",
        ),
        ('function check(v) {\n  if (!v) throw new Error("missing");\n}\ncheck();', 2, 17, "Error: missing"),
        ("\r\n\r\n  undefinedFunction();", 3, 3, "ReferenceError: undefinedFunction is not defined"),
        ("function f() { return f() + 1; }\nf();", 1, 16, "RangeError: Maximum call stack size exceeded"),
        ("const 𝒳 = 1; 𝒳();", 1, 14, "TypeError: 𝒳 is not a function"),
    ],
)
def test_runtime_errors_point_into_the_users_file(host, source, line, column, message):
    report = host.inspect(source, filename="x.js")
    assert report.headline == "execute module failed"
    assert position(report) == ("execute", line, column)
    assert (only(report).message, only(report).hint) == (message, EXECUTE_HINT)


@pytest.mark.parametrize(
    ("thrown", "message"),
    [
        ('"config missing"', "config missing"),
        ('""', "threw an empty string"),
        ("null", "threw null"),
        ("undefined", "threw undefined"),
        ("42", "threw 42"),
        ("false", "threw false"),
        ("10n", "threw 10n"),
        ('Symbol("s")', "threw Symbol(s)"),
        ("{}", "threw an object: {}"),
        ('{code: 7, message: "m"}', 'threw an object: {"code":7,"message":"m"}'),
        ("Object.create(null)", "threw an object: {}"),
        ("function named() {}", "threw a function"),
        ('new (class BadConfig extends Error { get name() { return "BadConfig"; } })("size")', "BadConfig: size"),
        ('new Error("first line\\nsecond line")', "Error: first line"),
        ('Object.defineProperty(new Error("x"), "message", { get() { throw 1; } })', "Error"),
        ('new Error("' + "x" * 300 + '")', "Error: " + "x" * 249),
    ],
)
def test_any_thrown_value_gives_a_readable_message(host, thrown, message):
    report = host.inspect(f"throw {thrown};", filename="x.js")
    assert (report.headline, only(report).message) == ("execute module failed", message)


def test_a_loop_at_top_level_is_stopped_by_the_time_limit_and_the_host_carries_on(host):
    report = host.inspect("while (true) {}", filename="x.js")
    assert report.headline == "execute module failed"
    assert only(report) == Diagnostic(
        "execute", "top-level code passed the time limit of 0.25 s (limits.eval_seconds)", hint=EXECUTE_HINT
    )
    assert report.stopped_by_limit and not report.cacheable
    assert host.inspect(module_js(), filename="y.js").ok


def test_a_getter_that_never_returns_is_stopped_too(host):
    report = host.inspect(module_js("{ get name() { for (;;) {} } }"), filename="x.js")
    assert report.stopped_by_limit
    assert host.inspect(module_js(), filename="y.js").ok


def test_allocation_without_end_is_stopped_by_the_heap_limit_and_the_isolate_replaced(host):
    report = host.inspect("const a = []; for (;;) a.push(new Array(100000).fill(0.5));", filename="x.js")
    assert only(report).message == "top-level code passed the heap limit of 64 MiB (limits.heap_bytes)"
    assert report.stopped_by_limit
    assert host.replacements == 1
    assert host.inspect(module_js(), filename="y.js").ok


def test_promise_jobs_that_never_end_do_not_blame_the_next_module(host):
    hog = module_js(before="Promise.resolve().then(function again() { Promise.resolve().then(again); });\n")
    assert host.inspect(hog, filename="hog.js").ok
    report = host.inspect(module_js(), filename="next.js")
    assert report.ok, report.diagnostics
    assert host.replacements == 1


# --- metadata export missing / invalid / validation -------------------------------------------------


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("module.exports = undefined;", "module.exports is undefined: expected an object with metadata and create"),
        ("module.exports = null;", "module.exports is null: expected an object with metadata and create"),
        ("module.exports = 5;", "module.exports is number: expected an object with metadata and create"),
        ('module.exports = "demo";', "module.exports is string: expected an object with metadata and create"),
        ("", "module.exports.metadata is undefined: expected an object"),
        ("module.exports = function () {};", "module.exports.metadata is undefined: expected an object"),
        ("module.exports = { metadata: null, create() {} };", "module.exports.metadata is null: expected an object"),
    ],
)
def test_no_metadata_export_is_metadata_export_missing(host, source, message):
    report = host.inspect(source, filename="x.js")
    assert report.headline == "metadata export missing"
    assert only(report) == Diagnostic("validation", message, hint=MISSING_HINT)


@pytest.mark.parametrize(
    ("meta", "messages"),
    [
        ('"momentum"', ["metadata must be an object, got string"]),
        ("[]", ["metadata must be an object, got array"]),
        ("function () {}", ["metadata must be an object, got function"]),
        (
            '{ name: () => "x", events: "Trade" }',
            ["metadata.name must be a string, got function", "metadata.events must be an array, got string"],
        ),
        (
            '{ name: "x", config: [{ name: "n", type: "int", default: () => 1 }] }',
            ["metadata.config[0].default must be JSON data, got function"],
        ),
        (
            '{ name: "x", config: [{ name: "n", type: "int", default: [1, NaN, 10n, undefined] }] }',
            [
                "metadata.config[0].default[1] must be JSON data, got NaN",
                "metadata.config[0].default[2] must be JSON data, got bigint",
                "metadata.config[0].default[3] must be JSON data, got undefined",
            ],
        ),
        (
            '{ name: "x", config: [{ name: "n", type: "x", '
            "default: (() => { const o = {}; o.o = o; return o; })() }] }",
            [
                "metadata.config[0].default" + ".o" * 32 + " must be JSON data, "
                "got a value nested more than 32 levels deep"
            ],
        ),
        (
            '{ name: "x", config: [{ name: "n", type: "int", required: "yes" }], events: [Symbol("Trade")] }',
            [
                "metadata.config[0].required must be true or false, got string",
                "metadata.events[0] must be a string, got symbol",
            ],
        ),
    ],
)
def test_metadata_of_the_wrong_shape_is_metadata_export_invalid(host, meta, messages):
    report = host.inspect(module_js(meta), filename="x.js")
    assert report.headline == "metadata export invalid"
    assert report.metadata is None
    assert [d.message for d in report.diagnostics] == messages
    assert {(d.stage, d.hint) for d in report.diagnostics} == {("validation", INVALID_HINT)}


@pytest.mark.parametrize(
    "source",
    [
        'module.exports = { metadata: { get name() { throw new Error("no name"); } } };',
        'Object.defineProperty(module.exports, "metadata", { get() { throw new Error("no name"); } });',
    ],
)
def test_a_getter_that_throws_while_the_export_is_read_is_metadata_export_invalid(host, source):
    report = host.inspect(source, filename="x.js")
    assert report.headline == "metadata export invalid"
    assert only(report).message == "reading module.exports failed: Error: no name"


def test_every_rule_violation_is_reported_together(host):
    meta = {
        "name": "",
        "displayName": "x" * 81,
        "events": ["Trade", "Bogus"],
        "config": [{"name": "", "type": "int"}, {"name": "n", "type": ""}, {"name": "n", "type": "bool", "default": 1}],
    }
    report = host.inspect(module_js(meta, create="undefined"), filename="x.js")
    assert report.headline == "metadata validation failed"
    assert [(d.stage, d.message, d.hint) for d in report.diagnostics] == [
        ("validation", "name required", "metadata.name"),
        ("validation", "displayName must be 80 characters or fewer", "metadata.displayName"),
        ("validation", 'unsupported event type "Bogus"', "metadata.events[1]"),
        ("validation", "name required", "metadata.config[0].name"),
        ("validation", "type required", "metadata.config[1].type"),
        ("validation", 'duplicate config name "n": already declared at metadata.config[1]', "metadata.config[2].name"),
        (
            "validation",
            'default 1 does not fit type "bool": expected true or false '
            '(the strategy reads a string such as "false" as true)',
            "metadata.config[2].default",
        ),
        ("validation", "create must be a function, got undefined", "create"),
    ]
    assert report.metadata is not None and report.metadata.display_name == "x" * 81


@pytest.mark.parametrize(("create", "kind"), [('"create"', "string"), ("{}", "object"), ("null", "null")])
def test_create_must_be_a_function(host, create, kind):
    report = host.inspect(module_js(create=create), filename="x.js")
    assert report.headline == "metadata validation failed"
    assert [(d.message, d.hint) for d in report.diagnostics] == [(f"create must be a function, got {kind}", "create")]


def test_a_tag_under_the_older_version_key_is_read(host):
    report = host.inspect(module_js(metadata(tag=None, version=" 1.2.0 ")), filename="x.js")
    assert (report.metadata.tag, report.metadata.tag_source) == ("1.2.0", "version")


def test_metadata_inherited_from_a_class_is_read_as_a_plain_read_would(host):
    source = (
        'class Meta { get name() { return "Cls"; } get displayName() { return "C"; } }\n'
        'Meta.prototype.events = ["Ticker"];\n'
        "module.exports = { metadata: new Meta(), create() {} };"
    )
    report = host.inspect(source, filename="x.js")
    assert report.ok and (report.metadata.name, report.metadata.events) == ("cls", ("Ticker",))


# --- a module cannot fool the extractor, or the next module ----------------------------------------


@pytest.mark.parametrize(
    "trick",
    [
        'JSON.stringify = () => \'{"name":"evil"}\';',
        'Object.prototype.toJSON = function () { return { name: "evil" }; };',
        'Array.prototype.toJSON = () => ["Ticker"];',
        'Array.prototype[Symbol.iterator] = function* () { yield "Ticker"; };',
        'Object.defineProperty(Object.prototype, "name", { get() { return "evil"; }, configurable: true });',
        'Object.keys = () => []; Array.isArray = () => false; Reflect.apply = () => "evil";',
        'Function.prototype.call = Function.prototype.apply = () => "evil"; String = () => "evil";',
        'Object.getOwnPropertyDescriptor = Reflect.getOwnPropertyDescriptor = () => ({ value: "evil" });',
    ],
)
def test_a_module_that_redefines_built_ins_cannot_fool_the_extractor(host, trick):
    meta = metadata(name="Honest", config=[{"name": "n", "type": "int", "default": {"a": [1]}}])
    report = host.inspect(module_js(meta, before=trick + "\n"), filename="x.js")
    assert report.metadata is not None, report.diagnostics
    assert (report.metadata.name, report.metadata.events) == ("honest", ("Trade",))
    assert report.metadata.config[0].default == {"a": [1]}


def test_inherited_built_in_pollution_does_not_name_the_metadata(host):
    source = module_js(metadata(events=None), before='Object.prototype.events = ["Ticker"];\n')
    report = host.inspect(source, filename="x.js")
    assert [d.message for d in report.diagnostics] == ["events must include at least one event type"]


CLEAN_WORLD = """
const checks = [
  !("polluted" in {}), [1].map((x) => x + 1)[0] === 2, typeof globalThis.leak === "undefined",
  JSON.parse("1") === 1, !Object.isFrozen(Array.prototype), Error.prepareStackTrace === undefined,
  Math.random() < 1, " a ".trim() === "a", [1].includes(1),
  Object.getPrototypeOf(Array.prototype) === Object.prototype, [...[1, 2]].length === 2, !("late" in {}),
  typeof [].values().next === "function", (function* () { yield 1; })().next().value === 1,
];
const clean = checks.indexOf(false) === -1 ? "clean" : "dirty at " + checks.indexOf(false);
"""


@pytest.mark.parametrize(
    "polluter",
    [
        "Object.prototype.polluted = 1;",
        "Array.prototype.map = function () { return []; };",
        "globalThis.leak = 1;",
        "JSON.parse = () => 0;",
        "Object.freeze(Array.prototype);",
        'Error.prepareStackTrace = () => "fake";',
        "Math.random = () => 4;",
        'Object.defineProperty(String.prototype, "trim", { get() { return () => ""; } });',
        "delete Array.prototype.includes;",
        "Object.setPrototypeOf(Array.prototype, null);",
        "Object.getPrototypeOf([][Symbol.iterator]()).next = () => ({ done: true });",
        "Object.getPrototypeOf(function* () {}).prototype.next = () => ({ value: 0 });",
        "Promise.resolve().then(() => { Object.prototype.late = 1; });",
        "Object.prototype.polluted = 1; throw new Error('and then fails');",
        "Object.prototype.polluted = 1; while (true) {}",
    ],
)
def test_the_next_module_sees_a_clean_world_whatever_the_previous_one_changed(host, polluter):
    host.inspect(module_js(before=polluter + "\n"), filename="polluter.js")
    report = host.inspect(probe_js("clean", before=CLEAN_WORLD), filename="probe.js")
    assert report.metadata.description == "clean"
    assert host.replacements == 1


FEATURES = """
const match = /(\\d+)-(\\w+)/.exec("12-ab"); const first = RegExp.$1;
new Intl.NumberFormat("en-US").format(1234.5); new Date(0).toLocaleString("en-US", { timeZone: "UTC" });
Symbol.for("shared"); new WeakRef({}); new FinalizationRegistry(() => {}).register({}, 1);
Atomics.add(new Int32Array(new SharedArrayBuffer(8)), 0, 1);
(async function () { await null; })(); [...(function* () { yield 1; })()];
Reflect.ownKeys(new Proxy({}, {})); const holder = {}; Error.captureStackTrace(holder); holder.stack;
new DataView(new ArrayBuffer(4)).setInt8(0, 1); new Float64Array(4).sort(); [...new Map([[1, 2]]).entries()];
[1, 2].values().map((x) => x).toArray(); try { null.x; } catch (err) { err.stack; }
Math.random(); JSON.parse(JSON.stringify({ a: [1] })); "I".toLocaleLowerCase("tr");
"""


def test_using_the_built_ins_is_not_taken_for_changing_them(host):
    for _ in range(2):
        assert host.inspect(module_js(before=FEATURES), filename="features.js").ok
    assert host.inspect(module_js(), filename="next.js").ok
    assert host.replacements == 0


def test_modules_that_change_nothing_share_one_isolate(host):
    for index in range(5):
        assert host.inspect(module_js(metadata(name=f"m{index}")), filename="x.js").ok
    assert (host.evaluations, host.replacements) == (5, 0)


# --- bytes: UTF-8, BOM, CRLF ------------------------------------------------------------------------


def test_invalid_utf8_is_a_compile_diagnostic_naming_the_byte_and_nothing_is_evaluated(host):
    source = b'const a = 1;\nconst b = "\xff";\n'
    report = host.inspect(source, filename="bad.js")
    assert report.headline == 'compile module "bad.js" failed'
    message = "source is not valid UTF-8: byte 0xff at offset 24 (invalid start byte)"
    assert only(report) == Diagnostic("compile", message, 2, 12, "Save the module as UTF-8.")
    assert host.evaluations == 0


def test_an_encoded_surrogate_is_not_utf8(host):
    report = host.inspect(b"const s = '\xed\xa0\x80';", filename="x.js")
    assert only(report).message.startswith("source is not valid UTF-8: byte 0xed at offset 11")


@pytest.mark.parametrize("as_bytes", [True, False])
def test_a_byte_order_mark_is_skipped_and_moves_no_column(host, as_bytes):
    text = "\ufeffconst x = ;"
    report = host.inspect(text.encode() if as_bytes else text, filename="x.js")
    assert position(report) == ("compile", 1, 11)
    good = "\ufeff" + module_js()
    assert host.inspect(good.encode() if as_bytes else good, filename="x.js").ok


def test_a_crlf_module_with_non_ascii_text_loads(host):
    source = module_js(metadata(description="µs"), before="const units = /^(ns|us|µs|ms)$/;\n").replace("\n", "\r\n")
    report = host.inspect(source.encode("utf-8"), filename="x.js")
    assert report.ok and report.metadata.description == "µs"


# --- reports, errors, shared host, lifecycle ------------------------------------------------------


def test_raise_for_problems_raises_the_headline_with_every_diagnostic_and_where(host):
    report = host.inspect(module_js(metadata(name="", displayName="")), filename="x.js")
    with pytest.raises(ModuleError) as caught:
        report.raise_for_problems(path="strategies/x.js", selector="x:v1")
    error = caught.value
    assert (error.headline, error.diagnostics, error.path, error.selector) == (
        "metadata validation failed",
        report.diagnostics,
        "strategies/x.js",
        "x:v1",
    )
    assert error.message.startswith("metadata validation failed: validation error: name required (metadata.name)")
    host.inspect(module_js(), filename="y.js").raise_for_problems()


@pytest.mark.parametrize(
    "source", [module_js(), "let = ;", "while (true) {}", module_js(metadata(events=["Bogus"])), "null.x;"]
)
def test_a_report_round_trips_through_json(host, source):
    report = host.inspect(source, filename="x.js")
    assert ModuleReport.from_dict(json.loads(json.dumps(report.to_dict()))) == report


@pytest.mark.parametrize(
    ("data", "complaint"),
    [
        ([], "module report must be an object"),
        ({"message": 1, "diagnostics": [], "metadata": None}, "message"),
        ({"message": "", "diagnostics": [], "metadata": None, "stoppedByLimit": "yes"}, "stoppedByLimit"),
        (
            {"message": "", "diagnostics": [{"stage": "linking", "message": "x"}], "metadata": None},
            "module report diagnostics: diagnostic stage must be one of",
        ),
        ({"message": "", "diagnostics": [], "metadata": {"name": 5}}, "metadata invalid"),
    ],
)
def test_a_report_of_the_wrong_shape_is_refused(data, complaint):
    with pytest.raises(ModuleError, match=complaint):
        ModuleReport.from_dict(data)


def test_a_host_evaluates_with_the_limits_its_owner_made_it_with():
    with ModuleHost(Limits(eval_seconds=0.1)) as host:
        assert host.inspect(module_js(), filename="x.js").ok
        report = host.inspect("for (;;) {}", filename="x.js")
    assert only(report).message == "top-level code passed the time limit of 0.1 s (limits.eval_seconds)"


def test_a_closed_host_refuses_work():
    host = ModuleHost(SHORT)
    host.inspect(module_js(), filename="x.js")
    host.close()
    host.close()
    with pytest.raises(UsageError):
        host.inspect(module_js(), filename="x.js")


def test_threads_can_share_a_host(host):
    results: dict[int, str] = {}

    def work(index: int) -> None:
        for round_ in range(5):
            report = host.inspect(module_js(metadata(name=f"t{index}r{round_}")), filename="x.js")
            results[index * 10 + round_] = report.metadata.name

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == {i * 10 + r: f"t{i}r{r}" for i in range(4) for r in range(5)}
    assert host.evaluations == 20
