"""``ReconcilePanel``: pick a live instance, reconcile it with a backtest of its hash, browse what differs.

The instances come from a gateway (its instance listing) or from saved answers (the instances their
records belong to). :meth:`ReconcilePanel.run` goes through :func:`meltica_lab.reconcile.reconcile`;
the status filter then browses the fills (unmatched by default) without running again. The results
are the same HTML parts in the live view and in the static twin, :func:`reconcile_html`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import ipywidgets as widgets

from meltica_lab.backtest.engine import BacktestContext
from meltica_lab.errors import UsageError
from meltica_lab.files import read_json
from meltica_lab.gateway import GatewayClient
from meltica_lab.reconcile import LiveRecords, LiveRecordsError, Reconciliation, reconcile
from meltica_lab.widgets._html import definition_list, figure_png, frame_table, heading, image, paragraph, section
from meltica_lab.widgets.base import LabWidget

FILTERS = ("unmatched", "missing_live", "extra_live", "matched", "all")
"""What the fills table can show: the rows that are not matched pairs, one status, or every row."""

_FILL_SHOWN = ("status", "symbol", "side", "quantity", "live_time", "backtest_time", "delay_s", "price_diff_bps")
_WIDE = widgets.Layout(width="36em")
_STYLE = {"description_width": "8em"}


def _fills(result: Reconciliation, status: str) -> Any:
    fills = result.fills
    if status == "unmatched":
        return fills[fills["status"] != "matched"]
    if status == "all":
        return fills
    if status not in FILTERS:
        raise UsageError(f"status: expected one of {', '.join(FILTERS)}, got {status!r}", field="status")
    return fills[fills["status"] == status]


def reconcile_parts(result: Reconciliation, *, status: str = "unmatched") -> list[str]:
    """A reconciliation as HTML parts: headline and verdict, the summary, the plot, the fills with
    ``status`` (see :data:`FILTERS`), the unmatched orders, the provenance."""
    p = result.provenance
    shown = _fills(result, status)
    columns = [*_FILL_SHOWN, "live_order_id", "backtest_order_id", "note"]
    parts = [
        paragraph(result.headline()),
        paragraph(result.verdict()),
        heading("Summary", 5),
        frame_table(result.summary.to_frame("value"), rows=len(result.summary)),
        image(figure_png(result.plot()), alt="price with fills, slippage histogram, cumulative PnL"),
        heading(f"Fills: {status} ({len(shown)} of {len(result.fills)})", 5),
        frame_table(shown[columns], index=False, empty="None.", more="result.fills has every row"),
    ]
    orders = result.unmatched_orders
    differ = result.orders[(result.orders["status"] == "matched") & (result.orders["note"] != "same outcome")]
    parts.append(heading(f"Orders unmatched ({len(orders)}) or ending otherwise ({len(differ)})", 5))
    listed = result.orders.loc[orders.index.union(differ.index)]
    parts.append(frame_table(listed, index=False, empty="None.", more="result.orders has every row"))
    parts += [
        heading("Provenance", 5),
        definition_list(
            [
                ("instance", p["instance"]),
                ("live records", p["live_source"]),
                ("hash", p["hash"]),
                ("pinned backtest", p["backtest"]["pinned"]),
                ("config", p["config"]),
                ("data", f"{p['backtest']['data_source']} ({p['backtest']['data_sha256']})"),
                ("window", f"{p['window']['start']} to {p['window']['end']}"),
                ("tolerance", f"{p['tolerance_s']:g} s"),
                ("live warnings", "; ".join(p["live_warnings"]) or "none"),
            ]
        ),
    ]
    return parts


def reconcile_html(result: Reconciliation, *, status: str = "unmatched") -> str:
    """The static twin: :func:`reconcile_parts` as one self-contained HTML block."""
    return section("Reconciliation", reconcile_parts(result, status=status))


def _file_instances(path: str | Path) -> list[str]:
    """The instances a saved orders answer holds records of, in the order they first appear."""
    answer = read_json(path, what="saved orders answer", error=LiveRecordsError)
    records = answer.get("orders", []) if isinstance(answer, dict) else answer
    found = [r.get("strategyInstance") for r in records if isinstance(r, dict)]
    return list(dict.fromkeys(i for i in found if isinstance(i, str)))


class ReconcilePanel(LabWidget):
    """Instance picker, data picker, tolerance, strategy override, run button, status filter, results.

    The live side is ``gateway`` (a URL or a :class:`GatewayClient`: its instances are offered), or
    saved answers ``orders`` and ``executions`` (with the saved instance ``snapshot``, if any: the
    instances of their records are offered). ``data`` is a market data file or a list of them.
    Strategies resolve through ``workspace``, else a Loader of ``root``; ``settings`` are
    :class:`~meltica_lab.BacktestSettings` changes for the run (``fees=``, ...). :meth:`run`
    returns the :class:`Reconciliation` (kept in :attr:`result`).
    """

    title = "Reconcile"

    def __init__(
        self,
        data: str | Path | Sequence[str | Path],
        *,
        gateway: str | GatewayClient | None = None,
        orders: str | Path | None = None,
        executions: str | Path | None = None,
        snapshot: str | Path | None = None,
        instance: str | None = None,
        root: str | Path | None = None,
        workspace: BacktestContext | None = None,
        strategy: str | None = None,
        tolerance: str = "5s",
        **settings: Any,
    ) -> None:
        if (gateway is None) == (orders is None and executions is None):
            raise UsageError("give the live records one way: gateway=, or orders= and executions=", field="gateway")
        if gateway is None and (orders is None or executions is None):
            raise UsageError("saved answers need both orders= and executions=", field="orders")
        self.client = GatewayClient(gateway) if isinstance(gateway, str) else gateway
        self._own_client = isinstance(gateway, str)
        self.files = (orders, executions, snapshot)
        self.root, self.workspace, self.settings = root, workspace, settings
        self.result: Reconciliation | None = None
        choices = (
            [s.id for s in self.client.instances()] if self.client is not None else _file_instances(orders)  # type: ignore[arg-type]
        )
        if not choices:
            raise UsageError("no instances to reconcile: the gateway lists none, or the records hold none")
        files = [Path(data)] if isinstance(data, str | Path) else [Path(p) for p in data]
        self.instance = widgets.Dropdown(
            options=choices,
            value=instance if instance in choices else choices[0],
            description="instance",
            layout=_WIDE,
            style=_STYLE,
        )
        self.data = widgets.SelectMultiple(
            options=[(f.name, str(f)) for f in files],
            value=[str(f) for f in files],
            description="data",
            layout=_WIDE,
            style=_STYLE,
        )
        self.tolerance = widgets.Text(value=tolerance, description="tolerance", style=_STYLE)
        self.strategy = widgets.Text(
            value=strategy or "", placeholder="the hash the instance runs", description="strategy", style=_STYLE
        )
        self.button = widgets.Button(description="Reconcile", button_style="primary", icon="play")
        self.filter = widgets.ToggleButtons(options=FILTERS, value="unmatched", description="fills", style=_STYLE)
        self.status = widgets.Label("idle")
        super().__init__(
            [
                self.instance,
                self.data,
                widgets.HBox([self.tolerance, self.strategy]),
                widgets.HBox([self.button, self.status]),
                self.filter,
            ]
        )
        self.button.on_click(self.guarded(self.run))
        self.filter.observe(self.guarded(self._refilter), names="value")

    def records(self) -> LiveRecords:
        """The picked instance's live records."""
        if self.client is not None:
            return LiveRecords.from_gateway(self.client, self.instance.value)
        orders, executions, snapshot = self.files
        return LiveRecords.from_files(orders, executions, instance=self.instance.value, snapshot=snapshot)  # type: ignore[arg-type]

    def run(self) -> Reconciliation:
        """Reconcile the picked instance with the current values, show the result and return it."""
        self.button.disabled = True
        self.status.value = "reading the live records"
        try:
            records = self.records()
            self.status.value = "backtesting and matching"
            result = reconcile(
                records,
                list(self.data.value),
                root=self.root,
                workspace=self.workspace,
                strategy=self.strategy.value.strip() or None,
                tolerance=self.tolerance.value,
                **{"progress": False, **self.settings},
            )
            self.show_result(result)
        except Exception:
            self.status.value = "failed"
            raise
        finally:
            self.button.disabled = False
        return result

    def show_result(self, result: Reconciliation) -> None:
        """Show a finished reconciliation (from :meth:`run`, or a ``reconcile`` call made elsewhere)."""
        self.result = result
        self._refilter()
        self.status.value = "all matched" if result.ok else "differences found"

    def _refilter(self) -> None:
        if self.result is not None:
            self.show(reconcile_parts(self.result, status=self.filter.value))

    def close(self) -> None:
        """Close the widget, and the gateway client it made for a URL."""
        if getattr(self, "_own_client", False) and self.client is not None:
            self.client.close()
        super().close()

    def state_html(self) -> str:
        """The picked instance, data, tolerance, strategy and filter."""
        source = self.client.base_url if self.client is not None else f"{self.files[0]} + {self.files[1]}"
        return definition_list(
            [
                ("live records", source),
                ("instance", self.instance.value),
                ("data", ", ".join(Path(p).name for p in self.data.value)),
                ("tolerance", self.tolerance.value),
                ("strategy", self.strategy.value or "the instance's hash"),
                ("fills shown", self.filter.value),
                ("status", self.status.value),
            ]
        )

    def describe(self) -> str:
        """``<instance> against its backtest``."""
        return f"{self.instance.value} against its backtest"
