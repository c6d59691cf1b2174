"""``meltica-lab reconcile``: what a live instance traded against a backtest of the same hash.

The live records come from a gateway (``--gateway URL --instance ID``; a bearer token from the
variable ``--token-env`` names) or from saved answers (``--orders FILE --executions FILE``, with
``--snapshot FILE`` for the saved instance answer, which names the hash and config). The strategy and
config are the instance's unless ``--strategy`` is given; ``--config`` changes keys of the instance's
config (of none with ``--strategy``). Saved answers without a snapshot need ``--strategy``.

Prints the summary and the unmatched fills (``--json``: ``{"summary", "fills", "orders",
"provenance"}``); ``--out DIR`` also writes ``reconciliation.json``, ``fills.csv``,
``orders.csv``, ``reconcile.png`` and ``reconcile.html``.

Exit code 1 when any fill or order is unmatched beyond the tolerance (so a scheduled report can
alert), 0 when everything matched, 2 for a bad command line. Warnings go to stderr.
"""

from __future__ import annotations

import argparse
import html
import os
import sys
import warnings
from pathlib import Path
from typing import Any

from meltica_lab.cli.backtest import parse_assignments, read_config_file
from meltica_lab.cli.common import add_json, add_root, add_settings, print_json, root_of, settings_of, write_files
from meltica_lab.errors import UsageError
from meltica_lab.gateway import GatewayClient, InconsistentAnswerWarning
from meltica_lab.reconcile import LiveRecords, ReconcileWarning, Reconciliation
from meltica_lab.workspace import Workspace

TOKEN_VARIABLE = "MELTICA_GATEWAY_TOKEN"


def _live(args: argparse.Namespace) -> LiveRecords:
    from_gateway = args.gateway is not None
    from_files = args.orders is not None or args.executions is not None
    if from_gateway == from_files:
        raise UsageError(
            "give the live records one way: --gateway URL --instance ID, or --orders FILE --executions FILE",
            field="--gateway",
        )
    if from_gateway:
        if args.instance is None:
            raise UsageError("--gateway needs --instance ID", field="--instance")
        if args.snapshot is not None:
            raise UsageError("--snapshot is for saved answers; a gateway gives the instance itself", field="--snapshot")
        token = os.environ.get(args.token_env) or None
        with GatewayClient(args.gateway, timeout=args.timeout, token=token) as client:
            return LiveRecords.from_gateway(client, args.instance)
    if args.orders is None or args.executions is None:
        raise UsageError("saved answers need both --orders FILE and --executions FILE", field="--orders")
    return LiveRecords.from_files(args.orders, args.executions, instance=args.instance, snapshot=args.snapshot)


def write_outputs(result: Reconciliation, directory: Path) -> list[Path]:
    """``reconciliation.json``, ``fills.csv``, ``orders.csv``, ``reconcile.png`` and ``reconcile.html``,
    all or nothing (see :func:`~meltica_lab.cli.common.write_files`)."""
    from meltica_lab.widgets.reconcile import reconcile_html

    document = result.to_json() + "\n"
    title = html.escape(f"Reconciliation of {result.provenance['instance']}")
    page = (
        f"<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>{title}</title></head>"
        f"<body style='font-family:sans-serif'>{reconcile_html(result)}</body></html>\n"
    )
    return write_files(
        directory,
        {
            "reconciliation.json": lambda temp: Path(temp).write_text(document, encoding="utf-8"),
            "fills.csv": lambda temp: result.fills.to_csv(temp, index=False),
            "orders.csv": lambda temp: result.orders.to_csv(temp, index=False),
            "reconcile.png": lambda temp: result.plot().savefig(temp, format="png", dpi=100),
            "reconcile.html": lambda temp: Path(temp).write_text(page, encoding="utf-8"),
        },
    )


