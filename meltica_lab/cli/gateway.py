"""``meltica-lab gateway ...``: a live gateway's control plane from the shell, through :class:`GatewayClient`.

The gateway is ``--url`` (default ``$MELTICA_GATEWAY_URL``); a bearer token is read from the
environment variable named by ``--token-env`` (default ``MELTICA_GATEWAY_TOKEN``), so it never
shows in the process list. ``--json`` prints the gateway's answer as it arrived. Inconsistencies the
contract allows are printed to stderr as warnings and do not change the exit code: 0 when the
gateway answered, 1 when it refused or could not be reached, 2 for a bad command line.
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd

from meltica_lab.cli.common import add_json, print_json, short, table, write_files
from meltica_lab.errors import UsageError
from meltica_lab.gateway import GatewayClient, InconsistentAnswerWarning
from meltica_lab.usage import format_time

URL_VARIABLE = "MELTICA_GATEWAY_URL"
TOKEN_VARIABLE = "MELTICA_GATEWAY_TOKEN"


def _connection_options() -> argparse.ArgumentParser:
    options = argparse.ArgumentParser(add_help=False)
    options.add_argument("--url", help=f"the gateway's base URL (default: ${URL_VARIABLE})")
    options.add_argument(
        "--token-env",
        default=TOKEN_VARIABLE,
        metavar="VAR",
        help=f"environment variable holding a bearer token (default: {TOKEN_VARIABLE}; unset: no token)",
    )
    options.add_argument("--timeout", type=float, default=10.0, help="seconds per attempt (default: 10)")
    options.add_argument("--retries", type=int, default=2, help="more attempts for a failed read (default: 2)")
    add_json(options)
    return options


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``gateway`` and its subcommands."""
    gateway = sub.add_parser("gateway", help="a live gateway's control plane: strategies, modules, instances, trades")
    commands = gateway.add_subparsers(dest="gateway_command", metavar="SUBCOMMAND")
    common = _connection_options()

    def command(name: str, helptext: str, func: Callable[[argparse.Namespace, GatewayClient], Any]) -> Any:
        parser = commands.add_parser(name, help=helptext, parents=[common])
        parser.set_defaults(func=_runner(func))
        return parser

    command("strategies", "every strategy's metadata", strategies)
    command("strategy", "one strategy's metadata", strategy).add_argument("name")
    p = command("modules", "the module listing", modules)
    p.add_argument("--strategy", help="only this strategy")
    p.add_argument("--hash", help="only revisions with this hash")
    p.add_argument("--limit", type=int)
    p.add_argument("--offset", type=int)
    command("module", "one module with a revision selected", module).add_argument("selector")
    p = command("source", "a module's source, byte for byte", source)
    p.add_argument("selector")
    p.add_argument("--out", type=Path, help="write it to this file instead of stdout")
    p = command("usage", "the instances on a revision", usage)
    p.add_argument("selector")
    p.add_argument("--include-stopped", action="store_true", help="stopped instances too")
    p.add_argument("--limit", type=int)
    p.add_argument("--offset", type=int)
    command("registry", "the registry export with the usage index", registry)
    command("instances", "every instance", instances)
    command("instance", "one instance's snapshot", instance).add_argument("id")
    command("start", "start an instance", start).add_argument("id")
    command("stop", "stop an instance", stop).add_argument("id")
    p = command("orders", "an instance's recent orders", orders)
    p.add_argument("id")
    p.add_argument("--limit", type=int)
    p.add_argument("--provider")
    p.add_argument("--state", action="append", default=[], help="only orders in this state (repeatable)")
    p = command("executions", "an instance's recent fills", executions)
    p.add_argument("id")
    p.add_argument("--limit", type=int)
    p.add_argument("--provider")
    p.add_argument("--order-id", help="only fills of this order")
    p = command("refresh", "reload modules; with targets, re-resolve only their instances", refresh)
    p.add_argument("--hash", dest="hashes", action="append", default=[], help="instances on this hash (repeatable)")
    p.add_argument(
        "--strategy", dest="strategies", action="append", default=[], help="instances of this selector (repeatable)"
    )
    gateway.set_defaults(func=lambda args: _usage_of(gateway))


