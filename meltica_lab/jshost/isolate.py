"""One V8 isolate (mini-racer) prepared as a sandbox, with limits on every call.

V8 brings ``WebAssembly`` and a ``console``; the sandbox removes the one and silences the other, so
that strategy code sees only ECMAScript built-ins plus what the host hands it explicitly (there is no
``setTimeout``: the isolate is made without mini-racer's event loop). Every evaluation has a time
limit, the isolate a hard heap limit and a memory budget (``limits.memory_bytes``: V8's heap limit
does not count typed-array storage, so a watchdog reads the process's resident memory while each
call runs). JavaScript failures come back as :class:`JSError` (with line and column when V8 gives
them), limits as :class:`JSLimitError`; after a heap-limit or memory stop the isolate is marked
``broken`` and must be replaced.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import queue
import re
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from itertools import count
from typing import Any, TypeVar

from py_mini_racer import (
    JSEvalException,
    JSOOMException,
    JSParseException,
    JSTimeoutException,
    init_mini_racer,
)

# An isolate holds mini-racer's Context, not a MiniRacer: a MiniRacer also starts an asyncio event
# loop on a thread of its own and installs setTimeout through it, which the kit neither uses nor lets
# strategies see (see Isolate._call and _PRELUDE). These are private parts of mini-racer 0.14, like
# the callback id of a task it does not track (V8's thread puts that task's result on the context's
# queue); pyproject.toml keeps mini-racer below 0.15.
from py_mini_racer._context import _UNCANCELABLE_TASK_CALLBACK_ID, Context, ContextType
from py_mini_racer._dll import mr_callback_func
from py_mini_racer._objects import ObjectFactoryImpl
from py_mini_racer._value_handle import RawValueHandleType

from meltica_lab.errors import JSError, JSLimitError, UsageError
from meltica_lab.jshost.limits import DEFAULT_LIMITS, Limits
from meltica_lab.malloc import release_free_memory

__all__ = ["Isolate", "JSError", "JSLimitError"]  # the errors live in meltica_lab.errors

_T = TypeVar("_T")
# How long a cancelled call may take to report that V8 stopped it.
_FLUSH_SECONDS = 0.5
# How often a running call's memory is looked at: a bomb allocating at memory speed (a few GiB/s)
# overshoots the budget by at most this long's worth before it is cancelled.
_WATCH_SECONDS = 0.02
_PAGE_BYTES = os.sysconf("SC_PAGE_SIZE")
# How long exit waits for an isolate still being made ahead before it closes the rest.
_SPARE_WAIT_SECONDS = 5.0
_MiB = 1024 * 1024


class _ResidentMemory:
    """The process's resident memory, read from /proc/self/statm through one descriptor kept open
    (a read is then one system call, about 2 us, not an open, a read and a close: every call into V8
    reads it twice); opened again in a forked child, whose /proc/self is another file. 0 where there
    is no /proc."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._fd = -1
        self._pid = 0

    def _descriptor(self) -> int:
        with self._lock:
            if self._pid != os.getpid():
                if self._fd >= 0:
                    os.close(self._fd)  # a forked child's copy of its parent's descriptor
                try:
                    self._fd = os.open("/proc/self/statm", os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
                except OSError:
                    self._fd = -1
                self._pid = os.getpid()  # after the descriptor: other threads read it without the lock
            return self._fd

    def bytes(self) -> int:
        """Resident bytes now."""
        fd = self._fd if self._pid == os.getpid() else self._descriptor()
        if fd < 0:
            return 0
        try:
            return int(os.pread(fd, 128, 0).split()[1]) * _PAGE_BYTES
        except OSError:
            return 0


_resident = _ResidentMemory()


class _MemoryStop(Exception):
    """A call took the isolate past its memory budget (raised on the racer's event loop)."""

    def __init__(self, grown: int) -> None:
        super().__init__(grown)
        self.grown = grown


# One line, so that a setup script evaluated in the same call keeps its line numbers. An arrow
# function has no mutable .prototype, and frozen it cannot carry state between callers.
_PRELUDE = (
    '(function () { "use strict"; const g = globalThis; delete g.WebAssembly;'
    " const noop = Object.freeze(() => {});"
    " g.console = Object.freeze({ log: noop, error: noop, warn: noop, info: noop, debug: noop }); })();"
)

# mini-racer renders an escaped exception as V8's message: "<script>:<line>: <text>", the source
# line, a row of carets under the offending range, a blank line, then the stack trace.
_HEAD_RE = re.compile(r"^(?P<script>.*?):(?P<line>\d+): (?P<message>.*)$")
_CARET_RE = re.compile(r"^( *)\^+ *$")


def _parse_v8_error(text: str, *, stage: str, shift: int = 0) -> JSError:
    """V8's error text as a JSError; ``shift`` code units of line 1 came before the caller's code."""
    lines = text.split("\n")
    head = _HEAD_RE.match(lines[0])
    if head is None:
        return JSError(lines[0].strip() or "unknown error", stage=stage)
    column = 0
    # A message may span lines; the caret row follows the source line, before the blank line.
    for row in lines[2:]:
        if not row:
            break
        caret = _CARET_RE.match(row)
        if caret:
            column = len(caret.group(1)) + 1
            break
    line = int(head.group("line"))
    if line == 1 and column > shift:
        column -= shift
    return JSError(head.group("message"), stage=stage, line=line, column=column, script=head.group("script"))


class _RacerThread:
    """The one thread on which every V8 context of this process is created and freed.

    Freeing a context on another thread than the one that created it can crash the process (SIGSEGV
    in ``mr_free_context``) once the code it ran has touched certain built-ins. This thread lives as
    long as the process; evaluation itself may come from any thread.

    It also makes and keeps the one isolate made ahead of need (:meth:`Isolate.ready`): the process,
    its limits and setup, and the isolate being made, as one of its jobs.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._jobs: queue.SimpleQueue[tuple[Callable[[], Any], Future[Any]]] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._pid = 0
        self._v8_pid = 0
        self._spare: tuple[int, object, Future[Isolate]] | None = None

    @property
    def pid(self) -> int:
        """The process whose thread this is (0 before the first job)."""
        return self._pid

    def runs_v8_here(self) -> bool:
        """Whether V8 may run in this process: it has not, or it was started here. A child forked
        from a process that ran V8 has none of V8's threads: a line of code may still run there,
        but a backtest waited forever for them (measured with a fork-context Pool)."""
        return self._v8_pid in (0, os.getpid())

    def claim_v8(self) -> None:
        """Note that V8 runs in this process; in a child forked from one where it ran, a
        :class:`~meltica_lab.errors.UsageError` that says how to start workers instead."""
        if not self.runs_v8_here():
            raise UsageError(
                f"V8 ran in process {self._v8_pid}, and this process was forked from it: V8 cannot run "
                "in a forked child (it would wait forever for threads fork does not copy). Start worker "
                "processes with multiprocessing's 'spawn' or 'forkserver' method "
                "(multiprocessing.get_context('spawn').Pool()), or run the work with meltica_lab's sweep"
            )
        self._v8_pid = os.getpid()

    def call(self, job: Callable[[], _T]) -> _T:
        """Run ``job`` on the thread and return its result (or raise its exception); a job of the
        thread's own runs it at once."""
        if threading.current_thread() is self._thread:
            return job()
        future: Future[_T] = Future()
        self.submit(job, future)
        return future.result()

    def submit(self, job: Callable[[], Any], future: Future[Any] | None = None) -> None:
        """Queue ``job`` without waiting for it."""
        with self._lock:
            if self._thread is None or self._pid != os.getpid():
                # A forked child inherits the queue but not the thread: start afresh.
                self._jobs = queue.SimpleQueue()
                self._thread = threading.Thread(target=self._serve, args=(self._jobs,), name="meltica-v8", daemon=True)
                self._pid = os.getpid()
                self._thread.start()
            self._jobs.put((job, future or Future()))

    def take_spare(self, key: object) -> Isolate | None:
        """The isolate made ahead for ``key``, once made, or None (none, another key's, another
        process's, or its making failed); a spare made for another key is closed."""
        with self._lock:
            spare, self._spare = self._spare, None
        if spare is None or spare[0] != os.getpid():
            return None  # a forked child does not own its parent's isolates
        _pid, made_for, future = spare
        if made_for != key:
            _discard(future)
            return None
        try:
            return future.result()
        except BaseException:  # made again by the caller, which then sees the error itself
            return None

    def make_spare(self, key: object, make: Callable[[], Isolate]) -> None:
        """Queue the making of the next isolate for ``key``."""
        future: Future[Isolate] = Future()
        self.submit(make, future)
        with self._lock:
            old, self._spare = self._spare, (os.getpid(), key, future)
        if old is not None and old[0] == os.getpid():
            _discard(old[2])

    def drop_spare(self) -> None:
        """Close the isolate made ahead, once it is made (at exit)."""
        with self._lock:
            spare, self._spare = self._spare, None
        if spare is not None and spare[0] == os.getpid():
            with contextlib.suppress(BaseException):
                spare[2].result(timeout=_SPARE_WAIT_SECONDS).close()

    @staticmethod
    def _serve(jobs: queue.SimpleQueue[tuple[Callable[[], Any], Future[Any]]]) -> None:
        while True:
            job, future = jobs.get()
            try:
                future.set_result(job())
            except BaseException as exc:  # handed to the caller, who re-raises it
                future.set_exception(exc)


def _discard(future: Future[Isolate]) -> None:
    """Close the isolate ``future`` makes, whenever it is made."""

    def close(done: Future[Isolate]) -> None:
        if done.exception() is None:
            done.result().close()

    future.add_done_callback(close)


_racer_thread = _RacerThread()
# V8's flags, for the whole process (set before its first isolate). mini-racer's default,
# --single-threaded, keeps V8 from starting threads of its own, for processes that fork after using
# V8; but such a child hangs with or without it (measured: a fork-context Pool running backtests
# after the parent ran one), so such a child is refused V8 (_RacerThread.claim_v8), and the kit never
# forks a process that has run V8 (a sweep's pool starts from a fork server). With V8's defaults
# it compiles optimised code and collects garbage on the other core: a 100k-trade backtest took
# 12-30 % less wall time (alternating processes).
# --no-lazy compiles every function of a script when the script is compiled, not at its first call:
# the host script is then compiled while its isolate is made ahead (Isolate.ready), off the path of
# the run that takes it. A 100-trade backtest took 1-4 ms less (alternating processes), the module's
# evaluation and first chunk about 2 ms less; long runs are unchanged, since V8 optimises hot code
# the same way. Where mini-racer was started before the kit made an isolate, its flags stay as they were.
_V8_FLAGS: tuple[str, ...] = ("--no-lazy",)

# Every open context with the callback V8 reports through, held here until the context is freed on
# the racer thread: the callback must outlive the context, and a context is freed only there.
_open_contexts: dict[int, tuple[Context, Callable[[int, RawValueHandleType], None]]] = {}


def _new_context() -> Context:
    """A new V8 isolate and context (on the racer thread)."""
    _racer_thread.claim_v8()
    dll = init_mini_racer(flags=_V8_FLAGS, ignore_duplicate_init=True)
    made: list[Context] = []

    @mr_callback_func
    def report(callback_id: int, raw: RawValueHandleType) -> None:
        made[0].handle_callback_from_v8(callback_id, raw)

    # no event loop: it would only serve the tasks mini-racer tracks, and an isolate makes none
    context = Context(dll, ContextType(dll.mr_init_context(report)), None, ObjectFactoryImpl(), count(1))
    made.append(context)
    _open_contexts[id(context)] = (context, report)
    return context


def _free_context(context: Context, *, release: bool = False) -> None:
    """Free ``context`` (on the racer thread); with ``release``, return the memory it held to the
    system first (see :meth:`Isolate.close`)."""
    held = _open_contexts.pop(id(context), None)
    # a forked child's copies of its parent's contexts are left alone: freeing one would wait for
    # V8's threads, which the child does not have
    if held is not None and _racer_thread.runs_v8_here():
        if release:
            # V8 pools the pages of a freed heap for the isolates to come; collected first, the
            # pool is emptied back to the system
            context.low_memory_notification()
        # held keeps the callback alive until V8 is done with it: freeing ends the calls in flight,
        # and they report through it
        context._dll.mr_free_context(context._ctx)
        del held
        if release:
            # what V8 freed to malloc (its compilers' zones, the isolate's tables) stays in the
            # process otherwise, in the arenas of the threads that used it
            release_free_memory()


def _close_all_at_exit() -> None:
    # Contexts still open at exit (a process-wide module host, an isolate a caller never closed) are
    # freed on the racer thread while it is still alive.
    _racer_thread.drop_spare()
    contexts = [context for context, _report in _open_contexts.values()]
    if contexts and _racer_thread.pid == os.getpid():
        _racer_thread.call(lambda: [_free_context(context) for context in contexts])


atexit.register(_close_all_at_exit)


class Isolate:
    """A sandboxed V8 isolate. Use as a context manager or call :meth:`close`.

    ``eval`` runs code under ``limits.call_seconds`` unless a time is given; ``eval_json`` returns
    a JSON-decoded value (the reliable way to bring structured results back to Python).

    ``setup`` is the kit's own code to run before anything else (a host script): it runs in the
    same call as the sandbox's prelude, under the same limits as :meth:`eval`, and its value is
    :attr:`setup_value`. An isolate whose setup fails is closed, and the error raised.
    """

    def __init__(self, limits: Limits = DEFAULT_LIMITS, *, setup: str | None = None) -> None:
        self.limits = limits
        self.broken = False
        # why a broken isolate takes no more calls, as the kind of stop and the words of its error
        self._broken_by = ("heap", "reaching its heap limit")
        self._context = _racer_thread.call(_new_context)
        self._closed = False
        self._calling = threading.Lock()  # one call at a time: results come back in order
        # What this isolate's calls have added to the process's resident memory, so far. Only the
        # time inside calls counts: what Python allocates between them (result frames, a notebook's
        # data) is not the strategy's. V8 running a call may also free memory, which counts down.
        self._grown = 0
        self._context.set_hard_memory_limit(limits.heap_bytes)
        self.setup_value: Any = None
        try:
            self.setup_value = self._evaluate(_PRELUDE + (setup or ""), seconds=None, shift=len(_PRELUDE))
        except BaseException:
            self.close()
            raise

    @classmethod
    def ready(cls, limits: Limits, setup: str, *, ahead: str | None = None, make_next: bool = True) -> Isolate:
        """An isolate with ``setup`` run, as ``Isolate(limits, setup=setup)`` makes it: the one made
        ahead for these limits and setup when there is one, else a new one; either way the next is
        then made in the background (unless ``make_next`` is false), and ``ahead`` (code that
        prepares work without running any caller's code, such as compiling the module the next run
        is likely to bring) evaluated in it, in the same call as the setup (its
        :attr:`setup_value` is then ``ahead``'s value).
        A fresh isolate with the kit's setup run costs about as much as a short backtest (a V8
        context, the host script); a process that runs many sessions in a row (a notebook, a sweep
        worker) has it made on the racer thread while the current one runs. The isolate made ahead
        has run nothing but the setup and ``ahead``, like a new one. While it is being made, the
        memory it takes (a few MiB) also shows in the memory budget of any other isolate's call
        running then (budgets start at 1 GiB above the heap limit)."""
        key = (limits, setup)
        isolate = _racer_thread.take_spare(key)
        if isolate is None:
            isolate = cls(limits, setup=setup)

        def make() -> Isolate:
            # setup and ahead in one call: each call's end is a hand-over of the GIL, which the run
            # going on meanwhile holds most of the time (back-to-back 100-trade runs took 1.5 ms less)
            return cls(limits, setup=setup if ahead is None else f"{setup}\n;{ahead}")

        if make_next:
            _racer_thread.make_spare(key, make)
        return isolate

    @property
    def v8_version(self) -> str:
        """The V8 version of this isolate."""
        return self._context.v8_version()

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called: the isolate then takes no more calls."""
        return self._closed

    def _open_context(self) -> Context:
        # the context of a closed isolate is freed, or about to be: a call into it, or a write to
        # memory it shared, could crash the process
        if self._closed:
            raise UsageError("this isolate is closed: make a new one")
        return self._context

    def eval(self, code: str, *, seconds: float | None = None) -> Any:
        """Evaluate ``code``; raises :class:`JSError` or :class:`JSLimitError` (a
        :class:`~meltica_lab.errors.UsageError` once the isolate is closed).

        A buffer or typed array comes back as a memoryview of V8's memory, valid until the isolate
        is closed."""
        return self._evaluate(code, seconds=seconds, shift=0)

    def _evaluate(self, code: str, *, seconds: float | None, shift: int) -> Any:
        self._open_context()
        if self.broken:
            kind, why = self._broken_by
            raise JSLimitError(f"isolate unusable after {why}", kind=kind)
        limit = self.limits.call_seconds if seconds is None else seconds
        try:
            with self._calling:
                return self._call(code, limit)
        except JSTimeoutException:
            raise JSLimitError(f"time limit of {limit:g} s exceeded", kind="time") from None
        except _MemoryStop as stop:
            self.broken = True
            budget = self.limits.memory_bytes
            raise JSLimitError(
                f"heap limit of {self.limits.heap_bytes // _MiB} MiB exceeded: heap and typed arrays grew the "
                f"process by {stop.grown // _MiB} MiB, over their budget of {budget // _MiB} MiB "
                "(limits.memory_bytes)",
                kind="heap",
            ) from None
        except JSOOMException:
            self.broken = True
            raise JSLimitError(
                f"heap limit of {self.limits.heap_bytes // (1024 * 1024)} MiB exceeded", kind="heap"
            ) from None
        except JSParseException as exc:
            raise _parse_v8_error(str(exc), stage="compile", shift=shift) from None
        except JSEvalException as exc:
            raise _parse_v8_error(str(exc), stage="execute", shift=shift) from None

    def _call(self, code: str, limit: float) -> Any:
        """Run ``code`` under the time limit and the memory budget; the caller holds ``_calling``.

        The call goes straight to mini-racer's library, and its result comes back through the
        context's queue for untracked tasks, which V8's thread fills: two thread switches a call
        instead of the four of mini-racer's event-loop path (about 0.05 against 0.25 ms). While it
        runs, this thread looks at it every ``_WATCH_SECONDS``; to stop it, it cancels the task,
        which makes V8 terminate the JavaScript and still report, so the queue stays in step.
        """
        ctx = self._context
        results = ctx._non_cancelable_mr_task_results_queue
        handle = ctx._python_to_value_handle(code)  # kept until the result is in: V8 reads it
        start = _resident.bytes()
        allowed = self.limits.memory_bytes - self._grown
        deadline = time.monotonic() + limit
        stop: BaseException | None = None
        task = ctx._dll.mr_eval(ctx._ctx, handle.raw, _UNCANCELABLE_TASK_CALLBACK_ID)
        try:
            while True:
                try:
                    value = results.get(timeout=max(0.0, min(_WATCH_SECONDS, deadline - time.monotonic())))
                    break
                except queue.Empty:
                    grown = _resident.bytes() - start
                    if grown > allowed:
                        stop = _MemoryStop(self._grown + grown)
                    elif time.monotonic() >= deadline:
                        stop = JSTimeoutException()
                    else:
                        continue
                raise stop
        except BaseException:
            # stopped by the watch, or interrupted while V8 runs (Ctrl-C in a notebook): cancel the
            # task and take its report, or the next call would read this one's
            ctx._dll.mr_cancel_task(ctx._ctx, task)
            try:
                results.get(timeout=_FLUSH_SECONDS)
            except queue.Empty:
                # V8 did not stop (stuck in a built-in): its late report would put the queue out
                # of step, so this isolate takes no more calls
                self.broken = True
                self._broken_by = ("time", f"a call V8 did not stop within {_FLUSH_SECONDS:g} s of being cancelled")
            raise
        finally:
            self._grown += _resident.bytes() - start
        del handle
        if self._grown > self.limits.memory_bytes:
            # a call that ended just past the budget, or memory held from call to call
            raise _MemoryStop(self._grown)
        result = ctx._value_handle_to_python(value)
        if isinstance(result, memoryview):
            # mini-racer ties the view to the context, not to the value: once V8 collected the
            # buffer (when nothing in JavaScript refers to it any more, as with a table returned to
            # Python) the view read freed memory. The value's handle holds the buffer's memory for
            # as long as the view lives (no longer than the isolate: closing frees every handle).
            result.obj._value = value
        return result

    def eval_json(self, code: str, *, seconds: float | None = None) -> Any:
        """Evaluate an expression inside V8, ``JSON.stringify`` it there, and decode it here."""
        text = self.eval(f"JSON.stringify({code})", seconds=seconds)
        return None if text is None or not isinstance(text, str) else json.loads(text)

    def heap_used(self) -> int:
        """Bytes of V8 heap in use."""
        return int(json.loads(self._open_context().heap_stats()).get("used_heap_size", 0))

    def heap_total(self) -> int:
        """Bytes of V8 heap the isolate holds (in use, garbage not yet collected, free pages)."""
        return int(json.loads(self._open_context().heap_stats()).get("total_heap_size", 0))

    def collect_garbage(self) -> None:
        """Have V8 collect all its garbage and return the pages it frees to the system (full,
        compacting collections: about a millisecond per MiB of heap). V8 otherwise keeps garbage until
        its next full collection, and freed pages pooled, even after the isolate is closed."""
        context = self._open_context()
        start = _resident.bytes()
        context.low_memory_notification()
        self._grown += _resident.bytes() - start  # the budget counts what the strategy holds

    def close(self, *, release: bool = False) -> Future[None]:
        """Release the isolate: it takes no more calls, and the thread that created it frees it (see
        :class:`_RacerThread`). That happens after this returns, and the future returned is done
        when it has happened: freeing an isolate takes about a millisecond, which a caller need
        not wait for.

        ``release`` is for an isolate that ran a long job: V8 then collects its heap before it is
        freed, and the memory both leave behind goes back to the system instead of staying with
        the process for later isolates (7-17 MiB after a 1M-trade backtest). That takes the racer
        thread 20-50 ms after a 1M-trade backtest; a caller about to allocate as much waits for
        the future first, or the two add up."""
        freed: Future[None] = Future()
        if self._closed:
            freed.set_result(None)
            return freed
        self._closed = True
        context = self._context
        _racer_thread.submit(lambda: _free_context(context, release=release), freed)
        return freed

    def __del__(self) -> None:
        # An isolate nobody closed: mini-racer would free it on the collecting thread, which can
        # crash. During interpreter shutdown no thread can be started any more; then it leaks.
        if not getattr(self, "_closed", True):
            context = self._context
            with contextlib.suppress(RuntimeError):
                _racer_thread.submit(lambda: _free_context(context))

    def __enter__(self) -> Isolate:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