def run(args: argparse.Namespace) -> int:
    """Carry out ``reconcile`` for parsed arguments."""
    config: dict[str, Any] | None = None
    if args.config_file is not None or args.config:
        config = read_config_file(args.config_file) if args.config_file is not None else {}
        config.update(parse_assignments(args.config))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", InconsistentAnswerWarning)
        warnings.simplefilter("always", ReconcileWarning)
        records = _live(args)
        with Workspace(root_of(args), settings=settings_of(args)) as workspace:
            result = workspace_reconcile(workspace, records, args, config)
    for warning in caught:
        if issubclass(warning.category, InconsistentAnswerWarning | ReconcileWarning):
            print(f"meltica-lab: warning: {warning.message}", file=sys.stderr)
        else:
            warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)
    if args.out is not None:
        written = write_outputs(result, args.out)
        print(f"wrote {', '.join(str(p) for p in written)}", file=sys.stderr)
    if args.json:
        print_json(result.to_dict())
    else:
        print(repr(result))
    if not result.ok:
        s = result.summary
        print(
            f"meltica-lab: {s['missing_live'] + s['extra_live']} fill(s) and "
            f"{s['orders_missing_live'] + s['orders_extra_live']} order(s) unmatched within the tolerance",
            file=sys.stderr,
        )
        return 1
    return 0


def workspace_reconcile(
    workspace: Workspace, records: LiveRecords, args: argparse.Namespace, config: dict[str, Any] | None
) -> Reconciliation:
    """The reconciliation the arguments ask for, with the workspace's loader and settings. Without
    provider flags the run uses the providers the instance's orders went to."""
    from meltica_lab.reconcile import reconcile

    given_providers = any(getattr(args, name, None) for name in vars(args) if name.startswith("settings:providers"))
    if config is not None and args.strategy is None and records.config:
        config = {**records.config, **config}  # --config changes keys of the instance's own config
    return reconcile(
        records,
        list(args.data),
        workspace=workspace,
        strategy=args.strategy,
        config=config,
        tolerance=args.tolerance,
        warmup=args.warmup,
        start=_start(args.start),
        **({"providers": workspace.settings.providers} if given_providers else {}),
    )


def _start(text: str | None) -> str | int | None:
    """``--start`` as given: digits are Unix seconds, anything else a time."""
    return int(text) if text is not None and text.strip().isdigit() else text


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``reconcile`` command."""
    parser = subparsers.add_parser(
        "reconcile",
        help="reconcile a live instance's orders and fills with a backtest of the same hash",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--strategy", help="selector (default: the hash the instance runs)")
    parser.add_argument(
        "--data", required=True, type=Path, nargs="+", metavar="FILE", help="market data: CSV or Parquet file(s)"
    )
    live = parser.add_argument_group("live records (one way)")
    live.add_argument("--gateway", metavar="URL", help="the gateway's base URL")
    live.add_argument("--instance", metavar="ID", help="the instance (with --gateway; picks one from saved answers)")
    live.add_argument("--orders", type=Path, metavar="FILE", help="saved GET /strategy/instances/{id}/orders answer")
    live.add_argument("--executions", type=Path, metavar="FILE", help="saved .../executions answer")
    live.add_argument("--snapshot", type=Path, metavar="FILE", help="saved GET /strategy/instances/{id} answer")
    live.add_argument(
        "--token-env",
        default=TOKEN_VARIABLE,
        metavar="VAR",
        help=f"environment variable holding the gateway's bearer token (default: {TOKEN_VARIABLE})",
    )
    live.add_argument("--timeout", type=float, default=10.0, help="seconds per gateway request (default: 10)")
    add_root(parser)
    parser.add_argument(
        "--config", action="append", default=[], metavar="KEY=VALUE", help="strategy config value (repeatable)"
    )
    parser.add_argument("--config-file", type=Path, help="YAML or JSON mapping of strategy config values")
    parser.add_argument("--tolerance", default="5s", help="how far apart matching fills may be (default: 5s)")
    parser.add_argument("--warmup", help="data replayed before the first live record (default: all before it)")
    parser.add_argument(
        "--start", help="when the instance started (ISO 8601 or Unix seconds): the backtest starts there"
    )
    parser.add_argument("--out", type=Path, help="directory for reconciliation.json, CSVs, plot and HTML report")
    add_json(parser)
    add_settings(parser)
    parser.set_defaults(func=run)