def _usage_of(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return 2


def _client(args: argparse.Namespace) -> GatewayClient:
    url = args.url or os.environ.get(URL_VARIABLE)
    if not url:
        raise UsageError(f"--url: give the gateway's base URL, or set {URL_VARIABLE}", field="url")
    token = os.environ.get(args.token_env) or None
    return GatewayClient(url, timeout=args.timeout, retries=args.retries, token=token)


def _runner(func: Callable[[argparse.Namespace, GatewayClient], Any]) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        with _client(args) as client, warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", InconsistentAnswerWarning)
            code = func(args, client)
        for warning in caught:
            if issubclass(warning.category, InconsistentAnswerWarning):
                print(f"meltica-lab: warning: {warning.message}", file=sys.stderr)
            else:
                warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)
        return int(code or 0)

    return run


def _show(args: argparse.Namespace, value: Any, text: Callable[[], str]) -> int:
    if args.json:
        print_json(value.to_dict() if hasattr(value, "to_dict") else value)
    else:
        print(text())
    return 0


def _time(value: datetime | None) -> str:
    return "" if value is None else format_time(value)


def _state(running: bool) -> str:
    return "running" if running else "stopped"


def _cell(value: Any) -> Any:
    """A frame cell for a text table: missing values (None, NaN, NaT) as empty."""
    return "" if pd.isna(value) else value


# -- strategies and modules -------------------------------------------------------------------------


def strategies(args: argparse.Namespace, client: GatewayClient) -> int:
    """Name, tag, display name and events of each strategy."""
    found = client.strategies()
    if args.json:
        print_json({"strategies": [s.to_dict() for s in found]})
        return 0
    rows = [(s.name, s.tag or "", s.display_name, ",".join(s.events)) for s in found]
    print(table(rows, ["name", "tag", "display name", "events"]))
    return 0


def strategy(args: argparse.Namespace, client: GatewayClient) -> int:
    """One strategy's metadata, with its config fields."""
    found = client.strategy(args.name)

    def text() -> str:
        head = f"{found.name} {found.tag or ''}: {found.display_name} ({', '.join(found.events)})"
        rows = [(f.name, f.type, f.required, "" if f.default is None else f.default) for f in found.config]
        return head + ("\n" + table(rows, ["config", "type", "required", "default"]) if rows else "")

    return _show(args, found, text)


def modules(args: argparse.Namespace, client: GatewayClient) -> int:
    """One line per module: its selected revision, its revisions and tags."""
    listing = client.modules(strategy=args.strategy, hash=args.hash, limit=args.limit, offset=args.offset)

    def text() -> str:
        rows = [
            (m.name, m.selected_revision_tag or "", short(m.selected_revision_hash), len(m.revisions), ",".join(m.tags))
            for m in listing.modules
        ]
        total = "?" if listing.total is None else listing.total
        return table(rows, ["module", "tag", "hash", "revisions", "tags"]) + f"\n{len(rows)} of {total} module(s)"

    return _show(args, listing, text)


def module(args: argparse.Namespace, client: GatewayClient) -> int:
    """The selected revision and every revision of the module."""
    found = client.module(args.selector)

    def text() -> str:
        head = f"{found.name} {found.selected_revision_tag or ''} {found.selected_revision_hash} ({found.size} bytes)"
        rows = [(r.tag or "", r.hash, r.size, "retired" if r.retired else "") for r in found.revisions]
        return head + "\n" + table(rows, ["tag", "hash", "size", ""])

    return _show(args, found, text)


def source(args: argparse.Namespace, client: GatewayClient) -> int:
    """The source bytes on stdout, or written to ``--out`` (all or nothing)."""
    data = client.module_source(args.selector)
    if args.out is not None:
        write_files(args.out.parent, {args.out.name: lambda temp: Path(temp).write_bytes(data)})
        print(f"{args.out}: {len(data)} bytes", file=sys.stderr)
    else:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    return 0


def usage(args: argparse.Namespace, client: GatewayClient) -> int:
    """The revision's usage and the instances on it."""
    answer = client.usage(args.selector, include_stopped=args.include_stopped, limit=args.limit, offset=args.offset)

    def text() -> str:
        u = answer.usage
        head = (
            f"{answer.selector} ({answer.hash}): {u.count} running, first seen {_time(u.first_seen) or 'never'}, "
            f"last seen {_time(u.last_seen) or 'never'}"
        )
        rows = [(i.id, i.strategy_selector or "", _state(i.running)) for i in answer.instances]
        listed = f"{len(rows)} of {answer.total} instance(s)"
        return "\n".join([head, table(rows, ["instance", "selector", "state"]), listed])

    return _show(args, answer, text)


