"""``meltica-lab report NOTEBOOK``: run a parameterised notebook and export it to HTML.

``NOTEBOOK`` is a path or the name of a project notebook (``migration``, ``drift_review``,
``pinned_backtest``). Values given with ``-p KEY VALUE`` are parsed as YAML (``-p config '{lookback:
20}'`` is a dict, ``-p compare_with '[momentum:v1.0.0]'`` a list) unless the notebook declares the
parameter as text; ``-y`` takes a YAML mapping and ``-f`` a YAML file, and ``-p`` wins over both.
Paths you give (``-p data examples/data/btc_trades.csv``) are relative to the directory you run the
command from; the notebooks' own defaults are relative to their folder, where the kernel runs.
Writes ``OUT/<name>.ipynb`` and ``OUT/<name>.html``; a failed run writes nothing.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from meltica_lab.cli.common import add_json, print_json
from meltica_lab.reports import parse_cli_parameters, parse_parameters_text, read_parameters_file, run_report


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``report`` command."""
    parser = subparsers.add_parser(
        "report",
        help="run a parameterised notebook (papermill) and export it to HTML",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("notebook", help="notebook path, or a project notebook's name (e.g. pinned_backtest)")
    parser.add_argument(
        "-p",
        "--parameter",
        nargs=2,
        action="append",
        default=[],
        metavar=("KEY", "VALUE"),
        help="a parameter, the value parsed as YAML (repeatable)",
    )
    parser.add_argument("-y", "--yaml", help="parameters as a YAML mapping string")
    parser.add_argument("-f", "--parameters-file", type=Path, help="parameters from a YAML file")
    parser.add_argument("--out", type=Path, default=Path("reports"), help="output folder (default: reports)")
    parser.add_argument("--name", help="output file name without suffix (default: the notebook's name)")
    parser.add_argument("--no-html", action="store_true", help="skip the HTML export")
    parser.add_argument("--kernel", help="kernel name (default: the notebook's kernelspec)")
    parser.add_argument("--cwd", type=Path, help="folder the kernel runs in (default: the notebook's folder)")
    parser.add_argument("--progress", action="store_true", help="show papermill's cell progress bar")
    add_json(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Collect the parameters (file, then -y, then -p), run the notebook, print where the output is."""
    parameters = {}
    if args.parameters_file is not None:
        parameters.update(read_parameters_file(args.parameters_file))
    if args.yaml is not None:
        parameters.update(parse_parameters_text(args.yaml, source="-y"))
    parameters.update(parse_cli_parameters(args.notebook, args.parameter))
    report = run_report(
        args.notebook,
        parameters=parameters,
        out=args.out,
        name=args.name,
        html=not args.no_html,
        kernel_name=args.kernel,
        cwd=args.cwd,
        progress=args.progress,
    )
    if args.json:
        print_json(report.to_dict())
    else:
        print(f"executed notebook: {report.executed}")
        if report.html is not None:
            print(f"HTML report:       {report.html}")
        print(
            f"took {report.seconds:.1f} s: {report.execute_seconds:.1f} s starting the kernel and running the "
            f"cells, {report.export_seconds:.1f} s exporting"
        )
    return 0
