"""The sandboxed isolate: what strategy code sees, how failures and limits come back, thread safety."""

import _thread
import asyncio
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pytest

from meltica_lab.errors import UsageError
from meltica_lab.jshost.isolate import Isolate, JSError, JSLimitError, _racer_thread, _resident
from meltica_lab.jshost.limits import Limits


@pytest.fixture
def isolate():
    with Isolate(Limits(eval_seconds=0.25, call_seconds=2.0, heap_bytes=64 * 2**20)) as iso:
        yield iso


@pytest.mark.parametrize("name", ["setTimeout", "clearTimeout", "WebAssembly", "require", "process"])
def test_host_globals_are_gone(isolate, name):
    assert isolate.eval(f"typeof {name}") == "undefined"


def test_console_is_a_frozen_no_op_that_cannot_carry_state(isolate):
    assert isolate.eval("console.log('x'); console.error(1); Object.isFrozen(console)") is True
    assert isolate.eval("Object.isFrozen(console.log) && console.log.prototype === undefined") is True


def test_a_setup_script_runs_in_the_sandbox_in_the_first_call_and_its_value_is_kept():
    setup = "const kept = 41;\n[typeof setTimeout, typeof WebAssembly, Object.isFrozen(console)].join(' ')"
    with Isolate(setup=setup) as iso:
        assert iso.setup_value == "undefined undefined true"
        assert iso.eval("kept + 1") == 42


@pytest.mark.parametrize(
    ("setup", "where"),
    [
        ("let b = ;", ("compile", 1, 9)),
        ("let a = 1;\nlet b = ;", ("compile", 2, 9)),
        ("  throw new Error('x');", ("execute", 1, 3)),
    ],
)
def test_a_failing_setup_reports_its_own_line_and_column(setup, where):
    with pytest.raises(JSError) as caught:
        Isolate(setup=setup)
    assert (caught.value.stage, caught.value.line, caught.value.column) == where


def test_a_setup_that_runs_too_long_is_stopped_by_the_time_limit():
    with pytest.raises(JSLimitError) as caught:
        Isolate(Limits(call_seconds=0.2), setup="while (true) {}")
    assert caught.value.kind == "time"


def test_syntax_error_reports_line_and_column(isolate):
    with pytest.raises(JSError) as caught:
        isolate.eval("let a = 1;\nlet b = ;")
    error = caught.value
    assert (error.stage, error.line, error.column, error.script) == ("compile", 2, 9, "<anonymous>")
    assert error.js_message == "SyntaxError: Unexpected token ';'"


def test_thrown_error_reports_where_it_was_thrown(isolate):
    with pytest.raises(JSError) as caught:
        isolate.eval('const e = new TypeError("boom");\n\n  throw e;')
    assert (caught.value.stage, caught.value.js_message) == ("execute", "TypeError: boom")
    assert (caught.value.line, caught.value.column) == (3, 3)


def test_a_message_over_several_lines_still_gives_the_column(isolate):
    with pytest.raises(JSError) as caught:
        isolate.eval('\n    throw new Error("first\\nsecond");')
    assert (caught.value.js_message, caught.value.line, caught.value.column) == ("Error: first", 2, 5)


def test_a_thrown_string_is_its_own_message(isolate):
    with pytest.raises(JSError) as caught:
        isolate.eval('throw "plain"')
    assert caught.value.js_message == "plain"


def test_time_limit_stops_a_loop_and_the_isolate_stays_usable(isolate):
    with pytest.raises(JSLimitError) as caught:
        isolate.eval("while (true) {}", seconds=0.1)
    assert caught.value.kind == "time"
    assert "0.1 s" in caught.value.message
    assert isolate.eval("6 * 7") == 42


def test_heap_limit_stops_allocation_and_marks_the_isolate_broken(isolate):
    with pytest.raises(JSLimitError) as caught:
        isolate.eval("const a = []; while (true) a.push(new Array(100000).fill(1.5));")
    assert caught.value.kind == "heap"
    assert "64 MiB" in caught.value.message
    assert isolate.broken
    with pytest.raises(JSLimitError):
        isolate.eval("1")


# 16 MiB of doubles per array; the fixture's 64 MiB heap limit gives a memory budget of 1,088 MiB;
# the calls get time enough that only memory can stop them
_BIG = "new Float64Array(2 * 1024 * 1024)"