def registry(args: argparse.Namespace, client: GatewayClient) -> int:
    """Per strategy: tags, revisions, running instances."""
    export = client.registry_export()

    def text() -> str:
        running: dict[str, int] = {}
        for u in export.usage:
            running[u.strategy] = running.get(u.strategy, 0) + max(u.count, 0)
        rows = [
            (name, len(entry.tags), len(entry.hashes), running.get(name, 0))
            for name, entry in sorted((export.registry or {}).items())
        ]
        return table(rows, ["strategy", "tags", "revisions", "running"]) + f"\n{len(export.usage)} usage row(s)"

    return _show(args, export, text)


# -- instances --------------------------------------------------------------------------------------


def instances(args: argparse.Namespace, client: GatewayClient) -> int:
    """One line per instance."""
    found = client.instances()
    if args.json:
        print_json({"instances": [i.to_dict() for i in found]})
        return 0
    rows = [
        (i.id, i.strategy_selector or i.strategy_identifier, short(i.strategy_hash or ""), _state(i.running))
        for i in found
    ]
    print(table(rows, ["instance", "selector", "hash", "state"]))
    return 0


def instance(args: argparse.Namespace, client: GatewayClient) -> int:
    """One instance's snapshot."""
    found = client.instance(args.id)

    def text() -> str:
        scope = "; ".join(f"{p}: {','.join(s)}" for p, s in found.scope.items())
        return (
            f"{found.id}: {_state(found.running)}, {found.strategy.identifier} -> {found.strategy.selector or ''} "
            f"{found.strategy.hash or ''}\nscope: {scope}\nconfig: {found.strategy.config}"
        )

    return _show(args, found, text)


def _act(args: argparse.Namespace, value: Any) -> int:
    return _show(args, value, lambda: f"{value.id}: {value.action} -> {value.status}")


def start(args: argparse.Namespace, client: GatewayClient) -> int:
    """Start an instance."""
    return _act(args, client.start_instance(args.id))


def stop(args: argparse.Namespace, client: GatewayClient) -> int:
    """Stop an instance."""
    return _act(args, client.stop_instance(args.id))


def orders(args: argparse.Namespace, client: GatewayClient) -> int:
    """The instance's orders, newest as the gateway sorts them."""
    history = client.orders(args.id, limit=args.limit, provider=args.provider, state=args.state)

    def text() -> str:
        frame = history.to_frame()
        columns = ["id", "symbol", "side", "type", "state", "quantity_text", "price_text", "placed_at"]
        rows = [[_cell(v) for v in row] for row in frame[columns].itertuples(index=False)]
        headers = ["order", "symbol", "side", "type", "state", "quantity", "price", "placed (UTC)"]
        return table(rows, headers) + f"\n{len(rows)} order(s), count {history.count}"

    return _show(args, history, text)


def executions(args: argparse.Namespace, client: GatewayClient) -> int:
    """The instance's fills."""
    history = client.executions(args.id, limit=args.limit, provider=args.provider, order_id=args.order_id)

    def text() -> str:
        frame = history.to_frame()
        columns = ["execution_id", "order_id", "quantity_text", "price_text", "fee_text", "traded_at"]
        rows = [[_cell(v) for v in row] for row in frame[columns].itertuples(index=False)]
        headers = ["fill", "order", "quantity", "price", "fee", "traded (UTC)"]
        return table(rows, headers) + f"\n{len(rows)} fill(s), count {history.count}"

    return _show(args, history, text)


def refresh(args: argparse.Namespace, client: GatewayClient) -> int:
    """A full refresh, or a targeted one with one line per record."""
    outcome = client.refresh(hashes=args.hashes, strategies=args.strategies)

    def text() -> str:
        rows = [(r.selector, r.reason or "", short(r.hash or ""), ",".join(r.instances)) for r in outcome.results]
        body = table(rows, ["selector", "reason", "hash", "instances"]) + "\n" if rows else ""
        return f"{body}{outcome.status}: {len(rows)} record(s)"

    return _show(args, outcome, text)
