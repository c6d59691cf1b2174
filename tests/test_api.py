"""The top-level API: every advertised name resolves, lazily."""

import subprocess
import sys
from pathlib import Path

import meltica_lab

STRATEGIES = Path(__file__).resolve().parents[1] / "strategies"


def test_every_exported_name_resolves_to_a_documented_object():
    for name in meltica_lab.__all__:
        value = getattr(meltica_lab, name)
        assert getattr(value, "__doc__", None) or isinstance(value, str), name


def test_the_workspace_names_are_public_and_open_does_not_shadow_the_builtin_on_star_import():
    from meltica_lab.backtest.settings import BacktestSettings
    from meltica_lab.workspace import Workspace, open_workspace

    assert {"Workspace", "BacktestSettings"} <= set(meltica_lab.__all__) and "open" in dir(meltica_lab)
    assert meltica_lab.open is open_workspace and meltica_lab.Workspace is Workspace
    assert meltica_lab.BacktestSettings is BacktestSettings
    assert "open" not in meltica_lab.__all__
    namespace: dict[str, object] = {}
    exec("from meltica_lab import *", namespace)
    assert "open" not in namespace


def test_the_split_usage_and_runtime_packages_keep_their_names_and_add_the_new_ones():
    from meltica_lab import runtime, usage
    from meltica_lab.runtime.local_gateway import LocalGateway

    assert set(usage.__all__) == {
        "ZERO_TIME", "UsageExport", "UsageIndex", "UsageRecord", "UsageRows",
        "format_time", "parse_time", "parse_usage_export", "read_usage_export",
    }  # fmt: skip
    assert {"Manager", "USAGE_FILE", "RuntimeState", "Instances", "Refresher", "ModuleOperations", "Queries"} <= set(
        runtime.__all__
    )
    assert meltica_lab.LocalGateway is runtime.LocalGateway is LocalGateway
    for name in [*usage.__all__, *runtime.__all__]:
        value = getattr(usage if name in usage.__all__ else runtime, name)
        assert getattr(value, "__doc__", None) or isinstance(value, str | tuple), name


def test_the_version_is_importable_below_the_facade():
    from meltica_lab.version import __version__

    assert meltica_lab.__version__ == __version__


def test_importing_the_package_loads_no_heavy_layer():
    code = "import sys, meltica_lab; print(any(m in sys.modules for m in ('pandas', 'py_mini_racer')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_a_backtest_imports_nothing_only_other_work_needs():
    # a run that shows no progress bar, reads no YAML, edits no registry and starts no pool loads
    # none of what those need (24 ms and 2.2 MiB of every such process, measured); what the
    # libraries beneath the kit import themselves is theirs
    deferred = ("tqdm", "yaml", "filelock", "difflib", "getpass", "html", "concurrent.futures.process")
    code = (
        "import sys, pandas as pd, pyarrow.compute, py_mini_racer\n"
        "theirs = set(sys.modules)\n"
        "from meltica_lab.backtest import run_backtest\n"
        "frame = pd.DataFrame({'timestamp': [1_700_000_000_000, 1_700_000_000_100], 'price': [1.0, 2.0],\n"
        "                      'quantity': [1.0, 1.0], 'side': ['buy', 'sell']})\n"
        f"run_backtest('momentum', frame, root={str(STRATEGIES)!r}, symbol='X', progress=False)\n"
        f"print(sorted(m for m in {deferred!r} if m in sys.modules and m not in theirs))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_unknown_names_raise_attribute_error():
    try:
        meltica_lab.no_such_thing  # noqa: B018
    except AttributeError as exc:
        assert "no_such_thing" in str(exc)
    else:
        raise AssertionError("expected AttributeError")


def test_every_error_class_survives_pickling_with_its_attributes():
    import pickle

    from meltica_lab import errors
    from meltica_lab.jshost.isolate import JSLimitError

    assert errors.JSLimitError is JSLimitError  # defined in errors, re-exported where it always was

    samples = [
        errors.RegistryError("bad", path="r.json", field="x"),
        errors.AmbiguousHashError("two", candidates=("a", "b"), selector="m@ab"),
        errors.InUseError("busy", instances=("i1",), selector="m"),
        errors.StrategyRuntimeError("stop", strategy="m", handler="onTrade"),
        JSLimitError("time", kind="time", strategy="m", handler="onTrade"),
        errors.JSError("TypeError: x", stage="execute", line=3, column=7, script="meltica-module.js"),
        errors.GatewayError("down", status=503, url="http://h"),
    ]
    for error in samples:
        again = pickle.loads(pickle.dumps(error))
        assert type(again) is type(error) and again.__dict__ == error.__dict__ and str(again) == str(error)
        framed = error.with_context("run 3")
        assert type(framed) is type(error) and framed.message == f"run 3: {error.message}"
        assert str(framed) == framed.message
