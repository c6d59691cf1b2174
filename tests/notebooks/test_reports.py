"""The report API: parameter parsing, papermill runs, HTML export, and failures that write nothing."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from meltica_lab.errors import MelticaLabError, UsageError
from meltica_lab.reports import (
    as_list,
    as_mapping,
    notebook_parameters,
    parse_cli_parameters,
    parse_parameter_value,
    read_parameters_file,
    resolve_path_parameters,
    run_report,
)
from tests.conftest import snapshot_tree
from tests.notebooks.notebook_files import printed

PAPERMILL = Path(sys.executable).with_name("papermill")


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("20", 20),
        ("0.5", 0.5),
        ("true", True),
        ("null", None),
        ("{lookback: 20, cooldown: 5s}", {"lookback": 20, "cooldown": "5s"}),
        ("[momentum:v1.0.0, momentum@sha256:ab]", ["momentum:v1.0.0", "momentum@sha256:ab"]),
        ("momentum:v1.2.0", "momentum:v1.2.0"),
        ("2024-03-01", "2024-03-01"),
    ],
)
def test_parameter_values_parse_as_yaml_with_dates_kept_as_text(text: str, value: object) -> None:
    assert parse_parameter_value(text) == value


def test_invalid_yaml_parameter_names_the_parameter() -> None:
    with pytest.raises(UsageError, match=re.escape("parameter config: '{a: ' is not valid YAML")):
        parse_parameter_value("{a: ", name="config")


def test_as_mapping_and_as_list_accept_objects_text_and_none() -> None:
    assert as_mapping("{lookback: 20}", "config") == {"lookback": 20}
    assert as_mapping({"a": 1}, "config") == {"a": 1}
    assert as_mapping(None, "config") == {}
    assert as_list("[a, b]", "compare_with") == ["a", "b"]
    assert as_list("momentum:v1.0.0", "compare_with") == ["momentum:v1.0.0"]
    assert as_list(("a",), "compare_with") == ["a"]
    assert as_list(None, "compare_with") == []


def test_as_mapping_and_as_list_reject_the_wrong_shape_naming_the_parameter() -> None:
    with pytest.raises(UsageError, match="parameter config: expected a mapping"):
        as_mapping("[1, 2]", "config")
    with pytest.raises(UsageError, match="parameter compare_with: expected a list"):
        as_list({"a": 1}, "compare_with")


def test_parameters_file_must_hold_a_mapping(tmp_path: Path) -> None:
    good = tmp_path / "good.yaml"
    good.write_text("config:\n  lookback: 20\ncompare_with: [a, b]\n", encoding="utf-8")
    assert read_parameters_file(good) == {"config": {"lookback": 20}, "compare_with": ["a", "b"]}
    bad = tmp_path / "bad.yaml"
    bad.write_text("- a\n- b\n", encoding="utf-8")
    with pytest.raises(UsageError, match=r"bad\.yaml: expected a mapping of parameter names"):
        read_parameters_file(bad)


def test_notebook_parameters_reads_the_tagged_cell(toy_notebook: Path) -> None:
    declared = notebook_parameters(toy_notebook)
    assert list(declared) == ["config", "names", "selector", "fail"]
    assert declared["selector"].type_name == "str"
    assert declared["config"].type_name == "None"  # not annotated: command-line text is parsed as YAML


def test_cli_values_for_parameters_annotated_str_stay_text(toy_notebook: Path) -> None:
    values = parse_cli_parameters(
        toy_notebook, [("selector", "12345678"), ("config", "{lookback: 3}"), ("fail", "true")]
    )
    assert values == {"selector": "12345678", "config": {"lookback": 3}, "fail": True}


def test_run_report_writes_the_executed_notebook_and_static_html(toy_notebook: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    report = run_report(toy_notebook, parameters={"config": {"lookback": 3}, "names": ["x", "y"]}, out=out)
    assert report.executed == out / "toy.ipynb"
    assert report.html == out / "toy.html"
    assert printed(report.executed) == "{'lookback': 3} ['x', 'y'] 'momentum'\n"
    page = report.html.read_text(encoding="utf-8")
    assert "toy static state" in page  # the widget's text/html twin, since the export keeps no widget state
    assert sorted(p.name for p in out.iterdir()) == ["toy.html", "toy.ipynb"]
    assert report.seconds > 0


def test_a_failing_notebook_names_the_cell_and_leaves_the_output_folder_unchanged(
    toy_notebook: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "toy.ipynb").write_text("previous run", encoding="utf-8")
    before = snapshot_tree(out)
    failed = r"toy\.ipynb: the cell starting 'from meltica_lab\.reports .*' \(In \[3\]\) failed: ValueError: asked to"
    with pytest.raises(MelticaLabError, match=failed):
        run_report(toy_notebook, parameters={"fail": True}, out=out)
    assert snapshot_tree(out) == before


def test_unknown_parameters_are_refused_before_anything_runs(toy_notebook: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    with pytest.raises(UsageError, match=r"unknown parameter.*lookback; it declares: config, names, selector, fail"):
        run_report(toy_notebook, parameters={"lookback": 3}, out=out)
    assert not out.exists()


def test_a_missing_notebook_lists_the_project_notebooks(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"notebook nope: no such file .*pinned_backtest"):
        run_report("nope", out=tmp_path)


@pytest.mark.parametrize(
    "arguments",
    [
        ["-p", "config", "{lookback: 3}", "-p", "names", "[x, y]"],
        ["-y", "config: {lookback: 3}\nnames: [x, y]"],
        ["-f", "PARAMS"],
    ],
    ids=["-p", "-y", "-f"],
)
def test_dict_and_list_parameters_work_from_the_papermill_cli(
    toy_notebook: Path, tmp_path: Path, arguments: list[str]
) -> None:
    params = tmp_path / "params.yaml"
    params.write_text("config:\n  lookback: 3\nnames: [x, y]\n", encoding="utf-8")
    executed = tmp_path / "executed.ipynb"
    command = [
        str(PAPERMILL),
        str(toy_notebook),
        str(executed),
        "--no-progress-bar",
        *[str(params) if a == "PARAMS" else a for a in arguments],
    ]
    subprocess.run(command, check=True, capture_output=True, timeout=120)
    assert printed(executed) == "{'lookback': 3} ['x', 'y'] 'momentum'\n"


def test_paths_given_for_path_parameters_resolve_against_the_callers_directory(tmp_path: Path) -> None:
    import nbformat

    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    cell = nbformat.v4.new_code_cell('data = "x.csv"  # type: path  market data\nname: str = "a"  # text')
    cell.metadata["tags"] = ["parameters"]
    notebook.cells = [cell]
    path = tmp_path / "paths.ipynb"
    nbformat.write(notebook, str(path))
    assert notebook_parameters(path)["data"].type_name == "path"
    assert parse_cli_parameters(path, [("data", "2024.csv")]) == {"data": "2024.csv"}  # text, not a number
    given = {"data": "sub/trades.csv", "name": "sub/not-a-path"}
    assert resolve_path_parameters(path, given, base=tmp_path) == {
        "data": str(tmp_path / "sub" / "trades.csv"),
        "name": "sub/not-a-path",
    }
    for kept in ("/abs/trades.csv", "http://gateway:8080/strategies/registry", None):
        assert resolve_path_parameters(path, {"data": kept}, base=tmp_path) == {"data": kept}