def test_typed_arrays_held_in_one_call_are_stopped_by_the_memory_budget(isolate):
    with pytest.raises(JSLimitError) as caught:
        isolate.eval(f"const hoard = []; while (true) hoard.push({_BIG}.fill(1.5));", seconds=60)
    assert caught.value.kind == "heap"
    assert "heap limit of 64 MiB" in caught.value.message and "typed arrays" in caught.value.message
    assert isolate.broken


def test_typed_arrays_held_from_call_to_call_are_stopped_by_the_memory_budget(isolate):
    isolate.eval("globalThis.hoard = [];")
    with pytest.raises(JSLimitError) as caught:
        # each call holds 32 MiB more and ends well within its time; the budget is met across calls
        for _ in range(48):
            isolate.eval(f"hoard.push({_BIG}.fill(1), {_BIG}.fill(2)); hoard.length", seconds=60)
    assert caught.value.kind == "heap"
    assert isolate.broken


def test_typed_arrays_made_and_dropped_call_after_call_are_not_stopped(isolate):
    # 2 GiB made in all, 128 at most alive before the collector frees them: far past the budget
    # if dropped storage were counted, well within it as it is
    for _ in range(16):
        total = isolate.eval(
            f"(() => {{ let t = 0; for (let i = 0; i < 8; i++) t += {_BIG}.fill(i)[7]; return t; }})()", seconds=60
        )
        assert total == 28
    assert not isolate.broken


def test_eval_json_brings_back_structures(isolate):
    assert isolate.eval_json("({a: [1, 'x', null], b: true})") == {"a": [1, "x", None], "b": True}


def test_time_limits_work_when_created_inside_a_running_event_loop():
    # A Jupyter kernel runs cells inside an asyncio loop; mini-racer would adopt it and refuse timeouts.
    async def inside_loop() -> str:
        with Isolate() as iso:
            try:
                iso.eval("while (true) {}", seconds=0.1)
            except JSLimitError as exc:
                return exc.kind
        return "no limit"

    assert asyncio.run(inside_loop()) == "time"


def test_isolates_can_be_used_and_closed_from_any_thread():
    isolates: list[Isolate] = []
    worker = threading.Thread(target=lambda: isolates.append(Isolate()))
    worker.start()
    worker.join()
    assert isolates[0].eval("1 + 1") == 2
    isolates[0].close()


def _run_python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=120)


def test_closing_on_another_thread_after_touching_the_built_ins_does_not_crash_the_process():
    # mini-racer 0.14 segfaults freeing such a context on a thread other than its creator's.
    result = _run_python(
        """
        import threading
        from meltica_lab.jshost.module import ModuleHost
        holder = []
        def work():
            host = ModuleHost()
            host.inspect("module.exports = {}", filename="x.js")
            holder.append(host)
        t = threading.Thread(target=work); t.start(); t.join()
        holder[0].close()
        print("closed")
        """
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "closed"


def test_a_child_forked_after_v8_ran_is_refused_an_isolate_with_an_error_that_says_what_to_use():
    # V8's threads do not survive fork: in a fork-context Pool (Linux's default) started after the
    # parent ran a backtest, a backtest waited forever for them, while a line of code still ran
    result = _run_python(
        """
        import multiprocessing
        from meltica_lab.jshost.isolate import Isolate

        def child(_):
            try:
                with Isolate() as iso:
                    return iso.eval("1 + 1")
            except Exception as exc:
                return f"{type(exc).__name__}: {exc}"

        if __name__ == "__main__":
            with Isolate() as iso:
                assert iso.eval("1 + 1") == 2
            with multiprocessing.get_context("fork").Pool(1) as pool:
                print(pool.map_async(child, [0]).get(timeout=60)[0])
            with Isolate() as iso:
                print("parent", iso.eval("2 + 2"))
        """
    )
    assert result.returncode == 0, result.stderr[-2000:]
    refused, parent = result.stdout.strip().splitlines()
    assert refused.startswith("UsageError: V8 ran in process ")
    assert "forked from it" in refused and "'spawn' or 'forkserver'" in refused
    assert parent == "parent 4"


def test_an_isolate_nobody_closed_is_released_safely():
    result = _run_python(
        """
        import gc, threading
        from meltica_lab.jshost.isolate import Isolate
        def work():
            iso = Isolate()
            iso.eval("Reflect.ownKeys(globalThis).map((k) => Reflect.getOwnPropertyDescriptor(globalThis, k))")
            iso.eval("[].values().map((x) => x); /(?:)/g[Symbol.matchAll]('')")
        t = threading.Thread(target=work); t.start(); t.join()
        gc.collect()
        print("released")
        """
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "released" in result.stdout


def test_a_ready_isolate_is_the_one_made_ahead_for_the_same_limits_and_setup():
    setup = "globalThis.made = (globalThis.made || 0) + 1; 'set up'"
    first = Isolate.ready(Limits(), setup)
    spare = _racer_thread._spare
    assert spare is not None and spare[1] == (Limits(), setup)
    second = Isolate.ready(Limits(), setup)
    try:
        assert second is spare[2].result(timeout=60)
        # made ahead, it has run its setup once and nothing else, as a new isolate has
        assert first.eval("made") == second.eval("made") == 1 and second.setup_value == "set up"
        assert first.eval("typeof setTimeout") == second.eval("typeof setTimeout") == "undefined"
    finally:
        first.close()
        second.close()


def test_a_ready_isolate_that_makes_no_next_one_leaves_none_made_ahead_and_the_next_is_new():
    setup = "globalThis.made = (globalThis.made || 0) + 1; 'set up'"
    Isolate.ready(Limits(), setup).close()  # one made ahead now waits
    first = Isolate.ready(Limits(), setup, make_next=False)
    try:
        assert _racer_thread._spare is None  # taken, and none made after it
        second = Isolate.ready(Limits(), setup)
        try:
            assert second is not first and second.eval("made") == 1 and second.setup_value == "set up"
        finally:
            second.close()
    finally:
        first.close()


def test_the_isolate_made_ahead_has_also_evaluated_the_code_given_to_prepare_it_and_nothing_else():
    setup = "globalThis.made = (globalThis.made || 0) + 1; 'set up'"
    first = Isolate.ready(Limits(), setup, ahead="globalThis.prepared = (globalThis.prepared || 0) + 1")
    second = Isolate.ready(Limits(), setup)
    try:
        assert first.eval("typeof prepared") == "undefined"
        assert second.eval("made") == 1 and second.eval("prepared") == 1
    finally:
        first.close()
        second.close()


def test_code_that_fails_to_prepare_the_isolate_made_ahead_leaves_the_next_ready_isolate_a_new_one():
    first = Isolate.ready(Limits(), "1", ahead="throw new Error('not now')")
    second = Isolate.ready(Limits(), "1")
    try:
        assert second.eval("1 + 1") == 2 and not second.broken
    finally:
        first.close()
        second.close()


def test_an_isolate_made_ahead_for_other_limits_is_closed_and_not_handed_out():
    setup = "1"
    Isolate.ready(Limits(), setup).close()
    spare = _racer_thread._spare[2].result(timeout=60)
    other = Isolate.ready(Limits(heap_bytes=256 * 1024 * 1024), setup)
    try:
        assert other is not spare and other.limits.heap_bytes == 256 * 1024 * 1024
        _wait_until(lambda: spare._closed)
    finally:
        other.close()


def test_a_setup_that_fails_fails_every_ready_isolate_with_its_own_error():
    for _ in range(2):
        with pytest.raises(JSError, match="no setup"):
            Isolate.ready(Limits(), "throw new Error('no setup')")


def test_an_isolate_made_ahead_is_closed_at_exit():
    result = _run_python(
        """
        from meltica_lab.jshost.isolate import Isolate
        from meltica_lab.jshost.limits import Limits
        Isolate.ready(Limits(), "[].values().map((x) => x); 1").close()
        print("done")
        """
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "done" and "Exception ignored" not in result.stderr


def _wait_until(condition, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


def test_collect_garbage_returns_the_heap_garbage_left_by_earlier_calls(isolate):
    # a window of objects that live a little while: V8 promotes them and keeps them past their use
    isolate.eval(
        "var ring = new Array(20000); for (let i = 0; i < 1e6; i++) ring[i % 20000] = {a: i, b: [i]}; ring = null; 0"
    )
    before = isolate.heap_total()
    isolate.collect_garbage()
    assert isolate.heap_total() < before / 2
    assert isolate.eval("1 + 1") == 2


def test_an_isolate_closed_with_release_gives_the_memory_its_heap_grew_by_back_to_the_system():
    isolate = Isolate()
    start = _resident.bytes()
    isolate.eval("var keep = []; for (let k = 0; k < 2e5; k++) keep.push({a: k, b: [k], c: 'x' + k}); keep = null; 0")
    grown = _resident.bytes() - start
    assert grown > 16 << 20
    before = _resident.bytes()
    isolate.close(release=True)
    _racer_thread.call(lambda: None)  # the isolate is freed on the racer thread, after close returns
    assert before - _resident.bytes() > grown / 2


def test_a_buffer_returned_to_python_keeps_its_values_after_v8_collects_it(isolate):
    # nothing in JavaScript refers to the array once it is returned: V8 collects it, and mini-racer's
    # view of it read freed memory (the result tables of a backtest, read after one more call)
    view = isolate.eval("(() => { const a = new Float64Array(20000); a.fill(7.5); return a; })()")
    isolate.eval("{ let x = []; for (let i = 0; i < 2000; i++) x.push(new Float64Array(2000).fill(1)); } 0")
    isolate.collect_garbage()
    isolate.eval("globalThis.kept = Array.from({ length: 200 }, () => new Float64Array(20000).fill(3)); 0")
    values = np.frombuffer(view, dtype=np.float64)
    assert len(values) == 20000
    assert (values == 7.5).all()


def test_a_closed_isolate_refuses_calls_with_a_usage_error():
    isolate = Isolate()
    isolate.close()
    for call in (lambda: isolate.eval("1"), isolate.heap_used, isolate.heap_total, isolate.collect_garbage):
        with pytest.raises(UsageError, match="this isolate is closed"):
            call()
    assert isolate.closed


def test_a_view_dropped_after_its_isolate_was_freed_does_not_crash_the_process():
    result = _run_python(
        """
        import gc
        from meltica_lab.jshost.isolate import Isolate, _racer_thread
        iso = Isolate()
        view = iso.eval("new Float64Array(1000)")
        iso.close()
        _racer_thread.call(lambda: None)  # freed on the racer thread, after close returns
        del view
        gc.collect()
        print("dropped")
        """
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "dropped" in result.stdout


def test_a_call_interrupted_while_v8_runs_is_stopped_and_the_next_call_gets_its_own_value(isolate):
    timer = threading.Timer(0.3, _thread.interrupt_main)
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            isolate.eval("for (;;) {}", seconds=60)
    finally:
        timer.cancel()
    assert isolate.eval("1 + 1") == 2 and isolate.eval("'two'") == "two"


def test_an_isolate_whose_cancelled_call_does_not_report_in_time_takes_no_more_calls_and_says_why(monkeypatch):
    import meltica_lab.jshost.isolate as isolate_module

    monkeypatch.setattr(isolate_module, "_FLUSH_SECONDS", 0.05)
    with Isolate(Limits(call_seconds=0.2)) as stuck:
        dll = stuck._context._dll
        cancel = dll.mr_cancel_task
        # V8 is told to stop only after the isolate has stopped waiting for its report, as when a
        # built-in that never checks for interrupts runs on
        monkeypatch.setattr(dll, "mr_cancel_task", lambda *args: threading.Timer(0.3, cancel, args).start())
        with pytest.raises(JSLimitError, match="time limit"):
            stuck.eval("for (;;) {}")
        assert stuck.broken
        with pytest.raises(JSLimitError, match=r"did not stop within 0\.05 s of being cancelled") as refused:
            stuck.eval("1")
        assert refused.value.kind == "time"
        monkeypatch.undo()
        # V8 stops and reports (late) before the isolate is closed
        stuck._context._non_cancelable_mr_task_results_queue.get(timeout=60)


def test_the_resident_memory_read_in_a_forked_child_is_the_childs_own():
    # the descriptor kept open on /proc/self/statm is the parent's file: a child must open its own
    script = textwrap.dedent(
        """
        import os
        from meltica_lab.jshost.isolate import _resident
        before = _resident.bytes()
        read, write = os.pipe()
        child = os.fork()
        if child == 0:
            grown = bytearray(256 << 20)
            grown[:: 4096] = b"x" * len(grown[:: 4096])
            os.write(write, str(_resident.bytes()).encode())
            os._exit(0)
        os.close(write)
        in_child = int(os.read(read, 64))
        os.waitpid(child, 0)
        print(before, in_child, _resident.bytes())
        """
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120)
    before, in_child, parent_after = (int(v) for v in out.stdout.split())
    assert in_child - before > 200 << 20  # the child's 256 MiB show in the child's reading
    assert parent_after - before < 100 << 20  # and not in the parent's
